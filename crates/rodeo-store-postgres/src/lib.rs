//! rodeo's storage on PostgreSQL, for when one machine is not enough: any number of
//! stateless rodeo replicas share one database and learn about each other's writes
//! through it.
//!
//! [`PgStore`] implements [`rodeo_store::Store`] with the semantics every backend
//! shares (see the conformance suite). Migrations are embedded, versioned and run at
//! connect; they only move forward.
//!
//! # Concurrency across replicas
//!
//! Each [`Store::execute`] call is one READ COMMITTED transaction. Where interleaving
//! would give a wrong answer, writers serialize on transaction-scoped advisory locks
//! (`pg_advisory_xact_lock`), released at commit or rollback:
//!
//! - **one lock per service+environment** for deployment writes: the current
//!   deployment, rollback detection and the previous deployment that shipped changes
//!   are computed against must not change underneath a write. Deployments to different
//!   services or environments proceed in parallel.
//! - **one lock for the commit graph**: generation numbers must stay consistent when a
//!   parent and its child arrive in concurrent transactions (neither would see the
//!   other's uncommitted commit), so a call that brings commits rodeo does not know yet
//!   holds it exclusively until it commits. Calls that only walk the graph (deployments
//!   without new commits, resent known commits, environment changes) hold it shared and
//!   run in parallel with each other, and never see half a generation repair.
//! - **drift locks**, taken last: one per service while refreshing its drift, and a
//!   global one that environment changes hold exclusively (they refresh every service).
//!
//! All locks are taken in one fixed order, so they cannot deadlock each other.
//!
//! The trade-off: writes that bring new commits are serialized across all
//! repositories, so their throughput is one transaction at a time (a deployment
//! with new commits is a few dozen statements and one commit flush). Finer locks (per
//! repository, or per sha) would let unrelated histories ingest in parallel, but a
//! commit's repository is optional, and a generation repair reaches descendants that
//! are only known once it runs, so it would need locks in no fixed order and deadlock
//! retries. Serializing on one lock is simple and obviously correct; replicas still
//! serve reads, and deployments without new commits, in parallel.

//! Live events: see the `listener` module; [`Store::subscribe`] sees every replica's
//! committed events, once.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;

use async_trait::async_trait;
use rodeo_domain::{
    Changes, Command, Commit, Deployment, DeploymentDetail, Environment, EnvironmentName,
    EvaluationCount, Event, EventFilter, FlagSetRecord, Incident, Page, Service, ServiceName, Sha,
    StatusMatrix, Team, TeamName, Timestamp, Token, WriteContext,
};
use rodeo_store::{
    DeploymentFilter, Facts, FactsQuery, FinishedFilter, IncidentFilter, PoolStats, Store,
    StoreError, Written,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

mod graph;
mod listener;
mod read;
mod rows;
mod write;

use rows::DbResult;

/// How many events a slow subscriber may fall behind before it is told it lagged.
const EVENT_BUFFER: usize = 1024;

/// Connection settings beyond the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgStoreOptions {
    /// The most connections this replica opens for queries (one more is kept for
    /// listening to other replicas' events).
    pub max_connections: u32,
}

impl Default for PgStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
        }
    }
}

