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
