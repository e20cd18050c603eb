//! Recording deployments and reading what they shipped.

use serde_json::{json, Value};

use crate::helpers::{commit, sha, spawn_app};

#[tokio::test]
async fn one_call_records_a_finished_deployment_with_its_shipped_commits() {
    let app = spawn_app().await;
    let first = app
        .deploy(
            json!({"service": "api", "environment": "production", "version": "1.0.0",
            "commit_sha": sha(1), "finished_at": "2026-03-01T10:00:00Z",
            "commits": [commit(1, None, "2026-03-01T09:00:00Z")]}),
        )
        .await;
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["kind"], "normal");
    assert!(first["id"].is_string(), "ids are strings");
    let second = app
        .deploy(json!({"service": "api", "environment": "production", "version": "1.1.0",
            "commit_sha": sha(3), "started_at": "2026-03-02T09:55:00Z", "finished_at": "2026-03-02T10:00:00Z",
            "external_id": "ci:run:9", "url": "https://ci.example/run/9",
            "commits": [commit(2, Some(1), "2026-03-02T08:00:00Z"), commit(3, Some(2), "2026-03-02T09:00:00Z")]}))
        .await;
    let detail = app
        .get_json(&format!(
            "/api/v1/deployments/{}",
            second["id"].as_str().unwrap()
        ))
        .await;
    let shipped: Vec<&str> = detail["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(shipped, [sha(3), sha(2)]);
    assert_eq!(detail["changes_complete"], true);
    assert_eq!(detail["previous_id"], first["id"]);
    assert_eq!(detail["created_by"], "admin");
    assert_eq!(detail["url"], "https://ci.example/run/9");
    app.stop().await;
}

#[tokio::test]
async fn start_then_finish_and_finishing_twice_is_a_conflict() {
    let app = spawn_app().await;
    let d = app
        .deploy(
            json!({"service": "api", "environment": "staging", "version": "2",
            "commit_sha": sha(7), "status": "in_progress"}),
        )
        .await;
    assert_eq!(d["status"], "in_progress");
    assert!(d["finished_at"].is_null());
    let path = format!("/api/v1/deployments/{}/finish", d["id"].as_str().unwrap());
    let r = app.post(&path, &json!({"status": "succeeded"})).await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["status"], "succeeded");
    let events_before = app.event_count().await;
    let r = app.post(&path, &json!({"status": "failed"})).await;
    let p = crate::helpers::problem(r, 409).await;
    assert!(
        p["detail"].as_str().unwrap().contains("already finished"),
        "{p}"
    );
    assert_eq!(app.event_count().await, events_before);
    let current = app
        .get_json("/api/v1/deployments/current?service=api&environment=staging")
        .await;
    assert_eq!(current["id"], d["id"]);
    app.stop().await;
}

