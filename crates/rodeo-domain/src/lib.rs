//! rodeo's domain: the types every other crate speaks.
//!
//! Values here are validated when they are parsed ("parse, don't validate"): a
//! [`ServiceName`] that exists is a valid service name, so code past the edge of the
//! system never re-checks it. Parsing failures are [`FieldError`]s that name the
//! field, which the server turns into RFC 9457 problem details.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod changes;
mod command;
mod commit;
mod deployment;
mod error;
mod event;
mod flags;
mod incident;
mod names;
mod sha;
mod time;
mod token;

pub use changes::{floors, range, CommitNode, GraphSlice, ParentEdge, Range, RangeRequest};
pub use command::{Command, Delivery, IdempotencyKey, Outcome, WriteContext};
pub use commit::{Commit, PullRequest, PullRequestState, MAX_AUTHOR_LEN, MAX_MESSAGE_LEN};
pub use deployment::{
    Deployment, DeploymentDetail, DeploymentKind, DeploymentRef, DeploymentStatus,
    FinishDeployment, NewDeployment, MAX_URL_LEN,
};
pub use error::{FieldError, FieldErrors};
pub use event::{Event, EventFilter, NewEvent, Source};
pub use flags::{
    parse_flag_key, EvaluationCount, FlagAction, FlagChange, FlagDiff, FlagSetRecord, FlagTimes,
    FlagsWritten, MAX_FLAG_KEY_LEN,
};
pub use incident::{
    ActionItem, Attribution, Incident, IncidentChange, IncidentEdit, IncidentEvent, IncidentKind,
    IncidentRef, IncidentStatus, NewIncident, Severity, TimelineEntry, MAX_LIST_LEN,
    MAX_POSTMORTEM_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN,
};
pub use names::{EnvironmentName, Name, ServiceName, TeamName, TokenName, MAX_NAME_LEN};
pub use sha::Sha;
pub use time::{
    format as format_timestamp, from_micros, now, parse_timestamp, to_micros, Timestamp,
    MAX_FUTURE_SKEW,
};
pub use token::{Scope, Token};

/// A team that owns services.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Team {
    pub name: TeamName,
    pub display_name: Option<String>,
    pub created_at: Timestamp,
}

/// Something deployed on its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Service {
    pub name: ServiceName,
    pub team: Option<TeamName>,
    /// The repository (`owner/name` or a bare name) whose commits this service ships.
    pub repository: Option<String>,
    pub created_at: Timestamp,
}

/// Where services run. Environments are ordered (`staging` before `production`);
/// several may be production.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Environment {
    pub name: EnvironmentName,
    pub production: bool,
    pub order: i32,
    pub created_at: Timestamp,
}

impl Environment {
    /// The defaults used when an environment is registered on first sight: names that
    /// look like production are production and ordered last; staging-like names come
    /// before them, development-like names first.
    pub fn inferred(name: EnvironmentName, at: Timestamp) -> Self {
        let n = name.as_str();
        let (production, order) = if n == "production" || n.starts_with("prod") || n == "live" {
            (true, 300)
        } else if n.starts_with("stag") || n.starts_with("preprod") || n.starts_with("uat") {
            (false, 200)
        } else if n.starts_with("dev") || n.starts_with("test") || n.starts_with("qa") {
            (false, 100)
        } else {
            (false, 150)
        };
        Self {
            name,
            production,
            order,
            created_at: at,
        }
    }
}

/// One page of a list, keyset-paginated. `next_cursor` is opaque to clients.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Default and maximum page sizes for every list endpoint.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A position in a newest-first list of rows with increasing integer ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Items strictly older (smaller id) than this are on the next page.
    pub before_id: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("c{:x}", self.before_id)
    }

    pub fn decode(s: &str) -> Result<Self, FieldError> {
        s.strip_prefix('c')
            .and_then(|h| i64::from_str_radix(h, 16).ok())
            .filter(|id| *id > 0)
            .map(|before_id| Self { before_id })
            .ok_or_else(|| FieldError::new("cursor", "is not a cursor returned by this API"))
    }
}

/// One cell of the status matrix: what runs in one environment for one service.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusCell {
    pub environment: EnvironmentName,
    /// The latest successful deployment, if any.
    pub deployment: Option<DeploymentSummary>,
    /// Compared with the previous environment in order; `None` for the first one.
    pub drift: Option<Drift>,
}

/// What the status matrix shows of a deployment: enough to say what runs, since when
/// and who put it there; the full record is one request away. Keeping the cell small
/// keeps a 500 x 4 matrix a few hundred kilobytes instead of a megabyte.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeploymentSummary {
    #[serde(with = "crate::deployment::id_string")]
    pub id: i64,
    pub version: String,
    pub commit_sha: Sha,
    pub status: DeploymentStatus,
    pub kind: DeploymentKind,
    pub finished_at: Option<Timestamp>,
    pub created_by: String,
}

impl From<Deployment> for DeploymentSummary {
    fn from(d: Deployment) -> Self {
        Self {
            id: d.id,
            version: d.version,
            commit_sha: d.commit_sha,
            status: d.status,
            kind: d.kind,
            finished_at: d.finished_at,
            created_by: d.created_by,
        }
    }
}

/// How far an environment lags the environment before it, for one service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Drift {
    pub compared_to: EnvironmentName,
    /// `in_sync`, `undeployed_changes`, or `unknown` (one side never deployed or the
    /// commit graph is incomplete).
    pub state: DriftState,
    /// Commits the previous environment runs that this one does not.
    pub undeployed_commits: Option<u32>,
    pub complete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftState {
    InSync,
    UndeployedChanges,
    Unknown,
}

/// One row of the status matrix.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusRow {
    pub service: ServiceName,
    pub team: Option<TeamName>,
    pub environments: Vec<StatusCell>,
}

/// The service × environment matrix.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusMatrix {
    pub environments: Vec<Environment>,
    pub services: Vec<StatusRow>,
}

/// Commits in one revision and not in another.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Changes {
    pub commits: Vec<Commit>,
    /// False when the walk met a parent rodeo has never seen, so there may be more.
    pub complete: bool,
}
