//! Bearer-token authentication. Tokens are random secrets shown once; only their
//! SHA-256 is stored. A verified token is cached briefly so that ingest does not pay a
//! database read per request; a local revocation evicts it at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use rand::RngCore;
use rodeo_domain::{Scope, Source, Token, WriteContext};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// A new token secret: what the user sees once, its hash, and a displayable prefix.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
    pub prefix: String,
}

/// Generates `rodeo_` + 48 hex digits (192 random bits).
pub fn new_secret() -> NewSecret {
    let mut raw = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let secret = format!("rodeo_{}", hex::encode(raw));
    NewSecret {
        hash: hash_secret(&secret),
        prefix: secret[..12].to_owned(),
        secret,
    }
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Verified tokens by hash, with the time they were verified.
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<String, (Token, Instant)>>,
}

impl TokenCache {
    fn get(&self, hash: &str, ttl: Duration) -> Option<Token> {
        let map = self.entries.lock().ok()?;
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(t, _)| t.clone())
    }

    fn put(&self, hash: String, token: Token) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(hash, (token, Instant::now()));
        }
    }

    pub(crate) fn evict_id(&self, id: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|_, (t, _)| t.id != id);
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) token: Token,
    pub(crate) source: Source,
}

impl Caller {
    pub(crate) fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if self.token.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(match needed {
                Scope::Read => "reading",
                Scope::Write => "writing (needs the write or admin scope)",
                Scope::Admin => "this (needs the admin scope)",
                Scope::SdkClient => "flag evaluation (needs an SDK key of this environment)",
                Scope::SdkServer => "the flag definition (needs a server-side SDK key)",
            }))
        }
    }

    /// The context for a write by this caller; checks the write scope.
    pub(crate) fn write_context(&self, state: &AppState) -> Result<WriteContext, ApiError> {
        self.require(Scope::Write)?;
        Ok(state.write_context(self.token.name.as_str(), self.source))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = bearer(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let token = verify(state, secret).await?;
        let source = match parts
            .headers
            .get("x-rodeo-source")
            .and_then(|v| v.to_str().ok())
        {
            Some("cli") => Source::Cli,
            Some("demo") => Source::Demo,
            _ => Source::Api,
        };
        Ok(Self { token, source })
    }
}

/// The live token whose secret this is (from the cache when verified recently).
pub(crate) async fn verify(state: &AppState, secret: &str) -> Result<Token, ApiError> {
    verify_hash(state, hash_secret(secret)).await
}

/// The live token with this hash: what a dashboard session refers to.
pub(crate) async fn verify_hash(state: &AppState, hash: String) -> Result<Token, ApiError> {
    let ttl = Duration::from_secs(state.config.server.token_cache_secs);
    let token = match state.tokens.get(&hash, ttl) {
        Some(t) => t,
        None => {
            let t = state
                .store
                .token_by_hash(&hash)
                .await?
                .ok_or(ApiError::Unauthenticated)?;
            state.tokens.put(hash, t.clone());
            t
        }
    };
    if token.revoked_at.is_some() {
        return Err(ApiError::Unauthenticated);
    }
    Ok(token)
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), 6 + 48);
        assert_eq!(a.hash, hash_secret(&a.secret));
        assert!(a.secret.starts_with(&a.prefix));
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
