//! The ledger: every write in rodeo appends one or more events.

use crate::{EnvironmentName, ServiceName, Timestamp};

/// Where a write came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Api,
    Cli,
    Github,
    Gitlab,
    Pagerduty,
    Alertmanager,
    Demo,
    /// The web dashboard, by a logged-in token.
    Dashboard,
    /// rodeo itself: bootstrap, offline token creation.
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Cli => "cli",
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Pagerduty => "pagerduty",
            Self::Alertmanager => "alertmanager",
            Self::Demo => "demo",
            Self::Dashboard => "dashboard",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(Self::Api),
            "cli" => Some(Self::Cli),
            "github" => Some(Self::Github),
            "gitlab" => Some(Self::Gitlab),
            "pagerduty" => Some(Self::Pagerduty),
            "alertmanager" => Some(Self::Alertmanager),
            "demo" => Some(Self::Demo),
            "dashboard" => Some(Self::Dashboard),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// One ledger entry. `kind` is dotted: `deployment.started`, `deployment.finished`,
/// `deployment.rolled_back`, `commits.recorded`, `pull_request.merged`, `service.created`, ...
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    #[serde(with = "crate::deployment::id_string")]
    pub id: i64,
    /// When it happened (a deployment's finish, a commit push); filters use this.
    pub at: Timestamp,
    /// When rodeo wrote it.
    pub recorded_at: Timestamp,
    pub kind: String,
    pub actor: String,
    pub source: Source,
    pub service: Option<ServiceName>,
    pub environment: Option<EnvironmentName>,
    /// What the event is about, as `kind:id` (`deployment:42`, `token:3`).
    pub subject: Option<String>,
    pub payload: serde_json::Value,
}

/// An event before the store stamps it with id, time, actor and source.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: &'static str,
    /// When it happened; `None` means the time of the write.
    pub at: Option<Timestamp>,
    pub service: Option<ServiceName>,
    pub environment: Option<EnvironmentName>,
    pub subject: Option<String>,
    pub payload: serde_json::Value,
}

/// Filters for reading the ledger, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    pub service: Option<ServiceName>,
    pub environment: Option<EnvironmentName>,
    /// Exact kind (`deployment.finished`) or a prefix ending in a dot (`deployment.`).
    pub kind: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only events with a smaller id (the cursor).
    pub before_id: Option<i64>,
    pub limit: u32,
}

impl EventFilter {
    /// True when the kind filter matches `kind`; used by the live stream, which filters
    /// in memory with the same rule the stores apply in SQL.
    pub fn matches(&self, e: &Event) -> bool {
        let kind_ok = match &self.kind {
            None => true,
            Some(k) if k.ends_with('.') => e.kind.starts_with(k.as_str()),
            Some(k) => e.kind == *k,
        };
        kind_ok
            && self
                .service
                .as_ref()
                .is_none_or(|s| e.service.as_ref() == Some(s))
            && self
                .environment
                .as_ref()
                .is_none_or(|s| e.environment.as_ref() == Some(s))
            && self.since.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at < t)
    }
}
