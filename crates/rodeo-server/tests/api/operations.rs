//! Health, readiness, metrics and the OpenAPI document.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let live: Value = reqwest::get(format!("{}/healthz", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "ok");
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["backend"], "sqlite");
    app.stop().await;
}

#[tokio::test]
async fn metrics_label_requests_by_route_template() {
    let app = spawn_app().await;
    app.get("/api/v1/deployments/12345").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("route=\"/api/v1/deployments/{id}\""),
        "{text}"
    );
    assert!(!text.contains("/api/v1/deployments/12345"));
    assert!(text.contains("rodeo_http_request_duration_seconds_bucket"));
    assert!(text.contains("rodeo_db_pool_connections"));
    app.stop().await;
}

/// Per-service DORA gauges for the last 30 days; no data is NaN, never a good zero.
#[tokio::test]
async fn metrics_carry_dora_gauges_per_service() {
    let app = spawn_app().await;
    let now = rodeo_domain::format_timestamp(rodeo_domain::now() - chrono::Duration::hours(1));
    app.deploy(
        serde_json::json!({"service": "gauge-svc", "environment": "production",
        "version": "1", "commit_sha": crate::helpers::sha(77), "finished_at": now}),
    )
    .await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("rodeo_dora_deployments{service=\"gauge-svc\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rodeo_dora_change_failure_ratio{service=\"gauge-svc\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("rodeo_dora_lead_time_seconds{service=\"gauge-svc\",quantile=\"0.5\"} NaN"),
        "{text}"
    );
    app.stop().await;
}

/// Every documented operation is routed (it does not hit the no-route fallback), and the
/// document covers the endpoints the issue names.
#[tokio::test]
async fn openapi_documents_every_route() {
    let app = spawn_app().await;
    let spec = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    for want in [
        "/api/v1/deployments",
        "/api/v1/deployments/{id}",
        "/api/v1/deployments/{id}/finish",
        "/api/v1/status",
        "/api/v1/compare",
        "/api/v1/events",
        "/api/v1/events/stream",
        "/api/v1/services",
        "/api/v1/environments",
        "/api/v1/teams",
        "/api/v1/tokens",
        "/webhooks/github",
        "/webhooks/gitlab",
        "/webhooks/pagerduty",
        "/webhooks/alertmanager",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/changes",
        "/api/v1/metrics/dora",
        "/api/v1/metrics/dora/series",
        "/api/v1/metrics/incidents",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            paths.contains_key(want),
            "{want} missing from the OpenAPI document"
        );
    }
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let concrete = path
                .replace("{id}", "1")
                .replace("{item}", "1")
                .replace("{name}", "x")
                .replace("{sha}", &"a".repeat(40));
            if concrete.ends_with("/stream") {
                continue;
            }
            let r = app.req(m.clone(), &concrete).send().await.unwrap();
            let status = r.status();
            assert_ne!(status, 405, "{method} {path} is documented but not routed");
            if status == 404 {
                let body: Value = r.json().await.unwrap_or_default();
                assert_ne!(
                    body["type"], "urn:rodeo:problem:no-route",
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
    app.stop().await;
}
