//! Incidents: open, list, read, change step by step, and "what changed?".

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{
    parse_timestamp, Command, EnvironmentName, FieldError, FieldErrors, Incident, IncidentChange,
    IncidentEdit, IncidentKind, IncidentRef, IncidentStatus, NewIncident, Outcome, Scope,
    ServiceName, Timestamp,
};
use rodeo_store::IncidentFilter;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::parse::not_future;
use super::{apply, page_params, single, PageParams};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::query::Q;
use crate::incidents::{what_changed, WhatChanged};
use crate::state::AppState;

/// `POST /api/v1/incidents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenRequest {
    title: String,
    /// `sev1` (worst) .. `sev5`, or a configured alias (`critical`).
    severity: String,
    /// `real` (default) or `drill` (recorded, never counted in metrics).
    kind: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    environments: Vec<String>,
    /// RFC 3339; when impact began. Defaults to `detected_at`.
    started_at: Option<String>,
    /// RFC 3339; defaults to now.
    detected_at: Option<String>,
    /// Role -> person (`commander`, `comms`, ...).
    #[serde(default)]
    roles: BTreeMap<String, String>,
    /// A first timeline note.
    summary: Option<String>,
}

/// `PATCH /api/v1/incidents/{id}`: fields to change; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditRequest {
    title: Option<String>,
    severity: Option<String>,
    kind: Option<String>,
    services: Option<Vec<String>>,
    environments: Option<Vec<String>>,
    started_at: Option<String>,
    detected_at: Option<String>,
    /// Roles to set; an empty person removes the role.
    roles: Option<BTreeMap<String, String>>,
    contributing_factors: Option<Vec<String>>,
    /// Markdown; an empty string clears it.
    postmortem: Option<String>,
}

/// `POST /api/v1/incidents/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusRequest {
    /// `open`, `acknowledged`, `mitigated`, `resolved` or `closed`.
    status: String,
    /// RFC 3339; defaults to now.
    at: Option<String>,
    note: Option<String>,
}

/// `POST /api/v1/incidents/{id}/notes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteRequest {
    text: String,
    /// RFC 3339; defaults to now.
    at: Option<String>,
}

/// `PUT /api/v1/incidents/{id}/cause`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CauseRequest {
    /// Deployment ids; an empty list says no deployment caused the incident.
    deployments: Vec<String>,
}

/// `POST /api/v1/incidents/{id}/action-items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionItemRequest {
    text: String,
    owner: Option<String>,
}

/// `PATCH /api/v1/incidents/{id}/action-items/{item}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionItemUpdate {
    text: Option<String>,
    /// `null` clears the owner.
    #[serde(default, deserialize_with = "double_option")]
    owner: Option<Option<String>>,
    done: Option<bool>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    /// Comma-separated statuses, or `unresolved` (open, acknowledged, mitigated).
    status: Option<String>,
    service: Option<String>,
    /// `real` or `drill`.
    kind: Option<String>,
    /// RFC 3339; started at or after.
    since: Option<String>,
    /// RFC 3339; started before.
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn names<T>(
    field: &str,
    list: &[String],
    parse: fn(&str) -> Result<T, FieldError>,
    e: &mut FieldErrors,
) -> Vec<T> {
    list.iter()
        .enumerate()
        .filter_map(|(n, s)| {
            e.take(parse(s).map_err(|x| FieldError::new(format!("{field}[{n}]"), x.message)))
        })
        .collect()
}

fn time(field: &str, s: Option<&str>, now: Timestamp, e: &mut FieldErrors) -> Option<Timestamp> {
    s.and_then(|s| e.take(parse_timestamp(field, s).and_then(|t| not_future(field, t, now))))
}

fn kind(s: &str) -> Result<IncidentKind, FieldError> {
    IncidentKind::parse(s).ok_or_else(|| FieldError::new("kind", "must be real or drill"))
}

pub(crate) fn parse_status(field: &str, s: &str) -> Result<IncidentStatus, FieldError> {
    IncidentStatus::parse(s).ok_or_else(|| {
        FieldError::new(
            field,
            "must be open, acknowledged, mitigated, resolved or closed",
        )
    })
}

fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::NotFound(format!("incident '{s}' not found")))
}

fn incident_of(o: Outcome) -> Result<Incident, ApiError> {
    match o {
        Outcome::Incident(i) => Ok(*i),
        other => Err(super::unexpected(other)),
    }
}

/// Open an incident.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = OpenRequest,
    responses((status = 201, description = "The Incident", body = serde_json::Value),
              (status = 422, description = "Invalid fields")))]
