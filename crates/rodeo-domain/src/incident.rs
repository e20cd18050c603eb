//! Incidents: when production hurt, what was done, and which changes caused it.
//!
//! An incident is one record that changes in small steps ([`IncidentChange`]); every
//! step is checked here, against the incident as it is, so both stores accept and
//! refuse exactly the same things, and every step yields the ledger event that records
//! it ([`Incident::apply`]).

use std::collections::BTreeMap;

use crate::{EnvironmentName, FieldError, ServiceName, Source, Timestamp};

pub const MAX_TITLE_LEN: usize = 500;
pub const MAX_TEXT_LEN: usize = 20_000;
pub const MAX_POSTMORTEM_LEN: usize = 200_000;
/// Timeline entries, action items, factors, causes, services and keys per incident.
pub const MAX_LIST_LEN: usize = 1000;

/// How bad it is: `sev1` (worst) to `sev5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Severity(u8);

impl Severity {
    pub const WORST: Self = Self(1);
    pub const LEAST: Self = Self(5);

    pub fn level(self) -> u8 {
        self.0
    }

    pub fn from_level(level: u8) -> Option<Self> {
        (1..=5).contains(&level).then_some(Self(level))
    }

    /// `sev1`..`sev5` (any case); configured aliases are resolved before this.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        s.strip_prefix("sev")
            .or_else(|| s.strip_prefix("SEV"))
            .and_then(|n| n.parse::<u8>().ok())
            .and_then(Self::from_level)
            .ok_or_else(|| FieldError::new(field, "must be one of sev1, sev2, sev3, sev4, sev5"))
    }

    pub fn as_str(self) -> &'static str {
        ["sev1", "sev2", "sev3", "sev4", "sev5"][usize::from(self.0 - 1)]
    }
}

impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse("severity", &s).map_err(serde::de::Error::custom)
    }
}

/// Where an incident is in its life. The order is the usual one; a step may skip states
/// (resolved without a separate mitigation) and may go back (reopened).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Mitigated,
    Resolved,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [Self; 5] = [
        Self::Open,
        Self::Acknowledged,
        Self::Mitigated,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Mitigated => "mitigated",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Impact may still be going on: open or acknowledged (not yet mitigated).
    pub fn is_active(self) -> bool {
        self <= Self::Acknowledged
    }

    /// Not resolved yet: alerts still attach to it.
    pub fn is_unresolved(self) -> bool {
        self <= Self::Mitigated
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Real,
    /// A game-day exercise: recorded like any incident, excluded from every metric.
    Drill,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Real => "real",
            Self::Drill => "drill",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "real" => Some(Self::Real),
            "drill" => Some(Self::Drill),
            _ => None,
        }
    }
}

/// Who set the causing deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// Nobody has said yet.
    Unset,
    /// A person named the causes (possibly none: "no deployment caused this").
    Confirmed,
    /// rodeo linked its suggestion after nobody set one in time (attribution `auto`).
    Automatic,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub author: String,
    /// `note`, `status`, `alert`, `cause`, `edit`, `action_item`.
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActionItem {
    /// 1, 2, ... in the order they were added.
    pub id: u32,
    pub text: String,
    pub owner: Option<String>,
    pub done: bool,
}

