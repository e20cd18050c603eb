//! The ledger: every write appends events; filters, pagination and the live stream.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{commit, sha, spawn_app};

#[tokio::test]
async fn writes_append_events_that_filter_by_service_kind_and_time() {
    let app = spawn_app().await;
    app.deploy(json!({"service": "api", "environment": "production", "version": "1", "commit_sha": sha(1),
        "finished_at": "2026-03-01T10:00:00Z", "commits": [commit(1, None, "2026-03-01T09:00:00Z")]})).await;
    app.deploy(
        json!({"service": "web", "environment": "staging", "version": "1", "commit_sha": sha(1),
        "finished_at": "2026-03-05T10:00:00Z"}),
    )
    .await;
    let all = app.get_json("/api/v1/events").await;
    let kinds: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "service.created",
        "environment.created",
        "commits.recorded",
        "deployment.finished",
    ] {
        assert!(kinds.contains(&k), "{k} missing in {kinds:?}");
    }
    let ids: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let api = app
        .get_json("/api/v1/events?service=api&kind=deployment.")
        .await;
    assert_eq!(api["items"].as_array().unwrap().len(), 1);
    assert_eq!(api["items"][0]["environment"], "production");
    assert_eq!(api["items"][0]["at"], "2026-03-01T10:00:00Z");
    let march_5 = app
        .get_json("/api/v1/events?kind=deployment.finished&since=2026-03-04T00:00:00Z")
        .await;
    assert_eq!(march_5["items"].as_array().unwrap().len(), 1);
    assert_eq!(march_5["items"][0]["service"], "web");
    let before = app
        .get_json("/api/v1/events?kind=deployment.finished&until=2026-03-04T00:00:00Z")
        .await;
    assert_eq!(before["items"][0]["service"], "api");
    app.stop().await;
}

#[tokio::test]
async fn the_stream_delivers_new_events_and_catches_up_from_last_event_id() {
    let app = spawn_app().await;
    let first = app.deploy(json!({"service": "api", "environment": "production", "version": "1", "commit_sha": sha(1)})).await;
    let last = app.get_json("/api/v1/events?limit=1").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .req(
            reqwest::Method::GET,
            "/api/v1/events/stream?kind=deployment.",
        )
        .header("last-event-id", &last)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = resp.bytes_stream();
    let second = app.deploy(json!({"service": "api", "environment": "production", "version": "2", "commit_sha": sha(2)})).await;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("\"version\":\"2\"") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("event within 10 s")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: deployment.finished"), "{text}");
    let data: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        data.len(),
        1,
        "only events after Last-Event-ID and matching the kind: {text}"
    );
    assert_eq!(
        data[0]["subject"],
        format!("deployment:{}", second["id"].as_str().unwrap())
    );
    assert_ne!(first["id"], second["id"]);
    app.stop().await;
}

#[tokio::test]
async fn commits_can_be_recorded_alone_and_read_back() {
    let app = spawn_app().await;
    let body = json!({"commits": [commit(1, None, "2026-03-01T09:00:00Z"), commit(2, Some(1), "2026-03-01T10:00:00Z")]});
    let r: Value = app
        .post("/api/v1/commits", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"recorded": 2, "already_known": 0}));
    let r: Value = app
        .post("/api/v1/commits", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"recorded": 0, "already_known": 2}));
    let c = app.get_json(&format!("/api/v1/commits/{}", sha(2))).await;
    assert_eq!(c["parents"], json!([sha(1)]));
    assert_eq!(c["author_email"], "ada@example.com");
    app.stop().await;
}

#[tokio::test]
async fn catalog_crud_and_conflicts() {
    let app = spawn_app().await;
    assert_eq!(
        app.post("/api/v1/teams", &json!({"name": "payments"}))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.post("/api/v1/teams", &json!({"name": "payments"}))
            .await
            .status(),
        409
    );
    let r = app
        .post(
            "/api/v1/services",
            &json!({"name": "billing", "team": "payments", "repository": "acme/billing"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = app
        .post(
            "/api/v1/services",
            &json!({"name": "ledger", "team": "nobody"}),
        )
        .await;
    let p = crate::helpers::problem(r, 422).await;
    assert_eq!(p["errors"][0]["field"], "team");
    let r = app
        .req(reqwest::Method::DELETE, "/api/v1/teams/payments")
        .send()
        .await
        .unwrap();
    crate::helpers::problem(r, 409).await;
    let r = app
        .req(reqwest::Method::PATCH, "/api/v1/services/billing")
        .json(&json!({"team": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert!(s["team"].is_null());
    assert_eq!(s["repository"], "acme/billing");
    let r = app
        .req(reqwest::Method::DELETE, "/api/v1/teams/payments")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .req(reqwest::Method::PATCH, "/api/v1/environments/nowhere")
        .json(&json!({"order": 3}))
        .send()
        .await
        .unwrap();
    crate::helpers::problem(r, 404).await;
    app.stop().await;
}
