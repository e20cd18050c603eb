//! Incidents: when production hurt, what was done, and which changes caused it.
//!
//! An incident is one record that changes in small steps ([`IncidentChange`]); every
//! step is checked here, against the incident as it is, so both stores accept and
//! refuse exactly the same things, and every step yields the ledger event that records
//! it ([`Incident::apply`]).

use std::collections::BTreeMap;

use crate::{EnvironmentName, FieldError, ServiceName, Source, Timestamp};

mod steps;

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

#[cfg(test)]
mod tests;
