//! A small client for rodeo's HTTP API: authentication, the source header, problem
//! details, and the raw body kept next to the parsed value so `--output json` can print
//! exactly what the server said.

mod problem;
mod sse;

use std::time::Duration;

use reqwest::{header, Method, RequestBuilder, StatusCode, Url};
use serde::{de::DeserializeOwned, Serialize};

pub use problem::Problem;
pub use sse::{SseMessage, SseParser};

/// How long a single API call may take; streams are not limited.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url:?} is not a valid server URL")]
    InvalidUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("{url:?} is not a valid server URL: it must be an http or https URL")]
    NotHttp { url: String },
    #[error("cannot reach the rodeo server at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("request to {url} failed")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{}", .0.render())]
    Problem(Box<Problem>),
    #[error("unexpected response from {url} (status {status})")]
    Decode {
        url: String,
        status: u16,
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// The HTTP status of an error response, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem(p) => Some(p.status),
            _ => None,
        }
    }

    fn from_send(url: &Url, source: reqwest::Error) -> Self {
        let url = url.to_string();
        if source.is_connect() || source.is_timeout() {
            Self::Unreachable { url, source }
        } else {
            Self::Transport { url, source }
        }
    }
}

/// A successful response: the body as received and its parsed value.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub status: StatusCode,
    pub body: String,
    pub value: T,
}

/// One server, one token, one source label.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    source: String,
}

impl Client {
    /// `source` is sent as `X-Rodeo-Source` and recorded as the events' source.
    pub fn new(base: &str, token: Option<String>, source: &str) -> Result<Self, ClientError> {
        let parsed = Url::parse(base).map_err(|source| ClientError::InvalidUrl {
            url: base.to_owned(),
            source,
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
            return Err(ClientError::NotHttp {
                url: base.to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("rodeo-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|source| ClientError::Transport {
                url: base.to_owned(),
                source,
            })?;
        Ok(Self {
            http,
            base: parsed,
            token: token.filter(|t| !t.is_empty()),
            source: source.to_owned(),
        })
    }

    /// The URL of `segments` under the base URL; each segment is percent-encoded, so a
    /// server mounted under a path prefix works and ids cannot escape their segment.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let mut req = self
            .http
            .request(method, url)
            .header(header::ACCEPT, "application/json")
            .header("X-Rodeo-Source", &self.source);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Reply<T>, ClientError> {
        let url = self.url(segments);
        let req = self.request(Method::GET, url.clone()).query(query);
        self.execute(url, req).await
    }

    /// A write with a JSON body; `idempotency_key` makes a retry safe.
    pub async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<Reply<T>, ClientError> {
        let url = self.url(segments);
        let mut req = self.request(method, url.clone()).json(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        self.execute(url, req).await
    }

    /// A write with a JSON body and query parameters.
    pub async fn write_query<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<Reply<T>, ClientError> {
        let url = self.url(segments);
        let req = self.request(method, url.clone()).query(query).json(body);
        self.execute(url, req).await
    }

    /// Deletes; the answer may be empty (204) or the deleted record.
    pub async fn delete(&self, segments: &[&str]) -> Result<Reply<serde_json::Value>, ClientError> {
        let url = self.url(segments);
        let req = self.request(Method::DELETE, url.clone());
        self.execute(url, req).await
    }

    async fn execute<T: DeserializeOwned>(
        &self,
        url: Url,
        req: RequestBuilder,
    ) -> Result<Reply<T>, ClientError> {
        let resp = req
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| ClientError::from_send(&url, e))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| ClientError::from_send(&url, e))?;
        if !status.is_success() {
            return Err(ClientError::Problem(Box::new(Problem::from_response(
                status.as_u16(),
                &body,
            ))));
        }
        // A 204 has no body; `Value` and `Option` read it as `null`.
        let text = if body.trim().is_empty() {
            "null"
        } else {
            &body
        };
        let value = serde_json::from_str(text).map_err(|source| ClientError::Decode {
            url: url.to_string(),
            status: status.as_u16(),
            source,
        })?;
        Ok(Reply {
            status,
            body,
            value,
        })
    }

    /// Opens a server-sent events stream, resuming after `last_event_id`.
    pub async fn open_stream(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        last_event_id: Option<&str>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.url(segments);
        let mut req = self
            .request(Method::GET, url.clone())
            .header(header::ACCEPT, "text/event-stream")
            .query(query);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::from_send(&url, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        Err(ClientError::Problem(Box::new(Problem::from_response(
            status.as_u16(),
            &body,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_urls_under_a_path_prefix_and_encodes_segments() {
        let c = Client::new("https://ops.example/rodeo/", None, "cli").unwrap();
        assert_eq!(
            c.url(&["api", "v1", "tokens", "a/b c"]).as_str(),
            "https://ops.example/rodeo/api/v1/tokens/a%2Fb%20c"
        );
        let c = Client::new("http://127.0.0.1:7777", None, "cli").unwrap();
        assert_eq!(
            c.url(&["healthz"]).as_str(),
            "http://127.0.0.1:7777/healthz"
        );
    }

    #[test]
    fn rejects_urls_that_are_not_http() {
        assert!(matches!(
            Client::new("localhost:7777", None, "cli"),
            Err(ClientError::NotHttp { .. })
        ));
        assert!(matches!(
            Client::new("not a url", None, "cli"),
            Err(ClientError::InvalidUrl { .. })
        ));
    }
}
