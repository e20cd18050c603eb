//! The first admin token, and tokens created offline (recovery without a running server).

use std::sync::Arc;

use rodeo_domain::{Command, Outcome, Scope, Source, Token, TokenName, WriteContext};
use rodeo_store::{Store, StoreError, Written};

use crate::http::auth::new_secret;

/// On an empty token table, creates an admin token named `admin` and returns its secret
/// (to be printed once). Returns `None` when tokens exist.
pub async fn bootstrap_admin_token(store: &Arc<dyn Store>) -> Result<Option<String>, StoreError> {
    if !store.list_tokens().await?.is_empty() {
        return Ok(None);
    }
    match create_token_offline(store, "admin", Scope::Admin).await {
        Ok((_, secret)) => Ok(Some(secret)),
        // Another replica bootstrapped at the same moment.
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates a token directly in the database, recorded with source `system`.
pub async fn create_token_offline(
    store: &Arc<dyn Store>,
    name: &str,
    scope: Scope,
) -> Result<(Token, String), StoreError> {
    create_sdk_key_offline(store, name, scope, None).await
}

/// Like [`create_token_offline`], for any scope: SDK keys name their environment.
pub async fn create_sdk_key_offline(
    store: &Arc<dyn Store>,
    name: &str,
    scope: Scope,
    environment: Option<rodeo_domain::EnvironmentName>,
) -> Result<(Token, String), StoreError> {
    let name = TokenName::parse(name).map_err(|e| StoreError::Invalid(e.into()))?;
    let s = new_secret();
    let ctx = WriteContext::new("rodeo", Source::System, rodeo_domain::now());
    let cmd = Command::CreateToken {
        name,
        scope,
        hash: s.hash,
        prefix: s.prefix,
        environment,
    };
    match store.execute(ctx, vec![cmd]).await? {
        Written::Applied(o) | Written::Replayed(o) => match o.into_iter().next() {
            Some(Outcome::Token(t)) => Ok((t, s.secret)),
            _ => Err(StoreError::Conflict("token was not created".into())),
        },
        Written::DuplicateDelivery => Err(StoreError::Conflict("token was not created".into())),
    }
}
