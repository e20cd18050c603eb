//! Evaluating a flag for a context, with the outcomes flagd's evaluator suite specifies:
//! a disabled flag resolves to the caller's default with reason `DISABLED`; no default
//! variant (and no targeting match) defers to the caller's default with `DEFAULT`; a
//! rule that returns `null` falls back to the default variant; a rule that returns a name
//! that is not a variant is a `GENERAL` error; a rule that cannot be compiled is a
//! `PARSE_ERROR`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::definition::{Flag, FlagSet, State, Targeting, ValueKind};
use crate::logic::Env;
use crate::value::to_text;

/// Why a flag resolved as it did (OpenFeature's resolution reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    Static,
    Default,
    TargetingMatch,
    Disabled,
    Error,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "STATIC",
            Self::Default => "DEFAULT",
            Self::TargetingMatch => "TARGETING_MATCH",
            Self::Disabled => "DISABLED",
            Self::Error => "ERROR",
        }
    }
}

/// OpenFeature's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    FlagNotFound,
    ParseError,
    TypeMismatch,
    TargetingKeyMissing,
    InvalidContext,
    General,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FlagNotFound => "FLAG_NOT_FOUND",
            Self::ParseError => "PARSE_ERROR",
            Self::TypeMismatch => "TYPE_MISMATCH",
            Self::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            Self::InvalidContext => "INVALID_CONTEXT",
            Self::General => "GENERAL",
        }
    }
}

/// An evaluation error with a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub code: ErrorCode,
    pub details: String,
}

/// The outcome of evaluating one flag. `value` and `variant` are `None` when the caller's
/// code default applies (disabled flag, no default variant, error).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution<'s> {
    pub key: &'s str,
    pub value: Option<&'s Value>,
    pub variant: Option<&'s str>,
    pub reason: Reason,
    pub error: Option<EvalError>,
    pub metadata: &'s Map<String, Value>,
}

/// The type a caller asks for (OpenFeature's typed resolvers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    Boolean,
    String,
    Integer,
    Float,
    Object,
    /// Any type (OFREP, bulk evaluation).
    Any,
}

impl Resolution<'_> {
    /// Checks the resolved value against the type the caller asked for: a mismatch
    /// becomes `TYPE_MISMATCH` with the code default, as the OpenFeature SDKs do.
    #[must_use]
    pub fn expecting(mut self, requested: Requested) -> Self {
        let fits = match (requested, self.value) {
            (_, None) | (Requested::Any, _) => true,
            (Requested::Boolean, Some(v)) => v.is_boolean(),
            (Requested::String, Some(v)) => v.is_string(),
            (Requested::Integer, Some(v)) => v.is_i64() || v.is_u64(),
            (Requested::Float, Some(v)) => v.is_number(),
            (Requested::Object, Some(v)) => v.is_object(),
        };
        if !fits {
            self.value = None;
            self.variant = None;
            self.reason = Reason::Error;
            self.error = Some(EvalError {
                code: ErrorCode::TypeMismatch,
                details: format!("flag {:?} is not of the requested type", self.key),
            });
        }
        self
    }
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl FlagSet {
    /// Evaluates `key` for `context` at `timestamp` (Unix seconds, `$flagd.timestamp`).
    pub fn evaluate<'s>(
        &'s self,
        key: &'s str,
        context: &Map<String, Value>,
        timestamp: i64,
    ) -> Resolution<'s> {
        match self.flags.get(key) {
            Some(flag) => flag.evaluate(context, timestamp),
            None => Resolution {
                key,
                value: None,
                variant: None,
                reason: Reason::Error,
                error: Some(EvalError {
                    code: ErrorCode::FlagNotFound,
                    details: format!("flag {key:?} was not found"),
                }),
                metadata: &EMPTY,
            },
        }
    }

    /// Evaluates every flag, in key order.
    pub fn evaluate_all(
        &self,
        context: &Map<String, Value>,
        timestamp: i64,
    ) -> Vec<Resolution<'_>> {
        self.flags
            .values()
            .map(|f| f.evaluate(context, timestamp))
            .collect()
    }
}

/// Checks what OFREP and the SDKs require of a context before any flag is evaluated:
/// `targetingKey`, when present, is a string.
pub fn check_context(context: &Map<String, Value>) -> Result<(), EvalError> {
    match context.get("targetingKey") {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err(EvalError {
            code: ErrorCode::InvalidContext,
            details: "targetingKey must be a string".into(),
        }),
    }
}

impl Flag {
    pub fn evaluate<'s>(&'s self, context: &Map<String, Value>, timestamp: i64) -> Resolution<'s> {
        // The variant comes with its value so that a rule's result is looked up only once.
        let resolved = |variant: Option<&'s str>, value: Option<&'s Value>, reason| Resolution {
            key: &self.key,
            value,
            variant,
            reason,
            error: None,
            metadata: &self.metadata,
        };
        let failed = |code, details: String| Resolution {
            key: &self.key,
            value: None,
            variant: None,
            reason: Reason::Error,
            error: Some(EvalError { code, details }),
            metadata: &self.metadata,
        };
        if self.state == State::Disabled {
            return resolved(None, None, Reason::Disabled);
        }
        let default_variant = self.default_variant.as_deref();
        let default_value = || default_variant.and_then(|name| self.variants.get(name));
        let default = || resolved(default_variant, default_value(), Reason::Default);
        match &self.targeting {
            Targeting::None => {
                let reason = if self.default_variant.is_some() {
                    Reason::Static
                } else {
                    Reason::Default
                };
                resolved(default_variant, default_value(), reason)
            }
            Targeting::Broken(e) => failed(ErrorCode::ParseError, e.to_string()),
            Targeting::Rule(rule) => {
                let env = Env {
                    context,
                    flag_key: &self.key,
                    timestamp,
                };
                let result = rule.evaluate(&env);
                let name: Cow<'_, str> = match &*result {
                    Value::Null => return default(),
                    other => to_text(other),
                };
                match self.variants.get_key_value(name.as_ref()) {
                    Some((name, value)) => {
                        resolved(Some(name), Some(value), Reason::TargetingMatch)
                    }
                    None => failed(
                        ErrorCode::General,
                        format!(
                            "targeting returned {name:?}, which is not a variant of {:?}",
                            self.key
                        ),
                    ),
                }
            }
        }
    }

    /// Whether the flag's variants hold values of `kind`.
    pub fn is(&self, kind: ValueKind) -> bool {
        self.kind == kind
    }
}