/// An incident as stored and served.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    #[serde(with = "crate::deployment::id_string")]
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub kind: IncidentKind,
    pub services: Vec<ServiceName>,
    pub environments: Vec<EnvironmentName>,
    /// Impact began (may be set after the fact, before `detected_at`).
    pub started_at: Timestamp,
    pub detected_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub mitigated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Role name (`commander`, `comms`, anything else) -> who holds it.
    pub roles: BTreeMap<String, String>,
    pub timeline: Vec<TimelineEntry>,
    /// Deployment ids named as causes.
    #[serde(with = "crate::deployment::id_strings")]
    pub causes: Vec<i64>,
    pub attribution: Attribution,
    pub contributing_factors: Vec<String>,
    pub action_items: Vec<ActionItem>,
    /// Markdown.
    pub postmortem: Option<String>,
    /// Ids in other systems (`pagerduty:Q1W2E3`, `alertmanager:{}:{alertname="x"}`) that
    /// later webhooks find the incident by.
    pub keys: Vec<String>,
    /// Alert groups (keys) currently firing; when the last one resolves, the incident
    /// is mitigated.
    pub firing: Vec<String>,
    pub created_by: String,
    pub source: Source,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A validated request to open an incident.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewIncident {
    pub title: String,
    pub severity: Severity,
    pub kind: IncidentKind,
    pub services: Vec<ServiceName>,
    pub environments: Vec<EnvironmentName>,
    /// Defaults to `detected_at`.
    pub started_at: Option<Timestamp>,
    /// Defaults to the time of the write.
    pub detected_at: Option<Timestamp>,
    pub roles: BTreeMap<String, String>,
    /// A first timeline note.
    pub summary: Option<String>,
    pub key: Option<String>,
    /// Whether `key` names a firing alert group.
    pub firing: bool,
}

/// Which incident a change is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentRef {
    Id(i64),
    /// The newest unresolved incident with this key, else the newest with it.
    Key(String),
}

/// Editable fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncidentEdit {
    pub title: Option<String>,
    pub severity: Option<Severity>,
    pub kind: Option<IncidentKind>,
    pub services: Option<Vec<ServiceName>>,
    pub environments: Option<Vec<EnvironmentName>>,
    pub started_at: Option<Timestamp>,
    pub detected_at: Option<Timestamp>,
    /// Roles to set; an empty name removes the role.
    pub roles: Option<BTreeMap<String, String>>,
    pub contributing_factors: Option<Vec<String>>,
    /// `Some("")` clears it.
    pub postmortem: Option<String>,
}

impl IncidentEdit {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One step in an incident's life.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum IncidentChange {
    /// Move to `status` at `at` (default: the time of the write), with an optional note.
    Status {
        status: IncidentStatus,
        at: Option<Timestamp>,
        note: Option<String>,
    },
    /// Move forward to `status` unless the incident is there or past it already: what an
    /// outside system's notifications mean ("acknowledged" arriving twice, or after a
    /// person resolved the incident in rodeo).
    Advance {
        status: IncidentStatus,
        at: Option<Timestamp>,
    },
    Note {
        text: String,
        at: Option<Timestamp>,
    },
    Edit(IncidentEdit),
    /// Name the causing deployments (replacing any named before). The store checks that
    /// they exist. An empty list with `automatic: false` says "no deployment caused it".
    SetCauses {
        deployments: Vec<i64>,
        automatic: bool,
    },
    AddActionItem {
        text: String,
        owner: Option<String>,
    },
    UpdateActionItem {
        id: u32,
        text: Option<String>,
        owner: Option<Option<String>>,
        done: Option<bool>,
    },
    /// An alert group (or an outside incident) attached: its key is remembered and,
    /// when `firing`, it counts as firing until it resolves; with a timeline entry.
    AlertFiring {
        key: String,
        text: String,
        firing: bool,
    },
    /// An alert group resolved; the last firing group to resolve mitigates the incident.
    AlertResolved {
        key: String,
        text: String,
        at: Option<Timestamp>,
    },
}

/// An event an incident change implies: kind and payload (subject and service are the
/// incident's).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEvent {
    pub kind: &'static str,
    pub at: Option<Timestamp>,
    pub payload: serde_json::Value,
}

