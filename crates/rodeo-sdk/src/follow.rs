//! The background task that keeps a client's definition current.
//!
//! Each round fetches the definition with `If-None-Match` (a 304 costs nothing), then
//! follows the SSE stream with `Last-Event-ID` set to the version held, so that the
//! server sends the current definition first only if it is newer. When the stream ends
//! or cannot be opened the task waits (backoff with jitter) and starts a new round: so
//! while the stream is down, the definition is still polled at the backoff's pace, which
//! also covers proxies that refuse event streams. A stream that stayed up for a while
//! resets the backoff. A definition that does not compile is logged and skipped (the
//! previous one keeps serving) without leaving the stream. Only a refused key skips the
//! stream until the next round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use reqwest::{Response, StatusCode};
use rodeo_flags::FlagSet;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::backoff::Backoff;
use crate::client::{Connection, Shared, Snapshot};
use crate::error::Error;
use crate::sse::{SseEvent, SseParser};

/// The server sends a keep-alive every 15 s; three missed ones mean the connection is
/// dead even if TCP has not noticed.
const STREAM_IDLE: Duration = Duration::from_secs(45);
/// A stream that lasted this long was healthy: the next reconnection starts fast.
const HEALTHY_STREAM: Duration = Duration::from_secs(10);
/// The largest stream event accepted (a definition is one event).
const MAX_EVENT_BYTES: usize = 64 << 20;
const VERSION_HEADER: &str = "x-rodeo-flags-version";

pub(crate) struct Endpoints {
    pub(crate) definition: Url,
    pub(crate) stream: Url,
}

/// One `definition` event's data.
#[derive(Deserialize)]
struct StreamMessage {
    version: i64,
    etag: String,
    definition: Value,
}

pub(crate) struct Follower {
    http: reqwest::Client,
    endpoints: Endpoints,
    sdk_key: String,
    request_timeout: Duration,
    backoff: Backoff,
    shared: Arc<Shared>,
    /// What is served now, as the server named it.
    version: Option<i64>,
    etag: Option<String>,
}

