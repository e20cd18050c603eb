//! Names of services, environments, teams and tokens.
//!
//! All follow one rule so they are safe in URLs, CLI arguments, metrics labels and
//! file names: 1 to 63 characters, lowercase ASCII letters, digits, `-`, `_` and `.`,
//! starting with a letter or a digit. Anything else is rejected with a message that
//! says which rule was broken; nothing is silently rewritten.

use std::fmt;

use crate::FieldError;

pub const MAX_NAME_LEN: usize = 63;

/// Checks the shared name rule.
fn check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.chars().count() > MAX_NAME_LEN {
        return Err("must be at most 63 characters");
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err("must start with a lowercase letter or a digit");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may only contain lowercase letters a-z, digits, '-', '_' and '.'");
    }
    Ok(())
}

/// A validated name of any kind; the typed names below wrap it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        check(s)
            .map(|()| Self(s.to_owned()))
            .map_err(|m| FieldError::new(field, m))
    }

    /// Lowercases and replaces characters outside the rule with `-`: used for names
    /// that come from outside systems (repository names, GitHub environments), never
    /// for names a user typed into rodeo.
    pub fn normalize(field: &str, s: &str) -> Result<Self, FieldError> {
        let mapped: String = s
            .trim()
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let trimmed = mapped.trim_start_matches(['-', '_', '.']);
        Self::parse(field, trimmed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! typed_name {
    ($(#[$doc:meta])* $ty:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $ty(String);

        impl $ty {
            /// Parses a name a user gave for the field `field`.
            pub fn parse_field(field: &str, s: &str) -> Result<Self, FieldError> {
                Name::parse(field, s).map(|n| Self(n.0))
            }

            /// Parses with the default field name.
            pub fn parse(s: &str) -> Result<Self, FieldError> {
                Self::parse_field($field, s)
            }

            /// See [`Name::normalize`].
            pub fn normalize(field: &str, s: &str) -> Result<Self, FieldError> {
                Name::normalize(field, s).map(|n| Self(n.0))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
            }
        }
    };
}

typed_name!(
    /// The name of a service (`api`, `billing-worker`).
    ServiceName,
    "service"
);
typed_name!(
    /// The name of an environment (`staging`, `production`, `prod-eu`).
    EnvironmentName,
    "environment"
);
typed_name!(
    /// The name of a team.
    TeamName,
    "team"
);
typed_name!(
    /// The name of an API token; it is the actor recorded in events.
    TokenName,
    "name"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_names() {
        for ok in [
            "api",
            "prod-eu",
            "billing_worker",
            "v2.api",
            "0day",
            &"a".repeat(63),
        ] {
            assert!(ServiceName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_with_a_reason_naming_the_field() {
        let cases = [
            ("", "must not be empty"),
            ("API", "must start with a lowercase letter or a digit"),
            ("-api", "must start with a lowercase letter or a digit"),
            ("api service", "may only contain"),
            ("api'; DROP TABLE services; --", "may only contain"),
            ("café", "may only contain"),
        ];
        for (input, reason) in cases {
            let e = EnvironmentName::parse(input).unwrap_err();
            assert_eq!(e.field, "environment");
            assert!(e.message.contains(reason), "{input}: {}", e.message);
        }
        let e = ServiceName::parse(&"a".repeat(64)).unwrap_err();
        assert_eq!(e.message, "must be at most 63 characters");
    }

    #[test]
    fn normalizes_outside_names() {
        assert_eq!(
            ServiceName::normalize("repository", "My Repo")
                .unwrap()
                .as_str(),
            "my-repo"
        );
        assert_eq!(
            EnvironmentName::normalize("environment", "Production")
                .unwrap()
                .as_str(),
            "production"
        );
        assert!(ServiceName::normalize("repository", "---").is_err());
    }

    #[test]
    fn deserializing_validates() {
        let r: Result<ServiceName, _> = serde_json::from_str("\"Bad Name\"");
        assert!(r.is_err());
    }
}