impl Incident {
    /// The incident `n` opens, before the store gives it an id.
    pub fn open(
        n: NewIncident,
        actor: &str,
        source: Source,
        at: Timestamp,
    ) -> Result<(Self, IncidentEvent), FieldError> {
        check_text("title", &n.title, MAX_TITLE_LEN)?;
        check_list("services", n.services.len())?;
        check_list("environments", n.environments.len())?;
        let detected_at = n.detected_at.unwrap_or(at);
        let started_at = n.started_at.unwrap_or(detected_at);
        let mut timeline = Vec::new();
        if let Some(s) = n.summary.filter(|s| !s.trim().is_empty()) {
            check_text("summary", &s, MAX_TEXT_LEN)?;
            timeline.push(TimelineEntry {
                at: detected_at,
                author: actor.to_owned(),
                kind: "note".into(),
                text: s,
            });
        }
        let roles = clean_roles(n.roles)?;
        let keys: Vec<String> = n.key.into_iter().collect();
        let firing = if n.firing { keys.clone() } else { Vec::new() };
        let i = Self {
            id: 0,
            title: n.title.trim().to_owned(),
            severity: n.severity,
            status: IncidentStatus::Open,
            kind: n.kind,
            services: dedup(n.services),
            environments: dedup(n.environments),
            started_at,
            detected_at,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            roles,
            timeline,
            causes: Vec::new(),
            attribution: Attribution::Unset,
            contributing_factors: Vec::new(),
            action_items: Vec::new(),
            postmortem: None,
            keys,
            firing,
            created_by: actor.to_owned(),
            source,
            created_at: at,
            updated_at: at,
        };
        i.check_times()?;
        let event = IncidentEvent {
            kind: "incident.opened",
            at: Some(detected_at),
            payload: serde_json::json!({
                "title": i.title,
                "severity": i.severity,
                "kind": i.kind,
                "services": i.services,
                "environments": i.environments,
                "started_at": crate::format_timestamp(i.started_at),
                "detected_at": crate::format_timestamp(i.detected_at),
            }),
        };
        Ok((i, event))
    }

