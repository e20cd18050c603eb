//! OFREP 0.3 against the OpenAPI document in ../shared/conformance/ofrep: every status
//! code and every field of single and bulk evaluation, the ETag / If-None-Match cycle,
//! the event stream advertised in `eventStreams`, and SDK-key authentication.
//!
//! Not produced, deliberately (docs/flags.md): `PARSE_ERROR` (a rule that does not
//! compile is refused when applied, so a stored flag always compiles — the engine's
//! `PARSE_ERROR` is covered by the flagd evaluator suite), `TARGETING_KEY_MISSING` (a
//! rule that needs the key falls back to the default variant, as in flagd), 429 (no
//! rate limiting) and a body on 500 (internal errors are opaque problem documents).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::flags::checkout_flags;
use crate::helpers::*;

fn ofrep_flags() -> Value {
    let mut doc = checkout_flags();
    doc["flags"]["plan-limit"] = json!({
        "state": "ENABLED", "variants": {"free": 3, "pro": 100}, "defaultVariant": "free",
        "targeting": {"var": "plan"}, "metadata": {"owner": "billing"}
    });
    doc["flags"]["no-default"] = json!({"state": "ENABLED", "variants": {"a": 1.5, "b": 2.5}});
    doc
}

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    app.apply_flags("production", &ofrep_flags()).await;
    let key = app.sdk_key("web", "sdk_client", "production").await;
    (app, key)
}

async fn body(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    r.json().await.unwrap()
}

