//! What runs where: the environments matrix, a service's page (timeline, DORA with
//! weekly charts, commits awaiting deployment), a deployment's page, and a comparison
//! of two places.

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use rodeo_domain::{
    Commit, DeploymentKind, DeploymentStatus, DriftState, IncidentKind, ServiceName, Sha, Timestamp,
};
use rodeo_store::{DeploymentFilter, FinishedFilter, IncidentFilter};

use super::format::{self, ago, headline, iso, seconds, when};
use super::overview::{figures, matrix};
use super::plot::{self, Chart, Marker, MarkerKind, Series, Style, Unit};
use super::rows::{tiles, DeployRow, IncidentRow, Tile};
use super::{html, Layout, PageError, Viewer};
use crate::api::status::{both_ways, resolve};
use crate::error::ApiError;
use crate::state::AppState;

struct Cell {
    deployment: Option<CellDeployment>,
    /// "3 commits behind staging", when it lags.
    pending: Option<String>,
    compare: Option<String>,
    unknown: bool,
}

struct CellDeployment {
    id: i64,
    version: String,
    status_class: &'static str,
    who: String,
    ago: String,
    iso: String,
}

struct Row {
    service: String,
    team: String,
    cells: Vec<Cell>,
}

#[derive(askama::Template)]
#[template(path = "environments.html")]
struct Environments {
    layout: Layout,
    environments: Vec<(String, bool)>,
    teams: Vec<String>,
    team: String,
    rows: Vec<Row>,
}

pub(crate) async fn environments(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let team = q.get("team").cloned().unwrap_or_default();
    let (m, teams) = tokio::try_join!(matrix(&state), async {
        Ok::<_, PageError>(state.store.list_teams().await?)
    })?;
    let rows = m
        .services
        .iter()
        .filter(|r| team.is_empty() || r.team.as_ref().is_some_and(|t| t.as_str() == team))
        .map(|r| Row {
            service: r.service.to_string(),
            team: r.team.as_ref().map(ToString::to_string).unwrap_or_default(),
            cells: r
                .environments
                .iter()
                .map(|c| {
                    let drift = c.drift.as_ref();
                    let lag = drift.filter(|d| d.state == DriftState::UndeployedChanges);
                    Cell {
                        deployment: c.deployment.as_ref().map(|d| CellDeployment {
                            id: d.id,
                            version: d.version.clone(),
                            status_class: super::rows::status_class(d.status),
                            who: d.created_by.clone(),
                            ago: d.finished_at.map(|t| ago(t, now)).unwrap_or_default(),
                            iso: d.finished_at.map(iso).unwrap_or_default(),
                        }),
                        pending: lag.map(|d| {
                            let n = d.undeployed_commits.map_or("some".into(), |n| {
                                if d.complete {
                                    n.to_string()
                                } else {
                                    format!("{n}+")
                                }
                            });
                            format!("{n} behind {}", d.compared_to)
                        }),
                        compare: lag.map(|d| {
                            format!(
                                "/compare?service={}&from={}&to={}",
                                r.service, d.compared_to, c.environment
                            )
                        }),
                        unknown: drift.is_some_and(|d| d.state == DriftState::Unknown)
                            && c.deployment.is_some(),
                    }
                })
                .collect(),
        })
        .collect();
    html(&Environments {
        layout: viewer.layout("Environments", "environments"),
        environments: m
            .environments
            .iter()
            .map(|e| (e.name.to_string(), e.production))
            .collect(),
        teams: teams.iter().map(|t| t.name.to_string()).collect(),
        team,
        rows,
    })
}

/// Commits one environment runs and the next does not.
struct Awaiting {
    environment: String,
    compared_to: String,
    commits: Vec<CommitRow>,
    complete: bool,
}

struct CommitRow {
    sha: String,
    short: String,
    headline: String,
    author: String,
    ago: String,
    iso: String,
    /// From commit to this deployment, on a deployment's page.
    lead_time: Option<String>,
}