    /// Applies one change made by `actor` at `at`, or explains why it cannot be made
    /// (and leaves `self` unchanged). An update that changes nothing yields no event.
    pub fn apply(
        &mut self,
        change: IncidentChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<IncidentEvent>, FieldError> {
        let mut next = self.clone();
        let event = next.step(change, actor, at)?;
        next.check_times()?;
        check_list("timeline", next.timeline.len())?;
        check_list("keys", next.keys.len())?;
        if event.is_some() {
            next.updated_at = at;
            *self = next;
        }
        Ok(event)
    }

    fn step(
        &mut self,
        change: IncidentChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<IncidentEvent>, FieldError> {
        let entry = |kind: &str, text: String, when: Timestamp| TimelineEntry {
            at: when,
            author: actor.to_owned(),
            kind: kind.to_owned(),
            text,
        };
        match change {
            IncidentChange::Status {
                status,
                at: when,
                note,
            } => {
                let when = when.unwrap_or(at);
                if let Some(n) = &note {
                    check_text("note", n, MAX_TEXT_LEN)?;
                }
                let from = self.status;
                if status == from {
                    return Err(FieldError::new(
                        "status",
                        format!("the incident is already {}", from.as_str()),
                    ));
                }
                self.move_to(status, when);
                let text = match &note {
                    Some(n) => format!("{} → {}: {n}", from.as_str(), status.as_str()),
                    None => format!("{} → {}", from.as_str(), status.as_str()),
                };
                self.timeline.push(entry("status", text, when));
                let kind = if status < from {
                    "incident.reopened"
                } else {
                    match status {
                        IncidentStatus::Open => "incident.reopened",
                        IncidentStatus::Acknowledged => "incident.acknowledged",
                        IncidentStatus::Mitigated => "incident.mitigated",
                        IncidentStatus::Resolved => "incident.resolved",
                        IncidentStatus::Closed => "incident.closed",
                    }
                };
                Ok(Some(IncidentEvent {
                    kind,
                    at: Some(when),
                    payload: serde_json::json!({
                        "from": from, "to": status, "note": note,
                    }),
                }))
            }
            IncidentChange::Advance { status, at: when } => {
                if status <= self.status {
                    return Ok(None);
                }
                // A notification may be stamped before the start a person set later.
                let when = when.unwrap_or(at).max(self.started_at);
                self.step(
                    IncidentChange::Status {
                        status,
                        at: Some(when),
                        note: None,
                    },
                    actor,
                    at,
                )
            }
            IncidentChange::Note { text, at: when } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                let when = when.unwrap_or(at);
                self.timeline.push(entry("note", text.clone(), when));
                Ok(Some(IncidentEvent {
                    kind: "incident.noted",
                    at: Some(when),
                    payload: serde_json::json!({ "text": text }),
                }))
            }
            IncidentChange::Edit(edit) => self.edit(edit, actor, at),
            IncidentChange::SetCauses {
                deployments,
                automatic,
            } => {
                check_list("deployments", deployments.len())?;
                let deployments = dedup(deployments);
                let attribution = if automatic {
                    Attribution::Automatic
                } else {
                    Attribution::Confirmed
                };
                if deployments == self.causes && attribution == self.attribution {
                    return Ok(None);
                }
                let before = std::mem::replace(&mut self.causes, deployments.clone());
                self.attribution = attribution;
                let text = if deployments.is_empty() {
                    "no deployment caused this".to_owned()
                } else {
                    let ids: Vec<String> = deployments.iter().map(i64::to_string).collect();
                    let by = if automatic { " (automatic)" } else { "" };
                    format!("caused by deployment {}{by}", ids.join(", "))
                };
                self.timeline.push(entry("cause", text, at));
                Ok(Some(IncidentEvent {
                    kind: "incident.cause_set",
                    at: None,
                    payload: serde_json::json!({
                        "deployments": ids_json(&deployments),
                        "before": ids_json(&before),
                        "attribution": attribution,
                    }),
                }))
            }
            IncidentChange::AddActionItem { text, owner } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                check_list("action_items", self.action_items.len() + 1)?;
                let id = self.action_items.iter().map(|a| a.id).max().unwrap_or(0) + 1;
                self.action_items.push(ActionItem {
                    id,
                    text: text.clone(),
                    owner: owner.clone(),
                    done: false,
                });
                Ok(Some(IncidentEvent {
                    kind: "incident.action_item_added",
                    at: None,
                    payload: serde_json::json!({ "id": id, "text": text, "owner": owner }),
                }))
            }
            IncidentChange::UpdateActionItem {
                id,
                text,
                owner,
                done,
            } => {
                let item = self
                    .action_items
                    .iter_mut()
                    .find(|a| a.id == id)
                    .ok_or_else(|| {
                        FieldError::new("id", format!("the incident has no action item {id}"))
                    })?;
                let before = item.clone();
                if let Some(t) = text {
                    check_text("text", &t, MAX_TEXT_LEN)?;
                    item.text = t;
                }
                if let Some(o) = owner {
                    item.owner = o;
                }
                if let Some(d) = done {
                    item.done = d;
                }
                if *item == before {
                    return Ok(None);
                }
                let after = item.clone();
                Ok(Some(IncidentEvent {
                    kind: "incident.action_item_updated",
                    at: None,
                    payload: serde_json::json!({ "before": before, "after": after }),
                }))
            }
            IncidentChange::AlertFiring { key, text, firing } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                let known = if firing {
                    self.firing.contains(&key)
                } else {
                    self.keys.contains(&key)
                };
                if known {
                    return Ok(None); // a repeated notification
                }
                if !self.keys.contains(&key) {
                    self.keys.push(key.clone());
                }
                if firing {
                    self.firing.push(key.clone());
                }
                self.timeline.push(entry("alert", text.clone(), at));
                Ok(Some(IncidentEvent {
                    kind: "incident.alert_firing",
                    at: None,
                    payload: serde_json::json!({ "key": key, "text": text }),
                }))
            }
            IncidentChange::AlertResolved {
                key,
                text,
                at: when,
            } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                let when = when.unwrap_or(at).max(self.started_at);
                let was_firing = self.firing.len();
                self.firing.retain(|k| *k != key);
                if self.firing.len() == was_firing {
                    return Ok(None); // already resolved: a repeated notification
                }
                self.timeline.push(entry("alert", text.clone(), when));
                let mitigates = self.firing.is_empty() && self.status.is_active();
                if mitigates {
                    self.move_to(IncidentStatus::Mitigated, when);
                }
                Ok(Some(IncidentEvent {
                    kind: if mitigates {
                        "incident.mitigated"
                    } else {
                        "incident.alert_resolved"
                    },
                    at: Some(when),
                    payload: serde_json::json!({ "key": key, "text": text }),
                }))
            }
        }
    }

    fn edit(
        &mut self,
        e: IncidentEdit,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<IncidentEvent>, FieldError> {
        let before = self.clone();
        if let Some(t) = e.title {
            check_text("title", &t, MAX_TITLE_LEN)?;
            self.title = t.trim().to_owned();
        }
        if let Some(s) = e.severity {
            self.severity = s;
        }
        if let Some(k) = e.kind {
            self.kind = k;
        }
        if let Some(s) = e.services {
            check_list("services", s.len())?;
            self.services = dedup(s);
        }
        if let Some(s) = e.environments {
            check_list("environments", s.len())?;
            self.environments = dedup(s);
        }
        if let Some(t) = e.started_at {
            self.started_at = t;
        }
        if let Some(t) = e.detected_at {
            self.detected_at = t;
        }
        if let Some(r) = e.roles {
            for (role, who) in clean_roles_allow_empty(r)? {
                if who.is_empty() {
                    self.roles.remove(&role);
                } else {
                    self.roles.insert(role, who);
                }
            }
        }
        if let Some(f) = e.contributing_factors {
            check_list("contributing_factors", f.len())?;
            for (n, x) in f.iter().enumerate() {
                check_text(&format!("contributing_factors[{n}]"), x, MAX_TEXT_LEN)?;
            }
            self.contributing_factors = f;
        }
        if let Some(p) = e.postmortem {
            if p.len() > MAX_POSTMORTEM_LEN {
                return Err(FieldError::new(
                    "postmortem",
                    format!("must be at most {MAX_POSTMORTEM_LEN} bytes"),
                ));
            }
            self.postmortem = (!p.trim().is_empty()).then_some(p);
        }
        let changed = changed_fields(&before, self);
        if changed.is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = changed.iter().map(|(k, _, _)| *k).collect();
        self.timeline.push(TimelineEntry {
            at,
            author: actor.to_owned(),
            kind: "edit".into(),
            text: format!("changed {}", names.join(", ")),
        });
        let mut b = serde_json::Map::new();
        let mut a = serde_json::Map::new();
        for (k, old, new) in changed {
            b.insert(k.to_owned(), old);
            a.insert(k.to_owned(), new);
        }
        Ok(Some(IncidentEvent {
            kind: "incident.updated",
            at: None,
            payload: serde_json::json!({ "before": b, "after": a }),
        }))
    }

    /// Sets the status and its timestamp; going back clears the timestamps of the
    /// states after the new one (the ledger keeps the old ones).
    fn move_to(&mut self, status: IncidentStatus, when: Timestamp) {
        use IncidentStatus as S;
        if status < self.status {
            for later in S::ALL.into_iter().filter(|s| *s > status) {
                *self.stamp(later) = None;
            }
        }
        if status != S::Open {
            *self.stamp(status) = Some(when);
        }
        self.status = status;
    }

    fn stamp(&mut self, s: IncidentStatus) -> &mut Option<Timestamp> {
        match s {
            IncidentStatus::Acknowledged => &mut self.acknowledged_at,
            IncidentStatus::Mitigated => &mut self.mitigated_at,
            IncidentStatus::Resolved => &mut self.resolved_at,
            IncidentStatus::Closed | IncidentStatus::Open => &mut self.closed_at,
        }
    }

    /// Impact starts before it is detected; every later step comes after the start, and
    /// resolution and closing come after mitigation and resolution.
    fn check_times(&self) -> Result<(), FieldError> {
        let after = |field: &str, t: Option<Timestamp>, floor: Timestamp, what: &str| match t {
            Some(t) if t < floor => {
                Err(FieldError::new(field, format!("must not be before {what}")))
            }
            _ => Ok(()),
        };
        after(
            "started_at",
            Some(self.detected_at),
            self.started_at,
            "started_at",
        )
        .map_err(|_| FieldError::new("started_at", "must not be after detected_at"))?;
        after(
            "acknowledged_at",
            self.acknowledged_at,
            self.started_at,
            "started_at",
        )?;
        after(
            "mitigated_at",
            self.mitigated_at,
            self.started_at,
            "started_at",
        )?;
        after(
            "resolved_at",
            self.resolved_at,
            self.started_at,
            "started_at",
        )?;
        if let Some(m) = self.mitigated_at {
            after("resolved_at", self.resolved_at, m, "mitigated_at")?;
        }
        if let Some(r) = self.resolved_at {
            after("closed_at", self.closed_at, r, "resolved_at")?;
        }
        Ok(())
    }

    /// The primary service: the first affected one (ledger events are filed under it).
    pub fn primary_service(&self) -> Option<&ServiceName> {
        self.services.first()
    }
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), FieldError> {
    if s.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if s.len() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} bytes"),
        ));
    }
    Ok(())
}

