//! Managing feature flags: an environment's whole flagd definition (apply, export),
//! single flags (get, put, delete), and the everyday operations — toggle, rollout
//! percentage, kill switch — plus the stale-flag report. Every change goes through
//! the ledger; the environment's served flags are replaced right after the commit.
//!
//! Evaluation lives in `crate::ofrep`; the SDK definition endpoint and stream are here
//! because they serve the same document as an export.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::Stream;
use rodeo_domain::{
    parse_flag_key, Command, EnvironmentName, FlagAction, FlagChange, FlagsWritten, Outcome, Scope,
    Token,
};
use rodeo_store::flags::{self as rules, FlagFacts, Staleness};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{apply, single, unexpected};
use crate::error::ApiError;
use crate::flags::Served;
use crate::http::auth::{verify, Caller};
use crate::http::body::{parse_json, JsonBody, RawBody};
use crate::http::query::Q;
use crate::ofrep::{changes, not_modified, sdk_secret};
use crate::state::AppState;

fn environment(env: &str) -> Result<EnvironmentName, ApiError> {
    EnvironmentName::parse_field("environment", env).map_err(|e| ApiError::Invalid(e.into()))
}

fn flag_key(key: &str) -> Result<String, ApiError> {
    parse_flag_key("key", key).map_err(|e| ApiError::Invalid(e.into()))
}

/// Runs one flag change, then serves the result at once on this replica.
pub(crate) async fn change(
    state: &AppState,
    caller: &Caller,
    env: &EnvironmentName,
    change: FlagChange,
) -> Result<FlagsWritten, ApiError> {
    let ctx = caller.write_context(state)?;
    let cmd = Command::ChangeFlags {
        environment: env.clone(),
        change,
    };
    let written = match single(apply(state, ctx, vec![cmd]).await?)? {
        Outcome::Flags(w) => w,
        other => return Err(unexpected(other)),
    };
    if let Err(e) = state.flags.reload(&state.store, env).await {
        tracing::warn!(environment = %env, error = %e, "flags changed but could not be reloaded; the ledger event will retry");
    }
    Ok(written)
}

#[derive(Serialize, Default)]
struct Evaluations {
    total: u64,
    /// Per variant; `(default)` counts evaluations that served the caller's default.
    by_variant: BTreeMap<String, u64>,
    last_evaluated_at: Option<rodeo_domain::Timestamp>,
}

#[derive(Serialize)]
struct FlagSummary<'a> {
    key: &'a str,
    state: &'a Value,
    variants: Vec<&'a String>,
    default_variant: Option<&'a str>,
    targeting: bool,
    /// The variant everyone gets, when no context can change it.
    serving: Option<String>,
    owner: Option<&'a Value>,
    #[serde(rename = "type")]
    flag_type: Option<&'a Value>,
    lifetime_days: Option<&'a Value>,
    created_at: rodeo_domain::Timestamp,
    updated_at: rodeo_domain::Timestamp,
    evaluations: Evaluations,
    stale: Vec<Staleness>,
}

/// Environments with flags.
#[utoipa::path(get, path = "/api/v1/flags", tag = "flags",
    responses((status = 200, description = "{items: [{environment, version, flags, updated_at}]}", body = serde_json::Value)))]
