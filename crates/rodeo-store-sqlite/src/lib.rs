//! rodeo's embedded storage: the [`Store`] trait on one SQLite file.
//!
//! # Design
//!
//! - **One writer thread, group commit.** Every write goes through
//!   [`Store::execute`], which queues the call for a dedicated OS thread that owns the
//!   only read-write connection (see `writer`). The thread drains whatever is queued
//!   (up to [`SqliteOptions::max_batch`] calls), wraps them in one `BEGIN IMMEDIATE …
//!   COMMIT` with a `SAVEPOINT` per call, and answers each call only after that
//!   `COMMIT`. Under concurrency many calls share one fsync, so throughput grows with
//!   load instead of collapsing on lock contention, and a failing call rolls back to
//!   its savepoint without touching its neighbours.
//! - **rusqlite, not sqlx.** sqlx's SQLite driver runs each connection on its own
//!   worker and hops a channel for every statement; a write call here runs a few dozen
//!   statements, so that hop is exactly the overhead group commit exists to remove.
//!   rusqlite (with SQLite bundled) gives the writer thread direct, synchronous calls
//!   and a per-connection cache of prepared statements (`prepare_cached`).
//! - **Reads on a small pool** of read-only connections, each query run on tokio's
//!   blocking threads (see `readers`). WAL mode lets them run while the writer writes.
//! - **Projections** for what must be fast to read: the current deployment per service
//!   and environment, and drift between environments, updated in the same transaction
//!   as the deployment that changes them. `status()` is four queries.
//! - **Checkpoints beside the writer** (see `checkpoint`): SQLite's automatic WAL
//!   checkpoint would run inside a caller's `COMMIT`; a helper thread does it instead.
//! - **The common deployment needs no graph walk**: when the commits sent with it
//!   lead straight down to the previous deployment's sha, they are what it shipped
//!   (see `write::deployments`). Otherwise the shared floor-loop walk runs on
//!   recursive queries whose join order is pinned with `CROSS JOIN`.
//!
//! # Durability
//!
//! Pragmas: `journal_mode=WAL`, `foreign_keys=ON`, a `busy_timeout`, and
//! `synchronous` from [`SqliteOptions::synchronous`]:
//!
//! - `FULL` (default): every group commit is flushed to disk (`fdatasync` of the WAL)
//!   before any of its callers is answered; a power loss loses nothing that was
//!   acknowledged. The flush runs on its own thread while the writer applies the next
//!   group (see `durable`), so a reader may see a write a few milliseconds before it
//!   is acknowledged; events are published only once it is durable.
//! - `NORMAL`: fsync only at checkpoints; a power loss may lose the last transactions
//!   acknowledged before it (the file stays consistent).
//!
//! In both modes a process crash (`kill -9`) loses nothing acknowledged: a commit has
//! reached the OS before [`Store::execute`] returns.
//!
//! # Schema
//!
//! Embedded migrations (`migrations/NNNN_name.sql`) run at open, in one transaction,
//! recorded in `schema_migrations`; forward-only. A file whose schema is newer than
//! this binary knows is refused.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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
use tokio::sync::broadcast;

mod checkpoint;
mod connection;
mod durable;
mod error;
mod graph;
mod migrate;
mod options;
mod queries;
mod read;
mod read_flags;
mod read_incidents;
mod readers;
mod rows;
mod write;
mod writer;

pub use options::{SqliteOptions, Synchronous};

use checkpoint::Checkpointer;
use durable::Durability;
use readers::Readers;
use writer::Writer;

/// How many live events a slow subscriber may fall behind before it misses some.
const EVENT_BUFFER: usize = 4096;

/// A rodeo database in one SQLite file (plus its `-wal` and `-shm` files).
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Arc<Readers>,
    events: broadcast::Sender<Event>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a SQLite database URL (use sqlite://path, sqlite:path or a path)")]
struct BadUrl(String);

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to
    /// date.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let mut conn = connection::open_writer(path, &options)?;
        let now = rodeo_domain::to_micros(chrono::Utc::now());
        migrate::run(&mut conn, now)?;
        write::packs::fill_if_missing(&mut conn)?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let checkpointer = Checkpointer::start(connection::open_writer(path, &options)?)
            .map_err(StoreError::database)?;
        // FULL durability with the flush taken off the writer's path (see `durable`).
        let durability = match (options.synchronous, connection::wal_path(&conn)) {
            (Synchronous::Full, Some(wal)) => {
                Durability::flushed(wal, events.clone()).map_err(StoreError::database)?
            }
            _ => Durability::immediate(events.clone()),
        };
        let writer = Writer::start(conn, checkpointer, durability, options.max_batch)
            .map_err(StoreError::database)?;
        Ok(Self {
            path: path.to_owned(),
            readers: Arc::new(Readers::new(path.to_owned(), options)),
            writer,
            events,
        })
    }

    /// Opens `sqlite://path`, `sqlite:path` or a bare path with default options.
    pub fn open_url(url: &str) -> Result<Self, StoreError> {
        let path = options::path_of_url(url)
            .ok_or_else(|| StoreError::database(BadUrl(url.to_owned())))?;
        Self::open(&path, SqliteOptions::default())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> error::Result<T> + Send + 'static,
    {
        self.readers.run(f).await
    }
}

