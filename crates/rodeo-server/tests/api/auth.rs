//! Tokens and scopes: 401 without a valid token, 403 with too small a scope.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{problem, sha, spawn_app};

#[tokio::test]
async fn every_api_endpoint_needs_a_token() {
    let app = spawn_app().await;
    let anon = reqwest::Client::new();
    for path in [
        "/api/v1/status",
        "/api/v1/events",
        "/api/v1/deployments",
        "/api/v1/tokens",
        "/metrics",
        "/readyz",
    ] {
        let r = anon
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let r = problem(r, 401).await;
        assert_eq!(r["type"], "urn:rodeo:problem:unauthenticated");
    }
    let r = anon
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = anon
        .get(format!("{}/api/v1/status", app.base))
        .bearer_auth("rodeo_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    problem(r, 401).await;
    app.stop().await;
}

#[tokio::test]
async fn scopes_are_enforced_and_names_become_actors() {
    let app = spawn_app().await;
    let read = app.token("dashboard", "read").await;
    let write = app.token("ci", "write").await;
    let deploy = json!({"service": "api", "environment": "production", "version": "1", "commit_sha": sha(1)});
    let as_ = |t: &str, m: Method, p: &str| {
        app.client
            .request(m, format!("{}{p}", app.base))
            .bearer_auth(t.to_owned())
    };
    let r = as_(&read, Method::POST, "/api/v1/deployments")
        .json(&deploy)
        .send()
        .await
        .unwrap();
    problem(r, 403).await;
    assert_eq!(
        as_(&read, Method::GET, "/api/v1/status")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = as_(&write, Method::POST, "/api/v1/deployments")
        .header("x-rodeo-source", "cli")
        .json(&deploy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    problem(
        as_(&write, Method::GET, "/api/v1/tokens")
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    let ev = app
        .get_json("/api/v1/events?kind=deployment.finished")
        .await;
    assert_eq!(ev["items"][0]["actor"], "ci");
    assert_eq!(ev["items"][0]["source"], "cli");
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_and_revocation_is_immediate() {
    let app = spawn_app().await;
    let r = app
        .post("/api/v1/tokens", &json!({"name": "ci", "scope": "write"}))
        .await;
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_str().unwrap().to_owned();
    let use_it = || {
        app.client
            .get(format!("{}/api/v1/status", app.base))
            .bearer_auth(secret.clone())
            .send()
    };
    assert_eq!(use_it().await.unwrap().status(), 200);
    let list = app.get_json("/api/v1/tokens").await;
    let text = list.to_string();
    assert!(!text.contains(&secret) && !text.contains("hash"), "{text}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    problem(
        app.post("/api/v1/tokens", &json!({"name": "ci", "scope": "read"}))
            .await,
        409,
    )
    .await;
    let p = problem(
        app.post("/api/v1/tokens", &json!({"name": "x", "scope": "root"}))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "scope");
    let r = app
        .req(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    problem(use_it().await.unwrap(), 401).await;
    app.stop().await;
}
