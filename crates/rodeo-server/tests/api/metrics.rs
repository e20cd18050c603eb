//! The end-to-end DORA test: a scenario built through the HTTP API only, checked field
//! by field against values computed by hand from docs/metrics.md. The window is March
//! 2026 (31 days).

use serde_json::{json, Value};

use crate::helpers::{sha, spawn_app, TestApp};

const WINDOW: &str = "from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z";

fn commit(n: u32, parent: Option<u32>, author: &str, at: &str) -> Value {
    json!({"sha": sha(n), "parents": parent.map(|p| vec![sha(p)]).unwrap_or_default(),
           "author": author, "authored_at": at, "committed_at": at, "message": format!("change {n}")})
}

fn close(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or(f64::NAN);
    assert!(
        (got - expected).abs() < 1e-9,
        "expected {expected}, got {v}"
    );
}

/// api: d1 (first; c1 by ana 2 h before, c2 by dependabot), d2 (c3, committed a day
/// before), d3 (puts d1's sha back: a detected rollback), d4 (hotfix shipping c4, 1 h,
/// and c3 again); a staging and a failed deployment that do not count. web: w1 (6 h
/// lead time), named as the cause of an incident mitigated 2 h after it.
async fn scenario(app: &TestApp) -> (String, String) {
    app.deploy(
        json!({"service": "api", "environment": "staging", "version": "0.9",
        "commit_sha": sha(1), "finished_at": "2026-03-02T09:30:00Z",
        "commits": [commit(1, None, "ana", "2026-03-02T08:00:00Z")]}),
    )
    .await;
    app.deploy(
        json!({"service": "api", "environment": "production", "version": "1.0",
        "commit_sha": sha(2), "finished_at": "2026-03-02T10:00:00Z",
        "commits": [commit(1, None, "ana", "2026-03-02T08:00:00Z"),
                    commit(2, Some(1), "dependabot[bot]", "2026-03-02T09:00:00Z")]}),
    )
    .await;
    app.deploy(
        json!({"service": "api", "environment": "production", "version": "1.1",
        "commit_sha": sha(3), "finished_at": "2026-03-05T10:00:00Z",
        "commits": [commit(3, Some(2), "ana", "2026-03-04T10:00:00Z")]}),
    )
    .await;
    let d3 = app
        .deploy(
            json!({"service": "api", "environment": "production", "version": "1.0",
            "commit_sha": sha(2), "finished_at": "2026-03-05T12:00:00Z"}),
        )
        .await;
    assert_eq!(d3["kind"], "rollback", "detected: d1's sha came back");
    app.deploy(
        json!({"service": "api", "environment": "production", "version": "1.2",
        "kind": "hotfix", "commit_sha": sha(4), "finished_at": "2026-03-10T10:00:00Z",
        "commits": [commit(4, Some(3), "ana", "2026-03-10T09:00:00Z")]}),
    )
    .await;
    app.deploy(
        json!({"service": "api", "environment": "production", "version": "1.3",
        "status": "failed", "commit_sha": sha(5), "finished_at": "2026-03-11T10:00:00Z",
        "commits": [commit(5, Some(4), "ana", "2026-03-11T09:00:00Z")]}),
    )
    .await;
    let w1 = app
        .deploy(
            json!({"service": "web", "environment": "production", "version": "7",
            "commit_sha": sha(50), "finished_at": "2026-03-20T10:00:00Z",
            "commits": [commit(50, None, "bo", "2026-03-20T04:00:00Z")]}),
        )
        .await;
    let w1 = w1["id"].as_str().unwrap().to_owned();

    let r = app
        .post(
            "/api/v1/incidents",
            &json!({"title": "web 500s", "severity": "critical",
            "services": ["web"], "started_at": "2026-03-20T11:00:00Z",
            "detected_at": "2026-03-20T11:05:00Z", "roles": {"commander": "cy"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let incident: Value = r.json().await.unwrap();
    assert_eq!(incident["severity"], "sev1", "the alias maps to sev1");
    let id = incident["id"].as_str().unwrap().to_owned();
    for (status, at) in [
        ("acknowledged", "2026-03-20T11:10:00Z"),
        ("mitigated", "2026-03-20T12:00:00Z"),
        ("resolved", "2026-03-20T13:00:00Z"),
    ] {
        let r = app
            .post(
                &format!("/api/v1/incidents/{id}/status"),
                &json!({"status": status, "at": at}),
            )
            .await;
        assert_eq!(r.status(), 200, "{status}");
    }
    let r = app
        .req(
            reqwest::Method::PUT,
            &format!("/api/v1/incidents/{id}/cause"),
        )
        .json(&json!({"deployments": [w1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (id, w1)
}

#[tokio::test]
async fn dora_for_a_scenario_built_through_the_api() {
    let app = spawn_app().await;
    scenario(&app).await;
    let m = app
        .get_json(&format!("/api/v1/metrics/dora?{WINDOW}"))
        .await;

    assert_eq!(m["window"]["from"], "2026-03-01T00:00:00Z");
    assert_eq!(m["window"]["to"], "2026-04-01T00:00:00Z");
    assert_eq!(m["scope"]["services"], json!(["api", "web"]));

    // 1. d1, d2, d3, d4, w1 (not staging, not the failed one) over 31 days.
    let f = &m["deployment_frequency"];
    assert_eq!(f["count"], 5);
    close(&f["per_day"], 5.0 / 31.0);
    close(&f["per_week"], 35.0 / 31.0);
    close(&f["deploy_days_ratio"], 4.0 / 31.0); // March 2, 5, 10, 20
                                                // api 4/31 a day: medium; web 1/31: low; two services: the worse middle band.
    assert_eq!(f["band"], "low");
    assert_eq!(f["previous"]["count"], 0);
    assert_eq!(f["previous"]["per_day"], Value::Null);
    assert_eq!(f["previous"]["band"], Value::Null, "no data is not a score");

    // 2. c1 2 h, c3 24 h (first deployed by d2, not d4), c4 1 h, web's 6 h; c2 is a bot's.
    let l = &m["lead_time"];
    assert_eq!(l["count"], 4);
    assert_eq!(l["excluded_bot_commits"], 1);
    assert_eq!(l["median_seconds"], 14_400); // (2 h + 6 h) / 2
    assert_eq!(l["p90_seconds"], 66_960); // 6 h + 0.7 x (24 h - 6 h)
    assert_eq!(l["band"], "elite");
    assert_eq!(l["previous"]["median_seconds"], Value::Null);

    // 3. d2 (rolled back), d3 (followed by a hotfix), w1 (an incident's cause).
    let c = &m["change_failure_rate"];
    assert_eq!(
        (c["failed"].as_u64(), c["total"].as_u64()),
        (Some(3), Some(5))
    );
    close(&c["ratio"], 0.6);
    assert_eq!(c["band"], "low");

    // 4. d2 -> d3: 2 h; d3 -> d4: 118 h; w1 -> mitigated: 2 h.
    let r = &m["recovery_time"];
    assert_eq!(r["count"], 3);
    assert_eq!(r["median_seconds"], 7_200);
    assert_eq!(r["p90_seconds"], 341_280); // 2 h + 0.8 x (118 h - 2 h)
    assert_eq!(r["band"], "high");

    // 5. d3 (rollback) and d4 (hotfix).
    let w = &m["rework_rate"];
    assert_eq!(
        (w["rework"].as_u64(), w["total"].as_u64()),
        (Some(2), Some(5))
    );
    close(&w["ratio"], 0.4);

    let services = m["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    let api = &services[0];
    assert_eq!(api["service"], "api");
    assert_eq!(api["deployment_frequency"]["count"], 4);
    assert_eq!(api["deployment_frequency"]["band"], "medium");
    close(&api["change_failure_rate"]["ratio"], 0.5);
    assert_eq!(api["lead_time"]["count"], 3);
    let web = &services[1];
    assert_eq!(web["change_failure_rate"]["failed"], 1);
    assert_eq!(web["recovery_time"]["median_seconds"], 7_200);

    // One service, and a team with none of these services.
    let one = app
        .get_json(&format!("/api/v1/metrics/dora?service=web&{WINDOW}"))
        .await;
    assert_eq!(one["deployment_frequency"]["count"], 1);
    assert_eq!(one["lead_time"]["median_seconds"], 21_600);
    app.stop().await;
}

/// Lead time per stage, with the pull request from GitHub's real `pull_request` payload
/// (closed, merged) and its merge commit recorded after it: ana's branch b1 <- b2 forks
/// at m1 (first commit 09:00), the pull request opens at 11:00 and merges the next day
/// at 09:00 with merge commit M, which reaches production at 13:00.
#[tokio::test]
async fn lead_time_stages_from_a_merged_pull_request() {
    use crate::webhooks::{fixture, github, sign};
    let app = spawn_app().await;
    let record = |commits: Vec<Value>| {
        let body = json!({ "commits": commits });
        let app = &app;
        async move {
            let r = app.post("/api/v1/commits", &body).await;
            assert_eq!(r.status(), 200);
        }
    };
    record(vec![commit(1, None, "ana", "2026-03-09T08:00:00Z")]).await;
    app.deploy(
        json!({"service": "api", "environment": "production", "version": "1",
        "commit_sha": sha(1), "finished_at": "2026-03-09T08:30:00Z"}),
    )
    .await;
    record(vec![
        commit(2, Some(1), "ana", "2026-03-09T09:00:00Z"),
        commit(3, Some(2), "ana", "2026-03-09T10:00:00Z"),
    ])
    .await;

    let mut payload: Value =
        serde_json::from_slice(&fixture("github/pull_request_closed_merged.json")).unwrap();
    let pr = &mut payload["pull_request"];
    pr["created_at"] = json!("2026-03-09T11:00:00Z");
    pr["merged_at"] = json!("2026-03-10T09:00:00Z");
    pr["merge_commit_sha"] = json!(sha(10));
    pr["head"]["sha"] = json!(sha(3));
    pr["user"]["login"] = json!("ana");
    let body = serde_json::to_vec(&payload).unwrap();
    let r = github(
        &app,
        "pull_request",
        "pr-1",
        body.clone(),
        Some(sign(&body)),
    )
    .await;
    assert_eq!(r.status(), 200);

    let mut merge = commit(10, Some(1), "ana", "2026-03-10T09:00:00Z");
    merge["parents"] = json!([sha(1), sha(3)]);
    record(vec![merge]).await;
    app.deploy(
        json!({"service": "api", "environment": "production", "version": "2",
        "commit_sha": sha(10), "finished_at": "2026-03-10T13:00:00Z"}),
    )
    .await;

    let m = app
        .get_json(&format!("/api/v1/metrics/dora?{WINDOW}"))
        .await;
    let stages = &m["lead_time"]["stages"];
    assert_eq!(stages["pull_requests"], 1, "{stages}");
    assert_eq!(stages["coding"]["median_seconds"], 7_200, "09:00 -> 11:00");
    assert_eq!(
        stages["review"]["median_seconds"], 79_200,
        "11:00 -> 09:00 next day"
    );
    assert_eq!(stages["deploy"]["median_seconds"], 14_400, "09:00 -> 13:00");
    assert_eq!(stages["deploy"]["count"], 1);
    // b1, b2 and M all count toward lead time itself.
    assert_eq!(m["lead_time"]["count"], 4);
    assert_eq!(m["lead_time"]["previous"]["stages"], Value::Null);
    app.stop().await;
}

/// `POST /api/v1/pull-requests` records what the forge webhooks record, and refuses a
/// pull request that contradicts itself, naming each field.
#[tokio::test]
async fn pull_requests_through_the_api() {
    use crate::helpers::{fields, problem};
    let app = spawn_app().await;
    let body = json!({"repository": "acme/api", "number": 12, "title": "Add CSV export",
        "author": "ana", "state": "merged", "created_at": "2026-03-09T11:00:00Z",
        "merged_at": "2026-03-10T09:00:00Z", "merge_commit_sha": sha(10), "head_sha": sha(3)});
    let r = app.post("/api/v1/pull-requests", &body).await;
    assert_eq!(r.status(), 200);
    let pr: Value = r.json().await.unwrap();
    assert_eq!(pr["state"], "merged");
    assert_eq!(pr["merge_commit_sha"], sha(10));
    let ev = app
        .get_json("/api/v1/events?kind=pull_request.merged")
        .await;
    assert_eq!(ev["items"].as_array().map(Vec::len), Some(1));
    // The same again changes nothing in the ledger.
    let events = app.event_count().await;
    assert_eq!(app.post("/api/v1/pull-requests", &body).await.status(), 200);
    assert_eq!(app.event_count().await, events);

    let bad = json!({"repository": "", "number": 0, "title": "x", "author": "ana",
        "state": "open", "created_at": "yesterday", "merged_at": "2026-03-10T09:00:00Z",
        "merge_commit_sha": "abc"});
    let p = problem(app.post("/api/v1/pull-requests", &bad).await, 422).await;
    let mut named = fields(&p);
    named.sort();
    assert_eq!(
        named,
        [
            "created_at",
            "merge_commit_sha",
            "merged_at",
            "number",
            "repository"
        ],
        "{p}"
    );
    let unmerged_time = json!({"repository": "acme/api", "number": 13, "title": "x",
        "author": "ana", "state": "merged", "created_at": "2026-03-10T11:00:00Z",
        "merged_at": "2026-03-10T09:00:00Z"});
    let p = problem(app.post("/api/v1/pull-requests", &unmerged_time).await, 422).await;
    assert_eq!(
        fields(&p),
        ["merged_at"],
        "merged before it was opened: {p}"
    );
    assert_eq!(app.event_count().await, events, "nothing half-written");
    app.stop().await;
}

#[tokio::test]
async fn weekly_series_and_incident_metrics() {
    let app = spawn_app().await;
    let (incident, w1) = scenario(&app).await;
    let s = app
        .get_json(&format!("/api/v1/metrics/dora/series?bucket=week&{WINDOW}"))
        .await;
    let counts: Vec<u64> = s["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["deployment_frequency"]["count"].as_u64().unwrap())
        .collect();
    // March 1 is a Sunday: a one-day piece, then weeks from Monday March 2.
    assert_eq!(counts, vec![0, 3, 1, 1, 0, 0]);
    assert_eq!(s["points"][1]["from"], "2026-03-02T00:00:00Z");

    let i = app
        .get_json(&format!("/api/v1/metrics/incidents?{WINDOW}"))
        .await;
    assert_eq!(i["count"], 1);
    assert_eq!(i["by_severity"]["sev1"], 1);
    assert_eq!(i["time_to_detect"]["median_seconds"], 300);
    assert_eq!(i["time_to_acknowledge"]["median_seconds"], 300);
    assert_eq!(i["time_to_mitigate"]["median_seconds"], 3_600);
    assert_eq!(i["time_to_resolve"]["mean_seconds"], 7_200);
    assert_eq!(i["previous"]["count"], 0);
    // Scoped to a service: only incidents that affect it.
    for (service, count) in [("web", 1), ("api", 0)] {
        let i = app
            .get_json(&format!(
                "/api/v1/metrics/incidents?service={service}&{WINDOW}"
            ))
            .await;
        assert_eq!(i["count"], count, "{service}");
    }

    // What changed before it: w1, suggested as the cause.
    let c = app
        .get_json(&format!("/api/v1/incidents/{incident}/changes"))
        .await;
    assert_eq!(c["changes"].as_array().unwrap().len(), 1);
    assert_eq!(c["changes"][0]["id"], w1.as_str());
    assert_eq!(c["changes"][0]["type"], "deployment");
    assert_eq!(c["changes"][0]["commits"][0]["sha"], sha(50));
    assert_eq!(c["suggested_cause"]["deployment"], w1.as_str());
    assert_eq!(c["causes"], json!([w1]));
    app.stop().await;
}

#[tokio::test]
async fn bad_metric_parameters_name_the_field() {
    let app = spawn_app().await;
    for (query, field) in [
        ("window=90x", "window"),
        ("window=0d", "window"),
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from"),
        ("from=yesterday", "from"),
        ("service=nope", "service"),
        ("team=nope", "team"),
        ("service=a&team=b", "team"),
    ] {
        let r = app.get(&format!("/api/v1/metrics/dora?{query}")).await;
        let p = crate::helpers::problem(r, 422).await;
        assert!(
            crate::helpers::fields(&p).contains(&field.to_owned()),
            "{query}: {p}"
        );
    }
    let r = app.get("/api/v1/metrics/dora/series?bucket=month").await;
    crate::helpers::problem(r, 422).await;
    // An empty organisation: counts are 0, values and bands null.
    let m = app.get_json("/api/v1/metrics/dora?window=90d").await;
    assert_eq!(m["deployment_frequency"]["count"], 0);
    assert_eq!(m["deployment_frequency"]["band"], Value::Null);
    assert_eq!(m["change_failure_rate"]["ratio"], Value::Null);
    app.stop().await;
}
