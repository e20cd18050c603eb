//! Configuring a client and connecting it: the builder checks the base URL once and
//! derives the two endpoints from it, starts the follower task, and waits for the
//! first definition unless told not to.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::backoff::Backoff;
use crate::client::{RodeoFlags, Shared};
use crate::error::Error;
use crate::follow::{Endpoints, Follower};

/// Configures and connects a [`RodeoFlags`] client; see [`RodeoFlags::builder`].
#[derive(Clone)]
#[must_use]
pub struct Builder {
    base_url: String,
    environment: String,
    sdk_key: String,
    wait: Option<Duration>,
    request_timeout: Duration,
    backoff: (Duration, Duration),
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("base_url", &self.base_url)
            .field("environment", &self.environment)
            .field("sdk_key", &"<redacted>")
            .field("wait", &self.wait)
            .field("request_timeout", &self.request_timeout)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Builder {
    pub(crate) fn new(base_url: String, environment: String, sdk_key: String) -> Self {
        Self {
            base_url,
            environment,
            sdk_key,
            wait: Some(Duration::from_secs(5)),
            request_timeout: Duration::from_secs(10),
            backoff: (Duration::from_millis(500), Duration::from_secs(30)),
        }
    }

    /// How long [`connect`](Self::connect) waits for the first definition (default 5 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait = Some(timeout);
        self
    }

    /// [`connect`](Self::connect) returns at once, without waiting for the first
    /// definition. Until it arrives, evaluations answer the caller's default with
    /// reason `ERROR` and code `PROVIDER_NOT_READY`.
    pub fn no_wait(mut self) -> Self {
        self.wait = None;
        self
    }

    /// The timeout of each definition fetch and of opening the stream (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The delay between reconnection attempts: `initial`, doubling up to `max`, with
    /// jitter (default 0.5 s to 30 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = (initial, max);
        self
    }

    /// Starts the background follower task and, unless [`no_wait`](Self::no_wait) was
    /// called, waits for the first definition. Must be called within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// An invalid base URL; [`Error::Refused`] when the server refuses the SDK key
    /// (a client-side key, another environment's key, a revoked key);
    /// [`Error::Timeout`] when no definition arrived in time (its source is the last
    /// failure). On error the background task is stopped.
    pub async fn connect(self) -> Result<RodeoFlags, Error> {
        let endpoints = endpoints(&self.base_url, &self.environment)?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.request_timeout)
            .user_agent(concat!("rodeo-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Client)?;
        let shared = Arc::new(Shared::new());
        let follower = Follower::new(
            http,
            endpoints,
            self.sdk_key,
            self.request_timeout,
            Backoff::new(self.backoff.0, self.backoff.1),
            Arc::clone(&shared),
        );
        let task = tokio::spawn(follower.run()).abort_handle();
        let flags = RodeoFlags::new(shared, task);
        if let Some(timeout) = self.wait {
            flags.wait_for_definition(timeout).await?;
        }
        Ok(flags)
    }
}

/// The definition and stream URLs under `base` (which may carry a path prefix).
fn endpoints(base: &str, environment: &str) -> Result<Endpoints, Error> {
    let url = Url::parse(base).map_err(|source| Error::InvalidUrl {
        url: base.to_owned(),
        source,
    })?;
    let unsupported = || Error::UnsupportedScheme {
        url: base.to_owned(),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(unsupported());
    }
    let mut definition = url;
    definition
        .path_segments_mut()
        .map_err(|()| unsupported())?
        .pop_if_empty()
        .extend(["api", "v1", "flags", environment, "definition"]);
    let mut stream = definition.clone();
    stream
        .path_segments_mut()
        .map_err(|()| unsupported())?
        .push("stream");
    Ok(Endpoints { definition, stream })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_a_path_prefix_and_escape_the_environment() {
        let e = endpoints("https://hub.example.com/rodeo/", "prod eu").unwrap();
        assert_eq!(
            e.definition.as_str(),
            "https://hub.example.com/rodeo/api/v1/flags/prod%20eu/definition"
        );
        assert_eq!(
            e.stream.as_str(),
            "https://hub.example.com/rodeo/api/v1/flags/prod%20eu/definition/stream"
        );
        let e = endpoints("http://127.0.0.1:8080", "production").unwrap();
        assert_eq!(
            e.definition.as_str(),
            "http://127.0.0.1:8080/api/v1/flags/production/definition"
        );
    }

    #[test]
    fn bad_base_urls_are_refused() {
        assert!(matches!(
            endpoints("not a url", "production"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            endpoints("ftp://example.com", "production"),
            Err(Error::UnsupportedScheme { .. })
        ));
    }
}
