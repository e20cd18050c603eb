//! `/live`: a server-sent event per ledger change, for the dashboard's script to
//! re-fetch the page. It carries only the event's kind, service and environment; the
//! page itself is read again with the visitor's session, so nothing leaks that the
//! page would not show.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::{stream, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::Viewer;
use crate::state::AppState;

pub(crate) async fn stream(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.store.subscribe();
    let live = stream::unfold(rx, |mut rx| async move {
        let data = match rx.recv().await {
            Ok(e) => serde_json::json!({
                "kind": e.kind, "service": e.service, "environment": e.environment,
            })
            .to_string(),
            // Missed some: the page is out of date either way.
            Err(RecvError::Lagged(_)) => "{}".to_owned(),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(SseEvent::default().event("change").data(data)), rx))
    });
    let mut stop = state.shutdown.clone();
    let ended = async move {
        let _ = stop.wait_for(|f| *f).await;
    };
    Sse::new(live.take_until(ended)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
