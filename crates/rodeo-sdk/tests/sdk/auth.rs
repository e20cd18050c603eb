//! Keys the definition endpoint refuses: `connect` fails at once with the server's reason.

use rodeo_sdk::{Error, RodeoFlags};

use crate::helpers::*;

#[tokio::test]
async fn client_side_unknown_and_foreign_keys_are_refused() {
    let server = start().await;
    server.apply(ENV, &checkout_flags()).await;
    let client_side = server.sdk_key("sdk_client", ENV).await;
    let staging = server.sdk_key("sdk_server", "staging").await;
    for (key, want) in [
        (client_side.as_str(), 403),
        (staging.as_str(), 403),
        ("rodeo_not_a_key", 401),
    ] {
        let started = std::time::Instant::now();
        let err = RodeoFlags::builder(&server.base, ENV, key)
            .connect()
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "refused at once, not after the wait"
        );
        let Error::Refused { status, detail } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*status, want, "{detail}");
        if want == 403 {
            assert!(detail.contains("server-side SDK key"), "{detail}");
        }
        assert!(err.to_string().contains("refused the SDK key"), "{err}");
    }
    server.stop().await;
}
