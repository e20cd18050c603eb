//! Incidents through the API: a whole life, every kind of change, bad input, scopes, and
//! attribution modes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{fields, problem, sha, spawn_app, spawn_with, TestApp};

async fn open(app: &TestApp, body: Value) -> Value {
    let r = app.post("/api/v1/incidents", &body).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

async fn send(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let r = app.req(method, path).json(&body).send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {v}");
    v
}

#[tokio::test]
async fn an_incident_from_open_to_closed_with_every_kind_of_change() {
    let app = spawn_app().await;
    let i = open(
        &app,
        json!({"title": "Checkout <script>alert(1)</script>", "severity": "sev2",
               "services": ["api"], "environments": ["production"],
               "started_at": "2026-03-01T09:50:00Z", "detected_at": "2026-03-01T10:00:00Z",
               "roles": {"commander": "ana"}, "summary": "500s on /checkout"}),
    )
    .await;
    let id = i["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/incidents/{id}");
    assert_eq!(i["status"], "open");
    assert_eq!(i["kind"], "real");
    assert_eq!(
        i["title"], "Checkout <script>alert(1)</script>",
        "stored as given"
    );
    assert_eq!(i["timeline"][0]["text"], "500s on /checkout");
    assert_eq!(i["attribution"], "unset");

    let i = send(
        &app,
        Method::POST,
        &format!("{base}/status"),
        json!({"status": "acknowledged", "at": "2026-03-01T10:02:00Z", "note": "on it"}),
    )
    .await;
    assert_eq!(i["acknowledged_at"], "2026-03-01T10:02:00Z");
    send(
        &app,
        Method::POST,
        &format!("{base}/notes"),
        json!({"text": "rolling back"}),
    )
    .await;
    let i = send(
        &app,
        Method::PATCH,
        &base,
        json!({"severity": "critical",
        "roles": {"comms": "bo"}, "contributing_factors": ["no canary"],
        "postmortem": "## Summary\n"}),
    )
    .await;
    assert_eq!(i["severity"], "sev1");
    assert_eq!(i["roles"], json!({"commander": "ana", "comms": "bo"}));
    let i = send(
        &app,
        Method::POST,
        &format!("{base}/action-items"),
        json!({"text": "add a canary stage", "owner": "bo"}),
    )
    .await;
    assert_eq!(i["action_items"][0]["id"], 1);
    let i = send(
        &app,
        Method::PATCH,
        &format!("{base}/action-items/1"),
        json!({"done": true}),
    )
    .await;
    assert_eq!(i["action_items"][0]["done"], true);
    for s in ["mitigated", "resolved", "closed"] {
        send(
            &app,
            Method::POST,
            &format!("{base}/status"),
            json!({"status": s}),
        )
        .await;
    }
    let got = app.get_json(&base).await;
    assert_eq!(got["status"], "closed");
    assert!(got["closed_at"].is_string());
    let kinds: Vec<&str> = got["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["note", "status", "note", "edit", "status", "status", "status"]
    );

    // Each change is a ledger event about the incident.
    let events = app
        .get_json("/api/v1/events?kind=incident.&limit=100")
        .await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "incident.closed",
            "incident.resolved",
            "incident.mitigated",
            "incident.action_item_updated",
            "incident.action_item_added",
            "incident.updated",
            "incident.noted",
            "incident.acknowledged",
            "incident.opened"
        ]
    );
    assert_eq!(events["items"][0]["subject"], format!("incident:{id}"));

    // Lists.
    let list = app.get_json("/api/v1/incidents?status=unresolved").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let list = app
        .get_json("/api/v1/incidents?status=closed&service=api")
        .await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn bad_incident_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    for (body, field) in [
        (json!({"title": "x", "severity": "sev9"}), "severity"),
        (json!({"title": "", "severity": "sev1"}), "title"),
        (
            json!({"title": "x", "severity": "sev1", "kind": "game"}),
            "kind",
        ),
        (
            json!({"title": "x", "severity": "sev1", "services": ["Not A Name"]}),
            "services[0]",
        ),
        (
            json!({"title": "x", "severity": "sev1", "started_at": "2026-03-01T10:00:00Z",
                "detected_at": "2026-03-01T09:00:00Z"}),
            "started_at",
        ),
        (
            json!({"title": "x", "severity": "sev1", "detected_at": "2999-01-01T00:00:00Z"}),
            "detected_at",
        ),
    ] {
        let r = app.post("/api/v1/incidents", &body).await;
        let p = problem(r, 422).await;
        assert!(fields(&p).contains(&field.to_owned()), "{body}: {p}");
    }
    let r = app.post("/api/v1/incidents", &json!({"title": "x"})).await;
    problem(r, 400).await;
    assert_eq!(app.event_count().await, before);

    let i = open(&app, json!({"title": "x", "severity": "sev3"})).await;
    let id = i["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/incidents/{id}/status"),
            &json!({"status": "open"}),
        )
        .await;
    let p = problem(r, 422).await;
    assert_eq!(fields(&p), ["status"]);
    let r = app
        .post(
            &format!("/api/v1/incidents/{id}/status"),
            &json!({"status": "done"}),
        )
        .await;
    problem(r, 422).await;
    let r = app
        .req(Method::PUT, &format!("/api/v1/incidents/{id}/cause"))
        .json(&json!({"deployments": ["12345"]}))
        .send()
        .await
        .unwrap();
    let p = problem(r, 422).await;
    assert_eq!(fields(&p), ["deployments[0]"]);
    let r = app
        .req(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}/action-items/3"),
        )
        .json(&json!({"done": true}))
        .send()
        .await
        .unwrap();
    problem(r, 422).await;
    let r = app.get("/api/v1/incidents/99999").await;
    problem(r, 404).await;
    let r = app
        .post("/api/v1/incidents/99999/notes", &json!({"text": "x"}))
        .await;
    problem(r, 404).await;

    // A read token reads but does not write.
    let read = app.token("viewer", "read").await;
    let r = app
        .client
        .post(format!("{}/api/v1/incidents", app.base))
        .bearer_auth(&read)
        .json(&json!({"title": "x", "severity": "sev3"}))
        .send()
        .await
        .unwrap();
    problem(r, 403).await;
    let r = app
        .client
        .get(format!("{}/api/v1/incidents/{id}", app.base))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
}