pub(crate) async fn open(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<OpenRequest>,
) -> Result<Response, ApiError> {
    let ctx = caller.write_context(&state)?;
    let r = body.value;
    let now = ctx.at;
    let mut e = FieldErrors::new();
    let severity = e.take(state.config.incidents.severity("severity", &r.severity));
    let kind = match r.kind.as_deref() {
        Some(k) => e.take(kind(k)),
        None => Some(IncidentKind::Real),
    };
    let services = names("services", &r.services, ServiceName::parse, &mut e);
    let environments = names(
        "environments",
        &r.environments,
        EnvironmentName::parse,
        &mut e,
    );
    let started_at = time("started_at", r.started_at.as_deref(), now, &mut e);
    let detected_at = time("detected_at", r.detected_at.as_deref(), now, &mut e);
    e.finish().map_err(ApiError::Invalid)?;
    let (Some(severity), Some(kind)) = (severity, kind) else {
        return Err(ApiError::invalid("severity", "invalid"));
    };
    let n = NewIncident {
        title: r.title,
        severity,
        kind,
        services,
        environments,
        started_at,
        detected_at,
        roles: r.roles,
        summary: r.summary,
        key: None,
        firing: false,
    };
    let i = incident_of(single(
        apply(&state, ctx, vec![Command::OpenIncident(n)]).await?,
    )?)?;
    let location = format!("/api/v1/incidents/{}", i.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(i)).into_response())
}

/// Incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams),
    responses((status = 200, description = "{items: [Incident], next_cursor}", body = serde_json::Value)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Q(q): Q<ListParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let mut e = FieldErrors::new();
    let PageParams { limit, before_id } = page_params(q.limit, q.cursor.as_deref(), &mut e);
    let statuses = match q.status.as_deref() {
        None | Some("") => Vec::new(),
        Some("unresolved") => vec![
            IncidentStatus::Open,
            IncidentStatus::Acknowledged,
            IncidentStatus::Mitigated,
        ],
        Some(list) => list
            .split(',')
            .filter_map(|s| e.take(parse_status("status", s.trim())))
            .collect(),
    };
    let f = IncidentFilter {
        service: q
            .service
            .as_deref()
            .and_then(|s| e.take(ServiceName::parse(s))),
        statuses,
        kind: q.kind.as_deref().and_then(|k| e.take(kind(k))),
        since: q
            .since
            .as_deref()
            .and_then(|s| e.take(parse_timestamp("since", s))),
        until: q
            .until
            .as_deref()
            .and_then(|s| e.take(parse_timestamp("until", s))),
        before_id,
        limit,
    };
    e.finish().map_err(ApiError::Invalid)?;
    Ok(Json(state.store.list_incidents(&f).await?).into_response())
}

/// One incident with its timeline, roles, causes and action items.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The Incident", body = serde_json::Value),
              (status = 404, description = "No such incident")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Incident>, ApiError> {
    caller.require(Scope::Read)?;
    let id = parse_id(&id)?;
    let i = state.store.get_incident(id).await?;
    i.map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("incident '{id}' not found")))
}

pub(crate) async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: IncidentChange,
) -> Result<Json<Incident>, ApiError> {
    let ctx = caller.write_context(state)?;
    let id = parse_id(id)?;
    let cmd = Command::UpdateIncident {
        incident: IncidentRef::Id(id),
        change,
    };
    incident_of(single(apply(state, ctx, vec![cmd]).await?)?).map(Json)
}

/// Change fields: title, severity, kind, services, times, roles, factors, postmortem.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")), request_body = EditRequest,
    responses((status = 200, description = "The Incident", body = serde_json::Value),
              (status = 404, description = "No such incident"), (status = 422, description = "Invalid fields")))]
pub(crate) async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<EditRequest>,
) -> Result<Json<Incident>, ApiError> {
    let r = body.value;
    let now = rodeo_domain::now();
    let mut e = FieldErrors::new();
    let edit = IncidentEdit {
        title: r.title,
        severity: r
            .severity
            .as_deref()
            .and_then(|s| e.take(state.config.incidents.severity("severity", s))),
        kind: r.kind.as_deref().and_then(|k| e.take(kind(k))),
        services: r
            .services
            .as_deref()
            .map(|s| names("services", s, ServiceName::parse, &mut e)),
        environments: r
            .environments
            .as_deref()
            .map(|s| names("environments", s, EnvironmentName::parse, &mut e)),
        started_at: time("started_at", r.started_at.as_deref(), now, &mut e),
        detected_at: time("detected_at", r.detected_at.as_deref(), now, &mut e),
        roles: r.roles,
        contributing_factors: r.contributing_factors,
        postmortem: r.postmortem,
    };
    e.finish().map_err(ApiError::Invalid)?;
    change(&state, &caller, &id, IncidentChange::Edit(edit)).await
}

