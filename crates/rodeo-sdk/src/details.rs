//! The outcome of one evaluation, owned so that it outlives the definition it came from.
//! The error codes are OpenFeature's, the engine's plus `PROVIDER_NOT_READY` for a
//! client that has no definition yet.

use std::fmt;

use rodeo_flags::{Reason, Resolution};
use serde_json::{Map, Value};

/// OpenFeature's evaluation error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No definition has arrived from the server yet.
    ProviderNotReady,
    FlagNotFound,
    /// The flag's targeting rule could not be compiled.
    ParseError,
    /// The flag's value is not of the requested type.
    TypeMismatch,
    TargetingKeyMissing,
    /// The context is not usable (e.g. `targetingKey` is not a string).
    InvalidContext,
    /// Anything else, e.g. a rule that returned a name that is not a variant.
    General,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProviderNotReady => "PROVIDER_NOT_READY",
            Self::FlagNotFound => "FLAG_NOT_FOUND",
            Self::ParseError => "PARSE_ERROR",
            Self::TypeMismatch => "TYPE_MISMATCH",
            Self::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            Self::InvalidContext => "INVALID_CONTEXT",
            Self::General => "GENERAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<rodeo_flags::ErrorCode> for ErrorCode {
    fn from(code: rodeo_flags::ErrorCode) -> Self {
        use rodeo_flags::ErrorCode as E;
        match code {
            E::FlagNotFound => Self::FlagNotFound,
            E::ParseError => Self::ParseError,
            E::TypeMismatch => Self::TypeMismatch,
            E::TargetingKeyMissing => Self::TargetingKeyMissing,
            E::InvalidContext => Self::InvalidContext,
            E::General => Self::General,
        }
    }
}

/// Why an evaluation fell back to the caller's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub code: ErrorCode,
    /// A human-readable explanation.
    pub details: String,
}

impl From<rodeo_flags::EvalError> for EvalError {
    fn from(e: rodeo_flags::EvalError) -> Self {
        Self {
            code: e.code.into(),
            details: e.details,
        }
    }
}

/// The outcome of evaluating one flag.
///
/// `value` is `None` when the caller's code default applies: the flag is disabled
/// (reason `DISABLED`), has no default variant and no rule matched (`DEFAULT`), or the
/// evaluation failed (`ERROR`, with `error` saying why).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Details {
    pub key: String,
    pub value: Option<Value>,
    pub variant: Option<String>,
    pub reason: Reason,
    pub error: Option<EvalError>,
    /// The flag's metadata (the flag set's, overlaid with the flag's own).
    pub metadata: Map<String, Value>,
    /// The version of the definition that answered; `None` before the first arrived.
    pub version: Option<i64>,
}

impl Details {
    pub(crate) fn from_resolution(r: Resolution<'_>, version: i64) -> Self {
        Self {
            key: r.key.to_owned(),
            value: r.value.cloned(),
            variant: r.variant.map(str::to_owned),
            reason: r.reason,
            error: r.error.map(Into::into),
            metadata: r.metadata.clone(),
            version: Some(version),
        }
    }

    pub(crate) fn failed(key: &str, error: EvalError, version: Option<i64>) -> Self {
        Self {
            key: key.to_owned(),
            value: None,
            variant: None,
            reason: Reason::Error,
            error: Some(error),
            metadata: Map::new(),
            version,
        }
    }
}