impl CommitRow {
    fn new(c: &Commit, now: Timestamp, deployed: Option<Timestamp>) -> Self {
        let sha = c.sha.to_string();
        Self {
            short: sha.chars().take(8).collect(),
            sha,
            headline: headline(&c.message).to_owned(),
            author: c.author.clone(),
            ago: ago(c.committed_at, now),
            iso: iso(c.committed_at),
            lead_time: deployed.map(|d| seconds((d - c.committed_at).num_seconds() as f64)),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "service.html")]
struct ServicePage {
    layout: Layout,
    name: String,
    team: String,
    weeks: u32,
    window_days: i64,
    tiles: Vec<Tile>,
    charts: Vec<String>,
    deployments: Vec<DeployRow>,
    awaiting: Vec<Awaiting>,
}

pub(crate) async fn service(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let Ok(svc) = ServiceName::parse(&name) else {
        return Err(PageError::not_found(format!("service '{name}' not found")));
    };
    let service = state
        .store
        .get_service(&svc)
        .await?
        .ok_or_else(|| PageError::not_found(format!("service '{name}' not found")))?;
    let weeks = match q.get("weeks").map(|w| w.parse::<u32>()) {
        None => 12,
        Some(Ok(w)) if (4..=52).contains(&w) => w,
        Some(_) => return Err(PageError::invalid("weeks", "must be a number from 4 to 52")),
    };
    let since = now - chrono::Duration::weeks(i64::from(weeks));
    let (fig, deployments, marks, incidents, envs, m) = tokio::try_join!(
        figures(
            &state,
            format!("service:{svc}:{weeks}"),
            Some(vec![svc.clone()]),
            weeks
        ),
        async {
            let f = DeploymentFilter {
                service: Some(svc.clone()),
                limit: 30,
                ..DeploymentFilter::default()
            };
            Ok::<_, PageError>(state.store.list_deployments(&f).await?.items)
        },
        async {
            let f = FinishedFilter {
                services: vec![svc.clone()],
                from: since,
                to: now,
                limit: 2000,
            };
            Ok::<_, PageError>(state.store.deployments_finished(&f).await?)
        },
        async {
            let f = IncidentFilter {
                service: Some(svc.clone()),
                since: Some(since),
                limit: 500,
                ..IncidentFilter::default()
            };
            Ok::<_, PageError>(state.store.list_incidents(&f).await?.items)
        },
        async { Ok::<_, PageError>(state.store.list_environments().await?) },
        matrix(&state),
    )?;
    let production: HashSet<_> = envs
        .iter()
        .filter(|e| e.production)
        .map(|e| &e.name)
        .collect();
    let mut markers: Vec<Marker> = marks
        .iter()
        .filter(|d| production.contains(&d.environment))
        .filter_map(|d| {
            let kind = match (d.kind, d.status) {
                (DeploymentKind::Rollback, _) => MarkerKind::Rollback,
                (_, DeploymentStatus::Failed | DeploymentStatus::RolledBack) => {
                    MarkerKind::FailedDeployment
                }
                _ => MarkerKind::Deployment,
            };
            Some(Marker {
                at: d.finished_at?,
                kind,
                label: format!(
                    "{} to {} ({}), {}",
                    d.version,
                    d.environment,
                    format::status(d.status),
                    when(d.finished_at?)
                ),
                href: Some(format!("/deployments/{}", d.id)),
            })
        })
        .collect();
    markers.extend(
        incidents
            .iter()
            .filter(|i| i.kind == IncidentKind::Real)
            .map(|i| Marker {
                at: i.started_at,
                kind: MarkerKind::Incident,
                label: format!("{} {}: {}", i.severity.as_str(), i.status.as_str(), i.title),
                href: Some(format!("/incidents/{}", i.id)),
            }),
    );
    let charts = weekly_charts(&fig.weeks, &markers);

    let mut awaiting = Vec::new();
    if let Some(row) = m.services.iter().find(|r| r.service == svc) {
        for (prev, cell) in row.environments.iter().zip(row.environments.iter().skip(1)) {
            let lag = cell
                .drift
                .as_ref()
                .filter(|d| d.state == DriftState::UndeployedChanges);
            let (Some(d), Some(ahead), behind) =
                (lag, prev.deployment.as_ref(), cell.deployment.as_ref())
            else {
                continue;
            };
            let exclude: Option<&Sha> = behind.map(|b| &b.commit_sha);
            let changes = state
                .store
                .changes_between(&ahead.commit_sha, exclude, None, 50)
                .await?;
            awaiting.push(Awaiting {
                environment: cell.environment.to_string(),
                compared_to: d.compared_to.to_string(),
                complete: changes.complete && changes.commits.len() < 50,
                commits: changes
                    .commits
                    .iter()
                    .map(|c| CommitRow::new(c, now, None))
                    .collect(),
            });
        }
    }
    html(&ServicePage {
        layout: viewer.layout(svc.to_string(), "environments"),
        name: svc.to_string(),
        team: service.team.map(|t| t.to_string()).unwrap_or_default(),
        weeks,
        window_days: fig.window.length().num_days(),
        tiles: tiles(&fig),
        charts,
        deployments: deployments.iter().map(|d| DeployRow::new(d, now)).collect(),
        awaiting,
    })
}

/// Deployments per week, lead time median and p90, change failure rate, recovery time.
fn weekly_charts(
    weeks: &[(rodeo_metrics::Window, rodeo_metrics::Dora)],
    markers: &[Marker],
) -> Vec<String> {
    let buckets: Vec<(Timestamp, Timestamp)> = weeks.iter().map(|(w, _)| (w.from, w.to)).collect();
    let pick = |f: &dyn Fn(&rodeo_metrics::Dora) -> Option<f64>| -> Vec<Option<f64>> {
        weeks.iter().map(|(_, d)| f(d)).collect()
    };
    let secs = |s: Option<i64>| s.map(|s| s as f64);
    let chart = |title: &str, unit: Unit, series: Vec<Series>| {
        plot::render(&Chart {
            title: title.to_owned(),
            unit,
            buckets: buckets.clone(),
            series,
            markers: markers.to_vec(),
        })
    };
    vec![
        chart(
            "Production deployments per week",
            Unit::Count,
            vec![Series {
                label: "deployments".into(),
                style: Style::Bars,
                values: pick(&|d| Some(f64::from(d.deployment_frequency.count))),
            }],
        ),
        chart(
            "Lead time for changes",
            Unit::Seconds,
            vec![
                Series {
                    label: "median".into(),
                    style: Style::Line,
                    values: pick(&|d| secs(d.lead_time.median_seconds)),
                },
                Series {
                    label: "p90".into(),
                    style: Style::DashedLine,
                    values: pick(&|d| secs(d.lead_time.p90_seconds)),
                },
            ],
        ),
        chart(
            "Change failure rate",
            Unit::Ratio,
            vec![Series {
                label: "failed deployments".into(),
                style: Style::Bars,
                values: pick(&|d| d.change_failure_rate.ratio),
            }],
        ),
        chart(
            "Failed deployment recovery time",
            Unit::Seconds,
            vec![Series {
                label: "median".into(),
                style: Style::Line,
                values: pick(&|d| secs(d.recovery_time.median_seconds)),
            }],
        ),
    ]
}

#[derive(askama::Template)]
#[template(path = "deployment.html")]
struct DeploymentPage {
    layout: Layout,
    d: DeployRow,
    sha: String,
    started: String,
    finished: String,
    source: &'static str,
    url: Option<String>,
    external_id: Option<String>,
    rollback_of: Option<i64>,
    previous: Option<DeployRow>,
    compare: Option<String>,
    commits: Vec<CommitRow>,
    complete: bool,
    incidents: Vec<IncidentRow>,
}

pub(crate) async fn deployment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let missing = || PageError::not_found(format!("deployment '{id}' not found"));
    let n: i64 = id.parse().map_err(|_| missing())?;
    let detail = state.store.get_deployment(n).await?.ok_or_else(missing)?;
    let d = &detail.deployment;
    let previous = match d.previous_id {
        Some(p) => state.store.get_deployment(p).await?,
        None => None,
    };
    let incidents = state
        .store
        .list_incidents(&IncidentFilter {
            service: Some(d.service.clone()),
            since: Some(d.started_at),
            limit: 500,
            ..IncidentFilter::default()
        })
        .await?
        .items;
    let compare = previous.as_ref().map(|p| {
        format!(
            "/compare?service={}&from_sha={}&to_sha={}",
            d.service, d.commit_sha, p.deployment.commit_sha
        )
    });
    html(&DeploymentPage {
        layout: viewer.layout(format!("{} {}", d.service, d.version), "environments"),
        d: DeployRow::new(d, now),
        sha: d.commit_sha.to_string(),
        started: when(d.started_at),
        finished: d.finished_at.map(when).unwrap_or_else(|| "not yet".into()),
        source: d.source.as_str(),
        url: format::web_url(d.url.as_deref()),
        external_id: d.external_id.clone(),
        rollback_of: d.rollback_of,
        previous: previous
            .as_ref()
            .map(|p| DeployRow::new(&p.deployment, now)),
        compare,
        complete: d.changes_complete,
        commits: detail
            .changes
            .iter()
            .map(|c| CommitRow::new(c, now, d.finished_at))
            .collect(),
        incidents: incidents
            .iter()
            .filter(|i| i.causes.contains(&n))
            .map(|i| IncidentRow::new(i, now))
            .collect(),
    })
}

