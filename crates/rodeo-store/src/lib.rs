//! rodeo's storage: one async trait, [`Store`], that the SQLite and PostgreSQL backends
//! implement, plus the pure logic both share (which events a command appends, how a
//! rollback is recognised) and, behind the `conformance` feature, the test suite every
//! backend must pass.
//!
//! Writes go through one method, [`Store::execute`]: a list of domain commands applied
//! in one transaction together with the ledger events they imply, the idempotency
//! record and the webhook delivery record. Reads are typed queries. No SQL leaves a
//! backend crate.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::Path;

use async_trait::async_trait;
use rodeo_domain::{
    Changes, Command, Commit, Deployment, DeploymentDetail, DeploymentStatus, Environment,
    EnvironmentName, EvaluationCount, Event, EventFilter, FlagSetRecord, Incident, IncidentKind,
    IncidentStatus, Outcome, Page, Service, ServiceName, Sha, StatusMatrix, Team, TeamName,
    Timestamp, Token, WriteContext,
};
pub use rodeo_metrics::Facts;

mod error;
pub mod flags;
pub mod logic;
pub mod pack;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::StoreError;

/// What [`Store::execute`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// The commands were applied and committed durably, in this order.
    Applied(Vec<Outcome>),
    /// The idempotency key was seen before with the same request: the original outcomes.
    Replayed(Vec<Outcome>),
    /// The webhook delivery was applied before; nothing was done.
    DuplicateDelivery,
}

/// Filters for listing deployments, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentFilter {
    pub service: Option<ServiceName>,
    pub environment: Option<EnvironmentName>,
    pub status: Option<DeploymentStatus>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Filters for listing incidents, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    /// Affecting this service.
    pub service: Option<ServiceName>,
    /// In one of these statuses (any when empty).
    pub statuses: Vec<IncidentStatus>,
    pub kind: Option<IncidentKind>,
    /// Started at or after.
    pub since: Option<Timestamp>,
    /// Started before.
    pub until: Option<Timestamp>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Finished deployments of some services in a time range, newest first: what an
/// incident's "what changed?" lists.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedFilter {
    pub services: Vec<ServiceName>,
    /// Finished at or after.
    pub from: Timestamp,
    /// Finished at or before.
    pub to: Timestamp,
    pub limit: u32,
}

/// What [`Store::metric_facts`] reads.
#[derive(Debug, Clone, PartialEq)]
pub struct FactsQuery {
    /// `None`: every service.
    pub services: Option<Vec<ServiceName>>,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// Connection pool figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub connections: u32,
    pub idle: u32,
}

/// The storage contract. Every method is safe to call concurrently.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies `commands` atomically: all of them with their events, or none. Returns
    /// only after the transaction is durably committed. After commit the new events are
    /// published to [`Store::subscribe`]rs.
    async fn execute(
        &self,
        ctx: WriteContext,
        commands: Vec<Command>,
    ) -> Result<Written, StoreError>;

    /// Live events, as they are committed (by this process or, on PostgreSQL, any
    /// replica). A slow subscriber may miss events (the receiver reports the lag).
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event>;

    async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError>;
    /// All tokens, revoked ones included, oldest first.
    async fn list_tokens(&self) -> Result<Vec<Token>, StoreError>;

    async fn list_teams(&self) -> Result<Vec<Team>, StoreError>;
    async fn get_team(&self, name: &TeamName) -> Result<Option<Team>, StoreError>;
    async fn list_services(&self) -> Result<Vec<Service>, StoreError>;
    async fn get_service(&self, name: &ServiceName) -> Result<Option<Service>, StoreError>;
    /// Ordered by `order`, then name.
    async fn list_environments(&self) -> Result<Vec<Environment>, StoreError>;

    async fn get_deployment(&self, id: i64) -> Result<Option<DeploymentDetail>, StoreError>;
    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
    ) -> Result<Page<Deployment>, StoreError>;
    /// The latest successful deployment of a service to an environment.
    async fn current_deployment(
        &self,
        service: &ServiceName,
        environment: &EnvironmentName,
    ) -> Result<Option<Deployment>, StoreError>;
    /// The latest successful deployment of `version` of a service, in any environment.
    async fn deployment_of_version(
        &self,
        service: &ServiceName,
        version: &str,
    ) -> Result<Option<Deployment>, StoreError>;
    async fn status(&self) -> Result<StatusMatrix, StoreError>;
    /// The matrix restricted to the rows of `services` (those that exist, in name
    /// order), with every environment: what a cache re-reads after a write touched a few
    /// services.
    async fn status_of(&self, services: &[ServiceName]) -> Result<StatusMatrix, StoreError>;

    async fn get_commit(&self, sha: &Sha) -> Result<Option<Commit>, StoreError>;
    /// Commits reachable from `include` and not from `exclude`, newest first, at most
    /// `limit` of them (the result is then marked incomplete). Without `exclude`, only
    /// commits committed at or after `not_before` count.
    async fn changes_between(
        &self,
        include: &Sha,
        exclude: Option<&Sha>,
        not_before: Option<rodeo_domain::Timestamp>,
        limit: u32,
    ) -> Result<Changes, StoreError>;

    async fn list_events(&self, filter: &EventFilter) -> Result<Page<Event>, StoreError>;

    async fn get_incident(&self, id: i64) -> Result<Option<Incident>, StoreError>;
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>, StoreError>;
    /// Deployments (any status but in progress, any environment) of `services` that
    /// finished in `[from, to]`, newest first by finish time, at most `limit`.
    async fn deployments_finished(
        &self,
        filter: &FinishedFilter,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// What the delivery metrics are computed from, read in one snapshot:
    /// - the deployments to production environments that reached production
    ///   (`succeeded`, `rolled_back`) and finished in `[from, to)`, plus, per service and
    ///   environment, the last one finished before `from` (its recovery may fall in the
    ///   range) and the first one finished at or after `to` (it decides whether the last
    ///   one in the range failed);
    /// - the first shipments (each commit's first production deployment per service,
    ///   over all history) whose deployment finished in `[from, to)`;
    /// - incidents (drills too) started at or after `from` that affect a service in
    ///   scope or name one of those deployments as a cause, and those naming one of the
    ///   deployments before `from`.
    async fn metric_facts(&self, query: &FactsQuery) -> Result<Facts, StoreError>;

    /// An environment's flag definition; `None` when it never had flags.
    async fn flag_set(
        &self,
        environment: &EnvironmentName,
    ) -> Result<Option<FlagSetRecord>, StoreError>;
    /// Every environment's flag definition, by environment name.
    async fn flag_sets(&self) -> Result<Vec<FlagSetRecord>, StoreError>;
    /// Evaluation counts of an environment's flags, by flag key then variant.
    async fn flag_evaluations(
        &self,
        environment: &EnvironmentName,
    ) -> Result<Vec<EvaluationCount>, StoreError>;

    /// Writes a consistent copy of the database to `path` while it stays online.
    async fn backup(&self, path: &Path) -> Result<(), StoreError>;

    /// Stops accepting writes, finishes those queued, and closes connections.
    async fn close(&self);

    fn pool_stats(&self) -> PoolStats;
}
