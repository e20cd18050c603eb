//! What is deployed where, and what differs between two places.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{Changes, EnvironmentName, FieldError, FieldErrors, Scope, ServiceName, Sha};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::query::Q;
use crate::state::AppState;
use crate::status_cache::CacheError;

/// The service x environment matrix.
#[utoipa::path(get, path = "/api/v1/status", tag = "ledger",
    responses((status = 200, description = "StatusMatrix: environments, and per service one cell per environment \
with the current deployment and drift against the previous environment", body = serde_json::Value)))]
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let body = state
        .status_cache
        .get(state.store.as_ref())
        .await
        .map_err(|e| match e {
            CacheError::Store(e) => ApiError::from(e),
            e => ApiError::internal(e),
        })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompareParams {
    service: String,
    /// An environment: what it currently runs.
    from: Option<String>,
    to: Option<String>,
    /// A version of the service (its latest successful deployment anywhere).
    from_version: Option<String>,
    to_version: Option<String>,
    /// A commit sha.
    from_sha: Option<String>,
    to_sha: Option<String>,
    /// At most this many commits per side (default 1000).
    limit: Option<u32>,
}

/// One end of a comparison, resolved to a sha.
#[derive(Debug, Serialize)]
pub(crate) struct End {
    /// How it was named: `environment`, `version` or `sha`.
    pub(crate) by: &'static str,
    pub(crate) value: String,
    pub(crate) sha: Sha,
    pub(crate) version: Option<String>,
}

#[derive(Debug, Serialize)]
struct Comparison {
    service: ServiceName,
    from: End,
    to: End,
    /// Commits in `from` and not in `to`: what deploying `from` to `to` would ship.
    ahead: Changes,
    /// Commits in `to` and not in `from`.
    behind: Changes,
}

/// Commits in one place and not in the other.
#[utoipa::path(get, path = "/api/v1/compare", tag = "ledger", params(CompareParams),
    responses((status = 200, description = "{service, from, to, ahead: Changes, behind: Changes}", body = serde_json::Value),
              (status = 404, description = "An end resolves to nothing")))]
pub(crate) async fn compare(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<CompareParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let service = ServiceName::parse(&q.service).map_err(|e| ApiError::Invalid(e.into()))?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let from = resolve(&state, &service, "from", q.from, q.from_version, q.from_sha).await?;
    let to = resolve(&state, &service, "to", q.to, q.to_version, q.to_sha).await?;
    let (ahead, behind) = both_ways(&state, &from.sha, &to.sha, limit).await?;
    Ok(Json(Comparison {
        service,
        from,
        to,
        ahead,
        behind,
    })
    .into_response())
}

/// Commits in `from` and not in `to` (ahead), and the other way round (behind), at most
/// `limit` each, read concurrently.
pub(crate) async fn both_ways(
    state: &AppState,
    from: &Sha,
    to: &Sha,
    limit: u32,
) -> Result<(Changes, Changes), ApiError> {
    let (ahead, behind) = tokio::try_join!(
        state.store.changes_between(from, Some(to), None, limit),
        state.store.changes_between(to, Some(from), None, limit),
    )?;
    Ok((ahead, behind))
}

pub(crate) async fn resolve(
    state: &AppState,
    service: &ServiceName,
    side: &str,
    env: Option<String>,
    version: Option<String>,
    sha: Option<String>,
) -> Result<End, ApiError> {
    let given = [env.is_some(), version.is_some(), sha.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given != 1 {
        return Err(ApiError::Invalid(FieldErrors::from(FieldError::new(
            side,
            format!("give exactly one of {side}, {side}_version, {side}_sha"),
        ))));
    }
    if let Some(e) = env {
        let name =
            EnvironmentName::parse_field(side, &e).map_err(|e| ApiError::Invalid(e.into()))?;
        let d = state
            .store
            .current_deployment(service, &name)
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!("{service} has no successful deployment to {name}"))
            })?;
        return Ok(End {
            by: "environment",
            value: e,
            sha: d.commit_sha,
            version: Some(d.version),
        });
    }
    if let Some(v) = version {
        let d = state
            .store
            .deployment_of_version(service, &v)
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "{service} version '{v}' was never deployed successfully"
                ))
            })?;
        return Ok(End {
            by: "version",
            value: v,
            sha: d.commit_sha,
            version: Some(d.version),
        });
    }
    let s = sha.unwrap_or_default();
    let parsed =
        Sha::parse_field(&format!("{side}_sha"), &s).map_err(|e| ApiError::Invalid(e.into()))?;
    Ok(End {
        by: "sha",
        value: s,
        sha: parsed,
        version: None,
    })
}
