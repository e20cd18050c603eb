//! The first fetch, then evaluation in memory: targeting, a disabled flag, static flags
//! of every type, errors, and a fractional rollout that buckets like the server does.

use rodeo_sdk::{Connection, ErrorCode, Reason, Requested};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn the_first_fetch_is_evaluated_locally() {
    let server = start().await;
    let version = server.apply(ENV, &checkout_flags()).await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let flags = server.flags(&key).await;
    assert_eq!(flags.version(), Some(version));

    let staff = ctx(json!({"targetingKey": "u1", "email": "ada@acme.com"}));
    let guest = ctx(json!({"targetingKey": "u2", "email": "bob@example.com"}));
    let d = flags.evaluate("new-checkout", &staff);
    assert_eq!(
        (d.value, d.variant.as_deref(), d.reason),
        (Some(json!(true)), Some("on"), Reason::TargetingMatch)
    );
    assert_eq!(d.metadata["owner"], "payments");
    assert_eq!(d.metadata["team"], "web", "the set's metadata is inherited");
    assert_eq!(d.version, Some(version));
    let d = flags.evaluate("new-checkout", &guest);
    assert_eq!(
        (d.value, d.variant.as_deref(), d.reason),
        (Some(json!(false)), Some("off"), Reason::Default)
    );
    assert!(flags.bool_value("new-checkout", &staff, false));
    assert!(!flags.bool_value("new-checkout", &guest, true));

    // Disabled: the caller's default, reason DISABLED, no error.
    let d = flags.evaluate("legacy-search", &staff);
    assert_eq!((d.value, d.reason, d.error), (None, Reason::Disabled, None));
    assert!(!flags.bool_value("legacy-search", &staff, false));
    assert!(flags.bool_value("legacy-search", &staff, true));

    // Static flags of each type.
    assert_eq!(flags.int_value("max-items", &guest, 0), 3);
    assert!((flags.float_value("sample-rate", &guest, 0.0) - 0.25).abs() < f64::EPSILON);
    assert_eq!(flags.float_value("max-items", &guest, 0.0), 3.0);
    assert_eq!(
        Value::Object(flags.object_value("theme", &guest, Default::default())),
        json!({"bg": "#000", "contrast": 2})
    );
    assert_eq!(flags.evaluate("theme", &guest).reason, Reason::Static);

    // Errors answer the default with a code.
    let d = flags.evaluate("nope", &guest);
    assert_eq!(
        (d.reason, d.error.map(|e| e.code)),
        (Reason::Error, Some(ErrorCode::FlagNotFound))
    );
    assert_eq!(flags.string_value("nope", &guest, "fallback"), "fallback");
    let d = flags.evaluate_as("max-items", &guest, Requested::Boolean);
    assert_eq!(
        (d.value, d.error.map(|e| e.code)),
        (None, Some(ErrorCode::TypeMismatch))
    );
    assert!(flags.bool_value("max-items", &guest, true));
    let d = flags.evaluate("new-checkout", &ctx(json!({"targetingKey": 7})));
    assert_eq!(d.error.map(|e| e.code), Some(ErrorCode::InvalidContext));

    wait_connection(&flags, Connection::Live).await;
    flags.close();
    assert_eq!(flags.connection(), Connection::Closed);
    assert!(
        flags.bool_value("new-checkout", &staff, false),
        "a closed client still serves"
    );
    assert_eq!(flags.changes().changed().await, None);
    server.stop().await;
}

#[tokio::test]
async fn a_fractional_rollout_buckets_as_the_server_does() {
    let server = start().await;
    server.apply(ENV, &checkout_flags()).await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let flags = server.flags(&key).await;
    let mut seen = std::collections::BTreeSet::new();
    for user in 0..40 {
        let context = ctx(json!({"targetingKey": format!("user-{user}")}));
        let local = flags.evaluate("banner", &context);
        let remote = server.ofrep(&key, "banner", &context).await;
        assert_eq!(local.value.as_ref(), Some(&remote["value"]), "user-{user}");
        assert_eq!(local.variant.as_deref(), remote["variant"].as_str());
        assert_eq!(
            flags.evaluate("banner", &context).variant,
            local.variant,
            "sticky"
        );
        seen.insert(local.variant.unwrap());
    }
    assert_eq!(seen.len(), 2, "both variants are served: {seen:?}");
    server.stop().await;
}
