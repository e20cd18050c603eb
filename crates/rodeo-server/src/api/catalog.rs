//! Teams, services and environments: create, read, update, delete.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{Command, EnvironmentName, FieldErrors, Outcome, Scope, ServiceName, TeamName};
use serde::Deserialize;
use utoipa::ToSchema;

use super::parse::text;
use super::{apply, single, unexpected};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::state::AppState;

/// Items of a non-paginated list: catalogs are small (hundreds of entries).
#[derive(serde::Serialize)]
struct Items<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

fn items<T: serde::Serialize>(items: Vec<T>) -> Response {
    Json(Items {
        items,
        next_cursor: None,
    })
    .into_response()
}

fn created(location: String, outcome: Outcome) -> Result<Response, ApiError> {
    let body = match outcome {
        Outcome::Team(t) => serde_json::to_value(t),
        Outcome::Service(s) => serde_json::to_value(s),
        Outcome::Environment(e) => serde_json::to_value(e),
        other => return Err(unexpected(other)),
    }
    .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

fn updated(outcome: Outcome) -> Result<Response, ApiError> {
    Ok(match outcome {
        Outcome::Team(t) => Json(t).into_response(),
        Outcome::Service(s) => Json(s).into_response(),
        Outcome::Environment(e) => Json(e).into_response(),
        Outcome::Deleted => StatusCode::NO_CONTENT.into_response(),
        other => return Err(unexpected(other)),
    })
}

async fn write(state: &AppState, caller: &Caller, cmd: Command) -> Result<Outcome, ApiError> {
    let ctx = caller.write_context(state)?;
    single(apply(state, ctx, vec![cmd]).await?)
}

fn not_found(what: &str, name: &str) -> ApiError {
    ApiError::NotFound(format!("{what} '{name}' not found"))
}

fn display(e: &mut FieldErrors, s: Option<&str>) -> Option<String> {
    s.and_then(|s| e.take(text("display_name", s, 200, false)))
}

// ---- services

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceRequest {
    name: String,
    team: Option<String>,
    /// `owner/name` of the repository the service is built from.
    repository: Option<String>,
}

/// `null` clears a field, an absent field stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServicePatch {
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    team: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    repository: Option<Option<String>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

fn repository(e: &mut FieldErrors, s: Option<&str>) -> Option<String> {
    s.and_then(|r| e.take(text("repository", r, 200, false)))
}

/// All services.
#[utoipa::path(get, path = "/api/v1/services", tag = "catalog",
    responses((status = 200, description = "{items: [Service]}", body = serde_json::Value)))]
pub(crate) async fn list_services(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    Ok(items(state.store.list_services().await?))
}

/// Register a service.
#[utoipa::path(post, path = "/api/v1/services", tag = "catalog", request_body = ServiceRequest,
    responses((status = 201, description = "Service", body = serde_json::Value), (status = 409, description = "Exists")))]
pub(crate) async fn create_service(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<ServiceRequest>,
) -> Result<Response, ApiError> {
    let r = body.value;
    let mut e = FieldErrors::new();
    let name = e.take(ServiceName::parse_field("name", &r.name));
    let team = r.team.as_deref().and_then(|t| e.take(TeamName::parse(t)));
    let repository = repository(&mut e, r.repository.as_deref());
    e.finish().map_err(ApiError::Invalid)?;
    let name = name.ok_or_else(|| ApiError::invalid("name", "invalid"))?;
    let location = format!("/api/v1/services/{name}");
    let o = write(
        &state,
        &caller,
        Command::CreateService {
            name,
            team,
            repository,
        },
    )
    .await?;
    created(location, o)
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "catalog", params(("name" = String, Path)),
    responses((status = 200, description = "Service", body = serde_json::Value), (status = 404, description = "Not found")))]
pub(crate) async fn get_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let n = ServiceName::parse(&name).map_err(|_| not_found("service", &name))?;
    let s = state
        .store
        .get_service(&n)
        .await?
        .ok_or_else(|| not_found("service", &name))?;
    Ok(Json(s).into_response())
}

/// Change a service's team or repository.
#[utoipa::path(patch, path = "/api/v1/services/{name}", tag = "catalog", params(("name" = String, Path)),
    request_body = ServicePatch,
    responses((status = 200, description = "Service", body = serde_json::Value), (status = 404, description = "Not found")))]
pub(crate) async fn update_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<ServicePatch>,
) -> Result<Response, ApiError> {
    let n = ServiceName::parse(&name).map_err(|_| not_found("service", &name))?;
    let mut e = FieldErrors::new();
    let team = body
        .value
        .team
        .map(|t| t.and_then(|t| e.take(TeamName::parse(&t))));
    let repository = body
        .value
        .repository
        .map(|r| repository(&mut e, r.as_deref()));
    e.finish().map_err(ApiError::Invalid)?;
    updated(
        write(
            &state,
            &caller,
            Command::UpdateService {
                name: n,
                team,
                repository,
            },
        )
        .await?,
    )
}

/// Delete a service that was never deployed.
#[utoipa::path(delete, path = "/api/v1/services/{name}", tag = "catalog", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, description = "Has deployments")))]
pub(crate) async fn delete_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let n = ServiceName::parse(&name).map_err(|_| not_found("service", &name))?;
    updated(write(&state, &caller, Command::DeleteService { name: n }).await?)
}

