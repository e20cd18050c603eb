//! Incidents from alerting: Alertmanager (version 4) and PagerDuty V3 webhooks.
//! The Alertmanager payload is the peer example in ../shared/conformance, read in place.

use hmac::{Hmac, Mac};
use reqwest::Response;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{problem, spawn_with, TestApp};

const AM_TOKEN: &str = "am-token";
const PD_SECRET: &str = "pd-secret";

async fn app() -> TestApp {
    spawn_with(|c| {
        c.webhooks.alertmanager_token = Some(AM_TOKEN.into());
        c.webhooks.pagerduty_secret = Some(PD_SECRET.into());
        c.alerting
            .pagerduty_services
            .insert("PF9KMXH".into(), "api".into());
    })
    .await
}

/// The peer example payload, or `None` (with a loud message) when the folder is absent.
fn alertmanager_example() -> Option<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/checks-slo-alerting/alertmanager/webhook_example_v4.json"
    );
    match std::fs::read(path) {
        Ok(b) => Some(serde_json::from_slice::<Value>(&b).unwrap()["payload"].clone()),
        Err(_) => {
            eprintln!("\n######## SKIPPED: {path} is absent; the Alertmanager peer example did not run ########\n");
            None
        }
    }
}

async fn am(app: &TestApp, body: &Value, token: &str) -> Response {
    app.client
        .post(format!("{}/webhooks/alertmanager", app.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/incidents").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_alertmanager_group_opens_an_incident_and_its_resolution_mitigates_it() {
    let Some(firing) = alertmanager_example() else {
        return;
    };
    let app = app().await;
    let r = am(&app, &firing, AM_TOKEN).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let list = incidents(&app).await;
    assert_eq!(list.len(), 1);
    let i = &list[0];
    assert_eq!(i["services"], json!(["checkout"]));
    assert_eq!(i["severity"], "sev2", "severity=page maps to sev2");
    assert_eq!(i["title"], "checkout endpoint failing health checks");
    // The firing alert started at 10:00 (the resolved one in the group does not count).
    assert_eq!(i["started_at"], "2026-01-05T10:00:00Z");
    assert_eq!(
        i["keys"][0],
        format!("alertmanager:{}", firing["groupKey"].as_str().unwrap())
    );
    assert_eq!(i["created_by"], "alertmanager:ledger-webhook");

    // Alertmanager repeats the notification while the group fires: nothing new.
    let events = app.event_count().await;
    assert_eq!(am(&app, &firing, AM_TOKEN).await.status(), 200);
    assert_eq!(app.event_count().await, events);
    assert_eq!(incidents(&app).await.len(), 1);

    // Every alert of the group resolved.
    let mut resolved = firing.clone();
    resolved["status"] = json!("resolved");
    for (n, a) in resolved["alerts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        a["status"] = json!("resolved");
        a["endsAt"] = json!(format!("2026-01-05T10:1{n}:00Z"));
    }
    assert_eq!(am(&app, &resolved, AM_TOKEN).await.status(), 200);
    let i = &incidents(&app).await[0];
    assert_eq!(i["status"], "mitigated");
    assert_eq!(
        i["mitigated_at"], "2026-01-05T10:11:00Z",
        "when the last alert ended"
    );

    // The group firing again after the incident was resolved opens a new one.
    let id = i["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/incidents/{id}/status"),
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(am(&app, &firing, AM_TOKEN).await.status(), 200);
    assert_eq!(incidents(&app).await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn alertmanager_auth_versions_matchers_and_bad_payloads() {
    let Some(firing) = alertmanager_example() else {
        return;
    };
    let app = app().await;
    problem(am(&app, &firing, "wrong").await, 401).await;
    let r = app
        .client
        .post(format!("{}/webhooks/alertmanager", app.base))
        .json(&firing)
        .send()
        .await
        .unwrap();
    problem(r, 401).await;

    let mut old = firing.clone();
    old["version"] = json!("3");
    assert_eq!(am(&app, &old, AM_TOKEN).await.status(), 202);
    let mut bad = firing.clone();
    bad.as_object_mut().unwrap().remove("groupKey");
    let p = problem(am(&app, &bad, AM_TOKEN).await, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("groupKey"), "{p}");
    let mut bad = firing.clone();
    bad["alerts"][0]["startsAt"] = json!("yesterday");
    problem(am(&app, &bad, AM_TOKEN).await, 400).await;
    // A resolution of a group rodeo never saw.
    let mut unknown = firing.clone();
    unknown["status"] = json!("resolved");
    unknown["groupKey"] = json!("{}:{alertname=\"Other\"}");
    for a in unknown["alerts"].as_array_mut().unwrap() {
        a["status"] = json!("resolved");
    }
    assert_eq!(am(&app, &unknown, AM_TOKEN).await.status(), 202);
    assert!(incidents(&app).await.is_empty());
    app.stop().await;

    // open_on: only severity=critical groups open incidents.
    let app = spawn_with(|c| {
        c.webhooks.alertmanager_token = Some(AM_TOKEN.into());
        c.alerting
            .open_on
            .insert("severity".into(), vec!["critical".into()]);
    })
    .await;
    assert_eq!(am(&app, &firing, AM_TOKEN).await.status(), 202);
    assert!(incidents(&app).await.is_empty());
    app.stop().await;
}

fn pd_event(id: &str, kind: &str, at: &str) -> Value {
    json!({"event": {
        "id": id, "event_type": kind, "resource_type": "incident", "occurred_at": at,
        "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                  "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Tenex Engineer",
                  "type": "user_reference"},
        "client": null,
        "data": {"id": "PGR0VU2", "type": "incident",
            "self": "https://api.pagerduty.com/incidents/PGR0VU2",
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2", "number": 2,
            "status": "triggered", "incident_key": "d3640fbd41094207a1c11e58e46b1662",
            "created_at": "2026-03-01T10:01:00Z", "title": "A little bump in the road",
            "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH",
                        "self": "https://api.pagerduty.com/services/PF9KMXH", "summary": "API Service",
                        "type": "service_reference"},
            "assignees": [{"html_url": "https://acme.pagerduty.com/users/PTUXL6G", "id": "PTUXL6G",
                           "self": "https://api.pagerduty.com/users/PTUXL6G", "summary": "User 123",
                           "type": "user_reference"}],
            "escalation_policy": {"html_url": "https://acme.pagerduty.com/escalation_policies/PUS0KTE",
                                  "id": "PUS0KTE", "self": "https://api.pagerduty.com/escalation_policies/PUS0KTE",
                                  "summary": "Default", "type": "escalation_policy_reference"},
            "teams": [],
            "priority": {"html_url": "https://acme.pagerduty.com/account/incident_priorities",
                         "id": "PSO75BM", "self": "https://api.pagerduty.com/priorities/PSO75BM",
                         "summary": "P1", "type": "priority_reference"},
            "urgency": "high",
            "conference_bridge": {"conference_number": "+1 1234123412,,987654321#",
                                  "conference_url": "https://example.com"},
            "resolve_reason": null}
    }})
}

fn pd_sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn pd(app: &TestApp, body: &Value, signature: Option<String>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap();
    let sig = signature.unwrap_or_else(|| pd_sign(PD_SECRET, &bytes));
    app.client
        .post(format!("{}/webhooks/pagerduty", app.base))
        .header("X-PagerDuty-Signature", sig)
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_pagerduty_incident_is_followed_through_its_life() {
    let app = app().await;
    let triggered = pd_event(
        "01BZ2GZ8X5",
        "incident.triggered",
        "2026-03-01T10:02:00.000Z",
    );
    assert_eq!(pd(&app, &triggered, None).await.status(), 200);
    let i = &incidents(&app).await[0];
    assert_eq!(i["title"], "A little bump in the road");
    assert_eq!(
        i["services"],
        json!(["api"]),
        "mapped by PagerDuty service id"
    );
    assert_eq!(i["severity"], "sev1", "priority P1");
    assert_eq!(i["started_at"], "2026-03-01T10:01:00Z");
    assert_eq!(i["created_by"], "Tenex Engineer");
    assert_eq!(i["keys"], json!(["pagerduty:PGR0VU2"]));

    // The same delivery again is applied zero times.
    let events = app.event_count().await;
    let r = pd(&app, &triggered, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(app.event_count().await, events);

    let ack = pd_event(
        "01BZ2GZ8X6",
        "incident.acknowledged",
        "2026-03-01T10:05:00Z",
    );
    assert_eq!(pd(&app, &ack, None).await.status(), 200);
    // During a secret rotation PagerDuty sends two signatures; one match is enough.
    let resolved = pd_event("01BZ2GZ8X7", "incident.resolved", "2026-03-01T11:00:00Z");
    let bytes = serde_json::to_vec(&resolved).unwrap();
    let both = format!(
        "{},{}",
        pd_sign("old-secret", &bytes),
        pd_sign(PD_SECRET, &bytes)
    );
    assert_eq!(pd(&app, &resolved, Some(both)).await.status(), 200);
    let i = &incidents(&app).await[0];
    assert_eq!(i["status"], "resolved");
    assert_eq!(i["acknowledged_at"], "2026-03-01T10:05:00Z");
    assert_eq!(i["resolved_at"], "2026-03-01T11:00:00Z");
    // A late acknowledgement does not move it back.
    let late = pd_event(
        "01BZ2GZ8X8",
        "incident.acknowledged",
        "2026-03-01T11:05:00Z",
    );
    assert_eq!(pd(&app, &late, None).await.status(), 200);
    assert_eq!(incidents(&app).await[0]["status"], "resolved");

    problem(
        pd(&app, &triggered, Some(pd_sign("wrong", b"x"))).await,
        401,
    )
    .await;
    problem(pd(&app, &triggered, Some("nonsense".into())).await, 401).await;
    let other = pd_event("01BZ2GZ8X9", "incident.escalated", "2026-03-01T11:06:00Z");
    assert_eq!(pd(&app, &other, None).await.status(), 202);
    let mut bad = pd_event("01BZ2GZ8XA", "incident.triggered", "2026-03-01T11:06:00Z");
    bad["event"]["data"]
        .as_object_mut()
        .unwrap()
        .remove("title");
    let p = problem(pd(&app, &bad, None).await, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("title"), "{p}");
    app.stop().await;
}