/// Move to another status (`acknowledged`, `mitigated`, ...; back to `open` reopens).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")), request_body = StatusRequest,
    responses((status = 200, description = "The Incident", body = serde_json::Value),
              (status = 404, description = "No such incident"), (status = 422, description = "Invalid status or time")))]
pub(crate) async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<StatusRequest>,
) -> Result<Json<Incident>, ApiError> {
    let r = body.value;
    let mut e = FieldErrors::new();
    let status = e.take(parse_status("status", &r.status));
    let at = time("at", r.at.as_deref(), rodeo_domain::now(), &mut e);
    e.finish().map_err(ApiError::Invalid)?;
    let Some(status) = status else {
        return Err(ApiError::invalid("status", "invalid"));
    };
    let c = IncidentChange::Status {
        status,
        at,
        note: r.note.filter(|n| !n.trim().is_empty()),
    };
    change(&state, &caller, &id, c).await
}

/// Add a timeline note.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")), request_body = NoteRequest,
    responses((status = 200, description = "The Incident", body = serde_json::Value)))]
pub(crate) async fn note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<NoteRequest>,
) -> Result<Json<Incident>, ApiError> {
    let r = body.value;
    let mut e = FieldErrors::new();
    let at = time("at", r.at.as_deref(), rodeo_domain::now(), &mut e);
    e.finish().map_err(ApiError::Invalid)?;
    change(
        &state,
        &caller,
        &id,
        IncidentChange::Note { text: r.text, at },
    )
    .await
}

/// Name the deployments that caused the incident (replaces those named before).
#[utoipa::path(put, path = "/api/v1/incidents/{id}/cause", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")), request_body = CauseRequest,
    responses((status = 200, description = "The Incident", body = serde_json::Value),
              (status = 422, description = "A deployment does not exist")))]
pub(crate) async fn set_cause(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<CauseRequest>,
) -> Result<Json<Incident>, ApiError> {
    let mut e = FieldErrors::new();
    let deployments: Vec<i64> = body
        .value
        .deployments
        .iter()
        .enumerate()
        .filter_map(|(n, d)| {
            e.take(d.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| {
                FieldError::new(format!("deployments[{n}]"), "is not a deployment id")
            }))
        })
        .collect();
    e.finish().map_err(ApiError::Invalid)?;
    let c = IncidentChange::SetCauses {
        deployments,
        automatic: false,
    };
    change(&state, &caller, &id, c).await
}

/// Add an action item.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/action-items", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")), request_body = ActionItemRequest,
    responses((status = 200, description = "The Incident", body = serde_json::Value)))]
pub(crate) async fn add_action_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<ActionItemRequest>,
) -> Result<Json<Incident>, ApiError> {
    let r = body.value;
    let c = IncidentChange::AddActionItem {
        text: r.text,
        owner: r.owner.filter(|o| !o.trim().is_empty()),
    };
    change(&state, &caller, &id, c).await
}

/// Change an action item (text, owner, done).
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/action-items/{item}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id"), ("item" = u32, Path, description = "Action item number")),
    request_body = ActionItemUpdate,
    responses((status = 200, description = "The Incident", body = serde_json::Value)))]
pub(crate) async fn update_action_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    body: JsonBody<ActionItemUpdate>,
) -> Result<Json<Incident>, ApiError> {
    let item: u32 = item
        .parse()
        .map_err(|_| ApiError::NotFound(format!("action item '{item}' not found")))?;
    let r = body.value;
    let c = IncidentChange::UpdateActionItem {
        id: item,
        text: r.text,
        owner: r.owner,
        done: r.done,
    };
    change(&state, &caller, &id, c).await
}

/// What changed before the incident: deployments and rollbacks of the affected services
/// in the window before it started, newest first, each with its commits, and the
/// suggested cause.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/changes", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "{incident, window, attribution, causes, suggested_cause, changes}", body = serde_json::Value),
              (status = 404, description = "No such incident")))]
pub(crate) async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WhatChanged>, ApiError> {
    caller.require(Scope::Read)?;
    let id = parse_id(&id)?;
    let i = state
        .store
        .get_incident(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("incident '{id}' not found")))?;
    Ok(Json(what_changed(&state, &i).await?))
}