#[derive(askama::Template)]
#[template(path = "compare.html")]
struct ComparePage {
    layout: Layout,
    service: String,
    from: String,
    to: String,
    ahead: Vec<CommitRow>,
    ahead_complete: bool,
    behind: Vec<CommitRow>,
    behind_complete: bool,
}

/// Commits in one place (environment, version or sha) and not in the other.
pub(crate) async fn compare(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let service = q.get("service").map_or("", String::as_str);
    let svc =
        ServiceName::parse(service).map_err(|e| PageError::Api(ApiError::Invalid(e.into())))?;
    let side = |s: &str| {
        (
            q.get(s).cloned(),
            q.get(&format!("{s}_version")).cloned(),
            q.get(&format!("{s}_sha")).cloned(),
        )
    };
    let (fe, fv, fs) = side("from");
    let (te, tv, ts) = side("to");
    let from = resolve(&state, &svc, "from", fe, fv, fs).await?;
    let to = resolve(&state, &svc, "to", te, tv, ts).await?;
    let limit = 500;
    let (ahead, behind) = both_ways(&state, &from.sha, &to.sha, limit).await?;
    let name = |e: &crate::api::status::End| match &e.version {
        Some(v) if e.by != "version" => format!("{} ({v})", e.value),
        _ => e.value.clone(),
    };
    html(&ComparePage {
        layout: viewer.layout(format!("Compare {svc}"), "environments"),
        service: svc.to_string(),
        from: name(&from),
        to: name(&to),
        ahead_complete: ahead.complete,
        ahead: ahead
            .commits
            .iter()
            .map(|c| CommitRow::new(c, now, None))
            .collect(),
        behind_complete: behind.complete,
        behind: behind
            .commits
            .iter()
            .map(|c| CommitRow::new(c, now, None))
            .collect(),
    })
}
