//! Commits sent on their own (a CI step after a push, when no webhook is configured).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{Command, FieldErrors, Outcome, Scope, Sha};
use serde::Deserialize;
use utoipa::ToSchema;

use super::parse::{self, CommitRequest};
use super::{apply, single, unexpected};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::{idempotency, metrics};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommitsRequest {
    commits: Vec<CommitRequest>,
}

/// Record commits (with parents) so later deployments know what they shipped.
#[utoipa::path(post, path = "/api/v1/commits", tag = "ledger", request_body = CommitsRequest,
    responses((status = 200, description = "{recorded, already_known}", body = serde_json::Value)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: JsonBody<CommitsRequest>,
) -> Result<Response, ApiError> {
    let mut ctx = caller.write_context(&state)?;
    let mut e = FieldErrors::new();
    let commits = parse::commits("commits", &body.value.commits, rodeo_domain::now(), &mut e);
    e.finish().map_err(ApiError::Invalid)?;
    ctx.idempotency = idempotency::key(&headers, &caller, &method, uri.path(), &body.bytes)?;
    match single(apply(&state, ctx, vec![Command::RecordCommits { commits }]).await?)? {
        Outcome::Commits {
            recorded,
            already_known,
        } => {
            metrics::ingested("commits", caller.source.as_str(), u64::from(recorded));
            Ok(
                Json(serde_json::json!({ "recorded": recorded, "already_known": already_known }))
                    .into_response(),
            )
        }
        other => Err(unexpected(other)),
    }
}

/// One commit.
#[utoipa::path(get, path = "/api/v1/commits/{sha}", tag = "ledger", params(("sha" = String, Path)),
    responses((status = 200, description = "Commit", body = serde_json::Value), (status = 404, description = "Unknown")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let s = Sha::parse_field("sha", &sha).map_err(|e| ApiError::Invalid(e.into()))?;
    let c = state
        .store
        .get_commit(&s)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("commit '{sha}' not found")))?;
    Ok(Json(c).into_response())
}
