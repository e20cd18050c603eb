//! Every kind of bad input gets the right status and a message naming the problem, and
//! leaves the ledger as it was.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{commit, fields, problem, sha, spawn_app, spawn_with, TestApp};

fn deployment() -> Value {
    json!({"service": "api", "environment": "production", "version": "1.4.2", "commit_sha": sha(1)})
}

async fn rejected(app: &TestApp, body: Value, status: u16) -> Value {
    let before = app.event_count().await;
    let p = problem(app.post("/api/v1/deployments", &body).await, status).await;
    assert_eq!(
        app.event_count().await,
        before,
        "a rejected write appended events: {p}"
    );
    p
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    let r = app
        .req(Method::POST, "/api/v1/deployments")
        .header("content-type", "application/json")
        .body("{\"service\": \"api\",")
        .send()
        .await
        .unwrap();
    let p = problem(r, 400).await;
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
    let mut missing = deployment();
    missing.as_object_mut().unwrap().remove("commit_sha");
    let p = rejected(&app, missing, 400).await;
    assert_eq!(fields(&p), ["commit_sha"]);
    let mut wrong_type = deployment();
    wrong_type["commits"] = json!([{"sha": 5}]);
    let p = rejected(&app, wrong_type, 400).await;
    assert_eq!(fields(&p), ["commits[0].sha"]);
    app.stop().await;
}

#[tokio::test]
async fn invalid_fields_are_a_422_naming_each_field() {
    let app = spawn_app().await;
    let mut bad = deployment();
    bad["commit_sha"] = json!("abc123");
    bad["service"] = json!("Api Server");
    bad["started_at"] = json!("2026-03-02T10:00:00Z");
    bad["finished_at"] = json!("2026-03-02T09:00:00Z");
    let p = rejected(&app, bad, 422).await;
    let f = fields(&p);
    for want in ["commit_sha", "service", "finished_at"] {
        assert!(f.contains(&want.to_owned()), "{want} not in {f:?}");
    }
    let mut future = deployment();
    future["finished_at"] = json!("2099-01-01T00:00:00Z");
    let p = rejected(&app, future, 422).await;
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("24 hours in the future"));
    let mut long = deployment();
    long["service"] = json!("a".repeat(64));
    let p = rejected(&app, long, 422).await;
    assert_eq!(p["errors"][0]["message"], "must be at most 63 characters");
    let mut unicode = deployment();
    unicode["environment"] = json!("prödüction");
    assert_eq!(fields(&rejected(&app, unicode, 422).await), ["environment"]);
    app.stop().await;
}

#[tokio::test]
async fn unknown_environment_with_auto_registration_off() {
    let app = spawn_with(|c| c.ingest.auto_register = false).await;
    let r = app.post("/api/v1/services", &json!({"name": "api"})).await;
    assert_eq!(r.status(), 201);
    let p = rejected(&app, deployment(), 422).await;
    assert_eq!(fields(&p), ["environment"]);
    assert!(app.get_json("/api/v1/environments").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_a_413() {
    let app = spawn_app().await;
    let mut big = deployment();
    big["commits"] = json!([{"sha": sha(1), "author": "a", "authored_at": "2026-03-01T00:00:00Z",
        "message": "x".repeat(2 * 1024 * 1024)}]);
    let before = app.event_count().await;
    problem(app.post("/api/v1/deployments", &big).await, 413).await;
    assert_eq!(app.event_count().await, before);
    app.stop().await;
}

#[tokio::test]
async fn commits_with_unknown_parents_are_kept_and_marked_incomplete() {
    let app = spawn_app().await;
    let mut d = deployment();
    d["commits"] = json!([commit(1, Some(999), "2026-03-01T09:00:00Z")]);
    let created = app.deploy(d).await;
    assert_eq!(created["changes_complete"], false);
    assert_eq!(created["change_count"], 1);
    app.stop().await;
}

#[tokio::test]
async fn sql_metacharacters_and_unicode_round_trip_in_free_text() {
    let app = spawn_app().await;
    let evil = "'; DROP TABLE deployments; -- \" \\ % _ 🚀 naïve";
    let mut d = deployment();
    d["version"] = json!("1.0'--;DROP");
    d["external_id"] = json!(evil);
    d["url"] = json!(format!("https://ci.example/?q={evil}"));
    let mut c = commit(1, None, "2026-03-01T09:00:00Z");
    c["message"] = json!(format!("{evil}\nsecond line"));
    c["author"] = json!(evil);
    d["commits"] = json!([c]);
    let created = app.deploy(d).await;
    let detail = app
        .get_json(&format!(
            "/api/v1/deployments/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(detail["version"], "1.0'--;DROP");
    assert_eq!(detail["external_id"], evil);
    assert_eq!(
        detail["changes"][0]["message"],
        format!("{evil}\nsecond line")
    );
    assert_eq!(detail["changes"][0]["author"], evil);
    let r = app
        .post(
            "/api/v1/teams",
            &json!({"name": "core", "display_name": evil}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        app.get_json("/api/v1/teams/core").await["display_name"],
        evil
    );
    let p = problem(
        app.post("/api/v1/teams", &json!({"name": "x'; --"})).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["name"]);
    assert_eq!(
        app.get_json("/api/v1/deployments").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_query_parameters_are_named() {
    let app = spawn_app().await;
    let p = problem(app.get("/api/v1/events?limit=5000").await, 422).await;
    assert_eq!(fields(&p), ["limit"]);
    let p = problem(app.get("/api/v1/events?cursor=garbage").await, 422).await;
    assert_eq!(fields(&p), ["cursor"]);
    let p = problem(app.get("/api/v1/events?since=yesterday").await, 422).await;
    assert_eq!(fields(&p), ["since"]);
    problem(app.get("/api/v1/deployments/not-a-number").await, 404).await;
    problem(app.get("/api/v1/nope").await, 404).await;
    app.stop().await;
}