#[tokio::test]
async fn single_evaluation_returns_value_variant_reason_and_metadata() {
    let (app, key) = setup().await;
    let ctx = |email: &str| json!({"context": {"targetingKey": "u-1", "email": email}});
    let v = body(
        app.ofrep(&key, "/new-checkout")
            .json(&ctx("ada@acme.com"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        v,
        json!({"key": "new-checkout", "value": true, "variant": "on", "reason": "TARGETING_MATCH",
               "metadata": {"owner": "payments", "type": "release", "team": "web"}})
    );
    let v = body(
        app.ofrep(&key, "/new-checkout")
            .json(&ctx("bob@example.com"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (
            v["value"].clone(),
            v["variant"].clone(),
            v["reason"].clone()
        ),
        (json!(false), json!("off"), json!("DEFAULT"))
    );
    let v = body(
        app.ofrep(&key, "/banner")
            .json(&ctx("x"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (v["value"].clone(), v["reason"].clone()),
        (json!("Hi"), json!("STATIC"))
    );
    let v = body(
        app.ofrep(&key, "/plan-limit")
            .json(&json!({"context": {"plan": "pro"}}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(v["value"], 100, "integer values stay integers");

    // Disabled, and no default variant: success without a value, so the SDK uses its
    // code default (OFREP's codeDefaultFlag).
    let v = body(
        app.ofrep(&key, "/legacy-search")
            .json(&ctx("x"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        v,
        json!({"key": "legacy-search", "reason": "DISABLED", "metadata": {"team": "web"}})
    );
    let v = body(
        app.ofrep(&key, "/no-default")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        v,
        json!({"key": "no-default", "reason": "DEFAULT", "metadata": {"team": "web"}})
    );

    // No body at all is an empty context.
    let v = body(app.ofrep(&key, "/banner").send().await.unwrap(), 200).await;
    assert_eq!(v["value"], "Hi");
    app.stop().await;
}

#[tokio::test]
async fn single_evaluation_errors_carry_the_spec_codes_and_statuses() {
    let (app, key) = setup().await;
    let v = body(
        app.ofrep(&key, "/nope")
            .json(&json!({"context": {}}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(v["key"], "nope");
    assert_eq!(v["errorCode"], "FLAG_NOT_FOUND");
    assert!(v["errorDetails"].as_str().unwrap().contains("nope"));

    let v = body(
        app.ofrep(&key, "/plan-limit")
            .json(&json!({"context": {"plan": "enterprise"}}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(
        (v["key"].as_str(), v["errorCode"].as_str()),
        (Some("plan-limit"), Some("GENERAL"))
    );
    assert_eq!(v["metadata"]["owner"], "billing");

    for bad in [
        r#"{"context": {"targetingKey": 42}}"#,
        r#"{"context": "user-1"}"#,
        r#"{"context": ["a"]}"#,
        "not json",
        r#"{"context": {"a": "#,
    ] {
        let r = app
            .ofrep(&key, "/banner")
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        let v = body(r, 400).await;
        assert_eq!(
            (v["key"].as_str(), v["errorCode"].as_str()),
            (Some("banner"), Some("INVALID_CONTEXT")),
            "{bad}"
        );
        assert!(v["errorDetails"].is_string());
    }
    let huge = json!({"context": {"targetingKey": "u", "blob": "x".repeat(40_000)}});
    let v = body(
        app.ofrep(&key, "/banner").json(&huge).send().await.unwrap(),
        400,
    )
    .await;
    assert_eq!(v["errorCode"], "INVALID_CONTEXT");
    let mut deep = json!("leaf");
    for _ in 0..200 {
        deep = json!({"d": deep});
    }
    let v = body(
        app.ofrep(&key, "/banner")
            .json(&json!({"context": deep}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(
        v["errorCode"], "INVALID_CONTEXT",
        "absurd nesting is refused, not a 500"
    );
    app.stop().await;
}

#[tokio::test]
async fn only_sdk_keys_evaluate() {
    let (app, key) = setup().await;
    let r = app
        .client
        .post(format!("{}/ofrep/v1/evaluate/flags/banner", app.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .post(format!("{}/ofrep/v1/evaluate/flags/banner", app.base))
        .header("x-api-key", "rodeo_nope")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .post(format!("{}/ofrep/v1/evaluate/flags/banner", app.base))
        .header("x-api-key", &key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "X-API-Key works as well as a bearer token"
    );
    let r = app
        .ofrep(&app.admin, "/banner")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "API tokens do not evaluate"
    );
    let staging = app.sdk_key("web-staging", "sdk_client", "staging").await;
    let r = app
        .ofrep(&staging, "/banner")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a key sees its own environment's flags only"
    );
    app.stop().await;
}

#[tokio::test]
async fn bulk_evaluation_with_etag_and_event_streams() {
    let (app, key) = setup().await;
    let ctx = json!({"context": {"targetingKey": "u-1", "email": "ada@acme.com", "plan": "gold"}});
    let r = app.ofrep(&key, "").json(&ctx).send().await.unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let v = body(r, 200).await;
    let flags = v["flags"].as_array().unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "banner",
            "legacy-search",
            "new-checkout",
            "no-default",
            "plan-limit"
        ]
    );
    assert_eq!(
        flags[2],
        json!({"key": "new-checkout", "value": true, "variant": "on", "reason": "TARGETING_MATCH",
        "metadata": {"owner": "payments", "type": "release", "team": "web"}})
    );
    assert_eq!(flags[1]["reason"], "DISABLED");
    assert!(flags[1].get("value").is_none());
    assert_eq!(
        flags[4]["errorCode"], "GENERAL",
        "a failing flag is an item, the rest still evaluate"
    );
    assert_eq!(v["metadata"], json!({"team": "web"}));
    let stream = &v["eventStreams"][0];
    assert_eq!(stream["type"], "sse");
    assert_eq!(stream["inactivityDelaySec"], 120);
    let uri = stream["endpoint"]["requestUri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(uri.starts_with("/ofrep/v1/event-stream?channel="), "{uri}");
    assert!(!uri.contains(&key), "the stream URL carries no secret");

    let again = app
        .ofrep(&key, "")
        .header("if-none-match", &etag)
        .json(&ctx)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    let other = app
        .ofrep(&key, "")
        .header("if-none-match", &etag)
        .json(&json!({"context": {"targetingKey": "u-2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another context is evaluated afresh"
    );

    // The stream, opened with the advertised URL alone, announces the next change.
    let resp = app
        .client
        .get(format!("{}{uri}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut events = resp.bytes_stream();
    app.post(
        "/api/v1/flags/production/banner/toggle",
        &json!({"enabled": false}),
    )
    .await;
    let mut text = String::new();
    read_sse_until(&mut events, &mut text, |t| t.contains("refetchEvaluation")).await;
    let data = sse_data(&text);
    assert_eq!(data[0]["type"], "refetchEvaluation");
    assert!(data[0]["etag"].is_string() && data[0]["lastModified"].is_i64());
    assert!(text.contains("event: message"), "{text}");

    let changed = app
        .ofrep(&key, "")
        .header("if-none-match", &etag)
        .json(&ctx)
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "a flag change invalidates the ETag"
    );
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);

    let r = app
        .ofrep(&key, "")
        .body("[1,2]")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let v = body(r, 400).await;
    assert_eq!(v["errorCode"], "INVALID_CONTEXT");
    assert!(v.get("key").is_none(), "a bulk failure has no key");

    let r = app
        .client
        .get(format!("{}/ofrep/v1/event-stream?channel=0123", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}
