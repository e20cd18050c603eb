//! Managing flags through the API: apply (atomic, idempotent, dry run), export with
//! ETag, single-flag put/toggle/rollout/kill/delete recorded in the ledger with actor,
//! before and after; who may read the raw definition; the definition stream; the stale
//! report and evaluation counts.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

pub fn checkout_flags() -> Value {
    json!({
        "flags": {
            "new-checkout": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "targeting": {"if": [{"$ref": "staff"}, "on"]},
                "metadata": {"owner": "payments", "type": "release"}
            },
            "banner": {"state": "ENABLED", "variants": {"short": "Hi", "long": "Hello <b>there</b>"}, "defaultVariant": "short"},
            "legacy-search": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}
        },
        "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@acme.com"]}},
        "metadata": {"team": "web"}
    })
}

#[tokio::test]
async fn apply_is_atomic_idempotent_and_exported_with_an_etag() {
    let app = spawn_app().await;
    let out = app.apply_flags("production", &checkout_flags()).await;
    assert_eq!(out["version"], 1);
    assert_eq!(out["changes"].as_array().unwrap().len(), 3);
    assert_eq!(out["changes"][0]["action"], "created");

    let r = app.get("/api/v1/flags/production/definition").await;
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(r.json::<Value>().await.unwrap(), checkout_flags());
    let r = app
        .req(Method::GET, "/api/v1/flags/production/definition")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    let events = app.event_count().await;
    let again = app.apply_flags("production", &checkout_flags()).await;
    assert_eq!(
        (again["version"].clone(), again["changes"].clone()),
        (json!(1), json!([]))
    );
    assert_eq!(
        app.event_count().await,
        events,
        "re-applying records nothing"
    );

    let mut bad = checkout_flags();
    bad["flags"]["banner"]["defaultVariant"] = json!("medium");
    bad["flags"]["new-checkout"]["targeting"] = json!({"if": [{"$ref": "nobody"}, "on"]});
    bad["flags"]["extra"] =
        json!({"state": "ENABLED", "variants": {"a": 1, "b": "two"}, "defaultVariant": "a"});
    let r = app
        .req(Method::PUT, "/api/v1/flags/production/definition")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let p = problem(r, 422).await;
    let mut f = fields(&p);
    f.sort();
    assert_eq!(
        f,
        [
            "/flags/banner/defaultVariant",
            "/flags/extra/variants/b",
            "/flags/new-checkout/targeting/if/0/$ref"
        ]
    );
    assert_eq!(
        app.event_count().await,
        events,
        "a rejected apply records nothing"
    );
    let r = app
        .req(Method::GET, "/api/v1/flags/production/definition")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304, "a rejected apply changes nothing");

    let mut smaller = checkout_flags();
    smaller["flags"]
        .as_object_mut()
        .unwrap()
        .remove("legacy-search");
    let dry = app
        .req(
            Method::PUT,
            "/api/v1/flags/production/definition?dry_run=true",
        )
        .json(&smaller)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["changes"][0]["action"], "deleted");
    assert_eq!(app.event_count().await, events, "a dry run records nothing");

    let r = app
        .req(Method::PUT, "/api/v1/flags/production/definition")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(r, 400).await;

    // A branch that returns a name the flag lacks is applied (flagd files do this) and
    // reported as a warning with its pointer.
    let mut odd = checkout_flags();
    odd["flags"]["new-checkout"]["targeting"] = json!({"if": [{"$ref": "staff"}, "on", "of"]});
    let out = app.apply_flags("production", &odd).await;
    assert_eq!(out["version"], 2);
    assert_eq!(
        out["warnings"][0]["pointer"],
        "/flags/new-checkout/targeting/if/2"
    );
    app.stop().await;
}

