//! Proof that a delivery comes from the configured GitHub or GitLab hook.
//!
//! Both comparisons run in constant time, so response timing reveals nothing about
//! how much of a guessed signature or token was right.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a delivery is not authenticated; the handler answers 401 for every variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No secret is configured, so no delivery can be authenticated.
    #[error("no {0} secret is configured")]
    NotConfigured(&'static str),
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {header} header is malformed: {reason}")]
    Malformed {
        header: &'static str,
        reason: &'static str,
    },
    #[error("the {0} header does not match the configured secret")]
    Mismatch(&'static str),
}

const GITHUB_HEADER: &str = "X-Hub-Signature-256";
const PAGERDUTY_HEADER: &str = "X-PagerDuty-Signature";
const AUTHORIZATION: &str = "Authorization";
const GITLAB_HEADER: &str = "X-Gitlab-Token";

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
pub fn verify_github(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NotConfigured("GitHub webhook"));
    }
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing(GITHUB_HEADER))?;
    let malformed = |reason| SignatureError::Malformed {
        header: GITHUB_HEADER,
        reason,
    };
    let hex_digest = header
        .strip_prefix("sha256=")
        .ok_or_else(|| malformed("expected sha256=<hex>"))?;
    let expected = hex::decode(hex_digest).map_err(|_| malformed("the digest is not hex"))?;
    if expected.len() != 32 {
        return Err(malformed("the digest is not 64 hex digits"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| SignatureError::NotConfigured("GitHub webhook"))?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch(GITHUB_HEADER))
}

/// Checks `X-Gitlab-Token` against the configured token. Both sides are hashed first
/// so that the comparison takes the same time whatever the header's length.
pub fn verify_gitlab(expected: &str, header: Option<&str>) -> Result<(), SignatureError> {
    if expected.is_empty() {
        return Err(SignatureError::NotConfigured("GitLab webhook"));
    }
    let header = header
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing(GITLAB_HEADER))?;
    let given = Sha256::digest(header.as_bytes());
    let wanted = Sha256::digest(expected.as_bytes());
    if bool::from(given.ct_eq(&wanted)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch(GITLAB_HEADER))
    }
}

/// Checks `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>[,v1=<hex>…]`: while a
/// secret is rotated PagerDuty signs with both, so any one match is enough.
pub fn verify_pagerduty(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NotConfigured("PagerDuty webhook"));
    }
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing(PAGERDUTY_HEADER))?;
    let mut any = false;
    for sig in header.split(',').map(str::trim) {
        let Some(hex_digest) = sig.strip_prefix("v1=") else {
            continue;
        };
        let Ok(expected) = hex::decode(hex_digest) else {
            continue;
        };
        any = true;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| SignatureError::NotConfigured("PagerDuty webhook"))?;
        mac.update(body);
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    if any {
        Err(SignatureError::Mismatch(PAGERDUTY_HEADER))
    } else {
        Err(SignatureError::Malformed {
            header: PAGERDUTY_HEADER,
            reason: "expected v1=<hex>",
        })
    }
}

