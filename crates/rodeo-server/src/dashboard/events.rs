//! The ledger as a timeline, filtered by service, environment and kind.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Response;
use rodeo_domain::{Cursor, EnvironmentName, EventFilter, ServiceName};

use super::format::query_escape;
use super::rows::EventRow;
use super::{html, Layout, PageError, Viewer};
use crate::error::ApiError;
use crate::state::AppState;

/// Kinds offered in the filter; any other kind or `prefix.` can be typed in the URL.
const KINDS: [&str; 8] = [
    "deployment.",
    "commits.",
    "pull_request.",
    "incident.",
    "flag.",
    "service.",
    "environment.",
    "token.",
];

#[derive(askama::Template)]
#[template(path = "events.html")]
struct Events {
    layout: Layout,
    kinds: [&'static str; 8],
    service: String,
    environment: String,
    kind: String,
    events: Vec<EventRow>,
    next: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let get = |k: &str| q.get(k).map(|s| s.trim()).unwrap_or("").to_owned();
    let (service, environment, kind) = (get("service"), get("environment"), get("kind"));
    let invalid = |e: rodeo_domain::FieldError| PageError::Api(ApiError::Invalid(e.into()));
    let filter = EventFilter {
        service: match service.as_str() {
            "" => None,
            s => Some(ServiceName::parse(s).map_err(invalid)?),
        },
        environment: match environment.as_str() {
            "" => None,
            e => Some(EnvironmentName::parse_field("environment", e).map_err(invalid)?),
        },
        kind: Some(kind.clone()).filter(|k| !k.is_empty()),
        before_id: match q.get("cursor") {
            Some(c) => Some(Cursor::decode(c).map_err(invalid)?.before_id),
            None => None,
        },
        limit: 100,
        ..EventFilter::default()
    };
    let page = state.store.list_events(&filter).await?;
    let next = page.next_cursor.map(|c| {
        format!(
            "/events?service={}&environment={}&kind={}&cursor={c}",
            query_escape(&service),
            query_escape(&environment),
            query_escape(&kind)
        )
    });
    html(&Events {
        layout: viewer.layout("Events", "events"),
        kinds: KINDS,
        service,
        environment,
        kind,
        events: page.items.iter().map(|e| EventRow::new(e, now)).collect(),
        next,
    })
}
