//! Git object ids.

use std::fmt;

use crate::FieldError;

/// A full git commit id: 40 hex digits (SHA-1) or 64 (SHA-256), stored lowercase.
/// Abbreviated shas are rejected: they are ambiguous across repositories and time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Sha(String);

impl Sha {
    pub fn parse_field(field: &str, s: &str) -> Result<Self, FieldError> {
        if s.len() != 40 && s.len() != 64 {
            return Err(FieldError::new(
                field,
                format!(
                    "must be a full commit sha of 40 (or 64) hex digits, got {} characters",
                    s.chars().count()
                ),
            ));
        }
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(FieldError::new(
                field,
                "must contain only hex digits 0-9 and a-f",
            ));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::parse_field("commit_sha", s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 digits, for humans.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }

    /// The all-zero sha git uses for "no commit" (a branch creation's `before`).
    pub fn is_null(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Sha {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lowercases() {
        let s = Sha::parse("ABCDEF0123456789abcdef0123456789ABCDEF01").unwrap();
        assert_eq!(s.as_str(), "abcdef0123456789abcdef0123456789abcdef01");
        assert_eq!(s.short(), "abcdef0");
        assert!(Sha::parse(&"0".repeat(40)).unwrap().is_null());
        assert!(Sha::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_short_and_non_hex() {
        assert!(Sha::parse("abc123").unwrap_err().message.contains("40"));
        assert!(Sha::parse(&"g".repeat(40))
            .unwrap_err()
            .message
            .contains("hex"));
        assert!(Sha::parse(&"é".repeat(20)).is_err());
    }
}