#[tokio::test]
async fn single_flag_changes_are_ledger_events_with_actor_before_and_after() {
    let app = spawn_app().await;
    app.apply_flags("production", &checkout_flags()).await;
    let ops = app.token("ops-bot", "write").await;
    let as_ops = |method: Method, path: &str| {
        app.client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(&ops)
    };
    let r = as_ops(Method::POST, "/api/v1/flags/production/new-checkout/toggle")
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = as_ops(
        Method::POST,
        "/api/v1/flags/production/new-checkout/rollout",
    )
    .json(&json!({"percent": 20}))
    .send()
    .await
    .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["changes"][0]["after"]["targeting"]["if"][2],
        json!({"fractional": [["on", 20], ["off", 80]]})
    );
    let r = as_ops(Method::POST, "/api/v1/flags/production/banner/kill")
        .json(&json!({"variant": "long"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = as_ops(Method::POST, "/api/v1/flags/production/banner/kill")
        .send()
        .await
        .unwrap();
    let p = problem(r, 422).await;
    assert_eq!(
        fields(&p),
        ["variant"],
        "a string flag needs the variant named"
    );

    let created = as_ops(Method::PUT, "/api/v1/flags/production/dark-mode")
        .json(&json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let replaced = as_ops(Method::PUT, "/api/v1/flags/production/dark-mode")
        .json(&json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let r = as_ops(Method::DELETE, "/api/v1/flags/production/dark-mode")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = as_ops(Method::DELETE, "/api/v1/flags/production/dark-mode")
        .send()
        .await
        .unwrap();
    problem(r, 404).await;
    let r = as_ops(
        Method::POST,
        "/api/v1/flags/production/new-checkout/rollout",
    )
    .json(&json!({"percent": 101}))
    .send()
    .await
    .unwrap();
    assert_eq!(fields(&problem(r, 422).await), ["percent"]);
    let read_only = app.token("viewer", "read").await;
    let r = app
        .client
        .post(format!(
            "{}/api/v1/flags/production/banner/toggle",
            app.base
        ))
        .bearer_auth(&read_only)
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    problem(r, 403).await;

    let events = app.get_json("/api/v1/events?kind=flag.&limit=100").await;
    let items = events["items"].as_array().unwrap();
    let changes: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["payload"]["change"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("flag.deleted", "delete", "ops-bot"),
            ("flag.updated", "put", "ops-bot"),
            ("flag.created", "put", "ops-bot"),
            ("flag.updated", "kill", "ops-bot"),
            ("flag.updated", "rollout", "ops-bot"),
            ("flag.updated", "toggle", "ops-bot"),
            ("flag.created", "apply", "admin"),
            ("flag.created", "apply", "admin"),
            ("flag.created", "apply", "admin"),
        ]
    );
    let toggle = &items[5];
    assert_eq!(toggle["environment"], "production");
    assert_eq!(toggle["subject"], "flag:production/new-checkout");
    assert_eq!(
        (
            toggle["payload"]["before"]["state"].as_str(),
            toggle["payload"]["after"]["state"].as_str()
        ),
        (Some("ENABLED"), Some("DISABLED"))
    );

    let flag = app.get_json("/api/v1/flags/production/new-checkout").await;
    assert_eq!(flag["definition"]["state"], "DISABLED");
    assert!(app.get("/api/v1/flags/production/nope").await.status() == 404);
    app.stop().await;
}

#[tokio::test]
async fn only_server_side_keys_of_the_environment_and_read_tokens_get_the_definition() {
    let app = spawn_app().await;
    app.apply_flags("production", &checkout_flags()).await;
    let client = app.sdk_key("web", "sdk_client", "production").await;
    let server = app.sdk_key("backend", "sdk_server", "production").await;
    let staging = app
        .sdk_key("backend-staging", "sdk_server", "staging")
        .await;
    let read = app.token("viewer", "read").await;
    let get = |key: &str, header: &'static str| {
        let req = app
            .client
            .get(format!("{}/api/v1/flags/production/definition", app.base));
        if header == "bearer" {
            req.bearer_auth(key)
        } else {
            req.header("x-api-key", key)
        }
    };
    assert_eq!(get(&server, "bearer").send().await.unwrap().status(), 200);
    assert_eq!(
        get(&server, "x-api-key").send().await.unwrap().status(),
        200
    );
    assert_eq!(get(&read, "bearer").send().await.unwrap().status(), 200);
    problem(get(&client, "bearer").send().await.unwrap(), 403).await;
    problem(get(&staging, "bearer").send().await.unwrap(), 403).await;
    problem(get("rodeo_nope", "bearer").send().await.unwrap(), 401).await;
    let r = app
        .client
        .get(format!("{}/api/v1/flags/production", app.base))
        .bearer_auth(&server)
        .send()
        .await
        .unwrap();
    problem(r, 403).await;
    let r = app
        .post(
            "/api/v1/tokens",
            &json!({"name": "x", "scope": "sdk_client"}),
        )
        .await;
    assert_eq!(fields(&problem(r, 422).await), ["environment"]);
    let r = app
        .post(
            "/api/v1/tokens",
            &json!({"name": "y", "scope": "read", "environment": "production"}),
        )
        .await;
    assert_eq!(fields(&problem(r, 422).await), ["environment"]);
    app.stop().await;
}

#[tokio::test]
async fn the_definition_stream_sends_the_current_definition_then_each_change() {
    let app = spawn_app().await;
    app.apply_flags("production", &checkout_flags()).await;
    let server = app.sdk_key("backend", "sdk_server", "production").await;
    let resp = app
        .client
        .get(format!(
            "{}/api/v1/flags/production/definition/stream",
            app.base
        ))
        .bearer_auth(&server)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    read_sse_until(&mut body, &mut text, |t| t.contains("event: definition")).await;
    let first = sse_data(&text);
    assert_eq!(first[0]["version"], 1);
    assert_eq!(first[0]["definition"], checkout_flags());
    app.post(
        "/api/v1/flags/production/banner/toggle",
        &json!({"enabled": false}),
    )
    .await;
    read_sse_until(&mut body, &mut text, |t| sse_data(t).len() >= 2).await;
    let second = &sse_data(&text)[1];
    assert_eq!(second["version"], 2);
    assert_eq!(second["definition"]["flags"]["banner"]["state"], "DISABLED");
    assert_ne!(second["etag"], first[0]["etag"]);
    app.stop().await;
}

#[tokio::test]
async fn evaluations_are_counted_and_stale_flags_reported() {
    let app = spawn_with(|c| c.flags.flush_interval_secs = 1).await;
    app.apply_flags("production", &checkout_flags()).await;
    let key = app.sdk_key("web", "sdk_client", "production").await;
    for email in ["a@acme.com", "b@acme.com", "c@example.com"] {
        let r = app
            .ofrep(&key, "/new-checkout")
            .json(&json!({"context": {"targetingKey": email, "email": email}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    app.ofrep(&key, "/legacy-search")
        .json(&json!({"context": {}}))
        .send()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let listed = loop {
        let listed = app.get_json("/api/v1/flags/production").await;
        if listed["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["evaluations"]["total"] == 3)
        {
            break listed;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "counts were not flushed: {listed}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let flag = |key: &str| {
        listed["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .unwrap()
            .clone()
    };
    let checkout = flag("new-checkout");
    assert_eq!(
        checkout["evaluations"]["by_variant"],
        json!({"on": 2, "off": 1})
    );
    assert_eq!(
        (checkout["owner"].as_str(), checkout["type"].as_str()),
        (Some("payments"), Some("release"))
    );
    assert_eq!(checkout["serving"], Value::Null, "targeting decides");
    assert_eq!(
        flag("legacy-search")["evaluations"]["by_variant"],
        json!({"(default)": 1})
    );
    assert_eq!(flag("banner")["serving"], "short");

    let metrics = app.get("/metrics").await.text().await.unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("rodeo_flag_evaluations_total{") && l.contains("flag=\"legacy-search\"")
        })
        .unwrap_or_else(|| panic!("no evaluation counter on /metrics:\n{metrics}"));
    assert!(
        line.contains("variant=\"(default)\"") && line.contains("environment=\"production\""),
        "{line}"
    );

    // Nothing is stale on day one; the report is tested against time in rodeo-store.
    let report = app.get_json("/api/v1/flags/production/stale").await;
    assert_eq!(report["items"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn what_changed_before_an_incident_lists_flag_flips_next_to_deployments() {
    let app = spawn_app().await;
    let now = chrono::Utc::now();
    let at = |minutes: i64| {
        (now + chrono::Duration::minutes(minutes))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    app.deploy(json!({"service": "api", "environment": "production", "version": "1", "commit_sha": sha(1), "finished_at": at(-30)})).await;
    app.apply_flags("production", &checkout_flags()).await;
    app.apply_flags("staging", &checkout_flags()).await;
    app.post(
        "/api/v1/flags/production/new-checkout/rollout",
        &json!({"percent": 50}),
    )
    .await;
    let r = app
        .post(
            "/api/v1/incidents",
            &json!({"title": "checkout errors", "severity": "sev2", "services": ["api"],
                    "started_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app
        .get_json(&format!("/api/v1/incidents/{id}/changes"))
        .await;
    let kinds: Vec<(&str, &str)> = c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["type"].as_str().unwrap(),
                x["key"].as_str().or(x["service"].as_str()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("flag", "new-checkout"),
            ("flag", "new-checkout"),
            ("flag", "legacy-search"),
            ("flag", "banner"),
            ("deployment", "api")
        ],
        "newest first; staging's flags are not production's"
    );
    let rollout = &c["changes"][0];
    assert_eq!(rollout["change"], "rollout");
    assert_eq!(rollout["environment"], "production");
    assert_eq!(
        rollout["after"]["targeting"]["if"][2]["fractional"][0],
        json!(["on", 50])
    );
    assert_eq!(rollout["actor"], "admin");
    app.stop().await;
}
