//! The overview (`/`) and the hallway screen (`/tv`): the organisation's DORA tiles,
//! open incidents, recent deployments and flag changes, and what waits to be deployed.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use rodeo_domain::{DriftState, EventFilter, IncidentStatus, StatusMatrix};
use rodeo_store::{DeploymentFilter, IncidentFilter};

use super::format::{ago, when};
use super::metrics_cache::{Ask, Figures};
use super::rows::{tiles, DeployRow, EventRow, IncidentRow, Tile};
use super::{html, Layout, PageError, Viewer};
use crate::error::ApiError;
use crate::state::AppState;

/// The organisation's figures (or any scope's) through the cache.
pub(crate) async fn figures(
    state: &AppState,
    key: String,
    services: Option<Vec<rodeo_domain::ServiceName>>,
    weeks: u32,
) -> Result<Arc<Figures>, PageError> {
    let ask = Ask {
        key,
        services,
        window_days: state.config.metrics.default_window_days,
        weeks,
        bots: state.config.metrics.bot_patterns.clone(),
    };
    Ok(state.dashboard.dora.get(&state.store, ask).await?)
}

/// The status matrix, from the same cache `/api/v1/status` serves.
pub(crate) async fn matrix(state: &AppState) -> Result<StatusMatrix, PageError> {
    let body = state
        .status_cache
        .get(state.store.as_ref())
        .await
        .map_err(ApiError::internal)?;
    serde_json::from_slice(&body).map_err(|e| PageError::Api(ApiError::internal(e)))
}

pub(crate) async fn open_incidents(
    state: &AppState,
    limit: u32,
) -> Result<Vec<rodeo_domain::Incident>, PageError> {
    Ok(state
        .store
        .list_incidents(&IncidentFilter {
            statuses: vec![
                IncidentStatus::Open,
                IncidentStatus::Acknowledged,
                IncidentStatus::Mitigated,
            ],
            limit,
            ..IncidentFilter::default()
        })
        .await?
        .items)
}

/// A service whose later environment lags the one before it.
pub(crate) struct Pending {
    pub(crate) service: String,
    pub(crate) environment: String,
    pub(crate) compared_to: String,
    pub(crate) commits: String,
}

#[derive(askama::Template)]
#[template(path = "overview.html")]
struct Overview {
    layout: Layout,
    tiles: Vec<Tile>,
    window_days: i64,
    computed: String,
    incidents: Vec<IncidentRow>,
    deployments: Vec<DeployRow>,
    flag_changes: Vec<EventRow>,
    pending: Vec<Pending>,
    pending_more: usize,
}

pub(crate) async fn overview(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let (figures, incidents, deployments, flag_changes, matrix) = tokio::try_join!(
        figures(&state, "all".into(), None, 12),
        open_incidents(&state, 20),
        async {
            Ok::<_, PageError>(
                state
                    .store
                    .list_deployments(&DeploymentFilter {
                        limit: 12,
                        ..DeploymentFilter::default()
                    })
                    .await?
                    .items,
            )
        },
        async {
            Ok::<_, PageError>(
                state
                    .store
                    .list_events(&EventFilter {
                        kind: Some("flag.".into()),
                        limit: 8,
                        ..EventFilter::default()
                    })
                    .await?
                    .items,
            )
        },
        matrix(&state),
    )?;
    let mut pending: Vec<Pending> = matrix
        .services
        .iter()
        .flat_map(|row| {
            row.environments.iter().filter_map(move |cell| {
                let d = cell.drift.as_ref()?;
                (d.state == DriftState::UndeployedChanges).then(|| Pending {
                    service: row.service.to_string(),
                    environment: cell.environment.to_string(),
                    compared_to: d.compared_to.to_string(),
                    commits: match d.undeployed_commits {
                        Some(n) if d.complete => n.to_string(),
                        Some(n) => format!("{n}+"),
                        None => "some".into(),
                    },
                })
            })
        })
        .collect();
    let pending_more = pending.len().saturating_sub(15);
    pending.truncate(15);
    html(&Overview {
        layout: viewer.layout("Overview", "overview"),
        tiles: tiles(&figures),
        window_days: figures.window.length().num_days(),
        computed: ago(figures.computed_at, now),
        incidents: incidents.iter().map(|i| IncidentRow::new(i, now)).collect(),
        deployments: deployments.iter().map(|d| DeployRow::new(d, now)).collect(),
        flag_changes: flag_changes.iter().map(|e| EventRow::new(e, now)).collect(),
        pending,
        pending_more,
    })
}

#[derive(askama::Template)]
#[template(path = "tv.html")]
struct Tv {
    tiles: Vec<Tile>,
    window_days: i64,
    refresh_secs: u32,
    updated: String,
    incidents: Vec<IncidentRow>,
    deployments: Vec<DeployRow>,
    deployments_today: usize,
}

/// The information radiator: large type, no navigation, reloads itself.
pub(crate) async fn tv(
    State(state): State<AppState>,
    // Only to require a session (or public mode): the screen shows no navigation.
    _viewer: Viewer,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let midnight = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let (figures, incidents, deployments) = tokio::try_join!(
        figures(&state, "all".into(), None, 12),
        open_incidents(&state, 8),
        async {
            Ok::<_, PageError>(
                state
                    .store
                    .list_deployments(&DeploymentFilter {
                        limit: 200,
                        ..DeploymentFilter::default()
                    })
                    .await?
                    .items,
            )
        },
    )?;
    let today: Vec<_> = deployments
        .iter()
        .filter(|d| d.started_at >= midnight)
        .collect();
    html(&Tv {
        tiles: tiles(&figures).into_iter().take(4).collect(),
        window_days: figures.window.length().num_days(),
        refresh_secs: state.config.dashboard.tv_refresh_secs.max(5),
        updated: when(now),
        incidents: incidents.iter().map(|i| IncidentRow::new(i, now)).collect(),
        deployments_today: today.len(),
        deployments: today
            .iter()
            .take(10)
            .map(|d| DeployRow::new(d, now))
            .collect(),
    })
}
