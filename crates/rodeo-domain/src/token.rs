//! API token scopes and the stored (hashed) token record.

use crate::{EnvironmentName, Timestamp, TokenName};

/// What a token may do. API scopes are ordered: `admin` can do what `write` can,
/// `write` what `read` can. SDK keys stand apart: they reach only flag evaluation (and,
/// server-side, the flag definition) of their environment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Admin,
    /// A client-side SDK key of one environment: may only evaluate flags (OFREP).
    SdkClient,
    /// A server-side SDK key of one environment: may also fetch the flag definition.
    SdkServer,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
            Self::SdkClient => "sdk_client",
            Self::SdkServer => "sdk_server",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            "sdk_client" => Some(Self::SdkClient),
            "sdk_server" => Some(Self::SdkServer),
            _ => None,
        }
    }

    /// True when a token with this scope may do what `needed` requires.
    pub fn allows(self, needed: Scope) -> bool {
        match (self, needed) {
            (Self::SdkServer, Self::SdkClient) => true,
            (a, b) if a.is_sdk() || b.is_sdk() => a == b,
            (a, b) => a >= b,
        }
    }

    /// SDK keys belong to one environment and reach only the flag evaluation endpoints.
    pub fn is_sdk(self) -> bool {
        matches!(self, Self::SdkClient | Self::SdkServer)
    }
}

/// A token as stored: never the secret, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Token {
    pub id: String,
    pub name: TokenName,
    pub scope: Scope,
    /// The first characters of the secret, so a user can tell tokens apart.
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The environment of an SDK key (`None` for API tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentName>,
    #[serde(skip)]
    pub hash: String,
}