impl Follower {
    pub(crate) fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        sdk_key: String,
        request_timeout: Duration,
        backoff: Backoff,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            http,
            endpoints,
            sdk_key,
            request_timeout,
            backoff,
            shared,
            version: None,
            etag: None,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let refused = match self.poll().await {
                Ok(()) => {
                    if *self.shared.connection.borrow() == Connection::Refused {
                        self.shared.set_connection(Connection::Disconnected);
                    }
                    false
                }
                Err(e) => {
                    let refused = matches!(e, Error::Refused { .. });
                    self.failed(e);
                    refused
                }
            };
            if !refused {
                self.follow_once().await;
            }
            let delay = self.backoff.next_delay(rand::random::<f64>());
            tracing::debug!(?delay, "rodeo flags: next attempt after a delay");
            tokio::time::sleep(delay).await;
        }
    }

    /// Follows the stream until it ends, and records how it ended.
    async fn follow_once(&mut self) {
        let mut live_since = None;
        let outcome = self.follow(&mut live_since).await;
        if live_since.is_some_and(|t: Instant| t.elapsed() >= HEALTHY_STREAM) {
            self.backoff.reset();
        }
        match outcome {
            Ok(()) => {
                tracing::info!("rodeo flags: the definition stream ended; reconnecting");
                self.shared.set_connection(Connection::Disconnected);
            }
            Err(e) => self.failed(e),
        }
    }

    /// Records a failure. Failing to reach the server (or being refused) changes the
    /// connection and is logged when it does, then quietly while it lasts; an answer
    /// the SDK cannot use (a definition that does not compile, malformed JSON) leaves
    /// the connection as it is and is always logged.
    fn failed(&self, error: Error) {
        let connection = match error {
            Error::Refused { .. } => Some(Connection::Refused),
            Error::Request(_)
            | Error::Status { .. }
            | Error::StreamIdle(_)
            | Error::EventTooLarge { .. } => Some(Connection::Disconnected),
            _ => None,
        };
        let err = &error as &dyn std::error::Error;
        match connection {
            None => tracing::error!(
                error = err,
                "rodeo flags: could not use the server's definition; still serving the previous one"
            ),
            Some(c) if c == *self.shared.connection.borrow() => {
                tracing::debug!(error = err, "rodeo flags: still failing");
            }
            Some(Connection::Refused) => tracing::error!(
                error = err,
                "rodeo flags: the server refused the SDK key; serving the last definition and retrying"
            ),
            Some(_) => tracing::warn!(
                error = err,
                "rodeo flags: lost the server; serving the last definition and retrying"
            ),
        }
        self.shared.set_last_error(Some(Arc::new(error)));
        if let Some(c) = connection {
            self.shared.set_connection(c);
        }
    }

    /// Fetches the definition unless it is the one held (304).
    async fn poll(&mut self) -> Result<(), Error> {
        let mut request = self
            .http
            .get(self.endpoints.definition.clone())
            .bearer_auth(&self.sdk_key)
            .timeout(self.request_timeout);
        if let Some(etag) = &self.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(Error::Request)?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(());
        }
        let response = successful(response).await?;
        let headers = response.headers();
        let etag = headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::MissingHeader("ETag"))?
            .to_owned();
        let version = headers
            .get(VERSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or(Error::MissingHeader(VERSION_HEADER))?;
        let body = response.bytes().await.map_err(Error::Request)?;
        let document: Value = serde_json::from_slice(&body).map_err(Error::Json)?;
        self.install(&document, version, etag)
    }

    /// Reads the stream until the server ends it (`Ok`) or it fails; `live_since` is set
    /// once it is open.
    async fn follow(&mut self, live_since: &mut Option<Instant>) -> Result<(), Error> {
        let mut request = self
            .http
            .get(self.endpoints.stream.clone())
            .bearer_auth(&self.sdk_key)
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        if let Some(version) = self.version {
            request = request.header("last-event-id", version.to_string());
        }
        // Not reqwest's own timeout: that one would also cut the body, which never ends.
        let response = tokio::time::timeout(self.request_timeout, request.send())
            .await
            .map_err(|_| Error::StreamIdle(self.request_timeout))?
            .map_err(Error::Request)?;
        let mut response = successful(response).await?;
        *live_since = Some(Instant::now());
        self.shared.set_last_error(None);
        self.shared.set_connection(Connection::Live);
        tracing::debug!(version = ?self.version, "following the rodeo flag stream");
        let mut parser = SseParser::new(MAX_EVENT_BYTES);
        let mut events = Vec::new();
        loop {
            let chunk = tokio::time::timeout(STREAM_IDLE, response.chunk())
                .await
                .map_err(|_| Error::StreamIdle(STREAM_IDLE))?
                .map_err(Error::Request)?;
            let Some(chunk) = chunk else {
                return Ok(());
            };
            parser
                .feed(&chunk, &mut events)
                .map_err(|e| Error::EventTooLarge { limit: e.limit })?;
            for event in events.drain(..) {
                self.on_event(event);
            }
        }
    }

    fn on_event(&mut self, event: SseEvent) {
        if event.event != "definition" {
            tracing::debug!(event = %event.event, "ignoring an unknown event on the rodeo flag stream");
            return;
        }
        let installed = serde_json::from_str::<StreamMessage>(&event.data)
            .map_err(Error::Json)
            .and_then(|m| self.install(&m.definition, m.version, m.etag));
        if let Err(e) = installed {
            self.failed(e);
        }
    }

    /// Compiles and serves a definition, unless it is the one served already.
    fn install(&mut self, document: &Value, version: i64, etag: String) -> Result<(), Error> {
        if self.version == Some(version) && self.etag.as_deref() == Some(etag.as_str()) {
            return Ok(());
        }
        let set = FlagSet::compile(document)
            .map_err(|problems| Error::Definition { version, problems })?;
        let flags = set.len();
        self.shared
            .definition
            .send_replace(Some(Arc::new(Snapshot { set, version })));
        self.version = Some(version);
        self.etag = Some(etag);
        tracing::info!(version, flags, "rodeo flags: serving a new definition");
        Ok(())
    }
}

/// The response if its status is a success; otherwise the error it stands for, with
/// the problem's `detail` when the body is `application/problem+json`.
async fn successful(response: Response) -> Result<Response, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    let status = status.as_u16();
    Err(match status {
        401 | 403 => Error::Refused { status, detail },
        _ => Error::Status { status, detail },
    })
}
