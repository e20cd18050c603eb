//! Commands run end to end against a fake server: what goes over the wire, and which
//! exit code an answer becomes.

use std::sync::{Arc, Mutex};

use axum::extract::Query as QueryParams;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use rodeo_domain::Sha;
use serde_json::{json, Value};

use super::run;
use crate::cli::Cli;
use crate::test_support::{commit, git, spawn};

/// What the fake server saw: (path, selected headers, body).
type Log = Arc<Mutex<Vec<(String, Vec<(String, String)>, Value)>>>;

fn headers(h: &HeaderMap) -> Vec<(String, String)> {
    ["authorization", "x-rodeo-source", "idempotency-key"]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), h.get(k)?.to_str().ok()?.to_owned())))
        .collect()
}

fn deployment_json(body: &Value, id: u32) -> Value {
    json!({
        "id": id.to_string(), "service": body["service"], "environment": body["environment"],
        "version": body["version"], "commit_sha": body["commit_sha"], "status": body["status"],
        "kind": body["kind"], "started_at": "2026-01-04T08:00:00Z", "finished_at": null,
        "external_id": null, "url": null, "created_by": "ci", "source": "cli",
        "rollback_of": null, "previous_id": null, "change_count": 2, "changes_complete": true
    })
}

/// Knows one deployment of `api` to `production`, at `current`; finishing is a 409.
fn fake(log: Log, current: Sha) -> Router {
    let l1 = log.clone();
    let l2 = log.clone();
    Router::new()
        .route(
            "/api/v1/deployments/current",
            get(move |q: QueryParams<Vec<(String, String)>>, h: HeaderMap| {
                let current = current.clone();
                async move {
                    l1.lock()
                        .unwrap()
                        .push(("current".into(), headers(&h), json!(q.0)));
                    let body = json!({"service": "api", "environment": "production",
                        "version": "0.9.0", "commit_sha": current.as_str(), "status": "succeeded",
                        "kind": "normal"});
                    Json(deployment_json(&body, 1))
                }
            }),
        )
        .route(
            "/api/v1/deployments",
            post(move |h: HeaderMap, Json(body): Json<Value>| async move {
                let reply = deployment_json(&body, 2);
                l2.lock()
                    .unwrap()
                    .push(("record".into(), headers(&h), body));
                (StatusCode::CREATED, Json(reply))
            }),
        )
        .route(
            "/api/v1/deployments/{id}/finish",
            post(|| async {
                let problem = json!({"type": "about:blank", "title": "Conflict", "status": 409,
                    "detail": "deployment 2 is already finished"});
                (StatusCode::CONFLICT, Json(problem))
            }),
        )
}

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("rodeo").chain(args.iter().copied())).unwrap()
}

#[tokio::test]
async fn deploy_with_git_uploads_the_commits_since_the_running_sha() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, "2026-01-01T09:00:00Z", &["init", "-q"]);
    let running = commit(dir, "2026-01-01T09:00:00Z", "feat: first");
    let second = commit(dir, "2026-01-02T09:00:00Z", "fix: second\n\nwith a body");
    let third = commit(dir, "2026-01-03T09:00:00Z", "feat: third ✓");

    let log: Log = Arc::default();
    let base = spawn(fake(log.clone(), running)).await;
    let dir = dir.to_str().unwrap();
    let args = [
        "--server",
        &base,
        "--token",
        "s3cret",
        "deploy",
        "--service",
        "api",
        "--env",
        "production",
        "--version",
        "1.0.0",
        "--commit",
        "HEAD",
        "--git",
        dir,
        "--idempotency-key",
        "build-77",
    ];
    run(cli(&args)).await.unwrap();

    let log = log.lock().unwrap();
    let (what, h, query) = &log[0];
    assert_eq!(what, "current");
    assert_eq!(
        query,
        &json!([["service", "api"], ["environment", "production"]])
    );
    assert!(h.contains(&("authorization".into(), "Bearer s3cret".into())));

    let (what, h, body) = &log[1];
    assert_eq!(what, "record");
    assert!(h.contains(&("x-rodeo-source".into(), "cli".into())));
    assert!(h.contains(&("idempotency-key".into(), "build-77".into())));
    assert_eq!(body["commit_sha"], third.as_str(), "HEAD was resolved");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["kind"], "normal");
    let shas: Vec<&str> = body["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(shas, [second.as_str(), third.as_str()]);
    assert_eq!(body["commits"][0]["message"], "fix: second\n\nwith a body");
    assert_eq!(body["commits"][0]["authored_at"], "2026-01-02T09:00:00Z");
    assert!(
        body.get("finished_at").is_none(),
        "the server's clock decides"
    );
}

#[tokio::test]
async fn finishing_twice_exits_with_the_conflict_code() {
    let base = spawn(fake(Arc::default(), Sha::parse(&"a".repeat(40)).unwrap())).await;
    let err = run(cli(&[
        "--server", &base, "deploy", "finish", "2", "--status", "failed",
    ]))
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 6);
    assert!(err.report().contains("deployment 2 is already finished"));
}

#[tokio::test]
async fn an_unreachable_server_exits_with_code_3() {
    // A port that was just free: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = run(cli(&["--server", &url, "status"])).await.unwrap_err();
    assert_eq!(err.exit_code(), 3, "{}", err.report());
}

#[tokio::test]
async fn offline_token_creation_needs_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("missing.db").display());
    let args = [
        "token",
        "create",
        "--name",
        "ci",
        "--scope",
        "write",
        "--database-url",
        &url,
    ];
    let err = run(cli(&args)).await.unwrap_err();
    assert!(matches!(err, crate::CliError::NoDatabase(_)), "{err:?}");
    assert_eq!(err.exit_code(), 1);
    assert!(
        !dir.path().join("missing.db").exists(),
        "no empty database was created"
    );
}
