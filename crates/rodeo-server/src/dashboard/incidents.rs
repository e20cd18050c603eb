//! Incidents: a filterable list, and an incident's page with its timeline, roles,
//! "what changed", cause, contributing factors and action items, plus the forms that
//! change its status, add a note and set the cause.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use rodeo_domain::{Cursor, IncidentChange, IncidentKind, IncidentStatus, ServiceName};
use rodeo_store::IncidentFilter;

use super::format::{ago, headline, iso, query_escape, when};
use super::rows::IncidentRow;
use super::{html, see_other, Layout, PageError, Viewer};
use crate::api::incidents::change;
use crate::error::ApiError;
use crate::incidents::{what_changed, ChangeItem};
use crate::state::AppState;

#[derive(askama::Template)]
#[template(path = "incidents.html")]
struct List {
    layout: Layout,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    service: String,
    kind: String,
    incidents: Vec<IncidentRow>,
    next: Option<String>,
}

/// `status`: `unresolved` (default), `all`, or one status; `service`; `kind`.
pub(crate) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let get = |k: &str| q.get(k).map(|s| s.trim()).unwrap_or("").to_owned();
    let (status, service, kind) = (get("status"), get("service"), get("kind"));
    let statuses = match status.as_str() {
        "" | "unresolved" => vec![
            IncidentStatus::Open,
            IncidentStatus::Acknowledged,
            IncidentStatus::Mitigated,
        ],
        "all" => Vec::new(),
        s => vec![IncidentStatus::parse(s)
            .ok_or_else(|| PageError::invalid("status", "must be unresolved, all or a status"))?],
    };
    let service_name = match service.as_str() {
        "" => None,
        s => Some(ServiceName::parse(s).map_err(|e| PageError::Api(ApiError::Invalid(e.into())))?),
    };
    let kind_filter = match kind.as_str() {
        "" => None,
        k => Some(
            IncidentKind::parse(k)
                .ok_or_else(|| PageError::invalid("kind", "must be real or drill"))?,
        ),
    };
    let before_id = match q.get("cursor") {
        Some(c) => Some(
            Cursor::decode(c)
                .map_err(|e| PageError::Api(ApiError::Invalid(e.into())))?
                .before_id,
        ),
        None => None,
    };
    let page = state
        .store
        .list_incidents(&IncidentFilter {
            service: service_name,
            statuses,
            kind: kind_filter,
            before_id,
            limit: 50,
            ..IncidentFilter::default()
        })
        .await?;
    let next = page.next_cursor.map(|c| {
        format!(
            "/incidents?status={}&service={}&kind={}&cursor={c}",
            query_escape(&status),
            query_escape(&service),
            query_escape(&kind)
        )
    });
    let mut statuses = vec![("unresolved", "Unresolved"), ("all", "All")];
    statuses.extend(IncidentStatus::ALL.map(|s| (s.as_str(), s.as_str())));
    html(&List {
        layout: viewer.layout("Incidents", "incidents"),
        statuses,
        status: if status.is_empty() {
            "unresolved".into()
        } else {
            status
        },
        service,
        kind,
        incidents: page
            .items
            .iter()
            .map(|i| IncidentRow::new(i, now))
            .collect(),
        next,
    })
}

struct Entry {
    iso: String,
    when: String,
    author: String,
    kind: String,
    text: String,
}

/// One line of "what changed".
struct Changed {
    /// `deployment`, `rollback` or `flag`.
    kind: &'static str,
    production: bool,
    title: String,
    href: String,
    detail: String,
    ago: String,
    /// A deployment that can be named as the cause.
    deployment: Option<i64>,
    cause: bool,
    suggested: bool,
    commits: Vec<String>,
}

struct Item {
    id: u32,
    text: String,
    owner: String,
    done: bool,
}

