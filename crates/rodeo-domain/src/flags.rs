//! Feature flags as the ledger sees them: each environment holds one flagd flag
//! definition, changed only through [`FlagChange`]s so that every change is a ledger
//! event with its actor, the flag before and the flag after.

use serde_json::Value;

use crate::{EnvironmentName, FieldError, Timestamp};

/// The longest flag key accepted.
pub const MAX_FLAG_KEY_LEN: usize = 256;

/// Checks a flag key: 1 to 256 characters, no whitespace, control characters or `/`
/// (keys appear in URLs).
pub fn parse_flag_key(field: &str, key: &str) -> Result<String, FieldError> {
    if key.is_empty() || key.chars().count() > MAX_FLAG_KEY_LEN {
        return Err(FieldError::new(
            field,
            format!("a flag key is 1 to {MAX_FLAG_KEY_LEN} characters"),
        ));
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(FieldError::new(
            field,
            "a flag key has no whitespace, control characters or '/'",
        ));
    }
    Ok(key.to_owned())
}

/// One change to an environment's flags. The store applies it to the current
/// definition inside its transaction, validates the result, and refuses it whole.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum FlagChange {
    /// Replaces the whole definition (`rodeo flags apply`): flags not in `document` are
    /// deleted. Applying the current definition again changes nothing.
    Apply {
        document: Value,
    },
    /// Creates or replaces one flag (its flagd definition).
    Put {
        key: String,
        definition: Value,
    },
    Delete {
        key: String,
    },
    /// Sets `state` to `ENABLED` or `DISABLED`.
    Toggle {
        key: String,
        enabled: bool,
    },
    /// Serves `variant` to `percent` % of targeting keys and `otherwise` to the rest,
    /// with flagd's `fractional` bucketing (sticky per flag and targeting key). For a
    /// boolean flag the variants default to its `true` and `false` ones.
    Rollout {
        key: String,
        percent: u8,
        variant: Option<String>,
        otherwise: Option<String>,
    },
    /// The kill switch: everyone gets the `off` variant (for a boolean flag, its `false`
    /// one) right away; targeting is removed (the event keeps it for restoring).
    Kill {
        key: String,
        variant: Option<String>,
    },
}

impl FlagChange {
    /// The word recorded in the event payload.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Apply { .. } => "apply",
            Self::Put { .. } => "put",
            Self::Delete { .. } => "delete",
            Self::Toggle { .. } => "toggle",
            Self::Rollout { .. } => "rollout",
            Self::Kill { .. } => "kill",
        }
    }
}

/// What happened to one flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagAction {
    Created,
    Updated,
    Deleted,
}

/// One flag's change, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlagDiff {
    pub key: String,
    pub action: FlagAction,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The outcome of a [`FlagChange`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlagsWritten {
    pub environment: EnvironmentName,
    /// Increases by one with every change that changed something.
    pub version: i64,
    /// Empty when the change was a no-op (the version is then unchanged).
    pub changes: Vec<FlagDiff>,
    /// Whether `$evaluators` or the set's `metadata` changed.
    pub set_changed: bool,
}

/// When a flag was created and last changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlagTimes {
    pub key: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An environment's stored flag definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlagSetRecord {
    pub environment: EnvironmentName,
    /// The flagd document: `flags`, and `$evaluators` / `metadata` when present.
    pub document: Value,
    pub version: i64,
    pub updated_at: Timestamp,
    /// In key order.
    pub flags: Vec<FlagTimes>,
}

/// Evaluations of one flag variant in one environment (`variant: None`: the caller's
/// default was used — disabled flag, no default variant, or an error).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EvaluationCount {
    pub environment: EnvironmentName,
    pub key: String,
    pub variant: Option<String>,
    pub count: u64,
    pub last_evaluated_at: Timestamp,
}
