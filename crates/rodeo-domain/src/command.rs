//! Writes: a request or webhook becomes a list of [`Command`]s that a store applies in
//! one transaction, together with the ledger events they imply.

use crate::{
    Commit, Deployment, Environment, EnvironmentName, EvaluationCount, FinishDeployment,
    FlagChange, FlagsWritten, Incident, IncidentChange, IncidentRef, NewDeployment, NewIncident,
    PullRequest, Scope, Service, ServiceName, Source, Team, TeamName, Timestamp, Token, TokenName,
};

/// Who writes, from where, when, and under which rules.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteContext {
    /// The token name, or the webhook sender's login; recorded as the events' actor.
    pub actor: String,
    pub source: Source,
    /// Server time of the write; events are stamped with it.
    pub at: Timestamp,
    /// Register unknown services and environments on first sight.
    pub auto_register: bool,
    /// How far back a first deployment of a service+environment looks for commits.
    pub first_deploy_horizon: chrono::Duration,
    pub idempotency: Option<IdempotencyKey>,
    pub delivery: Option<Delivery>,
}

impl WriteContext {
    pub fn new(actor: impl Into<String>, source: Source, at: Timestamp) -> Self {
        Self {
            actor: actor.into(),
            source,
            at,
            auto_register: true,
            first_deploy_horizon: chrono::Duration::days(30),
            idempotency: None,
            delivery: None,
        }
    }
}

/// A client's `Idempotency-Key` with a fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Scoped by the caller (token id + key), so two clients cannot collide.
    pub key: String,
    /// A hash of method, path and body; the same key with another fingerprint is a 409.
    pub fingerprint: String,
}

/// A webhook delivery id; a second delivery with the same id is applied zero times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub source: Source,
    pub id: String,
}

/// One change to rodeo's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    CreateTeam {
        name: TeamName,
        display_name: Option<String>,
    },
    UpdateTeam {
        name: TeamName,
        display_name: Option<String>,
    },
    DeleteTeam {
        name: TeamName,
    },
    CreateService {
        name: ServiceName,
        team: Option<TeamName>,
        repository: Option<String>,
    },
    /// `None` leaves a field as it is; `Some(None)` clears it.
    UpdateService {
        name: ServiceName,
        team: Option<Option<TeamName>>,
        repository: Option<Option<String>>,
    },
    DeleteService {
        name: ServiceName,
    },
    CreateEnvironment {
        name: EnvironmentName,
        production: bool,
        order: i32,
    },
    UpdateEnvironment {
        name: EnvironmentName,
        production: Option<bool>,
        order: Option<i32>,
    },
    DeleteEnvironment {
        name: EnvironmentName,
    },
    CreateToken {
        name: TokenName,
        scope: Scope,
        /// SHA-256 of the secret, hex.
        hash: String,
        prefix: String,
        /// Required for SDK keys, absent for API tokens.
        environment: Option<EnvironmentName>,
    },
    RevokeToken {
        id: String,
    },
    RecordCommits {
        commits: Vec<Commit>,
    },
    UpsertPullRequest(PullRequest),
    RecordDeployment(NewDeployment),
    FinishDeployment(FinishDeployment),
    OpenIncident(NewIncident),
    /// Attaches `incident.key` (an alert group) to the newest unresolved incident that
    /// has that key or, failing that, affects `incident.services[0]`; opens `incident`
    /// when there is none.
    RaiseIncident(NewIncident),
    UpdateIncident {
        incident: IncidentRef,
        change: IncidentChange,
    },
    /// Changes an environment's flags (registering the environment when allowed).
    ChangeFlags {
        environment: EnvironmentName,
        change: FlagChange,
    },
    /// Adds evaluation counts (flushed from the servers' in-memory counters); no event.
    RecordEvaluations {
        counts: Vec<EvaluationCount>,
    },
}

/// What one command did, in the order the commands were given.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "value")]
pub enum Outcome {
    Team(Team),
    Service(Service),
    Environment(Environment),
    Token(Token),
    Deleted,
    Commits { recorded: u32, already_known: u32 },
    PullRequest(PullRequest),
    Deployment(Deployment),
    Incident(Box<Incident>),
    Flags(FlagsWritten),
    Evaluations { recorded: u32 },
}