// ---- environments

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvironmentRequest {
    name: String,
    #[serde(default)]
    production: bool,
    /// Position in the promotion order: smaller comes first (staging before production).
    #[serde(default)]
    order: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvironmentPatch {
    production: Option<bool>,
    order: Option<i32>,
}

/// All environments, in promotion order.
#[utoipa::path(get, path = "/api/v1/environments", tag = "catalog",
    responses((status = 200, description = "{items: [Environment]}", body = serde_json::Value)))]
pub(crate) async fn list_environments(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    Ok(items(state.store.list_environments().await?))
}

/// Register an environment.
#[utoipa::path(post, path = "/api/v1/environments", tag = "catalog", request_body = EnvironmentRequest,
    responses((status = 201, description = "Environment", body = serde_json::Value), (status = 409, description = "Exists")))]
pub(crate) async fn create_environment(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<EnvironmentRequest>,
) -> Result<Response, ApiError> {
    let r = body.value;
    let name =
        EnvironmentName::parse_field("name", &r.name).map_err(|e| ApiError::Invalid(e.into()))?;
    let location = format!("/api/v1/environments/{name}");
    let o = write(
        &state,
        &caller,
        Command::CreateEnvironment {
            name,
            production: r.production,
            order: r.order,
        },
    )
    .await?;
    created(location, o)
}

/// One environment.
#[utoipa::path(get, path = "/api/v1/environments/{name}", tag = "catalog", params(("name" = String, Path)),
    responses((status = 200, description = "Environment", body = serde_json::Value), (status = 404, description = "Not found")))]
pub(crate) async fn get_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let envs = state.store.list_environments().await?;
    let env = envs
        .into_iter()
        .find(|e| e.name.as_str() == name)
        .ok_or_else(|| not_found("environment", &name))?;
    Ok(Json(env).into_response())
}

/// Change an environment's production flag or order.
#[utoipa::path(patch, path = "/api/v1/environments/{name}", tag = "catalog", params(("name" = String, Path)),
    request_body = EnvironmentPatch,
    responses((status = 200, description = "Environment", body = serde_json::Value), (status = 404, description = "Not found")))]
pub(crate) async fn update_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<EnvironmentPatch>,
) -> Result<Response, ApiError> {
    let n = EnvironmentName::parse(&name).map_err(|_| not_found("environment", &name))?;
    let cmd = Command::UpdateEnvironment {
        name: n,
        production: body.value.production,
        order: body.value.order,
    };
    updated(write(&state, &caller, cmd).await?)
}

/// Delete an environment that was never deployed to.
#[utoipa::path(delete, path = "/api/v1/environments/{name}", tag = "catalog", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, description = "Has deployments")))]
pub(crate) async fn delete_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let n = EnvironmentName::parse(&name).map_err(|_| not_found("environment", &name))?;
    updated(write(&state, &caller, Command::DeleteEnvironment { name: n }).await?)
}

// ---- teams

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamRequest {
    name: String,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamPatch {
    display_name: Option<String>,
}

/// All teams.
#[utoipa::path(get, path = "/api/v1/teams", tag = "catalog",
    responses((status = 200, description = "{items: [Team]}", body = serde_json::Value)))]
pub(crate) async fn list_teams(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    Ok(items(state.store.list_teams().await?))
}

/// Create a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "catalog", request_body = TeamRequest,
    responses((status = 201, description = "Team", body = serde_json::Value), (status = 409, description = "Exists")))]
pub(crate) async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<TeamRequest>,
) -> Result<Response, ApiError> {
    let mut e = FieldErrors::new();
    let name = e.take(TeamName::parse_field("name", &body.value.name));
    let display_name = display(&mut e, body.value.display_name.as_deref());
    e.finish().map_err(ApiError::Invalid)?;
    let name = name.ok_or_else(|| ApiError::invalid("name", "invalid"))?;
    let location = format!("/api/v1/teams/{name}");
    created(
        location,
        write(&state, &caller, Command::CreateTeam { name, display_name }).await?,
    )
}

/// One team.
#[utoipa::path(get, path = "/api/v1/teams/{name}", tag = "catalog", params(("name" = String, Path)),
    responses((status = 200, description = "Team", body = serde_json::Value), (status = 404, description = "Not found")))]
pub(crate) async fn get_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let n = TeamName::parse(&name).map_err(|_| not_found("team", &name))?;
    let t = state
        .store
        .get_team(&n)
        .await?
        .ok_or_else(|| not_found("team", &name))?;
    Ok(Json(t).into_response())
}

/// Change a team's display name.
#[utoipa::path(patch, path = "/api/v1/teams/{name}", tag = "catalog", params(("name" = String, Path)),
    request_body = TeamPatch,
    responses((status = 200, description = "Team", body = serde_json::Value), (status = 404, description = "Not found")))]
pub(crate) async fn update_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: JsonBody<TeamPatch>,
) -> Result<Response, ApiError> {
    let n = TeamName::parse(&name).map_err(|_| not_found("team", &name))?;
    let mut e = FieldErrors::new();
    let display_name = display(&mut e, body.value.display_name.as_deref());
    e.finish().map_err(ApiError::Invalid)?;
    updated(
        write(
            &state,
            &caller,
            Command::UpdateTeam {
                name: n,
                display_name,
            },
        )
        .await?,
    )
}

/// Delete a team that owns no services.
#[utoipa::path(delete, path = "/api/v1/teams/{name}", tag = "catalog", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, description = "Still owns services")))]
pub(crate) async fn delete_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let n = TeamName::parse(&name).map_err(|_| not_found("team", &name))?;
    updated(write(&state, &caller, Command::DeleteTeam { name: n }).await?)
}
