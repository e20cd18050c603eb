//! `Idempotency-Key`: the same key with the same request returns the original result; with
//! a different request it is a 409. Keys are scoped to the token, so two clients cannot
//! collide, and the record is written in the same transaction as the write itself.

use axum::http::{HeaderMap, Method};
use rodeo_domain::IdempotencyKey;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::http::auth::Caller;

const MAX_KEY_LEN: usize = 255;

pub(crate) fn key(
    headers: &HeaderMap,
    caller: &Caller,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let k = v
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        })?;
    let mut h = Sha256::new();
    h.update(method.as_str());
    h.update([0]);
    h.update(path);
    h.update([0]);
    h.update(body);
    Ok(Some(IdempotencyKey {
        key: format!("token:{}:{k}", caller.token.id),
        fingerprint: hex::encode(h.finalize()),
    }))
}
