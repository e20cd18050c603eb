//! [`RodeoFlags`] as an OpenFeature provider (`open-feature` 0.3).
//!
//! The Rust SDK's resolvers take no default value: when rodeo's answer is "use the
//! caller's default" the provider returns an `Err`, and the application's
//! `unwrap_or(default)` supplies it. Errors keep their OpenFeature code; a disabled flag
//! is `General("DISABLED")` and a flag with no default variant that no rule matched is
//! `General("DEFAULT")`, since the client turns every `Err` into an error and the
//! reason would otherwise be lost. Contexts and values are converted as `convert`
//! describes.

use open_feature::provider::{
    FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails,
};
use open_feature::{
    async_trait, EvaluationContext, EvaluationError, EvaluationErrorCode, EvaluationReason,
    EvaluationResult, StructValue,
};
use rodeo_flags::{Reason, Requested, Resolution};
use serde_json::Value;

use crate::client::{Connection, RodeoFlags};
use crate::convert::{context_to_json, flag_metadata, struct_from_json};
use crate::details::{ErrorCode, EvalError};

#[async_trait]
impl FeatureProvider for RodeoFlags {
    fn metadata(&self) -> &ProviderMetadata {
        self.provider_metadata()
    }

    /// `Ready` while a definition is held and the stream is live; `STALE` while the
    /// last definition serves without the stream; `Error` when the server refused the
    /// key before any definition arrived; `NotReady` before the first definition.
    fn status(&self) -> ProviderStatus {
        match (self.version().is_some(), self.connection()) {
            (true, Connection::Live) => ProviderStatus::Ready,
            (true, _) => ProviderStatus::STALE,
            (false, Connection::Refused) => ProviderStatus::Error,
            (false, _) => ProviderStatus::NotReady,
        }
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.resolve_open(
            flag_key,
            evaluation_context,
            Requested::Boolean,
            Value::as_bool,
        )
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.resolve_open(
            flag_key,
            evaluation_context,
            Requested::Integer,
            Value::as_i64,
        )
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.resolve_open(
            flag_key,
            evaluation_context,
            Requested::Float,
            Value::as_f64,
        )
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        self.resolve_open(flag_key, evaluation_context, Requested::String, |v| {
            v.as_str().map(str::to_owned)
        })
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        self.resolve_open(flag_key, evaluation_context, Requested::Object, |v| {
            v.as_object().map(struct_from_json)
        })
    }
}

impl RodeoFlags {
    fn resolve_open<T>(
        &self,
        key: &str,
        context: &EvaluationContext,
        requested: Requested,
        extract: impl FnOnce(&Value) -> Option<T>,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        let context = context_to_json(context);
        self.resolve(key, &context, requested, |resolved, _| {
            resolution_details(resolved.map_err(open_error)?, extract)
        })
    }
}

fn resolution_details<T>(
    r: Resolution<'_>,
    extract: impl FnOnce(&Value) -> Option<T>,
) -> EvaluationResult<ResolutionDetails<T>> {
    if let Some(e) = r.error {
        return Err(open_error(e.into()));
    }
    let Some(value) = r.value else {
        let message = match r.reason {
            Reason::Disabled => format!("flag {:?} is disabled: use the code default", r.key),
            _ => format!(
                "flag {:?} has no default variant and no rule matched: use the code default",
                r.key
            ),
        };
        return Err(EvaluationError {
            code: EvaluationErrorCode::General(r.reason.as_str().to_owned()),
            message: Some(message),
        });
    };
    let value = extract(value).ok_or_else(|| EvaluationError {
        code: EvaluationErrorCode::TypeMismatch,
        message: Some(format!("flag {:?} does not fit the requested type", r.key)),
    })?;
    Ok(ResolutionDetails {
        value,
        variant: r.variant.map(str::to_owned),
        reason: Some(open_reason(r.reason)),
        flag_metadata: Some(flag_metadata(r.metadata)),
    })
}

fn open_reason(reason: Reason) -> EvaluationReason {
    match reason {
        Reason::Static => EvaluationReason::Static,
        Reason::Default => EvaluationReason::Default,
        Reason::TargetingMatch => EvaluationReason::TargetingMatch,
        Reason::Disabled => EvaluationReason::Disabled,
        Reason::Error => EvaluationReason::Error,
    }
}

fn open_error(e: EvalError) -> EvaluationError {
    let code = match e.code {
        ErrorCode::ProviderNotReady => EvaluationErrorCode::ProviderNotReady,
        ErrorCode::FlagNotFound => EvaluationErrorCode::FlagNotFound,
        ErrorCode::ParseError => EvaluationErrorCode::ParseError,
        ErrorCode::TypeMismatch => EvaluationErrorCode::TypeMismatch,
        ErrorCode::TargetingKeyMissing => EvaluationErrorCode::TargetingKeyMissing,
        ErrorCode::InvalidContext => EvaluationErrorCode::InvalidContext,
        ErrorCode::General => EvaluationErrorCode::General(ErrorCode::General.as_str().to_owned()),
    };
    EvaluationError {
        code,
        message: Some(e.details),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;

    #[test]
    fn outcomes_map_to_open_feature() {
        let metadata = Map::new();
        let base = Resolution {
            key: "f",
            value: None,
            variant: None,
            reason: Reason::Disabled,
            error: None,
            metadata: &metadata,
        };
        let disabled = resolution_details(base.clone(), Value::as_bool).unwrap_err();
        assert_eq!(
            disabled.code,
            EvaluationErrorCode::General("DISABLED".into())
        );
        let no_default = resolution_details(
            Resolution {
                reason: Reason::Default,
                ..base.clone()
            },
            Value::as_bool,
        )
        .unwrap_err();
        assert_eq!(
            no_default.code,
            EvaluationErrorCode::General("DEFAULT".into())
        );
        let broken = resolution_details(
            Resolution {
                reason: Reason::Error,
                error: Some(rodeo_flags::EvalError {
                    code: rodeo_flags::ErrorCode::ParseError,
                    details: "bad rule".into(),
                }),
                ..base.clone()
            },
            Value::as_bool,
        )
        .unwrap_err();
        assert_eq!(broken.code, EvaluationErrorCode::ParseError);
        assert_eq!(broken.message.as_deref(), Some("bad rule"));
        let on = json!(true);
        let ok = resolution_details(
            Resolution {
                value: Some(&on),
                variant: Some("on"),
                reason: Reason::TargetingMatch,
                ..base
            },
            Value::as_bool,
        )
        .unwrap();
        assert!(ok.value);
        assert_eq!(ok.variant.as_deref(), Some("on"));
        assert_eq!(ok.reason, Some(EvaluationReason::TargetingMatch));
        assert_eq!(
            open_error(EvalError {
                code: ErrorCode::ProviderNotReady,
                details: String::new()
            })
            .code,
            EvaluationErrorCode::ProviderNotReady
        );
    }
}
