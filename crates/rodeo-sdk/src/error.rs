//! What can go wrong between the SDK and the rodeo server. Evaluation never fails with
//! these: a flag that cannot be evaluated answers the caller's default with an error
//! code in its [`Details`](crate::Details).

use std::sync::Arc;
use std::time::Duration;

use rodeo_flags::Problem;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL given to the builder does not parse.
    #[error("invalid rodeo base URL {url:?}")]
    InvalidUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    /// The base URL is not `http` or `https`.
    #[error("the rodeo base URL {url:?} must be http or https")]
    UnsupportedScheme { url: String },
    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The server refused the SDK key: unknown or revoked (401), or not a server-side
    /// key of this environment (403; client-side keys may only use OFREP).
    #[error("the rodeo server refused the SDK key ({status}): {detail}")]
    Refused { status: u16, detail: String },
    /// The request did not get an answer (connection refused, timeout, reset).
    #[error("request to the rodeo server failed")]
    Request(#[source] reqwest::Error),
    /// The server answered with an unexpected status.
    #[error("the rodeo server answered {status}: {detail}")]
    Status { status: u16, detail: String },
    /// A definition or stream message is not the JSON the SDK expects.
    #[error("the rodeo server sent malformed JSON")]
    Json(#[source] serde_json::Error),
    /// A response lacks a header the SDK needs.
    #[error("the rodeo server's response has no usable {0} header")]
    MissingHeader(&'static str),
    /// The definition does not compile; the previous one keeps serving.
    #[error("flag definition version {version} does not compile: {}", problems_text(.problems))]
    Definition {
        version: i64,
        problems: Vec<Problem>,
    },
    /// The definition stream sent nothing, not even a keep-alive, for this long.
    #[error("the definition stream was silent for {0:?}")]
    StreamIdle(Duration),
    /// An event on the definition stream is larger than the SDK accepts.
    #[error("an event on the definition stream is larger than {limit} bytes")]
    EventTooLarge { limit: usize },
    /// No definition arrived in time; `source` is the last error, if there was one.
    #[error("no flag definition from the rodeo server within {waited:?}")]
    Timeout {
        waited: Duration,
        #[source]
        source: Option<Arc<Error>>,
    },
    /// The client was closed.
    #[error("the rodeo flags client is closed")]
    Closed,
}

fn problems_text(problems: &[Problem]) -> String {
    let shown: Vec<String> = problems.iter().take(3).map(ToString::to_string).collect();
    let more = problems.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (and {more} more)", shown.join("; "))
    } else {
        shown.join("; ")
    }
}
