//! Dashboard sessions: a login exchanges a token for a signed cookie, and every form
//! carries a CSRF token derived from that cookie.
//!
//! The cookie holds the token's SHA-256 (what the database stores, never the secret)
//! and an expiry, signed with HMAC-SHA256. Each request re-checks the token, so a
//! revoked token ends its sessions within `server.token_cache_secs`. The cookie is
//! HttpOnly and SameSite=Strict; on top of that every POST must carry the CSRF token
//! (an HMAC of the session under a different label) and, when the browser sends an
//! `Origin`, come from this host. The login form, which has no session yet, uses a
//! double-submit nonce cookie instead.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub(crate) const SESSION_COOKIE: &str = "rodeo_session";
pub(crate) const LOGIN_COOKIE: &str = "rodeo_login";

/// The key that signs cookies.
#[derive(Clone)]
pub(crate) struct Keys {
    key: Vec<u8>,
    secure: bool,
    lifetime: chrono::Duration,
}

impl Keys {
    /// From the configured secret, or 32 random bytes (sessions then end on restart).
    pub(crate) fn new(secret: Option<&str>, hours: u32, secure: bool) -> Self {
        let key = match secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                let mut k = vec![0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut k);
                k
            }
        };
        Self {
            key,
            secure,
            lifetime: chrono::Duration::hours(i64::from(hours.max(1))),
        }
    }

    fn mac(&self, label: &str, payload: &str) -> Vec<u8> {
        // HMAC takes keys of any length.
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return Vec::new();
        };
        m.update(label.as_bytes());
        m.update(b"\0");
        m.update(payload.as_bytes());
        m.finalize().into_bytes().to_vec()
    }

    /// A cookie value for the token with this hash, valid from `now` for the lifetime.
    pub(crate) fn issue(&self, token_hash: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        let payload = format!("{token_hash}.{}", (now + self.lifetime).timestamp());
        let sig = URL_SAFE_NO_PAD.encode(self.mac("session", &payload));
        format!("{payload}.{sig}")
    }

    /// The token hash of a valid, unexpired cookie value.
    pub(crate) fn open(&self, value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
        let (payload, sig) = value.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if !bool::from(self.mac("session", payload).ct_eq(&sig)) {
            return None;
        }
        let (hash, expires) = payload.split_once('.')?;
        let expires: i64 = expires.parse().ok()?;
        (expires > now.timestamp()).then(|| hash.to_owned())
    }

    /// The CSRF token of a session (or of a login nonce).
    pub(crate) fn csrf(&self, session: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac("csrf", session))
    }

    pub(crate) fn check_csrf(&self, session: &str, given: &str) -> bool {
        bool::from(self.csrf(session).as_bytes().ct_eq(given.as_bytes()))
    }

    /// `Set-Cookie` for a session (or, with `None`, one that deletes it).
    pub(crate) fn session_cookie(&self, value: Option<&str>) -> HeaderValue {
        self.cookie(SESSION_COOKIE, value, self.lifetime.num_seconds())
    }

    /// `Set-Cookie` for the login form's nonce: ten minutes to fill the form in.
    pub(crate) fn login_cookie(&self, value: Option<&str>) -> HeaderValue {
        self.cookie(LOGIN_COOKIE, value, 600)
    }

    fn cookie(&self, name: &str, value: Option<&str>, max_age: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let s = match value {
            Some(v) => {
                format!("{name}={v}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
            }
            None => format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}"),
        };
        HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// A random nonce for the login form.
pub(crate) fn nonce() -> String {
    let mut raw = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The value of a cookie in the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// False when the browser says the request comes from another origin. Browsers send
/// `Origin` on every cross-site POST; without it the CSRF token still has to match.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let bare = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    bare == host
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn a_session_opens_until_it_expires_and_only_with_its_key() {
        let keys = Keys::new(Some("a key long enough to sign cookies with"), 1, false);
        let v = keys.issue("abc123", at(1_000_000));
        assert_eq!(keys.open(&v, at(1_000_000)).as_deref(), Some("abc123"));
        assert_eq!(
            keys.open(&v, at(1_000_000 + 3599)).as_deref(),
            Some("abc123")
        );
        assert_eq!(keys.open(&v, at(1_000_000 + 3600)), None);
        let other = Keys::new(Some("another key entirely, also long enough"), 1, false);
        assert_eq!(other.open(&v, at(1_000_000)), None);
    }

    #[test]
    fn a_tampered_session_does_not_open() {
        let keys = Keys::new(None, 12, false);
        let v = keys.issue("abc123", at(0));
        let forged_hash = v.replacen("abc123", "abc124", 1);
        assert_eq!(keys.open(&forged_hash, at(0)), None);
        let (payload, _) = v.rsplit_once('.').unwrap();
        let (hash, _) = payload.split_once('.').unwrap();
        let longer = format!("{hash}.99999999999.{}", v.rsplit_once('.').unwrap().1);
        assert_eq!(keys.open(&longer, at(0)), None);
        assert_eq!(keys.open("garbage", at(0)), None);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let keys = Keys::new(None, 12, false);
        let a = keys.issue("a", at(0));
        let b = keys.issue("b", at(0));
        assert!(keys.check_csrf(&a, &keys.csrf(&a)));
        assert!(!keys.check_csrf(&a, &keys.csrf(&b)));
        assert!(!keys.check_csrf(&a, ""));
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let keys = Keys::new(None, 12, true);
        let c = keys.session_cookie(Some("v"));
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; rodeo_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
    }

    #[test]
    fn cross_origin_posts_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:7777".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://127.0.0.1:7777".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