/// Suggest (the default) never links by itself; auto links after the grace period;
/// off shows no suggestion.
#[tokio::test]
async fn attribution_modes() {
    let deploy = json!({"service": "api", "environment": "production", "version": "1",
        "commit_sha": sha(1), "finished_at": "2026-03-01T09:00:00Z"});
    let incident = json!({"title": "x", "severity": "sev2", "services": ["api"],
        "started_at": "2026-03-01T10:00:00Z", "detected_at": "2026-03-01T10:00:00Z"});

    let app = spawn_app().await;
    let d = app.deploy(deploy.clone()).await;
    let i = open(&app, incident.clone()).await;
    let c = app
        .get_json(&format!(
            "/api/v1/incidents/{}/changes",
            i["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(c["suggested_cause"]["deployment"], d["id"]);
    assert_eq!(c["attribution_mode"], "suggest");
    assert_eq!(c["causes"], json!([]));
    app.stop().await;

    let app =
        spawn_with(|c| c.incidents.attribution = rodeo_server::config::AttributionMode::Off).await;
    app.deploy(deploy.clone()).await;
    let i = open(&app, incident.clone()).await;
    let c = app
        .get_json(&format!(
            "/api/v1/incidents/{}/changes",
            i["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(c["suggested_cause"], Value::Null);
    assert_eq!(c["changes"].as_array().unwrap().len(), 1);
    app.stop().await;

    let app = spawn_with(|c| {
        c.incidents.attribution = rodeo_server::config::AttributionMode::Auto;
        c.incidents.auto_link_after_hours = 0;
    })
    .await;
    let d = app.deploy(deploy.clone()).await;
    let i = open(&app, incident.clone()).await;
    let path = format!("/api/v1/incidents/{}", i["id"].as_str().unwrap());
    // The first pass runs at start and then every minute; wait for the one after opening.
    let mut linked = Value::Null;
    for _ in 0..100 {
        let got = app.get_json(&path).await;
        if got["attribution"] == "automatic" {
            linked = got;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(linked["causes"], json!([d["id"]]), "linked automatically");
    app.stop().await;
}