fn check_list(field: &str, n: usize) -> Result<(), FieldError> {
    if n > MAX_LIST_LEN {
        return Err(FieldError::new(
            field,
            format!("must have at most {MAX_LIST_LEN} entries"),
        ));
    }
    Ok(())
}

fn clean_roles(r: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, FieldError> {
    let r = clean_roles_allow_empty(r)?;
    Ok(r.into_iter().filter(|(_, who)| !who.is_empty()).collect())
}

fn clean_roles_allow_empty(
    r: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, FieldError> {
    check_list("roles", r.len())?;
    r.into_iter()
        .map(|(role, who)| {
            let role = role.trim().to_owned();
            if role.is_empty() || role.len() > 100 {
                return Err(FieldError::new("roles", "role names are 1 to 100 bytes"));
            }
            if who.len() > 200 {
                return Err(FieldError::new(
                    format!("roles.{role}"),
                    "must be at most 200 bytes",
                ));
            }
            Ok((role, who.trim().to_owned()))
        })
        .collect()
}

fn dedup<T: Ord + Clone>(v: Vec<T>) -> Vec<T> {
    let mut seen = std::collections::BTreeSet::new();
    v.into_iter().filter(|x| seen.insert(x.clone())).collect()
}

fn ids_json(ids: &[i64]) -> Vec<String> {
    ids.iter().map(i64::to_string).collect()
}

/// The editable fields that differ, as (name, before, after).
fn changed_fields(
    a: &Incident,
    b: &Incident,
) -> Vec<(&'static str, serde_json::Value, serde_json::Value)> {
    let (ja, jb) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    [
        "title",
        "severity",
        "kind",
        "services",
        "environments",
        "started_at",
        "detected_at",
        "roles",
        "contributing_factors",
        "postmortem",
    ]
    .into_iter()
    .filter(|k| ja[k] != jb[k])
    .map(|k| (k, ja[k].clone(), jb[k].clone()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_timestamp;

    fn t(s: &str) -> Timestamp {
        parse_timestamp("t", s).unwrap()
    }

    fn opened() -> Incident {
        let n = NewIncident {
            title: "checkout errors".into(),
            severity: Severity::parse("severity", "sev2").unwrap(),
            kind: IncidentKind::Real,
            services: vec![ServiceName::parse("api").unwrap()],
            environments: vec![],
            started_at: Some(t("2026-01-01T10:00:00Z")),
            detected_at: Some(t("2026-01-01T10:05:00Z")),
            roles: BTreeMap::from([("commander".into(), "ana".into())]),
            summary: Some("500s on /checkout".into()),
            key: Some("alertmanager:g1".into()),
            firing: true,
        };
        let (mut i, e) = Incident::open(n, "ana", Source::Api, t("2026-01-01T10:06:00Z")).unwrap();
        assert_eq!(e.kind, "incident.opened");
        i.id = 7;
        i
    }

    fn status(s: IncidentStatus, at: &str) -> IncidentChange {
        IncidentChange::Status {
            status: s,
            at: Some(t(at)),
            note: None,
        }
    }

    #[test]
    fn severities_parse_and_print() {
        assert_eq!(Severity::parse("s", "sev3").unwrap().as_str(), "sev3");
        assert_eq!(Severity::parse("s", "SEV1").unwrap().level(), 1);
        for bad in ["sev0", "sev6", "p1", ""] {
            assert_eq!(Severity::parse("s", bad).unwrap_err().field, "s");
        }
    }

    #[test]
    fn a_life_from_open_to_closed_stamps_each_step() {
        let mut i = opened();
        let at = t("2026-01-01T12:00:00Z");
        for (s, when, kind) in [
            (
                IncidentStatus::Acknowledged,
                "2026-01-01T10:07:00Z",
                "incident.acknowledged",
            ),
            (
                IncidentStatus::Mitigated,
                "2026-01-01T10:30:00Z",
                "incident.mitigated",
            ),
            (
                IncidentStatus::Resolved,
                "2026-01-01T11:00:00Z",
                "incident.resolved",
            ),
            (
                IncidentStatus::Closed,
                "2026-01-02T09:00:00Z",
                "incident.closed",
            ),
        ] {
            let e = i.apply(status(s, when), "bo", at).unwrap().unwrap();
            assert_eq!(e.kind, kind);
            assert_eq!(i.status, s);
        }
        assert_eq!(i.acknowledged_at, Some(t("2026-01-01T10:07:00Z")));
        assert_eq!(i.mitigated_at, Some(t("2026-01-01T10:30:00Z")));
        assert_eq!(i.resolved_at, Some(t("2026-01-01T11:00:00Z")));
        assert_eq!(i.closed_at, Some(t("2026-01-02T09:00:00Z")));
        assert_eq!(i.timeline.len(), 5);
        assert_eq!(i.timeline[4].text, "resolved → closed");
    }

    #[test]
    fn resolving_directly_leaves_mitigation_unset_and_reopening_clears_later_stamps() {
        let mut i = opened();
        let at = t("2026-01-01T12:00:00Z");
        i.apply(
            status(IncidentStatus::Resolved, "2026-01-01T11:00:00Z"),
            "bo",
            at,
        )
        .unwrap();
        assert_eq!(i.mitigated_at, None);
        let e = i
            .apply(
                status(IncidentStatus::Open, "2026-01-01T11:30:00Z"),
                "bo",
                at,
            )
            .unwrap()
            .unwrap();
        assert_eq!(e.kind, "incident.reopened");
        assert_eq!((i.status, i.resolved_at), (IncidentStatus::Open, None));
    }

    #[test]
    fn impossible_times_are_refused_and_change_nothing() {
        let mut i = opened();
        let before = i.clone();
        let at = t("2026-01-01T12:00:00Z");
        let e = i
            .apply(
                status(IncidentStatus::Mitigated, "2026-01-01T09:00:00Z"),
                "bo",
                at,
            )
            .unwrap_err();
        assert_eq!(e.field, "mitigated_at");
        let e = i
            .apply(
                IncidentChange::Edit(IncidentEdit {
                    started_at: Some(t("2026-01-01T10:06:00Z")),
                    ..IncidentEdit::default()
                }),
                "bo",
                at,
            )
            .unwrap_err();
        assert_eq!(e.field, "started_at");
        let e = i.apply(
            status(IncidentStatus::Open, "2026-01-01T11:00:00Z"),
            "bo",
            at,
        );
        assert_eq!(e.unwrap_err().field, "status");
        assert_eq!(i, before);
    }

    #[test]
    fn edits_record_before_and_after_of_changed_fields_only() {
        let mut i = opened();
        let at = t("2026-01-01T12:00:00Z");
        let e = i
            .apply(
                IncidentChange::Edit(IncidentEdit {
                    severity: Some(Severity::WORST),
                    title: Some("checkout errors".into()),
                    roles: Some(BTreeMap::from([
                        ("commander".into(), String::new()),
                        ("comms".into(), "cy".into()),
                    ])),
                    ..IncidentEdit::default()
                }),
                "bo",
                at,
            )
            .unwrap()
            .unwrap();
        assert_eq!(e.payload["before"]["severity"], "sev2");
        assert_eq!(e.payload["after"]["severity"], "sev1");
        assert!(e.payload["after"].get("title").is_none());
        assert_eq!(i.roles, BTreeMap::from([("comms".into(), "cy".into())]));
        let same = i.apply(IncidentChange::Edit(IncidentEdit::default()), "bo", at);
        assert_eq!(same.unwrap(), None);
    }

    #[test]
    fn the_last_resolved_alert_group_mitigates() {
        let mut i = opened();
        let at = t("2026-01-01T12:00:00Z");
        i.apply(
            IncidentChange::AlertFiring {
                key: "alertmanager:g2".into(),
                text: "latency".into(),
                firing: true,
            },
            "am",
            at,
        )
        .unwrap();
        let resolved = |k: &str| IncidentChange::AlertResolved {
            key: k.into(),
            text: "resolved".into(),
            at: Some(t("2026-01-01T11:00:00Z")),
        };
        let e = i
            .apply(resolved("alertmanager:g1"), "am", at)
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.kind, i.status),
            ("incident.alert_resolved", IncidentStatus::Open)
        );
        assert_eq!(
            i.apply(resolved("alertmanager:g1"), "am", at).unwrap(),
            None
        );
        let e = i
            .apply(resolved("alertmanager:g2"), "am", at)
            .unwrap()
            .unwrap();
        assert_eq!(e.kind, "incident.mitigated");
        assert_eq!(i.mitigated_at, Some(t("2026-01-01T11:00:00Z")));
        assert_eq!(i.keys.len(), 2);
    }

    #[test]
    fn causes_and_action_items() {
        let mut i = opened();
        let at = t("2026-01-01T12:00:00Z");
        let set = |d: Vec<i64>, automatic| IncidentChange::SetCauses {
            deployments: d,
            automatic,
        };
        let e = i
            .apply(set(vec![4, 9, 4], false), "bo", at)
            .unwrap()
            .unwrap();
        assert_eq!(i.causes, vec![4, 9]);
        assert_eq!(i.attribution, Attribution::Confirmed);
        assert_eq!(e.payload["deployments"], serde_json::json!(["4", "9"]));
        assert_eq!(i.apply(set(vec![4, 9], false), "bo", at).unwrap(), None);
        i.apply(set(vec![], false), "bo", at).unwrap();
        assert!(i.causes.is_empty());
        assert_eq!(i.attribution, Attribution::Confirmed);

        i.apply(
            IncidentChange::AddActionItem {
                text: "add a canary".into(),
                owner: Some("bo".into()),
            },
            "bo",
            at,
        )
        .unwrap();
        let done = IncidentChange::UpdateActionItem {
            id: 1,
            text: None,
            owner: None,
            done: Some(true),
        };
        assert!(i.apply(done.clone(), "bo", at).unwrap().is_some());
        assert!(i.action_items[0].done);
        assert_eq!(i.apply(done, "bo", at).unwrap(), None);
        let missing = IncidentChange::UpdateActionItem {
            id: 5,
            text: None,
            owner: None,
            done: Some(true),
        };
        assert_eq!(i.apply(missing, "bo", at).unwrap_err().field, "id");
    }

    #[test]
    fn advancing_never_goes_back_and_repeats_are_quiet() {
        let mut i = opened();
        let at = t("2026-01-01T12:00:00Z");
        let adv = |s| IncidentChange::Advance {
            status: s,
            at: Some(t("2026-01-01T10:10:00Z")),
        };
        assert!(i
            .apply(adv(IncidentStatus::Acknowledged), "pd", at)
            .unwrap()
            .is_some());
        assert_eq!(
            i.apply(adv(IncidentStatus::Acknowledged), "pd", at)
                .unwrap(),
            None
        );
        i.apply(adv(IncidentStatus::Resolved), "pd", at).unwrap();
        assert_eq!(
            i.apply(adv(IncidentStatus::Mitigated), "pd", at).unwrap(),
            None
        );
        assert_eq!(i.status, IncidentStatus::Resolved);
        // The same alert group firing again is not news.
        let firing = IncidentChange::AlertFiring {
            key: "alertmanager:g1".into(),
            text: "again".into(),
            firing: true,
        };
        assert_eq!(i.apply(firing, "am", at).unwrap(), None);
    }

    #[test]
    fn serializes_ids_as_strings() {
        let mut i = opened();
        i.causes = vec![3];
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(v["id"], "7");
        assert_eq!(v["causes"], serde_json::json!(["3"]));
        let back: Incident = serde_json::from_value(v).unwrap();
        assert_eq!(back, i);
    }
}
