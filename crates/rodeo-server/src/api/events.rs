//! The ledger: a paginated read, and a live Server-Sent Events stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::{self, Stream, StreamExt};
use rodeo_domain::{
    parse_timestamp, EnvironmentName, Event, EventFilter, FieldErrors, Scope, ServiceName,
};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use super::{page_params, PageParams};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::query::Q;
use crate::state::AppState;

/// Events a reconnecting stream client may catch up on before it is told to re-read.
const MAX_CATCH_UP: usize = 10_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventParams {
    service: Option<String>,
    environment: Option<String>,
    /// Exact kind (`deployment.finished`) or a prefix ending in a dot (`deployment.`).
    kind: Option<String>,
    /// RFC 3339; events that happened at or after.
    since: Option<String>,
    /// RFC 3339; events that happened before.
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn filter(q: EventParams) -> Result<EventFilter, ApiError> {
    let mut e = FieldErrors::new();
    let PageParams { limit, before_id } = page_params(q.limit, q.cursor.as_deref(), &mut e);
    let f = EventFilter {
        service: q
            .service
            .as_deref()
            .and_then(|s| e.take(ServiceName::parse(s))),
        environment: q
            .environment
            .as_deref()
            .and_then(|s| e.take(EnvironmentName::parse(s))),
        kind: q.kind.filter(|k| !k.is_empty()),
        since: q
            .since
            .as_deref()
            .and_then(|s| e.take(parse_timestamp("since", s))),
        until: q
            .until
            .as_deref()
            .and_then(|s| e.take(parse_timestamp("until", s))),
        before_id,
        limit,
    };
    e.finish().map_err(ApiError::Invalid)?;
    Ok(f)
}

/// Ledger events, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "ledger", params(EventParams),
    responses((status = 200, description = "{items: [Event], next_cursor}", body = serde_json::Value)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<EventParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let f = filter(q)?;
    Ok(Json(state.store.list_events(&f).await?).into_response())
}

/// New events as Server-Sent Events (`id` = event id, `event` = kind, `data` = Event JSON).
/// With `Last-Event-ID`, missed events are sent first. Filters as for the list.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "ledger", params(EventParams),
    responses((status = 200, description = "text/event-stream of Events")))]
pub(crate) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Q(q): Q<EventParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.require(Scope::Read)?;
    let mut f = filter(q)?;
    f.before_id = None;
    // Subscribe before catching up so nothing committed in between is lost; duplicates
    // are dropped by id below.
    let rx = state.store.subscribe();
    let last_id: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let missed = match last_id {
        Some(id) => catch_up(&state, &f, id).await?,
        None => Vec::new(),
    };
    let mut high = missed.last().map(|e| e.id).or(last_id).unwrap_or(0);
    let catch = stream::iter(missed.into_iter().map(|e| Ok(sse(&e))));
    let live = stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(e) => Some((Some(e), rx)),
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "event stream subscriber lagged; client should reconnect with Last-Event-ID"
                );
                Some((None, rx))
            }
            Err(RecvError::Closed) => None,
        }
    })
    .filter_map(move |e| {
        let keep = e.filter(|e| e.id > high && f.matches(e));
        if let Some(e) = &keep {
            high = e.id;
        }
        futures::future::ready(keep.map(|e| Ok(sse(&e))))
    });
    let mut stop = state.shutdown.clone();
    let ended = async move {
        let _ = stop.wait_for(|f| *f).await;
    };
    Ok(Sse::new(catch.chain(live).take_until(ended))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sse(e: &Event) -> SseEvent {
    SseEvent::default()
        .id(e.id.to_string())
        .event(e.kind.clone())
        .data(serde_json::to_string(e).unwrap_or_default())
}

/// Events after `after_id` matching the filter, oldest first.
async fn catch_up(
    state: &AppState,
    f: &EventFilter,
    after_id: i64,
) -> Result<Vec<Event>, ApiError> {
    let mut out = Vec::new();
    let mut page = EventFilter {
        limit: 1000,
        before_id: None,
        ..f.clone()
    };
    loop {
        let p = state.store.list_events(&page).await?;
        let mut done = p.next_cursor.is_none();
        for e in p.items {
            if e.id <= after_id {
                done = true;
                break;
            }
            page.before_id = Some(e.id);
            out.push(e);
        }
        if done || out.len() >= MAX_CATCH_UP {
            break;
        }
    }
    out.reverse();
    Ok(out)
}
