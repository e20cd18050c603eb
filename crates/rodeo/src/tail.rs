//! Following the live event stream: reads server-sent events and reconnects with
//! `Last-Event-ID` when the connection drops, so no event is missed or repeated.

use std::ops::ControlFlow;
use std::time::Duration;

use futures::StreamExt;

use crate::api::{self, Query};
use crate::client::{Client, ClientError, SseMessage, SseParser};

/// The wait before reconnecting: `initial`, doubling up to `max`, back to `initial`
/// once a message arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    pub initial: Duration,
    pub max: Duration,
}

/// Calls `on_message` for each event until it breaks. A server that cannot be reached
/// or refuses the first connection is an error; once connected, drops and server errors
/// (a restart behind a proxy) are retried for as long as it takes.
pub async fn follow(
    client: &Client,
    filter: &Query,
    mut last_event_id: Option<String>,
    reconnect: Reconnect,
    mut on_message: impl FnMut(SseMessage) -> ControlFlow<()>,
) -> Result<(), ClientError> {
    let mut delay = reconnect.initial;
    let mut connected_once = false;
    loop {
        match api::open_event_stream(client, filter, last_event_id.as_deref()).await {
            Ok(resp) => {
                connected_once = true;
                let mut parser = SseParser::new();
                let mut body = resp.bytes_stream();
                while let Some(chunk) = body.next().await {
                    let bytes = match chunk {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::warn!(error = %e, "event stream interrupted; reconnecting");
                            break;
                        }
                    };
                    for m in parser.feed(&bytes) {
                        delay = reconnect.initial;
                        if let Some(id) = &m.id {
                            last_event_id = Some(id.clone());
                        }
                        if on_message(m).is_break() {
                            return Ok(());
                        }
                    }
                }
            }
            Err(e) if connected_once && retryable(&e) => {
                tracing::warn!(error = %e, "cannot reconnect to the event stream; retrying");
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(reconnect.max);
    }
}

fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Unreachable { .. } | ClientError::Transport { .. } => true,
        ClientError::Problem(p) => p.status >= 500,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::{header, HeaderMap, StatusCode};
    use axum::routing::get;
    use axum::Router;

    use super::*;
    use crate::test_support::spawn;

    const NO_WAIT: Reconnect = Reconnect {
        initial: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// Serves events 1..=2 to a fresh client and the ones after `Last-Event-ID` to a
    /// returning one, closing the stream after each batch.
    fn stream_app(seen: Arc<Mutex<Vec<Option<String>>>>) -> Router {
        Router::new().route(
            "/api/v1/events/stream",
            get(move |headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    let last = headers
                        .get("last-event-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    seen.lock().unwrap().push(last.clone());
                    let from: u32 = last.and_then(|l| l.parse().ok()).unwrap_or(0) + 1;
                    let body: String = (from..from + 2)
                        .map(|i| format!(": ping\n\nevent: test\nid: {i}\ndata: {{\"n\":{i}}}\n\n"))
                        .collect();
                    ([(header::CONTENT_TYPE, "text/event-stream")], body)
                }
            }),
        )
    }

    #[tokio::test]
    async fn resumes_after_the_last_event_when_the_stream_ends() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let base = spawn(stream_app(seen.clone())).await;
        let client = Client::new(&base, Some("t".into()), "cli").unwrap();
        let mut got = Vec::new();
        follow(&client, &Query::new(), None, NO_WAIT, |m| {
            got.push(m.data);
            if got.len() == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .unwrap();
        assert_eq!(
            got,
            [
                "{\"n\":1}",
                "{\"n\":2}",
                "{\"n\":3}",
                "{\"n\":4}",
                "{\"n\":5}"
            ]
        );
        assert_eq!(
            *seen.lock().unwrap(),
            vec![None, Some("2".to_owned()), Some("4".to_owned())]
        );
    }

    #[tokio::test]
    async fn starts_from_a_given_event_id() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let base = spawn(stream_app(seen.clone())).await;
        let client = Client::new(&base, None, "cli").unwrap();
        let mut first = None;
        follow(&client, &Query::new(), Some("10".into()), NO_WAIT, |m| {
            first = m.id;
            ControlFlow::Break(())
        })
        .await
        .unwrap();
        assert_eq!(first.as_deref(), Some("11"));
    }

    #[tokio::test]
    async fn a_refused_first_connection_is_an_error() {
        let app = Router::new().route(
            "/api/v1/events/stream",
            get(|| async { (StatusCode::UNAUTHORIZED, "{\"title\":\"Unauthorized\"}") }),
        );
        let base = spawn(app).await;
        let client = Client::new(&base, None, "cli").unwrap();
        let err = follow(&client, &Query::new(), None, NO_WAIT, |_| {
            ControlFlow::Continue(())
        })
        .await
        .unwrap_err();
        assert_eq!(err.status(), Some(401));
    }
}