#[tokio::test]
async fn redeploying_an_older_version_is_recorded_as_a_rollback() {
    let app = spawn_app().await;
    let base = |v: &str, s: u32, at: &str| json!({"service": "api", "environment": "production", "version": v, "commit_sha": sha(s), "finished_at": at});
    app.deploy(base("1", 1, "2026-03-01T10:00:00Z")).await;
    let bad = app.deploy(base("2", 2, "2026-03-02T10:00:00Z")).await;
    let back = app.deploy(base("1", 1, "2026-03-02T11:00:00Z")).await;
    assert_eq!(back["kind"], "rollback");
    assert_eq!(back["rollback_of"], bad["id"]);
    let bad_now = app
        .get_json(&format!(
            "/api/v1/deployments/{}",
            bad["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(bad_now["status"], "rolled_back");
    let ev = app
        .get_json("/api/v1/events?kind=deployment.rolled_back")
        .await;
    assert_eq!(ev["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn status_matrix_shows_versions_and_undeployed_changes() {
    let app = spawn_app().await;
    for (env, order, prod) in [("staging", 1, false), ("production", 2, true)] {
        let r = app
            .post(
                "/api/v1/environments",
                &json!({"name": env, "order": order, "production": prod}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let commits = vec![
        commit(1, None, "2026-03-01T08:00:00Z"),
        commit(2, Some(1), "2026-03-01T09:00:00Z"),
        commit(3, Some(2), "2026-03-01T09:30:00Z"),
    ];
    app.deploy(
        json!({"service": "web", "environment": "production", "version": "1", "commit_sha": sha(1),
        "finished_at": "2026-03-01T10:00:00Z", "commits": commits}),
    )
    .await;
    app.deploy(
        json!({"service": "web", "environment": "staging", "version": "3", "commit_sha": sha(3),
        "finished_at": "2026-03-01T11:00:00Z"}),
    )
    .await;
    let m = app.get_json("/api/v1/status").await;
    let names: Vec<&str> = m["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["staging", "production"]);
    let row = &m["services"][0];
    assert_eq!(row["service"], "web");
    let prod = &row["environments"][1];
    assert_eq!(prod["deployment"]["version"], "1");
    assert_eq!(prod["drift"]["state"], "undeployed_changes");
    assert_eq!(prod["drift"]["undeployed_commits"], 2);
    assert_eq!(prod["drift"]["compared_to"], "staging");
    assert!(row["environments"][0]["drift"].is_null());

    let c = app
        .get_json("/api/v1/compare?service=web&from=staging&to=production")
        .await;
    let ahead: Vec<&str> = c["ahead"]["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(ahead, [sha(3), sha(2)]);
    assert_eq!(c["behind"]["commits"].as_array().unwrap().len(), 0);
    let by_sha = app
        .get_json(&format!(
            "/api/v1/compare?service=web&from_sha={}&to_version=1",
            sha(2)
        ))
        .await;
    assert_eq!(by_sha["ahead"]["commits"].as_array().unwrap().len(), 1);

    app.deploy(
        json!({"service": "web", "environment": "production", "version": "3", "commit_sha": sha(3),
        "finished_at": "2026-03-01T12:00:00Z"}),
    )
    .await;
    let m = app.get_json("/api/v1/status").await;
    assert_eq!(
        m["services"][0]["environments"][1]["drift"]["state"],
        "in_sync"
    );
    app.stop().await;
}

/// The status document is cached and patched row by row after writes; every kind of
/// write must show in the very next read, including those that reshape the matrix.
#[tokio::test]
async fn a_cached_status_follows_every_kind_of_write() {
    let app = spawn_app().await;
    let cell = |m: &Value, service: &str, env: &str| -> Value {
        let envs: Vec<&str> = m["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        let col = envs
            .iter()
            .position(|e| *e == env)
            .expect("environment listed");
        let row = m["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service)
            .expect("service listed");
        row["environments"][col].clone()
    };
    let deploy = |service: &str, env: &str, version: &str, n: u32| json!({"service": service, "environment": env, "version": version, "commit_sha": sha(n)});
    app.deploy(deploy("web", "production", "1", 1)).await;
    let m = app.get_json("/api/v1/status").await;
    assert_eq!(cell(&m, "web", "production")["deployment"]["version"], "1");
    assert_eq!(
        app.get_json("/api/v1/status").await,
        m,
        "served from the cache"
    );

    // One row changes.
    app.deploy(deploy("web", "production", "2", 2)).await;
    let m = app.get_json("/api/v1/status").await;
    assert_eq!(cell(&m, "web", "production")["deployment"]["version"], "2");
    // A service registered on first sight adds a row, in name order.
    app.deploy(deploy("api", "production", "7", 3)).await;
    let m = app.get_json("/api/v1/status").await;
    assert_eq!(m["services"][0]["service"], "api");
    assert_eq!(cell(&m, "api", "production")["deployment"]["version"], "7");
    // An environment registered on first sight adds a column to every row.
    app.deploy(deploy("web", "staging", "3", 4)).await;
    let m = app.get_json("/api/v1/status").await;
    assert_eq!(cell(&m, "web", "staging")["deployment"]["version"], "3");
    assert!(cell(&m, "api", "staging")["deployment"].is_null());
    assert_eq!(
        cell(&m, "web", "production")["drift"]["compared_to"],
        "staging"
    );
    // A catalog change.
    assert_eq!(
        app.post("/api/v1/teams", &json!({"name": "core"}))
            .await
            .status(),
        201
    );
    let r = app
        .req(reqwest::Method::PATCH, "/api/v1/services/api")
        .json(&json!({"team": "core"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m = app.get_json("/api/v1/status").await;
    assert_eq!(m["services"][0]["team"], "core");
    // A failed write changes nothing, and the next read still answers.
    let r = app
        .post("/api/v1/deployments", &deploy("web", "production", "", 5))
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.get_json("/api/v1/status").await, m);
    app.stop().await;
}

#[tokio::test]
async fn idempotency_key_replays_and_rejects_a_different_body() {
    let app = spawn_app().await;
    let body = json!({"service": "api", "environment": "production", "version": "1", "commit_sha": sha(1)});
    let send = |b: &Value| {
        app.req(reqwest::Method::POST, "/api/v1/deployments")
            .header("Idempotency-Key", "run-42")
            .json(b)
            .send()
    };
    let a: Value = send(&body).await.unwrap().json().await.unwrap();
    let r = send(&body).await.unwrap();
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    assert_eq!(a, b, "a replay returns the original result");
    let list = app.get_json("/api/v1/deployments").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let mut other = body.clone();
    other["version"] = json!("2");
    crate::helpers::problem(send(&other).await.unwrap(), 409).await;
    app.stop().await;
}

#[tokio::test]
async fn deployments_list_paginates_without_gaps() {
    let app = spawn_app().await;
    for i in 1..=7u32 {
        app.deploy(
            json!({"service": "api", "environment": "production", "version": i.to_string(),
            "commit_sha": sha(i)}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/deployments?limit=3".to_owned();
    loop {
        let page = app.get_json(&path).await;
        for d in page["items"].as_array().unwrap() {
            seen.push(d["version"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/deployments?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["7", "6", "5", "4", "3", "2", "1"]);
    app.stop().await;
}