/// Copies the database with SQLite's online backup API, all pages in one step so the
/// copy is one consistent snapshot even while the writer keeps committing.
fn backup_to(source: &Path, target: &Path, busy_timeout: Duration) -> error::Result<()> {
    let src =
        rusqlite::Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    src.busy_timeout(busy_timeout)?;
    let mut dst = rusqlite::Connection::open(target)?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
    let deadline = std::time::Instant::now() + busy_timeout;
    loop {
        match backup.step(-1)? {
            rusqlite::backup::StepResult::Done => return Ok(()),
            _ if std::time::Instant::now() > deadline => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("the database stayed locked during the backup".into()),
                )
                .into())
            }
            // Busy or locked: another connection holds a lock briefly (a checkpoint).
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(drop)
    }

    async fn execute(
        &self,
        ctx: WriteContext,
        commands: Vec<Command>,
    ) -> Result<Written, StoreError> {
        self.writer.execute(ctx, commands).await
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |c| read::token_by_hash(c, &hash)).await
    }

    async fn list_tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.read(read::list_tokens).await
    }

    async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        self.read(read::list_teams).await
    }

    async fn get_team(&self, name: &TeamName) -> Result<Option<Team>, StoreError> {
        let name = name.clone();
        self.read(move |c| queries::team(c, name.as_str())).await
    }

    async fn list_services(&self) -> Result<Vec<Service>, StoreError> {
        self.read(read::list_services).await
    }

    async fn get_service(&self, name: &ServiceName) -> Result<Option<Service>, StoreError> {
        let name = name.clone();
        self.read(move |c| queries::service(c, name.as_str())).await
    }

    async fn list_environments(&self) -> Result<Vec<Environment>, StoreError> {
        self.read(read::list_environments).await
    }

    async fn get_deployment(&self, id: i64) -> Result<Option<DeploymentDetail>, StoreError> {
        self.read(move |c| read::get_deployment(c, id)).await
    }

    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
    ) -> Result<Page<Deployment>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| read::list_deployments(c, &filter)).await
    }

    async fn current_deployment(
        &self,
        service: &ServiceName,
        environment: &EnvironmentName,
    ) -> Result<Option<Deployment>, StoreError> {
        let (s, e) = (service.clone(), environment.clone());
        self.read(move |c| queries::current(c, s.as_str(), e.as_str(), None))
            .await
    }

    async fn deployment_of_version(
        &self,
        service: &ServiceName,
        version: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        let (s, v) = (service.clone(), version.to_owned());
        self.read(move |c| read::deployment_of_version(c, s.as_str(), &v))
            .await
    }

    async fn status(&self) -> Result<StatusMatrix, StoreError> {
        self.read(|c| read::status(c, None)).await
    }

    async fn status_of(&self, services: &[ServiceName]) -> Result<StatusMatrix, StoreError> {
        let services = services.to_vec();
        self.read(move |c| read::status(c, Some(&services))).await
    }

    async fn get_commit(&self, sha: &Sha) -> Result<Option<Commit>, StoreError> {
        let sha = sha.clone();
        self.read(move |c| read::get_commit(c, &sha)).await
    }

    async fn changes_between(
        &self,
        include: &Sha,
        exclude: Option<&Sha>,
        not_before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Changes, StoreError> {
        let (include, exclude) = (include.clone(), exclude.cloned());
        self.read(move |c| read::changes_between(c, &include, exclude.as_ref(), not_before, limit))
            .await
    }

    async fn list_events(&self, filter: &EventFilter) -> Result<Page<Event>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| read::list_events(c, &filter)).await
    }

    async fn get_incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        self.read(move |c| queries::incident(c, id)).await
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| read_incidents::list_incidents(c, &filter))
            .await
    }

    async fn deployments_finished(
        &self,
        filter: &FinishedFilter,
    ) -> Result<Vec<Deployment>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| read_incidents::deployments_finished(c, &filter))
            .await
    }

    async fn metric_facts(&self, query: &FactsQuery) -> Result<Facts, StoreError> {
        let query = query.clone();
        self.read(move |c| read_incidents::metric_facts(c, &query))
            .await
    }

    async fn flag_set(
        &self,
        environment: &EnvironmentName,
    ) -> Result<Option<FlagSetRecord>, StoreError> {
        let env = environment.as_str().to_owned();
        self.read(move |c| read_flags::flag_set(c, &env)).await
    }

    async fn flag_sets(&self) -> Result<Vec<FlagSetRecord>, StoreError> {
        self.read(read_flags::flag_sets).await
    }

    async fn flag_evaluations(
        &self,
        environment: &EnvironmentName,
    ) -> Result<Vec<EvaluationCount>, StoreError> {
        let env = environment.as_str().to_owned();
        self.read(move |c| read_flags::flag_evaluations(c, &env))
            .await
    }

    async fn backup(&self, path: &Path) -> Result<(), StoreError> {
        let (source, target) = (self.path.clone(), path.to_owned());
        tokio::task::spawn_blocking(move || backup_to(&source, &target, Duration::from_secs(30)))
            .await
            .map_err(StoreError::database)?
            .map_err(StoreError::from)
    }

    async fn close(&self) {
        self.writer.close().await;
        self.readers.close();
    }

    fn pool_stats(&self) -> PoolStats {
        self.readers.stats()
    }
}