/// Checks `Authorization: Bearer <token>` against the configured token (Alertmanager's
/// `http_config.authorization`), in constant time.
pub fn verify_bearer(expected: &str, header: Option<&str>) -> Result<(), SignatureError> {
    if expected.is_empty() {
        return Err(SignatureError::NotConfigured("Alertmanager webhook"));
    }
    let given = header
        .and_then(|h| h.trim().strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(SignatureError::Missing(AUTHORIZATION))?;
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    if bool::from(a.ct_eq(&b)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch(AUTHORIZATION))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From GitHub's "Validating webhook deliveries" documentation.
    const DOC_SECRET: &[u8] = b"It's a Secret to Everybody";
    const DOC_BODY: &[u8] = b"Hello, World!";
    const DOC_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn pagerduty_signatures_any_of_several() {
        let body = br#"{"event":{}}"#;
        let sign = |secret: &[u8]| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
            mac.update(body);
            format!("v1={}", hex::encode(mac.finalize().into_bytes()))
        };
        let good = sign(b"s");
        assert_eq!(verify_pagerduty(b"s", body, Some(&good)), Ok(()));
        let rotated = format!("{}, {good}", sign(b"old"));
        assert_eq!(verify_pagerduty(b"s", body, Some(&rotated)), Ok(()));
        assert!(matches!(
            verify_pagerduty(b"s", body, Some(&sign(b"x"))),
            Err(SignatureError::Mismatch(_))
        ));
        assert!(matches!(
            verify_pagerduty(b"s", body, Some("sha256=ab")),
            Err(SignatureError::Malformed { .. })
        ));
        assert!(matches!(
            verify_pagerduty(b"s", body, None),
            Err(SignatureError::Missing(_))
        ));
        assert!(matches!(
            verify_pagerduty(b"", body, Some(&good)),
            Err(SignatureError::NotConfigured(_))
        ));
    }

    #[test]
    fn bearer_tokens_compare_whole() {
        assert_eq!(verify_bearer("t0k", Some("Bearer t0k")), Ok(()));
        assert!(verify_bearer("t0k", Some("Bearer t0")).is_err());
        assert!(verify_bearer("t0k", Some("t0k")).is_err());
        assert!(verify_bearer("", Some("Bearer ")).is_err());
    }

    #[test]
    fn accepts_githubs_documented_example() {
        assert_eq!(
            verify_github(DOC_SECRET, DOC_BODY, Some(DOC_SIGNATURE)),
            Ok(())
        );
        let upper = DOC_SIGNATURE.replace("757107ea", "757107EA");
        assert_eq!(verify_github(DOC_SECRET, DOC_BODY, Some(&upper)), Ok(()));
    }

    #[test]
    fn tells_missing_from_wrong() {
        assert_eq!(
            verify_github(DOC_SECRET, DOC_BODY, None),
            Err(SignatureError::Missing(GITHUB_HEADER))
        );
        assert_eq!(
            verify_github(DOC_SECRET, DOC_BODY, Some("")),
            Err(SignatureError::Missing(GITHUB_HEADER))
        );
        assert_eq!(
            verify_github(b"another secret", DOC_BODY, Some(DOC_SIGNATURE)),
            Err(SignatureError::Mismatch(GITHUB_HEADER))
        );
        assert_eq!(
            verify_github(DOC_SECRET, b"Hello, World?", Some(DOC_SIGNATURE)),
            Err(SignatureError::Mismatch(GITHUB_HEADER))
        );
    }

    #[test]
    fn rejects_malformed_signatures() {
        let sha1 = "sha1=0123456789abcdef0123456789abcdef01234567";
        let not_hex = format!("sha256={}", "zz".repeat(32));
        let short = "sha256=757107ea";
        for header in [sha1, not_hex.as_str(), short, "757107ea0eb2509f"] {
            assert!(
                matches!(
                    verify_github(DOC_SECRET, DOC_BODY, Some(header)),
                    Err(SignatureError::Malformed { .. })
                ),
                "{header}"
            );
        }
    }

    #[test]
    fn an_empty_secret_authenticates_nothing() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"").unwrap();
        mac.update(DOC_BODY);
        let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(matches!(
            verify_github(b"", DOC_BODY, Some(&sig)),
            Err(SignatureError::NotConfigured(_))
        ));
        assert!(matches!(
            verify_gitlab("", Some("")),
            Err(SignatureError::NotConfigured(_))
        ));
    }

    #[test]
    fn gitlab_token_must_match_exactly() {
        assert_eq!(verify_gitlab("s3cret", Some("s3cret")), Ok(()));
        assert_eq!(
            verify_gitlab("s3cret", None),
            Err(SignatureError::Missing(GITLAB_HEADER))
        );
        for wrong in ["s3cre", "s3cret ", "S3CRET", "s3cret-and-more"] {
            assert_eq!(
                verify_gitlab("s3cret", Some(wrong)),
                Err(SignatureError::Mismatch(GITLAB_HEADER)),
                "{wrong}"
            );
        }
    }
}
