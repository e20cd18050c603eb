//! Deployments: record (in one call or start + finish), read with shipped changes, list.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{
    Command, DeploymentRef, DeploymentStatus, EnvironmentName, FieldError, FieldErrors,
    FinishDeployment, Outcome, Scope, ServiceName,
};
use rodeo_store::DeploymentFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use super::parse::{self, DeploymentRequest, FinishRequest};
use super::{apply, page_params, single, PageParams};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::query::Q;
use crate::http::{idempotency, metrics};
use crate::state::AppState;

/// Record a deployment (finished, or in progress).
#[utoipa::path(post, path = "/api/v1/deployments", tag = "deployments",
    request_body = DeploymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays return the original result")),
    responses((status = 201, description = "The recorded Deployment", body = serde_json::Value),
              (status = 400, description = "Malformed JSON"), (status = 422, description = "Invalid fields"),
              (status = 409, description = "Idempotency key reused, or external id already finished")))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: JsonBody<DeploymentRequest>,
) -> Result<Response, ApiError> {
    let mut ctx = caller.write_context(&state)?;
    let new = body.value.parse().map_err(ApiError::Invalid)?;
    ctx.idempotency = idempotency::key(&headers, &caller, &method, uri.path(), &body.bytes)?;
    let commits = new.commits.len() as u64;
    let outcomes = apply(&state, ctx, vec![Command::RecordDeployment(new)]).await?;
    metrics::ingested("deployments", caller.source.as_str(), 1);
    metrics::ingested("commits", caller.source.as_str(), commits);
    deployment_created(single(outcomes)?)
}

fn deployment_created(outcome: Outcome) -> Result<Response, ApiError> {
    match outcome {
        Outcome::Deployment(d) => {
            let location = format!("/api/v1/deployments/{}", d.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(d)).into_response())
        }
        other => Err(super::unexpected(other)),
    }
}

/// Finish an in-progress deployment.
#[utoipa::path(post, path = "/api/v1/deployments/{id}/finish", tag = "deployments",
    params(("id" = String, Path, description = "Deployment id")),
    request_body = FinishRequest,
    responses((status = 200, description = "The finished Deployment", body = serde_json::Value),
              (status = 404, description = "No such deployment"), (status = 409, description = "Already finished")))]
pub(crate) async fn finish(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: JsonBody<FinishRequest>,
) -> Result<Json<rodeo_domain::Deployment>, ApiError> {
    let mut ctx = caller.write_context(&state)?;
    let id = parse_id(&id)?;
    let now = rodeo_domain::now();
    let mut e = FieldErrors::new();
    let status = e.take(parse::status("status", &body.value.status).and_then(|s| {
        if s.is_finished() && s != DeploymentStatus::RolledBack {
            Ok(s)
        } else {
            Err(FieldError::new("status", "must be succeeded or failed"))
        }
    }));
    let finished_at = match &body.value.finished_at {
        Some(f) => e.take(
            rodeo_domain::parse_timestamp("finished_at", f)
                .and_then(|t| parse::not_future("finished_at", t, now)),
        ),
        None => Some(now),
    };
    e.finish().map_err(ApiError::Invalid)?;
    let (Some(status), Some(finished_at)) = (status, finished_at) else {
        return Err(ApiError::invalid("status", "invalid"));
    };
    ctx.idempotency = idempotency::key(&headers, &caller, &method, uri.path(), &body.bytes)?;
    let cmd = Command::FinishDeployment(FinishDeployment {
        id: DeploymentRef::Id(id),
        status,
        finished_at,
    });
    match single(apply(&state, ctx, vec![cmd]).await?)? {
        Outcome::Deployment(d) => Ok(Json(d)),
        other => Err(super::unexpected(other)),
    }
}

pub(crate) fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::NotFound(format!("deployment '{s}' not found")))
}

/// One deployment with the commits it shipped.
#[utoipa::path(get, path = "/api/v1/deployments/{id}", tag = "deployments",
    params(("id" = String, Path, description = "Deployment id")),
    responses((status = 200, description = "DeploymentDetail: the deployment and `changes`", body = serde_json::Value),
              (status = 404, description = "No such deployment")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let id = parse_id(&id)?;
    let d = state
        .store
        .get_deployment(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("deployment '{id}' not found")))?;
    Ok(Json(d).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    service: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Deployments, newest first.
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments", params(ListParams),
    responses((status = 200, description = "{items: [Deployment], next_cursor}", body = serde_json::Value)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<ListParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let mut e = FieldErrors::new();
    let PageParams { limit, before_id } = page_params(q.limit, q.cursor.as_deref(), &mut e);
    let filter = DeploymentFilter {
        service: q
            .service
            .as_deref()
            .and_then(|s| e.take(ServiceName::parse(s))),
        environment: q
            .environment
            .as_deref()
            .and_then(|s| e.take(EnvironmentName::parse(s))),
        status: q
            .status
            .as_deref()
            .and_then(|s| e.take(parse::status("status", s))),
        before_id,
        limit,
    };
    e.finish().map_err(ApiError::Invalid)?;
    Ok(Json(state.store.list_deployments(&filter).await?).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct CurrentParams {
    service: String,
    environment: String,
}

/// The latest successful deployment of a service to an environment.
#[utoipa::path(get, path = "/api/v1/deployments/current", tag = "deployments", params(CurrentParams),
    responses((status = 200, description = "Deployment", body = serde_json::Value),
              (status = 404, description = "Never deployed there")))]
pub(crate) async fn current(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<CurrentParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let mut e = FieldErrors::new();
    let service = e.take(ServiceName::parse(&q.service));
    let environment = e.take(EnvironmentName::parse(&q.environment));
    e.finish().map_err(ApiError::Invalid)?;
    let (Some(service), Some(environment)) = (service, environment) else {
        return Err(ApiError::invalid("service", "invalid"));
    };
    let d = state
        .store
        .current_deployment(&service, &environment)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no successful deployment of {service} to {environment}"
            ))
        })?;
    Ok(Json(d).into_response())
}
