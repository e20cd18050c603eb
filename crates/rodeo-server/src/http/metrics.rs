//! Prometheus metrics: request counts and latency by route template (never by raw path,
//! so ids do not explode the label set), ingest counters, and pool gauges.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Latency buckets in seconds, dense where rodeo's targets are (1 to 50 ms).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder. `metrics` has one global recorder, so every app in the
/// process (several in tests) shares it.
pub(crate) fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("rodeo_http_request_duration_seconds".into()),
                    BUCKETS,
                )
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Fails only if another recorder is installed, in which case ours stays empty.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "rodeo_http_requests_total",
        "HTTP requests by method, route template and status"
    );
    metrics::describe_histogram!(
        "rodeo_http_request_duration_seconds",
        "HTTP request latency by method and route template"
    );
    metrics::describe_counter!(
        "rodeo_ingest_total",
        "Ingested items by kind (deployments, commits, webhook deliveries) and source"
    );
    metrics::describe_gauge!(
        "rodeo_db_pool_connections",
        "Database connections held by the pool"
    );
    metrics::describe_gauge!("rodeo_db_pool_idle", "Idle database connections");
    metrics::describe_gauge!(
        "rodeo_dora_deployments",
        "Production deployments in the last 30 days, per service (docs/metrics.md)"
    );
    metrics::describe_gauge!(
        "rodeo_dora_lead_time_seconds",
        "Lead time for changes over the last 30 days, per service, by quantile (NaN: no data)"
    );
    metrics::describe_gauge!(
        "rodeo_dora_change_failure_ratio",
        "Change failure rate over the last 30 days, per service (NaN: no deployments)"
    );
    metrics::describe_gauge!(
        "rodeo_dora_recovery_time_seconds",
        "Failed deployment recovery time over the last 30 days, per service, by quantile (NaN: no data)"
    );
    metrics::describe_gauge!(
        "rodeo_dora_rework_ratio",
        "Rework rate over the last 30 days, per service (NaN: no deployments)"
    );
}

/// How long computed DORA gauges are served before they are computed again.
const DORA_GAUGES_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Sets the per-service DORA gauges for the last 30 days, at most once a minute. A
/// metric without data is NaN, so a dashboard shows a gap rather than a good zero.
async fn refresh_dora_gauges(state: &AppState) {
    let mut last = state.dora_gauges.lock().await;
    if last.is_some_and(|t| t.elapsed() < DORA_GAUGES_TTL) {
        return;
    }
    let now = rodeo_domain::now();
    let Some(window) = rodeo_metrics::Window::ending(now, chrono::Duration::days(30)) else {
        return;
    };
    let query = rodeo_store::FactsQuery {
        services: None,
        from: window.from,
        to: window.to,
    };
    let facts = match state.store.metric_facts(&query).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "DORA gauges not updated");
            return;
        }
    };
    let bots = rodeo_metrics::BotPatterns::new(&state.config.metrics.bot_patterns);
    let or_nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
    for (service, d) in rodeo_metrics::dora_by_service(&facts, window, &bots) {
        let s = service.into_string();
        metrics::gauge!("rodeo_dora_deployments", "service" => s.clone())
            .set(f64::from(d.deployment_frequency.count));
        for (q, v) in [
            ("0.5", d.lead_time.median_seconds),
            ("0.9", d.lead_time.p90_seconds),
        ] {
            metrics::gauge!("rodeo_dora_lead_time_seconds", "service" => s.clone(), "quantile" => q)
                .set(or_nan(v.map(|x| x as f64)));
        }
        metrics::gauge!("rodeo_dora_change_failure_ratio", "service" => s.clone())
            .set(or_nan(d.change_failure_rate.ratio));
        for (q, v) in [
            ("0.5", d.recovery_time.median_seconds),
            ("0.9", d.recovery_time.p90_seconds),
        ] {
            metrics::gauge!("rodeo_dora_recovery_time_seconds", "service" => s.clone(), "quantile" => q)
                .set(or_nan(v.map(|x| x as f64)));
        }
        metrics::gauge!("rodeo_dora_rework_ratio", "service" => s).set(or_nan(d.rework_rate.ratio));
    }
    *last = Some(std::time::Instant::now());
}

/// Records one request under its route template.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::histogram!("rodeo_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(start.elapsed().as_secs_f64());
    metrics::counter!("rodeo_http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    resp
}

/// Counts ingested items.
pub(crate) fn ingested(kind: &'static str, source: &'static str, n: u64) {
    metrics::counter!("rodeo_ingest_total", "kind" => kind, "source" => source).increment(n);
}

/// `GET /metrics` on the main listener: needs a token of any scope.
pub(crate) async fn render_authed(
    state: State<AppState>,
    _caller: crate::http::auth::Caller,
) -> Response {
    render(state).await
}

/// `GET /metrics` in the Prometheus text format; unauthenticated only on its own listener.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    refresh_dora_gauges(&state).await;
    let pool = state.store.pool_stats();
    metrics::gauge!("rodeo_db_pool_connections", "backend" => state.store.backend())
        .set(f64::from(pool.connections));
    metrics::gauge!("rodeo_db_pool_idle", "backend" => state.store.backend())
        .set(f64::from(pool.idle));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