pub(crate) async fn list_environments(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let sets = state.store.flag_sets().await?;
    let items: Vec<Value> = sets
        .iter()
        .map(|s| {
            serde_json::json!({
                "environment": s.environment,
                "version": s.version,
                "flags": s.flags.len(),
                "updated_at": s.updated_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

/// The summary of each flag of `env` (`None`: the environment never had flags), with
/// the version and time of the definition.
pub(crate) async fn summaries(
    state: &AppState,
    env: &EnvironmentName,
) -> Result<Option<(i64, rodeo_domain::Timestamp, Vec<Value>)>, ApiError> {
    let Some(record) = state.store.flag_set(env).await? else {
        return Ok(None);
    };
    let counts = state.store.flag_evaluations(env).await?;
    let now = rodeo_domain::now();
    let stale_days = state.config.flags.rolled_out_stale_days;
    let mut evaluations: BTreeMap<&str, Evaluations> = BTreeMap::new();
    for c in &counts {
        let e = evaluations.entry(c.key.as_str()).or_default();
        e.total += c.count;
        let name = c.variant.clone().unwrap_or_else(|| "(default)".into());
        *e.by_variant.entry(name).or_default() += c.count;
        e.last_evaluated_at = e.last_evaluated_at.max(Some(c.last_evaluated_at));
    }
    let empty = serde_json::Map::new();
    let flags_doc = record.document["flags"].as_object().unwrap_or(&empty);
    let mut flags = Vec::with_capacity(record.flags.len());
    for times in &record.flags {
        let Some(def) = flags_doc.get(&times.key) else {
            continue;
        };
        let eval = evaluations
            .remove(times.key.as_str())
            .unwrap_or(Evaluations {
                total: 0,
                by_variant: BTreeMap::new(),
                last_evaluated_at: None,
            });
        let facts = FlagFacts {
            definition: def,
            created_at: times.created_at,
            updated_at: times.updated_at,
            last_evaluated_at: eval.last_evaluated_at,
        };
        let meta = def.get("metadata");
        let summary = FlagSummary {
            key: &times.key,
            state: &def["state"],
            variants: def["variants"]
                .as_object()
                .map(|v| v.keys().collect())
                .unwrap_or_default(),
            default_variant: def.get("defaultVariant").and_then(Value::as_str),
            targeting: def
                .get("targeting")
                .is_some_and(|t| t.as_object().is_some_and(|o| !o.is_empty())),
            serving: (def["state"] == "ENABLED")
                .then(|| rules::single_variant(def))
                .flatten(),
            owner: meta.and_then(|m| m.get("owner")),
            flag_type: meta.and_then(|m| m.get("type")),
            lifetime_days: meta.and_then(|m| m.get("lifetimeDays")),
            created_at: times.created_at,
            updated_at: times.updated_at,
            stale: rules::staleness(&facts, now, stale_days),
            evaluations: eval,
        };
        flags.push(serde_json::to_value(summary).map_err(ApiError::internal)?);
    }
    Ok(Some((record.version, record.updated_at, flags)))
}

/// An environment's flags: state, variants, owner, type, evaluation counts and
/// staleness of each.
#[utoipa::path(get, path = "/api/v1/flags/{env}", tag = "flags", params(("env" = String, Path)),
    responses((status = 200, description = "{environment, version, updated_at, flags: [FlagSummary]}", body = serde_json::Value)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(env): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let env = environment(&env)?;
    let (version, updated_at, flags) = match summaries(&state, &env).await? {
        Some((v, at, flags)) => (v, Some(at), flags),
        None => (0, None, Vec::new()),
    };
    Ok(Json(serde_json::json!({
        "environment": env, "version": version, "updated_at": updated_at, "flags": flags,
    }))
    .into_response())
}

/// The stale-flag report: flags past their expected lifetime, serving one variant to
/// everyone, disabled, or unused for `flags.rolled_out_stale_days`.
#[utoipa::path(get, path = "/api/v1/flags/{env}/stale", tag = "flags", params(("env" = String, Path)),
    responses((status = 200, description = "{environment, items: [{key, owner, type, created_at, updated_at, reasons: [Staleness]}]}", body = serde_json::Value)))]
pub(crate) async fn stale(
    State(state): State<AppState>,
    caller: Caller,
    Path(env): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let env = environment(&env)?;
    let flags = summaries(&state, &env)
        .await?
        .map(|(_, _, f)| f)
        .unwrap_or_default();
    let items: Vec<Value> = flags
        .into_iter()
        .filter(|f| f["stale"].as_array().is_some_and(|s| !s.is_empty()))
        .map(|f| {
            serde_json::json!({
                "key": f["key"], "owner": f["owner"], "type": f["type"],
                "created_at": f["created_at"], "updated_at": f["updated_at"],
                "reasons": f["stale"],
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "environment": env, "items": items })).into_response())
}

/// One flag's definition, with when it was created and last changed.
#[utoipa::path(get, path = "/api/v1/flags/{env}/{key}", tag = "flags",
    params(("env" = String, Path), ("key" = String, Path)),
    responses((status = 200, description = "{key, definition, created_at, updated_at, version}", body = serde_json::Value),
              (status = 404, description = "No such flag")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((env, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let env = environment(&env)?;
    let record = state.store.flag_set(&env).await?;
    let found = record.as_ref().and_then(|r| {
        let def = r.document["flags"].get(&key)?;
        let times = r.flags.iter().find(|t| t.key == key)?;
        Some(serde_json::json!({
            "environment": r.environment, "key": key, "definition": def,
            "created_at": times.created_at, "updated_at": times.updated_at, "version": r.version,
        }))
    });
    found
        .map(|v| Json(v).into_response())
        .ok_or_else(|| ApiError::NotFound(format!("flag {key:?} not found in {env}")))
}

#[derive(Serialize)]
struct ChangeResponse {
    environment: EnvironmentName,
    version: i64,
    changes: Vec<rodeo_domain::FlagDiff>,
    set_changed: bool,
    dry_run: bool,
    /// Findings that did not stop the change (a rule that can return a name that is
    /// not a variant), each with its JSON Pointer.
    warnings: Vec<rodeo_flags::Problem>,
}

impl ChangeResponse {
    fn new(w: FlagsWritten, dry_run: bool, warnings: Vec<rodeo_flags::Problem>) -> Self {
        Self {
            environment: w.environment,
            version: w.version,
            changes: w.changes,
            set_changed: w.set_changed,
            dry_run,
            warnings,
        }
    }
}

/// The warnings of what `env` serves now.
fn warnings(state: &AppState, env: &EnvironmentName) -> Vec<rodeo_flags::Problem> {
    state
        .flags
        .get(env.as_str())
        .map(|s| s.set.warnings().to_vec())
        .unwrap_or_default()
}

/// Create or replace one flag (the body is its flagd definition).
#[utoipa::path(put, path = "/api/v1/flags/{env}/{key}", tag = "flags",
    params(("env" = String, Path), ("key" = String, Path)),
    request_body(content = serde_json::Value, description = "A flagd flag: {state, variants, defaultVariant, targeting?, metadata?}"),
    responses((status = 201, description = "Created: {version, changes}", body = serde_json::Value),
              (status = 200, description = "Replaced (or unchanged): {version, changes}", body = serde_json::Value),
              (status = 422, description = "Invalid; errors name the JSON Pointer of each problem")))]
pub(crate) async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path((env, key)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let env = environment(&env)?;
    let key = flag_key(&key)?;
    let definition: Value = parse_json(&body)?;
    let w = change(&state, &caller, &env, FlagChange::Put { key, definition }).await?;
    let created = w.changes.iter().any(|c| c.action == FlagAction::Created);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(ChangeResponse::new(w, false, warnings(&state, &env))),
    )
        .into_response())
}

/// Delete one flag.
#[utoipa::path(delete, path = "/api/v1/flags/{env}/{key}", tag = "flags",
    params(("env" = String, Path), ("key" = String, Path)),
    responses((status = 200, description = "{version, changes}", body = serde_json::Value), (status = 404, description = "No such flag")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((env, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let env = environment(&env)?;
    let w = change(&state, &caller, &env, FlagChange::Delete { key }).await?;
    Ok(Json(ChangeResponse::new(w, false, warnings(&state, &env))).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToggleRequest {
    /// `true`: state `ENABLED`; `false`: `DISABLED` (SDKs then use their code default).
    enabled: bool,
}

/// Turn a flag on or off.
#[utoipa::path(post, path = "/api/v1/flags/{env}/{key}/toggle", tag = "flags",
    params(("env" = String, Path), ("key" = String, Path)), request_body = ToggleRequest,
    responses((status = 200, description = "{version, changes}", body = serde_json::Value), (status = 404, description = "No such flag")))]
pub(crate) async fn toggle(
    State(state): State<AppState>,
    caller: Caller,
    Path((env, key)): Path<(String, String)>,
    body: JsonBody<ToggleRequest>,
) -> Result<Response, ApiError> {
    let env = environment(&env)?;
    let enabled = body.value.enabled;
    let w = change(&state, &caller, &env, FlagChange::Toggle { key, enabled }).await?;
    Ok(Json(ChangeResponse::new(w, false, warnings(&state, &env))).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolloutRequest {
    /// 0 to 100.
    percent: u8,
    /// The variant rolled out (default: a boolean flag's `true` variant).
    #[serde(default)]
    variant: Option<String>,
    /// The variant everyone else gets (default: a boolean flag's `false` variant).
    #[serde(default)]
    otherwise: Option<String>,
}

/// Roll a variant out to a percentage of targeting keys (a flagd `fractional` rule;
/// sticky per user).
#[utoipa::path(post, path = "/api/v1/flags/{env}/{key}/rollout", tag = "flags",
    params(("env" = String, Path), ("key" = String, Path)), request_body = RolloutRequest,
    responses((status = 200, description = "{version, changes}", body = serde_json::Value),
              (status = 409, description = "The flag has a custom rule the rollout would overwrite"),
              (status = 422, description = "Invalid percentage or variant")))]
pub(crate) async fn rollout(
    State(state): State<AppState>,
    caller: Caller,
    Path((env, key)): Path<(String, String)>,
    body: JsonBody<RolloutRequest>,
) -> Result<Response, ApiError> {
    let env = environment(&env)?;
    let RolloutRequest {
        percent,
        variant,
        otherwise,
    } = body.value;
    let change_ = FlagChange::Rollout {
        key,
        percent,
        variant,
        otherwise,
    };
    let w = change(&state, &caller, &env, change_).await?;
    Ok(Json(ChangeResponse::new(w, false, warnings(&state, &env))).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct KillRequest {
    /// The variant everyone gets (default: a boolean flag's `false` variant).
    #[serde(default)]
    variant: Option<String>,
}

/// The kill switch: everyone gets the off variant now; targeting is removed (the
/// ledger event keeps it).
#[utoipa::path(post, path = "/api/v1/flags/{env}/{key}/kill", tag = "flags",
    params(("env" = String, Path), ("key" = String, Path)), request_body = KillRequest,
    responses((status = 200, description = "{version, changes}", body = serde_json::Value), (status = 404, description = "No such flag")))]
pub(crate) async fn kill(
    State(state): State<AppState>,
    caller: Caller,
    Path((env, key)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let env = environment(&env)?;
    let req: KillRequest = if body.iter().all(u8::is_ascii_whitespace) {
        KillRequest::default()
    } else {
        parse_json(&body)?
    };
    let w = change(
        &state,
        &caller,
        &env,
        FlagChange::Kill {
            key,
            variant: req.variant,
        },
    )
    .await?;
    Ok(Json(ChangeResponse::new(w, false, warnings(&state, &env))).into_response())
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct ApplyParams {
    /// Validate and show the diff without changing anything.
    #[serde(default)]
    dry_run: bool,
}

/// Apply a whole flagd definition: flags not in it are deleted; applying the current
/// definition again changes nothing. Atomic: an invalid document changes nothing and
/// the errors name each problem's JSON Pointer.
#[utoipa::path(put, path = "/api/v1/flags/{env}/definition", tag = "flags",
    params(("env" = String, Path), ApplyParams),
    request_body(content = serde_json::Value, description = "A flagd definition {flags, $evaluators?, metadata?}"),
    responses((status = 200, description = "{version, changes: [{key, action, before, after}], set_changed, dry_run}", body = serde_json::Value),
              (status = 422, description = "Invalid; errors name the JSON Pointer of each problem")))]
pub(crate) async fn apply_definition(
    State(state): State<AppState>,
    caller: Caller,
    Path(env): Path<String>,
    Q(params): Q<ApplyParams>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let env = environment(&env)?;
    let document: Value = parse_json(&body)?;
    let change_ = FlagChange::Apply { document };
    if params.dry_run {
        caller.require(Scope::Read)?;
        let current = state.store.flag_set(&env).await?;
        let (stored, version) = match &current {
            Some(r) => (rules::Stored::from_document(&r.document), r.version),
            None => (rules::Stored::default(), 0),
        };
        let changed = rules::apply(&stored, &change_)?;
        let found = rodeo_flags::FlagSet::compile(&changed.stored.document())
            .map(|set| set.warnings().to_vec())
            .unwrap_or_default();
        let w = FlagsWritten {
            environment: env,
            version,
            changes: changed.diffs,
            set_changed: changed.set_changed,
        };
        return Ok(Json(ChangeResponse::new(w, true, found)).into_response());
    }
    let w = change(&state, &caller, &env, change_).await?;
    Ok(Json(ChangeResponse::new(w, false, warnings(&state, &env))).into_response())
}

/// Who may read an environment's raw definition: a read token, or a server-side SDK
/// key of that environment (client-side keys may only evaluate).
async fn definition_reader(
    state: &AppState,
    headers: &HeaderMap,
    env: &EnvironmentName,
) -> Result<Token, ApiError> {
    let secret = sdk_secret(headers).ok_or(ApiError::Unauthenticated)?;
    let token = verify(state, secret).await?;
    let allowed = match token.scope {
        Scope::SdkServer => token.environment.as_ref() == Some(env),
        Scope::SdkClient => false,
        scope => scope.allows(Scope::Read),
    };
    if allowed {
        Ok(token)
    } else {
        Err(ApiError::Forbidden(
            "the flag definition (needs a server-side SDK key of this environment or a read token)",
        ))
    }
}

/// The environment's flag definition in flagd's format (what `rodeo flags export`
/// prints and SDKs evaluate locally), with an ETag.
#[utoipa::path(get, path = "/api/v1/flags/{env}/definition", tag = "flags", params(("env" = String, Path)),
    responses((status = 200, description = "The flagd document; ETag header", body = serde_json::Value),
              (status = 304, description = "Unchanged since the If-None-Match ETag"),
              (status = 403, description = "A client-side SDK key, or another environment's")))]
pub(crate) async fn definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(env): Path<String>,
) -> Result<Response, ApiError> {
    let env = environment(&env)?;
    definition_reader(&state, &headers, &env).await?;
    let served = state.flags.get(env.as_str());
    let (etag, document, version) = match &served {
        Some(s) => (s.etag.clone(), s.document.clone(), s.version),
        None => ("\"empty\"".to_owned(), r#"{"flags":{}}"#.to_owned(), 0),
    };
    let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    if not_modified(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_value),
            (
                header::HeaderName::from_static("x-rodeo-flags-version"),
                HeaderValue::from(version),
            ),
        ],
        document,
    )
        .into_response())
}

fn definition_event(served: &Served) -> SseEvent {
    let etag = Value::String(served.etag.clone());
    SseEvent::default()
        .event("definition")
        .id(served.version.to_string())
        .data(format!(
            r#"{{"version":{},"etag":{},"definition":{}}}"#,
            served.version, etag, served.document
        ))
}

/// SSE of the environment's definition: the current one first (unless `Last-Event-ID`
/// is already the current version), then each new one, for SDKs that evaluate locally.
#[utoipa::path(get, path = "/api/v1/flags/{env}/definition/stream", tag = "flags", params(("env" = String, Path)),
    responses((status = 200, description = "text/event-stream; event: definition, id: version, data: {version, etag, definition}")))]
pub(crate) async fn definition_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(env): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let env = environment(&env)?;
    definition_reader(&state, &headers, &env).await?;
    let last_seen: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Ok(changes(&state, &env, last_seen, true, definition_event))
}
