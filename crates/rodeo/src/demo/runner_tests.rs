//! The runner against a fake server that records what it receives.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::demo::{generate, DemoOptions};
use crate::test_support::spawn;

#[derive(Default)]
struct Fake {
    /// (path, body) in arrival order.
    received: Vec<(String, Value)>,
    /// Recorded deployments; the id is the index + 1.
    deployments: Vec<Value>,
    reject_deployments: bool,
}

type Shared = Arc<Mutex<Fake>>;

async fn create(
    State(s): State<Shared>,
    Path(what): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    s.lock().unwrap().received.push((what, body.clone()));
    (StatusCode::CREATED, Json(body))
}

async fn deploy(State(s): State<Shared>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mut s = s.lock().unwrap();
    s.received.push(("deployments".into(), body.clone()));
    if s.reject_deployments {
        let problem = json!({"title": "Invalid request", "status": 422,
            "errors": [{"field": "version", "message": "is too long"}]});
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(problem));
    }
    let mut d = body;
    d["id"] = json!((s.deployments.len() + 1).to_string());
    d["finished_at"] = d.get("finished_at").cloned().unwrap_or(Value::Null);
    for (k, v) in [
        ("created_by", json!("demo")),
        ("source", json!("demo")),
        ("rollback_of", Value::Null),
        ("previous_id", Value::Null),
        ("change_count", json!(0)),
        ("changes_complete", json!(true)),
    ] {
        d[k] = v;
    }
    s.deployments.push(d.clone());
    (StatusCode::CREATED, Json(d))
}

async fn finish(
    State(s): State<Shared>,
    Path(id): Path<usize>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut s = s.lock().unwrap();
    s.received.push((format!("finish {id}"), body.clone()));
    let d = &mut s.deployments[id - 1];
    d["status"] = body["status"].clone();
    d["finished_at"] = body["finished_at"].clone();
    Json(d.clone())
}

async fn fake_server(fake: Fake) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(fake));
    let app = Router::new()
        .route("/api/v1/deployments", post(deploy))
        .route("/api/v1/deployments/{id}/finish", post(finish))
        .route("/api/v1/{what}", post(create))
        .with_state(state.clone());
    (spawn(app).await, state)
}

/// The plan without incidents and pull requests, which this fake server does not model
/// (the demo's end-to-end test sends them to a real one).
fn small_plan() -> Vec<PlannedRequest> {
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 14, 30, 0).unwrap();
    let mut plan = generate(&DemoOptions {
        seed: 5,
        now,
        days: 14,
    })
    .unwrap();
    plan.retain(|r| {
        !matches!(
            r.request,
            DemoRequest::Incident(_) | DemoRequest::PullRequest(_)
        )
    });
    plan
}

#[tokio::test]
async fn sends_everything_in_order_per_service_and_finishes_by_id() {
    let plan = small_plan();
    let (base, state) = fake_server(Fake::default()).await;
    let client = Client::new(&base, Some("t".into()), "demo").unwrap();
    let last = Mutex::new(Progress { done: 0, total: 0 });
    let summary = run(&client, &plan, 4, |p| *last.lock().unwrap() = p)
        .await
        .unwrap();

    assert_eq!(
        *last.lock().unwrap(),
        Progress {
            done: plan.len(),
            total: plan.len()
        }
    );
    let fake = state.lock().unwrap();
    assert_eq!(fake.received.len(), plan.len());
    assert_eq!(summary.deployments, fake.deployments.len());
    assert!(summary.commits > 0);

    // Set-up first, in plan order.
    let setup: Vec<&str> = fake.received[..19]
        .iter()
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(
        &setup[..5],
        ["teams", "teams", "teams", "teams", "environments"]
    );
    assert!(setup[7..].iter().all(|p| *p == "services"));

    // Per service, the server saw the plan's order, and each finish went to the id the
    // server gave that deployment.
    let id_of = |key: &str| {
        fake.deployments
            .iter()
            .find(|d| d["external_id"] == key)
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    for svc in ["checkout", "ledger", "auth"] {
        let expected: Vec<String> = plan
            .iter()
            .filter(|r| r.service.as_ref().is_some_and(|s| s.as_str() == svc))
            .map(|r| match &r.request {
                DemoRequest::RecordDeployment { key, .. } => format!("record {key}"),
                DemoRequest::FinishDeployment { key, .. } => format!("finish {}", id_of(key)),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let service_of = |id: &str| {
            let i: usize = id.parse().unwrap();
            fake.deployments[i - 1]["service"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let seen: Vec<String> = fake
            .received
            .iter()
            .filter_map(|(path, body)| match path.strip_prefix("finish ") {
                Some(id) => (service_of(id) == svc).then(|| path.clone()),
                None if path == "deployments" && body["service"] == svc => {
                    Some(format!("record {}", body["external_id"].as_str().unwrap()))
                }
                None => None,
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(seen, expected, "{svc}");
    }

    // Requests start in plan order with at most 4 in flight, so at most 3 requests
    // planned before any request reach the server after it.
    let plan_index = |(path, body): &(String, Value)| -> usize {
        let key = match path.strip_prefix("finish ") {
            Some(id) => fake.deployments[id.parse::<usize>().unwrap() - 1]["external_id"].clone(),
            None => body["external_id"].clone(),
        };
        plan.iter()
            .position(|r| match &r.request {
                DemoRequest::RecordDeployment { key: k, .. } => path == "deployments" && key == **k,
                DemoRequest::FinishDeployment { key: k, .. } => {
                    path.starts_with("finish") && key == **k
                }
                _ => false,
            })
            .unwrap()
    };
    let order: Vec<usize> = fake.received[19..].iter().map(plan_index).collect();
    for (pos, &i) in order.iter().enumerate() {
        let overtaken = order[pos..].iter().filter(|&&j| j < i).count();
        assert!(
            overtaken <= 3,
            "request {i} overtook {overtaken} earlier ones"
        );
    }
}

#[tokio::test]
async fn a_rejected_request_stops_the_run_with_the_servers_reason() {
    let plan = small_plan();
    let fake = Fake {
        reject_deployments: true,
        ..Fake::default()
    };
    let (base, _state) = fake_server(fake).await;
    let client = Client::new(&base, None, "demo").unwrap();
    let err = run(&client, &plan, 16, |_| {}).await.unwrap_err();
    let RunError::Request { source, what, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(what.starts_with("record deployment demo:"), "{what}");
    assert_eq!(source.status(), Some(422));
    assert_eq!(crate::CliError::Demo(err).exit_code(), 7);
}
