//! Delivery metrics: DORA's five keys for a scope and window (with the previous window
//! and a per-service breakdown), their series for charts, and incident metrics. The
//! definitions are in `docs/metrics.md` and the computations in `rodeo-metrics`; this
//! module resolves the scope, reads the facts and shapes the answer.

use axum::extract::State;
use axum::Json;
use rodeo_domain::{
    parse_timestamp, Cursor, FieldError, FieldErrors, Scope, ServiceName, TeamName, Timestamp,
    MAX_PAGE_SIZE,
};
use rodeo_metrics::{
    dora_by_service_in, dora_in, incident_metrics, BotPatterns, Bucket, Dora, Facts, Window,
};
use rodeo_store::{FactsQuery, IncidentFilter};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::query::Q;
use crate::state::AppState;

/// The longest window accepted (and so the longest series).
const MAX_WINDOW_DAYS: i64 = 3 * 366;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricsParams {
    /// One service.
    service: Option<String>,
    /// A team's services.
    team: Option<String>,
    /// RFC 3339 start (inclusive); with `to`, instead of `window`.
    from: Option<String>,
    /// RFC 3339 end (exclusive); defaults to now.
    to: Option<String>,
    /// Length ending at `to`: `90d`, `12w`, `24h`. Default 30 days (configurable).
    window: Option<String>,
    /// Series only: `week` (default) or `day`.
    bucket: Option<String>,
}

/// What a request is about: the services (`None` = all) and the window.
pub(crate) struct Ask {
    pub(crate) services: Option<Vec<ServiceName>>,
    pub(crate) scope: Value,
    pub(crate) window: Window,
}