/// The PostgreSQL store. Cheap to share behind an `Arc`; every method is safe to call
/// concurrently, also from several processes on one database.
pub struct PgStore {
    pool: PgPool,
    listen_pool: PgPool,
    events: broadcast::Sender<Event>,
    shutdown: watch::Sender<bool>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects with default options, runs pending migrations and starts listening for
    /// events.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PgStoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: PgStoreOptions) -> Result<Self, StoreError> {
        // JIT compilation costs tens of milliseconds and only pays off for long
        // analytical queries; rodeo's are short, and an overestimated row count (a
        // fresh, unanalyzed table) would otherwise make one compile on every call.
        let connect = PgConnectOptions::from_str(url)
            .db()?
            .application_name("rodeo")
            .options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect.clone())
            .await
            .db()?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(StoreError::database)?;
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(connect);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (shutdown, stop) = watch::channel(false);
        let task = listener::start(listen_pool.clone(), pool.clone(), events.clone(), stop).await?;
        Ok(Self {
            pool,
            listen_pool,
            events,
            shutdown,
            listener: Mutex::new(Some(task)),
        })
    }

    /// The underlying pool, for health checks and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.db()?;
        Ok(())
    }

    async fn execute(
        &self,
        ctx: WriteContext,
        commands: Vec<Command>,
    ) -> Result<Written, StoreError> {
        write::execute(&self.pool, ctx, commands).await
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError> {
        read::token_by_hash(&self.pool, hash).await
    }

    async fn list_tokens(&self) -> Result<Vec<Token>, StoreError> {
        read::list_tokens(&self.pool).await
    }

    async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        read::list_teams(&self.pool).await
    }

    async fn get_team(&self, name: &TeamName) -> Result<Option<Team>, StoreError> {
        read::get_team(&self.pool, name).await
    }

    async fn list_services(&self) -> Result<Vec<Service>, StoreError> {
        read::list_services(&self.pool).await
    }

    async fn get_service(&self, name: &ServiceName) -> Result<Option<Service>, StoreError> {
        read::get_service(&self.pool, name).await
    }

    async fn list_environments(&self) -> Result<Vec<Environment>, StoreError> {
        let mut conn = self.pool.acquire().await.db()?;
        read::list_environments(&mut conn).await
    }

    async fn get_deployment(&self, id: i64) -> Result<Option<DeploymentDetail>, StoreError> {
        read::get_deployment(&self.pool, id).await
    }

    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
    ) -> Result<Page<Deployment>, StoreError> {
        read::list_deployments(&self.pool, filter).await
    }

    async fn current_deployment(
        &self,
        service: &ServiceName,
        environment: &EnvironmentName,
    ) -> Result<Option<Deployment>, StoreError> {
        read::current_deployment(&self.pool, service, environment).await
    }

    async fn deployment_of_version(
        &self,
        service: &ServiceName,
        version: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        read::deployment_of_version(&self.pool, service, version).await
    }

    async fn status(&self) -> Result<StatusMatrix, StoreError> {
        read::status(&self.pool, None).await
    }

    async fn status_of(&self, services: &[ServiceName]) -> Result<StatusMatrix, StoreError> {
        read::status(&self.pool, Some(services)).await
    }

    async fn get_commit(&self, sha: &Sha) -> Result<Option<Commit>, StoreError> {
        read::get_commit(&self.pool, sha).await
    }

    async fn changes_between(
        &self,
        include: &Sha,
        exclude: Option<&Sha>,
        not_before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Changes, StoreError> {
        read::changes_between(&self.pool, include, exclude, not_before, limit).await
    }

    async fn list_events(&self, filter: &EventFilter) -> Result<Page<Event>, StoreError> {
        read::list_events(&self.pool, filter).await
    }

    async fn get_incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        read::get_incident(&self.pool, id).await
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>, StoreError> {
        read::list_incidents(&self.pool, filter).await
    }

    async fn deployments_finished(
        &self,
        filter: &FinishedFilter,
    ) -> Result<Vec<Deployment>, StoreError> {
        read::deployments_finished(&self.pool, filter).await
    }

    async fn metric_facts(&self, query: &FactsQuery) -> Result<Facts, StoreError> {
        read::metric_facts(&self.pool, query).await
    }

    async fn flag_set(
        &self,
        environment: &EnvironmentName,
    ) -> Result<Option<FlagSetRecord>, StoreError> {
        read::flag_set(&self.pool, environment.as_str()).await
    }

    async fn flag_sets(&self) -> Result<Vec<FlagSetRecord>, StoreError> {
        read::flag_sets(&self.pool).await
    }

    async fn flag_evaluations(
        &self,
        environment: &EnvironmentName,
    ) -> Result<Vec<EvaluationCount>, StoreError> {
        read::flag_evaluations(&self.pool, environment.as_str()).await
    }

    /// A consistent online copy of a PostgreSQL database is `pg_dump`'s job.
    async fn backup(&self, _path: &Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported("use pg_dump"))
    }

    async fn close(&self) {
        let _ = self.shutdown.send(true);
        let task = self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            // The task only ends; a panic in it has already been reported by tokio.
            let _ = task.await;
        }
        self.listen_pool.close().await;
        self.pool.close().await;
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            connections: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        }
    }
}
