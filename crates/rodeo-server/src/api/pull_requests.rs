//! Pull requests sent on their own: from a forge rodeo has no webhook for (Bitbucket,
//! Gitea, Azure DevOps) or a CI step. The same record GitHub's and GitLab's webhooks
//! write; merged ones feed lead time's per-stage breakdown.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{
    parse_timestamp, Command, FieldError, FieldErrors, Outcome, PullRequest, PullRequestState, Sha,
    MAX_AUTHOR_LEN,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::parse::{self, not_future};
use super::{apply, single, unexpected};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::idempotency;
use crate::state::AppState;
use crate::webhooks::{MAX_REPOSITORY_LEN, MAX_TITLE_LEN};

/// `POST /api/v1/pull-requests`: creates or replaces the pull request
/// `repository`#`number`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullRequestRequest {
    /// `owner/name` (GitLab: the project path).
    pub(crate) repository: String,
    /// Positive.
    pub(crate) number: i64,
    pub(crate) title: String,
    pub(crate) author: String,
    /// `open`, `merged` or `closed`.
    pub(crate) state: String,
    /// RFC 3339: when it was opened.
    pub(crate) created_at: String,
    /// RFC 3339; required when `merged`, not allowed otherwise.
    pub(crate) merged_at: Option<String>,
    /// The commit the merge put on the target branch (merge, squash or rebase); only
    /// when `merged`.
    pub(crate) merge_commit_sha: Option<String>,
    /// The source branch's head.
    pub(crate) head_sha: Option<String>,
    pub(crate) url: Option<String>,
}

impl PullRequestRequest {
    fn parse(&self) -> Result<PullRequest, FieldErrors> {
        let now = rodeo_domain::now();
        let mut e = FieldErrors::new();
        let repository = e.take(parse::text(
            "repository",
            &self.repository,
            MAX_REPOSITORY_LEN,
            false,
        ));
        if self.repository.trim().is_empty() {
            e.push(FieldError::new("repository", "must not be empty"));
        }
        if self.number <= 0 {
            e.push(FieldError::new("number", "must be positive"));
        }
        let title = e.take(parse::text("title", &self.title, MAX_TITLE_LEN, false));
        let author = e.take(parse::text("author", &self.author, MAX_AUTHOR_LEN, false));
        if self.author.trim().is_empty() {
            e.push(FieldError::new("author", "must not be empty"));
        }
        let state = PullRequestState::parse(&self.state);
        if state.is_none() {
            e.push(FieldError::new("state", "must be open, merged or closed"));
        }
        let time = |e: &mut FieldErrors, field: &str, s: &str| {
            e.take(parse_timestamp(field, s).and_then(|t| not_future(field, t, now)))
        };
        let created_at = time(&mut e, "created_at", &self.created_at);
        let merged = state == Some(PullRequestState::Merged);
        let merged_at = match (&self.merged_at, merged) {
            (Some(s), true) => time(&mut e, "merged_at", s),
            (None, true) => {
                e.push(FieldError::new("merged_at", "is required when merged"));
                None
            }
            (Some(_), false) => {
                e.push(FieldError::new(
                    "merged_at",
                    "is only for a merged pull request",
                ));
                None
            }
            (None, false) => None,
        };
        if let (Some(c), Some(m)) = (created_at, merged_at) {
            if m < c {
                e.push(FieldError::new(
                    "merged_at",
                    "must not be before created_at",
                ));
            }
        }
        let sha = |e: &mut FieldErrors, field: &str, s: &Option<String>| {
            s.as_deref()
                .and_then(|s| e.take(Sha::parse_field(field, s)))
        };
        let merge_commit_sha = if self.merge_commit_sha.is_some() && !merged {
            e.push(FieldError::new(
                "merge_commit_sha",
                "is only for a merged pull request",
            ));
            None
        } else {
            sha(&mut e, "merge_commit_sha", &self.merge_commit_sha)
        };
        let head_sha = sha(&mut e, "head_sha", &self.head_sha);
        let url = self
            .url
            .as_deref()
            .and_then(|u| e.take(parse::url("url", u)));
        e.finish()?;
        match (repository, title, author, state, created_at) {
            (Some(repository), Some(title), Some(author), Some(state), Some(created_at)) => {
                Ok(PullRequest {
                    repository,
                    number: self.number,
                    title,
                    author,
                    state,
                    created_at,
                    merged_at,
                    merge_commit_sha,
                    head_sha,
                    url,
                })
            }
            // Each missing value pushed an error above.
            _ => Err(FieldError::new("body", "invalid pull request").into()),
        }
    }
}

/// Record a pull request (or merge request), replacing what rodeo knew of it.
#[utoipa::path(post, path = "/api/v1/pull-requests", tag = "ledger", request_body = PullRequestRequest,
    responses((status = 200, description = "The pull request as stored", body = serde_json::Value),
              (status = 422, description = "A field is invalid")))]
pub(crate) async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: JsonBody<PullRequestRequest>,
) -> Result<Response, ApiError> {
    let mut ctx = caller.write_context(&state)?;
    let pr = body.value.parse().map_err(ApiError::Invalid)?;
    ctx.idempotency = idempotency::key(&headers, &caller, &method, uri.path(), &body.bytes)?;
    match single(apply(&state, ctx, vec![Command::UpsertPullRequest(pr)]).await?)? {
        Outcome::PullRequest(pr) => Ok(Json(pr).into_response()),
        other => Err(unexpected(other)),
    }
}
