//! The webhook endpoints: verify the sender, parse the payload into commands (in
//! `webhooks`), and apply them in one transaction keyed by the delivery id, so a
//! redelivery is applied zero times.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rodeo_domain::{Command, Delivery, FieldError, Source, Timestamp, MAX_FUTURE_SKEW};
use rodeo_store::Written;
use serde_json::json;

use crate::error::ApiError;
use crate::http::body::RawBody;
use crate::http::metrics;
use crate::state::AppState;
use crate::webhooks::{self, Parsed};

/// A webhook's secret or token from the configuration; without one, every delivery is
/// refused (401) with a message naming the key to set.
fn configured<'a>(value: &'a Option<String>, what: &str, key: &str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .ok_or_else(|| ApiError::BadSignature(format!("{what} (webhooks.{key})")))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// GitHub webhook (`push`, `pull_request`, `deployment`, `deployment_status`, `ping`).
#[utoipa::path(post, path = "/webhooks/github", tag = "webhooks",
    responses((status = 200, description = "Applied, or a duplicate delivery"), (status = 202, description = "Event type ignored"),
              (status = 400, description = "Malformed payload"), (status = 401, description = "Signature missing or wrong")))]
pub(crate) async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let secret = configured(
        &state.config.webhooks.github_secret,
        "no GitHub webhook secret is configured",
        "github_secret",
    )?;
    webhooks::verify_github(
        secret.as_bytes(),
        &body,
        header(&headers, "x-hub-signature-256"),
    )
    .map_err(|e| ApiError::BadSignature(e.to_string()))?;
    let event = required(&headers, "x-github-event")?;
    let parsed = webhooks::parse_github(event, &body, &state.mapping)
        .map_err(|e| ApiError::Malformed(e.field_error().into()))?;
    let delivery = header(&headers, "x-github-delivery").map(|id| Delivery {
        source: Source::Github,
        id: id.to_owned(),
    });
    apply(&state, Source::Github, event, delivery, parsed).await
}

/// GitLab webhook (`Push Hook`, `Merge Request Hook`, `Deployment Hook`).
#[utoipa::path(post, path = "/webhooks/gitlab", tag = "webhooks",
    responses((status = 200, description = "Applied, or a duplicate delivery"), (status = 202, description = "Event type ignored"),
              (status = 400, description = "Malformed payload"), (status = 401, description = "Token missing or wrong")))]
pub(crate) async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let expected = configured(
        &state.config.webhooks.gitlab_token,
        "no GitLab webhook token is configured",
        "gitlab_token",
    )?;
    webhooks::verify_gitlab(expected, header(&headers, "x-gitlab-token"))
        .map_err(|e| ApiError::BadSignature(e.to_string()))?;
    let event = required(&headers, "x-gitlab-event")?;
    let parsed = webhooks::parse_gitlab(event, &body, &state.mapping)
        .map_err(|e| ApiError::Malformed(e.field_error().into()))?;
    let delivery = header(&headers, "x-gitlab-event-uuid")
        .or_else(|| header(&headers, "x-gitlab-webhook-uuid"))
        .map(|id| Delivery {
            source: Source::Gitlab,
            id: id.to_owned(),
        });
    apply(&state, Source::Gitlab, event, delivery, parsed).await
}

/// PagerDuty V3 webhook (`incident.triggered`, `.acknowledged`, `.resolved`, `.annotated`).
#[utoipa::path(post, path = "/webhooks/pagerduty", tag = "webhooks",
    responses((status = 200, description = "Applied, or a duplicate delivery"), (status = 202, description = "Event type ignored, or no incident has this PagerDuty id"),
              (status = 400, description = "Malformed payload"), (status = 401, description = "Signature missing or wrong")))]
pub(crate) async fn pagerduty(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let secret = configured(
        &state.config.webhooks.pagerduty_secret,
        "no PagerDuty webhook secret is configured",
        "pagerduty_secret",
    )?;
    webhooks::verify_pagerduty(
        secret.as_bytes(),
        &body,
        header(&headers, "x-pagerduty-signature"),
    )
    .map_err(|e| ApiError::BadSignature(e.to_string()))?;
    let (id, parsed) = webhooks::parse_pagerduty(&body, &state.config.alerting)
        .map_err(|e| ApiError::Malformed(e.field_error().into()))?;
    let delivery = id.map(|id| Delivery {
        source: Source::Pagerduty,
        id,
    });
    apply(&state, Source::Pagerduty, "pagerduty", delivery, parsed).await
}

