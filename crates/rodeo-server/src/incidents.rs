//! "What changed?" for an incident, the suggested cause, and automatic attribution.

use std::collections::HashSet;
use std::time::Duration;

use rodeo_domain::{
    Attribution, Command, Commit, Deployment, DeploymentStatus, Incident, IncidentChange,
    IncidentRef, Source, Timestamp,
};
use rodeo_store::{FinishedFilter, IncidentFilter};
use serde::Serialize;

use crate::config::AttributionMode;
use crate::error::ApiError;
use crate::state::AppState;

/// At most this many deployments are listed, each with at most this many commits.
const MAX_CHANGES: u32 = 200;
const MAX_COMMITS_EACH: usize = 100;

#[derive(Debug, Serialize)]
pub(crate) struct Window {
    pub(crate) from: Timestamp,
    pub(crate) to: Timestamp,
}

/// One entry of "what changed?": a deployment or rollback, or a flag change.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ChangeItem {
    Deployment(Change),
    Flag(FlagChanged),
}

impl ChangeItem {
    fn at(&self) -> Timestamp {
        match self {
            Self::Deployment(c) => c.deployment.finished_at.unwrap_or(c.deployment.started_at),
            Self::Flag(f) => f.at,
        }
    }
}

/// A flag created, changed or deleted in a production environment (or one the incident
/// names) during the window: the ledger event, with the flag before and after.
#[derive(Debug, Serialize)]
pub(crate) struct FlagChanged {
    /// Always `flag`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) production: bool,
    pub(crate) at: Timestamp,
    pub(crate) environment: Option<rodeo_domain::EnvironmentName>,
    pub(crate) key: serde_json::Value,
    /// `flag.created`, `flag.updated` or `flag.deleted`.
    pub(crate) event: String,
    /// apply, put, toggle, rollout, kill or delete.
    pub(crate) change: serde_json::Value,
    pub(crate) actor: String,
    #[serde(with = "id_string")]
    pub(crate) event_id: i64,
    pub(crate) before: serde_json::Value,
    pub(crate) after: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub(crate) struct Change {
    /// `deployment` or `rollback`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) production: bool,
    #[serde(flatten)]
    pub(crate) deployment: Deployment,
    /// The commits it shipped, newest first (at most 100; `change_count` has the total).
    pub(crate) commits: Vec<Commit>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Suggestion {
    #[serde(with = "id_string")]
    pub(crate) deployment: i64,
    pub(crate) reason: String,
}

mod id_string {
    pub(crate) fn serialize<S: serde::Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct WhatChanged {
    #[serde(with = "id_string")]
    pub(crate) incident: i64,
    pub(crate) window: Window,
    pub(crate) attribution_mode: AttributionMode,
    pub(crate) attribution: Attribution,
    /// The causes set on the incident.
    pub(crate) causes: Vec<String>,
    /// `null` when attribution is off or no deployment qualifies.
    pub(crate) suggested_cause: Option<Suggestion>,
    /// Deployments, rollbacks and flag changes, newest first.
    pub(crate) changes: Vec<ChangeItem>,
}

/// The deployments of the incident's services that finished in the window before it
/// started, newest first, with the commits each shipped and the suggested cause.
pub(crate) async fn what_changed(state: &AppState, i: &Incident) -> Result<WhatChanged, ApiError> {
    let cfg = &state.config.incidents;
    let window = Window {
        from: i.started_at - chrono::Duration::hours(i64::from(cfg.changes_window_hours)),
        to: i.started_at,
    };
    let production: HashSet<_> = state
        .store
        .list_environments()
        .await?
        .into_iter()
        .filter(|e| e.production)
        .map(|e| e.name)
        .collect();
    let found = if i.services.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .deployments_finished(&FinishedFilter {
                services: i.services.clone(),
                from: window.from,
                to: window.to,
                limit: MAX_CHANGES,
            })
            .await?
    };
    let suggested_cause = match cfg.attribution {
        AttributionMode::Off => None,
        _ => suggest(&found, &production),
    };
    let mut changes = Vec::with_capacity(found.len());
    for d in found {
        let commits = match state.store.get_deployment(d.id).await? {
            Some(mut detail) => {
                detail.changes.truncate(MAX_COMMITS_EACH);
                detail.changes
            }
            None => Vec::new(),
        };
        changes.push(ChangeItem::Deployment(Change {
            kind: if d.kind == rodeo_domain::DeploymentKind::Rollback {
                "rollback"
            } else {
                "deployment"
            },
            production: production.contains(&d.environment),
            deployment: d,
            commits,
        }));
    }
    let flag_envs: Vec<rodeo_domain::EnvironmentName> = if i.environments.is_empty() {
        production.iter().cloned().collect()
    } else {
        i.environments.clone()
    };
    // One read of the window's flag events, filtered here: asking the store per
    // environment walks that environment's whole history on a large ledger (its index
    // is by environment and id, and flag events are rare among deployments).
    let filter = rodeo_domain::EventFilter {
        kind: Some("flag.".into()),
        since: Some(window.from),
        until: Some(window.to),
        limit: rodeo_domain::MAX_PAGE_SIZE,
        ..rodeo_domain::EventFilter::default()
    };
    let flag_events = state.store.list_events(&filter).await?.items;
    for env in flag_envs {
        let mine = flag_events
            .iter()
            .filter(|e| e.environment.as_ref() == Some(&env))
            .take(MAX_CHANGES as usize)
            .cloned();
        for e in mine {
            changes.push(ChangeItem::Flag(FlagChanged {
                kind: "flag",
                production: production.contains(&env),
                at: e.at,
                environment: e.environment,
                key: e.payload["key"].clone(),
                event: e.kind,
                change: e.payload["change"].clone(),
                actor: e.actor,
                event_id: e.id,
                before: e.payload["before"].clone(),
                after: e.payload["after"].clone(),
            }));
        }
    }
    changes.sort_by_key(|c| std::cmp::Reverse(c.at()));
    Ok(WhatChanged {
        incident: i.id,
        window,
        attribution_mode: cfg.attribution,
        attribution: i.attribution,
        causes: i.causes.iter().map(i64::to_string).collect(),
        suggested_cause,
        changes,
    })
}

/// The latest production deployment that reached production among `found` (which are
/// already the affected services' deployments in the window, newest first).
fn suggest(
    found: &[Deployment],
    production: &HashSet<rodeo_domain::EnvironmentName>,
) -> Option<Suggestion> {
    found
        .iter()
        .find(|d| {
            production.contains(&d.environment)
                && matches!(
                    d.status,
                    DeploymentStatus::Succeeded | DeploymentStatus::RolledBack
                )
        })
        .map(|d| Suggestion {
            deployment: d.id,
            reason: format!(
                "the latest production deployment of {} before the incident started ({} to {})",
                d.service, d.version, d.environment
            ),
        })
}

/// With attribution `auto`: every minute, and whenever an incident is opened,
/// incidents nobody attributed within `auto_link_after_hours` of opening get the
/// suggested cause, marked automatic. An incident with no suggestion is left alone (and
/// looked at again later).
pub(crate) async fn auto_attribution(state: AppState) {
    if state.config.incidents.attribution != AttributionMode::Auto {
        return;
    }
    let mut shutdown = state.shutdown.clone();
    let mut events = state.store.subscribe();
    loop {
        if let Err(e) = auto_attribute_once(&state, rodeo_domain::now()).await {
            tracing::warn!(error = %e, "automatic incident attribution failed; will retry");
        }
        let tick = tokio::time::sleep(Duration::from_secs(60));
        tokio::pin!(tick);
        loop {
            tokio::select! {
                () = &mut tick => break,
                _ = shutdown.wait_for(|s| *s) => return,
                e = events.recv() => match e {
                    Ok(e) if e.kind == "incident.opened" => break,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }
}

/// One pass; returns how many incidents were linked.
pub(crate) async fn auto_attribute_once(state: &AppState, now: Timestamp) -> Result<u32, ApiError> {
    let after = chrono::Duration::hours(i64::from(state.config.incidents.auto_link_after_hours));
    // The newest thousand are the ones still waiting; older ones were decided long ago.
    let recent = IncidentFilter {
        limit: 1000,
        ..IncidentFilter::default()
    };
    let mut linked = 0;
    for i in state.store.list_incidents(&recent).await?.items {
        if i.attribution != Attribution::Unset || i.created_at + after > now {
            continue;
        }
        let Some(s) = what_changed(state, &i).await?.suggested_cause else {
            continue;
        };
        let ctx = state.write_context("rodeo", Source::System);
        let cmd = Command::UpdateIncident {
            incident: IncidentRef::Id(i.id),
            change: IncidentChange::SetCauses {
                deployments: vec![s.deployment],
                automatic: true,
            },
        };
        match crate::api::apply(state, ctx, vec![cmd]).await {
            Ok(_) => linked += 1,
            // Deleted or changed meanwhile: the next pass sees the new state.
            Err(ApiError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(linked)
}