fn length(s: &str) -> Result<chrono::Duration, FieldError> {
    let bad = || {
        FieldError::new(
            "window",
            "must be a number with d, w or h, like 90d, 12w or 24h",
        )
    };
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        "h" => chrono::Duration::hours(n),
        _ => return Err(bad()),
    };
    if n <= 0 || d > chrono::Duration::days(MAX_WINDOW_DAYS) {
        return Err(FieldError::new(
            "window",
            format!("must be positive and at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok(d)
}

pub(crate) async fn resolve(state: &AppState, q: &MetricsParams) -> Result<Ask, ApiError> {
    let mut e = FieldErrors::new();
    let now = rodeo_domain::now();
    let to = match q.to.as_deref() {
        Some(s) => e.take(parse_timestamp("to", s)),
        None => Some(now),
    };
    let from = q
        .from
        .as_deref()
        .and_then(|s| e.take(parse_timestamp("from", s)));
    if q.from.is_some() && q.window.is_some() {
        e.push(FieldError::new(
            "window",
            "give either from or window, not both",
        ));
    }
    let len = match q.window.as_deref() {
        Some(w) => e.take(length(w)),
        None => Some(chrono::Duration::days(i64::from(
            state.config.metrics.default_window_days.max(1),
        ))),
    };
    if q.service.is_some() && q.team.is_some() {
        e.push(FieldError::new(
            "team",
            "give either service or team, not both",
        ));
    }
    let service = q
        .service
        .as_deref()
        .and_then(|s| e.take(ServiceName::parse(s)));
    let team = q.team.as_deref().and_then(|s| e.take(TeamName::parse(s)));
    let window = match (from, to, len) {
        (Some(f), Some(t), _) => {
            let w = Window::new(f, t);
            if w.is_none() {
                e.push(FieldError::new("from", "must be before to"));
            } else if t - f > chrono::Duration::days(MAX_WINDOW_DAYS) {
                e.push(FieldError::new(
                    "from",
                    format!("the window may be at most {MAX_WINDOW_DAYS} days"),
                ));
            }
            w
        }
        (None, Some(t), Some(l)) => Window::ending(t, l),
        _ => None,
    };
    e.finish().map_err(ApiError::Invalid)?;
    let window = window.ok_or_else(|| ApiError::invalid("window", "invalid"))?;

    let (services, scope) = if let Some(s) = service {
        if state.store.get_service(&s).await?.is_none() {
            return Err(ApiError::invalid(
                "service",
                format!("unknown service '{s}'"),
            ));
        }
        (
            Some(vec![s.clone()]),
            json!({ "service": s, "services": [s] }),
        )
    } else if let Some(t) = team {
        if state.store.get_team(&t).await?.is_none() {
            return Err(ApiError::invalid("team", format!("unknown team '{t}'")));
        }
        let mine: Vec<ServiceName> = state
            .store
            .list_services()
            .await?
            .into_iter()
            .filter(|s| s.team.as_ref() == Some(&t))
            .map(|s| s.name)
            .collect();
        (Some(mine.clone()), json!({ "team": t, "services": mine }))
    } else {
        let all: Vec<ServiceName> = state
            .store
            .list_services()
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect();
        (None, json!({ "services": all }))
    };
    Ok(Ask {
        services,
        scope,
        window,
    })
}

/// The facts from `from` to the end of `ask`'s window.
pub(crate) async fn facts(state: &AppState, ask: &Ask, from: Timestamp) -> Result<Facts, ApiError> {
    Ok(state
        .store
        .metric_facts(&FactsQuery {
            services: ask.services.clone(),
            from,
            to: ask.window.to,
        })
        .await?)
}

pub(crate) fn bots(state: &AppState) -> BotPatterns {
    BotPatterns::new(&state.config.metrics.bot_patterns)
}

/// `{metric: {..., previous: {...}}}` for the five keys.
pub(crate) fn with_previous(now: &Dora, previous: &Dora) -> Map<String, Value> {
    let (Value::Object(mut a), Value::Object(b)) = (json!(now), json!(previous)) else {
        return Map::new();
    };
    for (k, prev) in b {
        if let Some(Value::Object(m)) = a.get_mut(&k) {
            m.insert("previous".into(), prev);
        }
    }
    a
}

/// DORA's five keys for a service, a team or everything, with the previous window.
#[utoipa::path(get, path = "/api/v1/metrics/dora", tag = "metrics", params(MetricsParams),
    responses((status = 200, description = "window, scope, the five keys each with `previous`, and `services`: the same per service", body = serde_json::Value),
              (status = 422, description = "Invalid window or unknown service or team")))]
pub(crate) async fn dora_handler(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<MetricsParams>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let ask = resolve(&state, &q).await?;
    let previous = ask.window.previous();
    let facts = facts(&state, &ask, previous.from).await?;
    let bots = bots(&state);
    let window = ask.window;
    // Hundreds of milliseconds of computing for an organisation: off the async workers,
    // and the whole and the per-service figures on two threads (the per-service split
    // takes the facts by value, so it gets a copy: cheap next to the computing).
    let (whole, services) = tokio::task::spawn_blocking(move || {
        let split = facts.clone();
        std::thread::scope(|scope| {
            let per_service = scope.spawn(|| {
                dora_by_service_in(split, &[window, previous], &bots)
                    .iter()
                    .map(|(service, d)| {
                        let mut m = Map::new();
                        m.insert("service".into(), json!(service));
                        if let [now, before] = d.as_slice() {
                            m.extend(with_previous(now, before));
                        }
                        Value::Object(m)
                    })
                    .collect::<Vec<Value>>()
            });
            let whole = match dora_in(&facts, &[window, previous], &bots).as_slice() {
                [now, before] => with_previous(now, before),
                _ => Map::new(),
            };
            per_service.join().map(|services| (whole, services))
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|_| ApiError::Internal("the per-service computation panicked".into()))?;
    let mut out = Map::new();
    out.insert("window".into(), json!(ask.window));
    out.insert("previous_window".into(), json!(previous));
    out.insert("scope".into(), ask.scope.clone());
    out.extend(whole);
    out.insert("services".into(), Value::Array(services));
    Ok(Json(Value::Object(out)))
}

/// The five keys per day or week over the window, for charts.
#[utoipa::path(get, path = "/api/v1/metrics/dora/series", tag = "metrics", params(MetricsParams),
    responses((status = 200, description = "{window, scope, bucket, points: [{from, to, the five keys}]}", body = serde_json::Value)))]
pub(crate) async fn series(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<MetricsParams>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let bucket = match q.bucket.as_deref() {
        None | Some("week") => Bucket::Week,
        Some("day") => Bucket::Day,
        Some(_) => return Err(ApiError::invalid("bucket", "must be week or day")),
    };
    let ask = resolve(&state, &q).await?;
    let pieces = ask.window.buckets(bucket);
    if pieces.len() > 1200 {
        return Err(ApiError::invalid(
            "bucket",
            "too many points; use week or a shorter window",
        ));
    }
    let facts = facts(&state, &ask, ask.window.from).await?;
    let bots = bots(&state);
    let points: Vec<Value> = tokio::task::spawn_blocking(move || {
        let all = dora_in(&facts, &pieces, &bots);
        pieces
            .iter()
            .zip(all)
            .map(|(w, d)| {
                let mut m = Map::new();
                m.insert("from".into(), json!(w.from));
                m.insert("to".into(), json!(w.to));
                if let Value::Object(x) = json!(d) {
                    m.extend(x);
                }
                Value::Object(m)
            })
            .collect()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(json!({
        "window": ask.window, "scope": ask.scope, "bucket": bucket, "points": points,
    })))
}

/// Incident counts by severity, time to detect, acknowledge, mitigate and resolve, and
/// MTBF per service (drills excluded), with the previous window.
#[utoipa::path(get, path = "/api/v1/metrics/incidents", tag = "metrics", params(MetricsParams),
    responses((status = 200, description = "{window, scope, ...IncidentMetrics, previous}", body = serde_json::Value)))]
pub(crate) async fn incidents(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<MetricsParams>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Scope::Read)?;
    let ask = resolve(&state, &q).await?;
    let previous = ask.window.previous();
    // Only incidents: the deployments and first shipments of the DORA facts are not
    // needed here. Incidents affecting the scope's services, started since the previous
    // window began (so the first gap of the window has its predecessor).
    let mut list = Vec::new();
    let mut filter = IncidentFilter {
        service: match ask.services.as_deref() {
            Some([one]) => Some(one.clone()),
            _ => None,
        },
        since: Some(previous.from),
        until: Some(ask.window.to),
        limit: MAX_PAGE_SIZE,
        ..IncidentFilter::default()
    };
    loop {
        let page = state.store.list_incidents(&filter).await?;
        list.extend(
            page.items
                .iter()
                .filter(|i| {
                    ask.services
                        .as_ref()
                        .is_none_or(|s| i.services.iter().any(|x| s.contains(x)))
                })
                .map(rodeo_metrics::Incident::from),
        );
        match page.next_cursor.as_deref().map(Cursor::decode) {
            Some(c) => filter.before_id = Some(c.map_err(ApiError::internal)?.before_id),
            None => break,
        }
    }
    let mut out = match json!(incident_metrics(&list, ask.window)) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.insert("previous".into(), json!(incident_metrics(&list, previous)));
    out.insert("window".into(), json!(ask.window));
    out.insert("scope".into(), ask.scope);
    Ok(Json(Value::Object(out)))
}
