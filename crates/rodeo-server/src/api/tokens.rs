//! API tokens: created with a scope and shown once, listed without secrets, revoked.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{
    Command, EnvironmentName, FieldError, FieldErrors, Outcome, Scope, Token, TokenName,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{apply, single, unexpected};
use crate::error::ApiError;
use crate::http::auth::{new_secret, Caller};
use crate::http::body::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    /// Recorded as the actor of everything done with the token.
    name: String,
    /// `read`, `write` or `admin` for API tokens; `sdk_client` or `sdk_server` for an
    /// SDK key of `environment`.
    scope: String,
    /// The environment of an SDK key.
    #[serde(default)]
    environment: Option<String>,
}

/// The only response that ever contains the secret.
#[derive(Serialize)]
pub(crate) struct CreatedToken {
    pub(crate) token: Token,
    pub(crate) secret: String,
}

/// All tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "{items: [Token]}", body = serde_json::Value), (status = 403, description = "Needs admin")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let items = state.store.list_tokens().await?;
    Ok(Json(serde_json::json!({ "items": items, "next_cursor": null })).into_response())
}

/// Create a token; the response holds its secret, shown this once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenRequest,
    responses((status = 201, description = "{token: Token, secret}", body = serde_json::Value),
              (status = 403, description = "Needs admin"), (status = 409, description = "An active token has this name")))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let mut e = FieldErrors::new();
    let name = e.take(TokenName::parse(&body.value.name));
    let scope = e.take(Scope::parse(&body.value.scope).ok_or_else(|| {
        FieldError::new(
            "scope",
            "must be one of read, write, admin, sdk_client, sdk_server",
        )
    }));
    let environment = match &body.value.environment {
        None => None,
        Some(env) => e.take(EnvironmentName::parse_field("environment", env)),
    };
    if let Some(scope) = scope {
        if scope.is_sdk() && body.value.environment.is_none() {
            e.push(FieldError::new(
                "environment",
                "an SDK key belongs to one environment",
            ));
        } else if !scope.is_sdk() && body.value.environment.is_some() {
            e.push(FieldError::new(
                "environment",
                "only SDK keys have an environment",
            ));
        }
    }
    e.finish().map_err(ApiError::Invalid)?;
    let (Some(name), Some(scope)) = (name, scope) else {
        return Err(ApiError::invalid("name", "invalid"));
    };
    let s = new_secret();
    let ctx = caller.write_context(&state)?;
    let cmd = Command::CreateToken {
        name,
        scope,
        hash: s.hash,
        prefix: s.prefix,
        environment,
    };
    match single(apply(&state, ctx, vec![cmd]).await?)? {
        Outcome::Token(token) => Ok((
            StatusCode::CREATED,
            Json(CreatedToken {
                token,
                secret: s.secret,
            }),
        )
            .into_response()),
        other => Err(unexpected(other)),
    }
}

/// Revoke a token; it stops working at once on this replica.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 200, description = "The revoked Token", body = serde_json::Value), (status = 404, description = "Not found")))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let ctx = caller.write_context(&state)?;
    let out = single(apply(&state, ctx, vec![Command::RevokeToken { id: id.clone() }]).await?)?;
    state.tokens.evict_id(&id);
    match out {
        Outcome::Token(t) => Ok(Json(t).into_response()),
        other => Err(unexpected(other)),
    }
}
