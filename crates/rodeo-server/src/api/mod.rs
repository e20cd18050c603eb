//! The REST API under `/api/v1`: one module per resource. Every route is registered
//! through utoipa-axum, so the OpenAPI document is generated from the same
//! declarations that route requests and cannot miss an endpoint.

use rodeo_domain::{Cursor, FieldErrors, Outcome, WriteContext, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use rodeo_store::Written;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;
use crate::status_cache::Touched;

mod catalog;
mod commits;
mod deployments;
mod events;
pub(crate) mod flags;
pub(crate) mod incidents;
mod metrics;
pub(crate) mod parse;
mod pull_requests;
pub(crate) mod status;
mod tokens;

#[derive(OpenApi)]
#[openapi(
    info(title = "rodeo", description = "rodeo's REST API: the change ledger, deployments, status, compare. \
Errors are RFC 9457 application/problem+json. Authenticate with `Authorization: Bearer <token>`."),
    tags((name = "deployments"), (name = "incidents"), (name = "metrics"), (name = "ledger"), (name = "catalog"), (name = "tokens"), (name = "flags"), (name = "webhooks"), (name = "operations"))
)]
struct ApiDoc;

/// Every API route, with its OpenAPI description.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(deployments::create, deployments::list))
        .routes(routes!(deployments::current))
        .routes(routes!(deployments::get))
        .routes(routes!(deployments::finish))
        .routes(routes!(commits::create))
        .routes(routes!(commits::get))
        .routes(routes!(pull_requests::upsert))
        .routes(routes!(status::status))
        .routes(routes!(status::compare))
        .routes(routes!(events::list))
        .routes(routes!(events::stream))
        .routes(routes!(catalog::list_services, catalog::create_service))
        .routes(routes!(
            catalog::get_service,
            catalog::update_service,
            catalog::delete_service
        ))
        .routes(routes!(
            catalog::list_environments,
            catalog::create_environment
        ))
        .routes(routes!(
            catalog::get_environment,
            catalog::update_environment,
            catalog::delete_environment
        ))
        .routes(routes!(catalog::list_teams, catalog::create_team))
        .routes(routes!(
            catalog::get_team,
            catalog::update_team,
            catalog::delete_team
        ))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(incidents::open, incidents::list))
        .routes(routes!(incidents::get, incidents::edit))
        .routes(routes!(incidents::set_status))
        .routes(routes!(incidents::note))
        .routes(routes!(incidents::set_cause))
        .routes(routes!(incidents::add_action_item))
        .routes(routes!(incidents::update_action_item))
        .routes(routes!(incidents::changes))
        .routes(routes!(metrics::dora_handler))
        .routes(routes!(metrics::series))
        .routes(routes!(metrics::incidents))
        .routes(routes!(flags::list_environments))
        .routes(routes!(flags::list))
        .routes(routes!(flags::stale))
        .routes(routes!(flags::definition, flags::apply_definition))
        .routes(routes!(flags::definition_stream))
        .routes(routes!(flags::get, flags::put, flags::delete))
        .routes(routes!(flags::toggle))
        .routes(routes!(flags::rollout))
        .routes(routes!(flags::kill))
        .routes(routes!(crate::ofrep::evaluate_flag))
        .routes(routes!(crate::ofrep::evaluate_all))
        .routes(routes!(crate::ofrep::event_stream))
}

/// Runs commands through the store; a replay returns the original outcomes.
pub(crate) async fn apply(
    state: &AppState,
    ctx: WriteContext,
    commands: Vec<rodeo_domain::Command>,
) -> Result<Vec<Outcome>, ApiError> {
    let written = state.store.execute(ctx, commands).await;
    state.status_cache.mark(touched(&written));
    match written? {
        Written::Applied(o) | Written::Replayed(o) => Ok(o),
        Written::DuplicateDelivery => Ok(Vec::new()),
    }
}

/// What a write changed in the status matrix; after a failure, assume anything.
pub(crate) fn touched(written: &Result<Written, rodeo_store::StoreError>) -> Touched {
    match written {
        Ok(Written::Applied(o) | Written::Replayed(o)) => Touched::of_outcomes(o),
        Ok(Written::DuplicateDelivery) => Touched::Nothing,
        Err(_) => Touched::Everything,
    }
}

pub(crate) fn single(outcomes: Vec<Outcome>) -> Result<Outcome, ApiError> {
    outcomes
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("the store returned no outcome".into()))
}

pub(crate) fn unexpected(o: Outcome) -> ApiError {
    ApiError::Internal(format!("unexpected outcome {o:?}").into())
}

pub(crate) struct PageParams {
    pub(crate) limit: u32,
    pub(crate) before_id: Option<i64>,
}

/// `limit` (default 50, at most 1000) and the opaque `cursor`.
pub(crate) fn page_params(
    limit: Option<u32>,
    cursor: Option<&str>,
    e: &mut FieldErrors,
) -> PageParams {
    let limit = match limit {
        None => DEFAULT_PAGE_SIZE,
        Some(l) if (1..=MAX_PAGE_SIZE).contains(&l) => l,
        Some(_) => {
            e.push(rodeo_domain::FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
            DEFAULT_PAGE_SIZE
        }
    };
    let before_id = cursor
        .and_then(|c| e.take(Cursor::decode(c)))
        .map(|c| c.before_id);
    PageParams { limit, before_id }
}
