//! The OpenFeature API (`open-feature` 0.3) with rodeo as its provider, end to end.

use open_feature::provider::{FeatureProvider, ProviderStatus};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationErrorCode, EvaluationReason,
    FlagMetadataValue, OpenFeature, StructValue,
};
use rodeo_sdk::RodeoFlags;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_open_feature_api_evaluates_with_rodeo() {
    let server = start().await;
    server.apply(ENV, &checkout_flags()).await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let flags = server.flags(&key).await;

    // The global singleton, as applications use it (only this test touches it).
    let client = {
        let mut api = OpenFeature::singleton_mut().await;
        api.set_provider(flags.clone()).await;
        assert_eq!(api.provider_metadata().await.name, "rodeo");
        api.create_client()
    };
    let staff = EvaluationContext::default()
        .with_targeting_key("u1")
        .with_custom_field("email", "ada@acme.com")
        .with_custom_field(
            "account",
            EvaluationContextFieldValue::new_struct(
                StructValue::default().with_field("plan", "pro"),
            ),
        );
    let guest = EvaluationContext::default()
        .with_targeting_key("u2")
        .with_custom_field("email", "bob@example.com")
        .with_custom_field(
            "account",
            EvaluationContextFieldValue::new_struct(json!({"plan": "free"})),
        );

    assert_eq!(
        client
            .get_bool_value("new-checkout", Some(&staff), None)
            .await,
        Ok(true)
    );
    assert_eq!(
        client
            .get_bool_value("new-checkout", Some(&guest), None)
            .await,
        Ok(false)
    );
    let details = client
        .get_bool_details("new-checkout", Some(&staff), None)
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("on"));
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
    assert_eq!(
        details.flag_metadata.values.get("owner"),
        Some(&FlagMetadataValue::String("payments".into()))
    );
    // Targeting on a nested struct of the context.
    assert_eq!(
        client
            .get_bool_value("pro-feature", Some(&staff), None)
            .await,
        Ok(true)
    );
    assert_eq!(
        client
            .get_bool_value("pro-feature", Some(&guest), None)
            .await,
        Ok(false)
    );

    assert_eq!(client.get_int_value("max-items", None, None).await, Ok(3));
    assert_eq!(
        client.get_float_value("sample-rate", None, None).await,
        Ok(0.25)
    );
    assert_eq!(
        client.get_float_value("max-items", None, None).await,
        Ok(3.0)
    );
    let banner = client
        .get_string_value("banner", Some(&staff), None)
        .await
        .unwrap();
    assert!(["Hello", "Hi"].contains(&banner.as_str()), "{banner}");
    let theme: StructValue = client.get_struct_value("theme", None, None).await.unwrap();
    assert_eq!(
        theme,
        StructValue::default()
            .with_field("bg", "#000")
            .with_field("contrast", 2)
    );

    // Code defaults: every one is an Err, which the application replaces.
    let disabled = client
        .get_bool_value("legacy-search", Some(&staff), None)
        .await
        .unwrap_err();
    assert_eq!(
        disabled.code,
        EvaluationErrorCode::General("DISABLED".into())
    );
    let missing = client.get_bool_value("nope", None, None).await.unwrap_err();
    assert_eq!(missing.code, EvaluationErrorCode::FlagNotFound);
    let mismatch = client
        .get_bool_value("max-items", None, None)
        .await
        .unwrap_err();
    assert_eq!(mismatch.code, EvaluationErrorCode::TypeMismatch);
    assert!(client
        .get_bool_value("legacy-search", Some(&staff), None)
        .await
        .unwrap_or(true));

    wait_connection(&flags, rodeo_sdk::Connection::Live).await;
    assert_eq!(flags.status(), ProviderStatus::Ready);
    let stopped = server.stop().await;
    wait_connection(&flags, rodeo_sdk::Connection::Disconnected).await;
    assert_eq!(flags.status(), ProviderStatus::STALE);
    assert_eq!(
        client
            .get_bool_value("new-checkout", Some(&staff), None)
            .await,
        Ok(true),
        "the last definition serves while the server is down"
    );
    OpenFeature::singleton_mut().await.shutdown().await;
    drop(stopped);
}

#[tokio::test]
async fn a_provider_without_a_definition_is_not_ready() {
    let server = start().await;
    let key = server.sdk_key("sdk_server", ENV).await;
    let stopped = server.stop().await;
    let flags = RodeoFlags::builder(stopped.base(), ENV, &key)
        .no_wait()
        .connect()
        .await
        .unwrap();
    assert_eq!(flags.status(), ProviderStatus::NotReady);

    // An API instance of its own, not the singleton.
    let mut api = OpenFeature::default();
    api.set_provider(flags).await;
    let client = api.create_client();
    let err = client
        .get_bool_value("new-checkout", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::ProviderNotReady);
}
