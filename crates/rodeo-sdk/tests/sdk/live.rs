//! Staying current: a change made on the server reaches the client through the stream;
//! a server that stops leaves the last definition serving and is followed again when it
//! comes back; a client that starts without the server answers code defaults until it
//! can reach it.

use std::time::Duration;

use rodeo_sdk::{Connection, Error, ErrorCode, Reason, RodeoFlags};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_toggle_reaches_the_client_through_the_stream() {
    let server = start().await;
    server.apply(ENV, &checkout_flags()).await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let flags = server.flags(&key).await;
    wait_connection(&flags, Connection::Live).await;
    let staff = ctx(json!({"targetingKey": "u1", "email": "ada@acme.com"}));
    assert!(flags.bool_value("new-checkout", &staff, false));

    let mut changes = flags.changes();
    let version = server.toggle(ENV, "new-checkout", false).await;
    let seen = tokio::time::timeout(PATIENCE, changes.changed())
        .await
        .expect("a change notification")
        .expect("client open");
    assert_eq!(seen, version);
    assert_eq!(
        flags.evaluate("new-checkout", &staff).reason,
        Reason::Disabled
    );
    assert!(!flags.bool_value("new-checkout", &staff, false));

    let version = server.toggle(ENV, "new-checkout", true).await;
    wait_version(&flags, version).await;
    assert!(flags.bool_value("new-checkout", &staff, false));
    server.stop().await;
}

#[tokio::test]
async fn the_last_definition_keeps_serving_while_the_server_is_down() {
    let server = start().await;
    server.apply(ENV, &checkout_flags()).await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let flags = server.flags(&key).await;
    wait_connection(&flags, Connection::Live).await;
    let version = flags.version();
    let staff = ctx(json!({"targetingKey": "u1", "email": "ada@acme.com"}));

    let stopped = server.stop().await;
    wait_connection(&flags, Connection::Disconnected).await;
    assert_eq!(flags.version(), version);
    let d = flags.evaluate("new-checkout", &staff);
    assert_eq!(
        (d.value, d.reason),
        (Some(json!(true)), Reason::TargetingMatch)
    );
    assert_eq!(flags.int_value("max-items", &staff, 0), 3);

    let server = stopped.restart().await;
    wait_connection(&flags, Connection::Live).await;
    assert!(flags.last_error().is_none());
    let version = server.toggle(ENV, "new-checkout", false).await;
    wait_version(&flags, version).await;
    assert_eq!(
        flags.evaluate("new-checkout", &staff).reason,
        Reason::Disabled
    );
    server.stop().await;
}

#[tokio::test]
async fn without_waiting_a_client_answers_code_defaults_until_the_server_is_reachable() {
    let server = start().await;
    let version = server.apply(ENV, &checkout_flags()).await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let stopped = server.stop().await;

    let flags = RodeoFlags::builder(stopped.base(), ENV, &key)
        .no_wait()
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    let staff = ctx(json!({"targetingKey": "u1", "email": "ada@acme.com"}));
    wait_connection(&flags, Connection::Disconnected).await;
    assert_eq!(flags.version(), None);
    let d = flags.evaluate("new-checkout", &staff);
    assert_eq!((d.value, d.reason), (None, Reason::Error));
    assert_eq!(d.error.unwrap().code, ErrorCode::ProviderNotReady);
    assert!(!flags.bool_value("new-checkout", &staff, false));
    assert_eq!(flags.string_value("banner", &staff, "code"), "code");
    assert!(matches!(
        flags.last_error().as_deref(),
        Some(Error::Request(_))
    ));

    let server = stopped.restart().await;
    assert_eq!(flags.wait_for_definition(PATIENCE).await.unwrap(), version);
    assert!(flags.bool_value("new-checkout", &staff, false));
    server.stop().await;
}

#[tokio::test]
async fn connect_gives_up_after_its_wait_with_the_last_failure() {
    let server = start().await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let stopped = server.stop().await;
    let err = RodeoFlags::builder(stopped.base(), ENV, &key)
        .wait_timeout(Duration::from_millis(300))
        .backoff(Duration::from_millis(20), Duration::from_millis(50))
        .connect()
        .await
        .unwrap_err();
    let Error::Timeout { waited, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*waited, Duration::from_millis(300));
    assert!(
        matches!(source.as_deref(), Some(Error::Request(_))),
        "{source:?}"
    );
}

#[tokio::test]
async fn an_environment_without_flags_serves_version_zero() {
    let server = start().await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let flags = server.flags(&key).await;
    assert_eq!(flags.version(), Some(0));
    let d = flags.evaluate("anything", &ctx(json!({})));
    assert_eq!(d.error.unwrap().code, ErrorCode::FlagNotFound);
    let version = server.apply(ENV, &checkout_flags()).await;
    wait_version(&flags, version).await;
    assert_eq!(flags.int_value("max-items", &ctx(json!({})), 0), 3);
    server.stop().await;
}
