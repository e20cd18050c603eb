//! Webhooks end to end: signatures, redelivery, unknown events, malformed payloads, and
//! realistic GitHub and GitLab payloads (fixtures shaped like the real ones).

use hmac::{Hmac, Mac};
use reqwest::Response;
use serde_json::Value;
use sha2::Sha256;

use crate::helpers::{problem, spawn_app, TestApp, GITHUB_SECRET, GITLAB_TOKEN};

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(GITHUB_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(crate) async fn github(
    app: &TestApp,
    event: &str,
    delivery: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> Response {
    let mut r = app
        .client
        .post(format!("{}/webhooks/github", app.base))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery);
    if let Some(s) = signature {
        r = r.header("x-hub-signature-256", s);
    }
    r.body(body).send().await.unwrap()
}

async fn gitlab(app: &TestApp, event: &str, uuid: &str, body: Vec<u8>, token: &str) -> Response {
    app.client
        .post(format!("{}/webhooks/gitlab", app.base))
        .header("content-type", "application/json")
        .header("x-gitlab-event", event)
        .header("x-gitlab-event-uuid", uuid)
        .header("x-gitlab-token", token)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn github_push_records_commits_once_per_delivery() {
    let app = spawn_app().await;
    let body = fixture("github/push.json");
    let payload: Value = serde_json::from_slice(&body).unwrap();
    let r = github(&app, "push", "d-1", body.clone(), Some(sign(&body))).await;
    assert_eq!(r.status(), 200);
    let head = payload["after"].as_str().unwrap();
    let c = app.get_json(&format!("/api/v1/commits/{head}")).await;
    let second = payload["commits"][1]["id"].as_str().unwrap();
    assert_eq!(
        c["parents"],
        serde_json::json!([second]),
        "parents inferred from order"
    );
    assert_eq!(c["repository"], "acme/shop");
    let events = app.event_count().await;
    let r = github(&app, "push", "d-1", body.clone(), Some(sign(&body))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(
        app.event_count().await,
        events,
        "a redelivery is applied zero times"
    );
    let ev = app.get_json("/api/v1/events?kind=commits.recorded").await;
    assert_eq!(ev["items"][0]["source"], "github");
    app.stop().await;
}

#[tokio::test]
async fn github_signatures_are_required_and_checked() {
    let app = spawn_app().await;
    let body = fixture("github/push.json");
    let before = app.event_count().await;
    let p = problem(github(&app, "push", "d-2", body.clone(), None).await, 401).await;
    assert_eq!(p["type"], "urn:rodeo:problem:bad-signature");
    let mut tampered = body.clone();
    tampered.push(b' ');
    problem(
        github(&app, "push", "d-3", tampered, Some(sign(&body))).await,
        401,
    )
    .await;
    problem(
        github(&app, "push", "d-4", body.clone(), Some("sha256=00".into())).await,
        401,
    )
    .await;
    assert_eq!(app.event_count().await, before);
    app.stop().await;
}

#[tokio::test]
async fn github_unknown_events_are_accepted_and_malformed_payloads_rejected() {
    let app = spawn_app().await;
    let body = br#"{"action":"started","repository":{"full_name":"acme/shop"}}"#.to_vec();
    let r = github(&app, "watch", "d-5", body.clone(), Some(sign(&body))).await;
    assert_eq!(r.status(), 202);
    let ping = fixture("github/ping.json");
    assert_eq!(
        github(&app, "ping", "d-6", ping.clone(), Some(sign(&ping)))
            .await
            .status(),
        200
    );
    let before = app.event_count().await;
    let mut v: Value = serde_json::from_slice(&fixture("github/push.json")).unwrap();
    v["commits"][1]["timestamp"] = Value::from("last tuesday");
    let bad = serde_json::to_vec(&v).unwrap();
    let p = problem(
        github(&app, "push", "d-7", bad.clone(), Some(sign(&bad))).await,
        400,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "commits[1].timestamp", "{p}");
    let mut future: Value = serde_json::from_slice(&fixture("github/push.json")).unwrap();
    future["commits"][2]["timestamp"] = Value::from("2099-01-01T00:00:00Z");
    let future = serde_json::to_vec(&future).unwrap();
    let p = problem(
        github(&app, "push", "d-9", future.clone(), Some(sign(&future))).await,
        400,
    )
    .await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("24 hours in the future"),
        "{p}"
    );
    let garbage = b"{not json".to_vec();
    problem(
        github(&app, "push", "d-8", garbage.clone(), Some(sign(&garbage))).await,
        400,
    )
    .await;
    assert_eq!(app.event_count().await, before, "nothing half-written");
    app.stop().await;
}

#[tokio::test]
async fn github_deployment_and_status_become_one_finished_deployment() {
    let app = spawn_app().await;
    let created = fixture("github/deployment.json");
    assert_eq!(
        github(
            &app,
            "deployment",
            "d-10",
            created.clone(),
            Some(sign(&created))
        )
        .await
        .status(),
        200
    );
    let list = app.get_json("/api/v1/deployments").await;
    assert_eq!(list["items"][0]["status"], "in_progress");
    let done = fixture("github/deployment_status_success.json");
    assert_eq!(
        github(
            &app,
            "deployment_status",
            "d-11",
            done.clone(),
            Some(sign(&done))
        )
        .await
        .status(),
        200
    );
    let list = app.get_json("/api/v1/deployments").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let d = &items[0];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["service"], "api");
    assert_eq!(d["environment"], "prod");
    assert_eq!(d["external_id"], "github:deployment:1847203911");
    assert_eq!(d["finished_at"], "2026-03-02T09:01:44Z");
    assert_eq!(d["source"], "github");
    let inactive = fixture("github/deployment_status_inactive.json");
    assert_eq!(
        github(
            &app,
            "deployment_status",
            "d-12",
            inactive.clone(),
            Some(sign(&inactive))
        )
        .await
        .status(),
        202
    );
    app.stop().await;
}

#[tokio::test]
async fn gitlab_token_push_and_deployment() {
    let app = spawn_app().await;
    let push = fixture("gitlab/push.json");
    problem(
        gitlab(&app, "Push Hook", "u-1", push.clone(), "wrong").await,
        401,
    )
    .await;
    assert_eq!(
        gitlab(&app, "Push Hook", "u-1", push.clone(), GITLAB_TOKEN)
            .await
            .status(),
        200
    );
    let r = gitlab(&app, "Push Hook", "u-1", push.clone(), GITLAB_TOKEN).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "duplicate");
    let running = fixture("gitlab/deployment_running.json");
    assert_eq!(
        gitlab(&app, "Deployment Hook", "u-2", running, GITLAB_TOKEN)
            .await
            .status(),
        200
    );
    let success = fixture("gitlab/deployment_success.json");
    assert_eq!(
        gitlab(&app, "Deployment Hook", "u-3", success, GITLAB_TOKEN)
            .await
            .status(),
        200
    );
    let list = app.get_json("/api/v1/deployments").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["status"], "succeeded");
    assert_eq!(items[0]["environment"], "live");
    assert_eq!(items[0]["external_id"], "gitlab:deployment:3381");
    assert_eq!(
        items[0]["commit_sha"],
        "279484c09fbe69ededfced8c1bb6e6d24616b468"
    );
    let r = gitlab(&app, "Pipeline Hook", "u-4", b"{}".to_vec(), GITLAB_TOKEN).await;
    assert_eq!(r.status(), 202);
    app.stop().await;
}

#[tokio::test]
async fn webhook_bodies_have_their_own_larger_limit() {
    let app = spawn_app().await;
    let huge = vec![b' '; 26 * 1024 * 1024];
    problem(
        github(&app, "push", "d-20", huge.clone(), Some(sign(&huge))).await,
        413,
    )
    .await;
    // Between the API limit (1 MiB) and the webhook limit: not a 413.
    let mid = format!("{{\"zen\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)).into_bytes();
    let r = github(&app, "ping", "d-21", mid.clone(), Some(sign(&mid))).await;
    assert_ne!(r.status(), 413);
    app.stop().await;
}