/// Prometheus Alertmanager webhook (version 4).
#[utoipa::path(post, path = "/webhooks/alertmanager", tag = "webhooks",
    responses((status = 200, description = "Applied"), (status = 202, description = "Ignored: not matched by alerting.open_on, or no incident for a resolved group"),
              (status = 400, description = "Malformed payload"), (status = 401, description = "Bearer token missing or wrong")))]
pub(crate) async fn alertmanager(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let token = configured(
        &state.config.webhooks.alertmanager_token,
        "no Alertmanager token is configured",
        "alertmanager_token",
    )?;
    webhooks::verify_bearer(token, header(&headers, "authorization"))
        .map_err(|e| ApiError::BadSignature(e.to_string()))?;
    let parsed = webhooks::parse_alertmanager(&body, &state.config.alerting)
        .map_err(|e| ApiError::Malformed(e.field_error().into()))?;
    apply(&state, Source::Alertmanager, "alertmanager", None, parsed).await
}

/// Webhook payloads carry the sender's clocks; the same 24-hour skew limit as the API
/// applies, so a wrong clock cannot put a deployment or commit into next week.
fn not_in_the_future(commands: &[Command]) -> Result<(), FieldError> {
    let limit = rodeo_domain::now() + MAX_FUTURE_SKEW;
    let check = |field: String, t: Option<Timestamp>| match t {
        Some(t) if t > limit => Err(FieldError::new(
            field,
            "must not be more than 24 hours in the future",
        )),
        _ => Ok(()),
    };
    let commits = |prefix: &str, cs: &[rodeo_domain::Commit]| {
        cs.iter().enumerate().try_for_each(|(i, c)| {
            check(format!("{prefix}[{i}].authored_at"), Some(c.authored_at))?;
            check(format!("{prefix}[{i}].committed_at"), Some(c.committed_at))
        })
    };
    for cmd in commands {
        match cmd {
            Command::RecordCommits { commits: cs } => commits("commits", cs)?,
            Command::RecordDeployment(d) => {
                check("deployment.started_at".into(), Some(d.started_at))?;
                check("deployment.finished_at".into(), d.finished_at)?;
                commits("deployment.commits", &d.commits)?;
            }
            Command::UpsertPullRequest(pr) => {
                check("pull_request.created_at".into(), Some(pr.created_at))?;
                check("pull_request.merged_at".into(), pr.merged_at)?;
            }
            Command::OpenIncident(n) | Command::RaiseIncident(n) => {
                check("incident.started_at".into(), n.started_at)?;
                check("incident.detected_at".into(), n.detected_at)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn required<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    header(h, name)
        .ok_or_else(|| ApiError::Malformed(FieldError::new(name, "header is required").into()))
}

async fn apply(
    state: &AppState,
    source: Source,
    event: &str,
    delivery: Option<Delivery>,
    parsed: Parsed,
) -> Result<Response, ApiError> {
    let (actor, commands) = match parsed {
        Parsed::Ping => return Ok(Json(json!({ "status": "pong" })).into_response()),
        Parsed::Ignored { reason } => {
            tracing::info!(source = source.as_str(), event, %reason, "webhook ignored");
            metrics::ingested("webhook_ignored", source.as_str(), 1);
            return Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "status": "ignored", "reason": reason })),
            )
                .into_response());
        }
        Parsed::Commands { actor, commands } => (actor, commands),
    };
    not_in_the_future(&commands).map_err(|e| ApiError::Malformed(e.into()))?;
    let mut ctx = state.write_context(&actor, source);
    ctx.delivery = delivery;
    let n = commands.len();
    let written = state.store.execute(ctx, commands).await;
    state.status_cache.mark(crate::api::touched(&written));
    if let Err(rodeo_store::StoreError::NotFound {
        what: "incident",
        key,
    }) = &written
    {
        // A resolution or acknowledgement of an incident rodeo never opened (it started
        // before rodeo listened, or did not match alerting.open_on).
        let reason = format!("no incident has the key {key}");
        tracing::info!(source = source.as_str(), event, %reason, "webhook ignored");
        metrics::ingested("webhook_ignored", source.as_str(), 1);
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "status": "ignored", "reason": reason })),
        )
            .into_response());
    }
    match written? {
        Written::DuplicateDelivery => {
            metrics::ingested("webhook_duplicate", source.as_str(), 1);
            Ok(Json(json!({ "status": "duplicate" })).into_response())
        }
        Written::Applied(_) | Written::Replayed(_) => {
            metrics::ingested("webhook", source.as_str(), 1);
            Ok(Json(json!({ "status": "applied", "commands": n })).into_response())
        }
    }
}