#[derive(askama::Template)]
#[template(path = "incident.html")]
struct Page {
    layout: Layout,
    i: IncidentRow,
    kind: &'static str,
    times: Vec<(&'static str, String)>,
    roles: Vec<(String, String)>,
    environments: String,
    timeline: Vec<Entry>,
    changes: Vec<Changed>,
    window: String,
    attribution: String,
    causes: Vec<i64>,
    suggestion: Option<(i64, String)>,
    factors: Vec<String>,
    items: Vec<Item>,
    postmortem: Option<String>,
    next_statuses: Vec<&'static str>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let now = rodeo_domain::now();
    let missing = || PageError::not_found(format!("incident '{id}' not found"));
    let n: i64 = id.parse().map_err(|_| missing())?;
    let i = state.store.get_incident(n).await?.ok_or_else(missing)?;
    let wc = what_changed(&state, &i).await?;
    let suggested = wc.suggested_cause.as_ref().map(|s| s.deployment);
    let changes = wc
        .changes
        .iter()
        .map(|c| match c {
            ChangeItem::Deployment(c) => {
                let d = &c.deployment;
                let at = d.finished_at.unwrap_or(d.started_at);
                Changed {
                    kind: c.kind,
                    production: c.production,
                    title: format!("{} {} → {}", d.service, d.version, d.environment),
                    href: format!("/deployments/{}", d.id),
                    detail: format!(
                        "{} · {} commits · by {}",
                        super::format::status(d.status),
                        d.change_count,
                        d.created_by
                    ),
                    ago: ago(at, now),
                    deployment: Some(d.id),
                    cause: i.causes.contains(&d.id),
                    suggested: suggested == Some(d.id),
                    commits: c
                        .commits
                        .iter()
                        .take(5)
                        .map(|m| format!("{} {}", &m.sha.to_string()[..8], headline(&m.message)))
                        .collect(),
                }
            }
            ChangeItem::Flag(f) => {
                let key = f.key.as_str().unwrap_or_default().to_owned();
                let env = f
                    .environment
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                Changed {
                    kind: "flag",
                    production: f.production,
                    href: format!("/flags/{env}/{}", query_escape(&key)),
                    title: format!("flag {key} in {env}"),
                    detail: format!(
                        "{} ({}) by {}",
                        f.event,
                        f.change.as_str().unwrap_or("change"),
                        f.actor
                    ),
                    ago: ago(f.at, now),
                    deployment: None,
                    cause: false,
                    suggested: false,
                    commits: Vec::new(),
                }
            }
        })
        .collect();
    let mut times = vec![
        ("Started", when(i.started_at)),
        ("Detected", when(i.detected_at)),
    ];
    for (label, t) in [
        ("Acknowledged", i.acknowledged_at),
        ("Mitigated", i.mitigated_at),
        ("Resolved", i.resolved_at),
        ("Closed", i.closed_at),
    ] {
        if let Some(t) = t {
            times.push((label, when(t)));
        }
    }
    html(&Page {
        layout: viewer.layout(format!("Incident {}: {}", i.id, i.title), "incidents"),
        kind: i.kind.as_str(),
        times,
        roles: i
            .roles
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        environments: i
            .environments
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        timeline: i
            .timeline
            .iter()
            .map(|e| Entry {
                iso: iso(e.at),
                when: when(e.at),
                author: e.author.clone(),
                kind: e.kind.clone(),
                text: e.text.clone(),
            })
            .collect(),
        changes,
        window: format!("{} to {}", when(wc.window.from), when(wc.window.to)),
        attribution: format!("{:?}", wc.attribution).to_lowercase(),
        causes: i.causes.clone(),
        suggestion: wc
            .suggested_cause
            .as_ref()
            .map(|s| (s.deployment, s.reason.clone())),
        factors: i.contributing_factors.clone(),
        items: i
            .action_items
            .iter()
            .map(|a| Item {
                id: a.id,
                text: a.text.clone(),
                owner: a.owner.clone().unwrap_or_default(),
                done: a.done,
            })
            .collect(),
        postmortem: i.postmortem.clone(),
        next_statuses: next_statuses(i.status),
        i: IncidentRow::new(&i, now),
    })
}

/// The statuses an incident can move to, the usual next one first (so submitting the
/// form without choosing moves it forward, never back).
fn next_statuses(now: IncidentStatus) -> Vec<&'static str> {
    let all = IncidentStatus::ALL;
    let at = all.iter().position(|s| *s == now).unwrap_or(0);
    all.iter()
        .cycle()
        .skip(at + 1)
        .take(all.len() - 1)
        .map(|s| s.as_str())
        .collect()
}

fn field<'a>(form: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    form.get(name).map_or("", |s| s.trim())
}

/// The incident forms: `status` (`status`, optional `note`), `notes` (`text`) and
/// `cause` (ticked `cause` deployments and typed `other` ids; none says "no deployment
/// caused this"), through the same change as the API.
pub(crate) async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    // Checkboxes repeat a name, which a map cannot hold: the pairs, in order.
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form: BTreeMap<String, String> = pairs.iter().cloned().collect();
    let caller = viewer.writer(&headers, &form, &state)?;
    let (c, anchor) = match action.as_str() {
        "status" => (status_change(&form)?, ""),
        "notes" => (note_change(&form)?, "#timeline"),
        "cause" => (cause_change(&pairs, &form)?, "#cause"),
        _ => {
            return Err(PageError::not_found(format!(
                "no incident action '{action}'"
            )))
        }
    };
    let _ = change(&state, &caller, &id, c).await?;
    Ok(see_other(&format!("/incidents/{id}{anchor}")))
}

fn status_change(form: &BTreeMap<String, String>) -> Result<IncidentChange, PageError> {
    let status = IncidentStatus::parse(field(form, "status")).ok_or_else(|| {
        PageError::invalid(
            "status",
            "must be open, acknowledged, mitigated, resolved or closed",
        )
    })?;
    Ok(IncidentChange::Status {
        status,
        at: Some(rodeo_domain::now()),
        note: Some(field(form, "note").to_owned()).filter(|n| !n.is_empty()),
    })
}

fn note_change(form: &BTreeMap<String, String>) -> Result<IncidentChange, PageError> {
    let text = field(form, "text");
    if text.is_empty() {
        return Err(PageError::invalid("text", "must not be empty"));
    }
    Ok(IncidentChange::Note {
        text: text.to_owned(),
        at: Some(rodeo_domain::now()),
    })
}

fn cause_change(
    pairs: &[(String, String)],
    form: &BTreeMap<String, String>,
) -> Result<IncidentChange, PageError> {
    let mut deployments = Vec::new();
    let typed = field(form, "other");
    let picked = pairs
        .iter()
        .filter(|(k, _)| k == "cause")
        .map(|(_, v)| v.as_str());
    for (n, v) in picked
        .chain(typed.split([',', ' ']).filter(|s| !s.is_empty()))
        .enumerate()
    {
        let d = v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| *d > 0)
            .ok_or_else(|| {
                PageError::invalid(
                    &format!("deployments[{n}]"),
                    format!("'{v}' is not a deployment id"),
                )
            })?;
        if !deployments.contains(&d) {
            deployments.push(d);
        }
    }
    Ok(IncidentChange::SetCauses {
        deployments,
        automatic: false,
    })
}
