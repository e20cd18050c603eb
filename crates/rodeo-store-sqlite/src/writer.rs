//! The single writer: one OS thread that owns the read-write connection and commits
//! queued calls in groups.
//!
//! It blocks until a call arrives, then takes every call already queued (up to
//! `max_batch`), runs `BEGIN IMMEDIATE`, applies each call, and ends with one `COMMIT`,
//! the one fsync the whole group pays. Only then are events published and callers
//! answered. If the `COMMIT` fails, every call in the group gets the error.
//!
//! A failing call must leave no trace and not affect its neighbours. Most failures
//! (not found, conflicts, validation) happen before a call changes anything, so calls
//! run without savepoints; if one fails after it changed rows, the whole group is
//! rolled back and applied again with a `SAVEPOINT` per call (see [`Isolation`]).
//! Calls are deterministic given their context, so the redo answers the same.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rodeo_domain::{Command, Event, WriteContext};
use rodeo_store::{StoreError, Written};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::checkpoint::Checkpointer;
use crate::durable::{Applied, Durability, FlushFailed, Reply};
use crate::write;

struct Job {
    ctx: WriteContext,
    commands: Vec<Command>,
    reply: Reply,
}

/// A commit failure shared by every call of its group.
#[derive(Debug, thiserror::Error)]
#[error("committing the write batch failed")]
struct BatchFailed(#[source] rusqlite::Error);

#[derive(Debug, thiserror::Error)]
#[error("a write call panicked: {0}")]
struct Panicked(String);

pub(crate) struct Writer {
    queue: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(crate) fn start(
        conn: Connection,
        checkpointer: Checkpointer,
        durability: Durability,
        max_batch: usize,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("rodeo-sqlite-writer".into())
            .spawn(move || run(conn, checkpointer, durability, rx, max_batch.max(1)))?;
        Ok(Self {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(crate) async fn execute(
        &self,
        ctx: WriteContext,
        commands: Vec<Command>,
    ) -> Result<Written, StoreError> {
        let (reply, answer) = oneshot::channel();
        {
            let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let sender = queue.as_ref().ok_or(StoreError::Closed)?;
            sender
                .send(Job {
                    ctx,
                    commands,
                    reply,
                })
                .map_err(|_| StoreError::Closed)?;
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops taking calls, lets the thread finish those queued, and waits for it.
    pub(crate) async fn close(&self) {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            if tokio::task::spawn_blocking(move || thread.join())
                .await
                .is_err()
            {
                tracing::error!("the SQLite writer thread could not be joined");
            }
        }
    }
}

fn run(
    mut conn: Connection,
    mut checkpointer: Checkpointer,
    mut durability: Durability,
    queue: Receiver<Job>,
    max_batch: usize,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if durability.failed() {
            let e = std::io::Error::other("an earlier flush of the WAL failed");
            fail_all(batch.into_iter().map(|j| j.reply), FlushFailed(Arc::new(e)));
            continue;
        }
        if commit_batch(&mut conn, batch, &durability) {
            checkpointer.committed();
        }
        checkpointer.catch_up(&conn);
    }
    durability.stop();
    checkpointer.stop();
    // Closing: fold the WAL back into the database file so it is self-contained.
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        tracing::warn!(error = %e, "final WAL checkpoint failed");
    }
}

/// How a group applies its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// No savepoints. A call that fails before it changed a row leaves nothing to undo;
    /// one that fails after is the rare case the group is redone for.
    Optimistic,
    /// A `SAVEPOINT` per call, rolled back if the call fails. Savepoints make SQLite
    /// copy every page a call touches first into a statement journal, which costs
    /// about a quarter of the writer's time, so only groups that need it pay.
    Savepoints,
}

enum Attempt {
    Committed(Vec<Applied>),
    /// A call failed after changing rows; the group was rolled back and is redone.
    Redo,
    Failed(rusqlite::Error),
}

/// Returns whether the group was committed.
fn commit_batch(conn: &mut Connection, batch: Vec<Job>, durability: &Durability) -> bool {
    let mut attempt = apply_group(conn, &batch, Isolation::Optimistic);
    if matches!(attempt, Attempt::Redo) {
        attempt = apply_group(conn, &batch, Isolation::Savepoints);
    }
    let results = match attempt {
        Attempt::Committed(results) => results,
        Attempt::Redo => {
            // Savepoint mode never asks for a redo; fail rather than loop.
            let err = rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
                Some("a write group could not be applied".into()),
            );
            fail_all(batch.into_iter().map(|j| j.reply), batch_failed(err));
            return false;
        }
        Attempt::Failed(e) => {
            fail_all(batch.into_iter().map(|j| j.reply), batch_failed(e));
            return false;
        }
    };
    durability.committed(batch.into_iter().map(|j| j.reply).zip(results).collect());
    true
}

/// One transaction over the whole group, ended by the one `COMMIT` (and fsync) the
/// group pays.
fn apply_group(conn: &mut Connection, batch: &[Job], isolation: Isolation) -> Attempt {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return Attempt::Failed(e);
    }
    let mut results: Vec<Applied> = Vec::with_capacity(batch.len());
    for job in batch {
        let result = match isolation {
            Isolation::Savepoints => apply_in_savepoint(conn, &job.ctx, &job.commands),
            Isolation::Optimistic => {
                let before = conn.total_changes();
                match apply_contained(conn, &job.ctx, &job.commands) {
                    Ok(done) => Ok(done),
                    Err(e) if conn.total_changes() == before && !e.panicked => Err(e.error),
                    Err(_) => {
                        if !conn.is_autocommit() {
                            if let Err(e) = conn.execute_batch("ROLLBACK") {
                                return Attempt::Failed(e);
                            }
                        }
                        return Attempt::Redo;
                    }
                }
            }
        };
        results.push(result);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error): nothing
            // of this group survives, so no call of it may report success.
            return Attempt::Failed(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the transaction was rolled back by SQLite".into()),
            ));
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        return Attempt::Failed(e);
    }
    Attempt::Committed(results)
}

struct CallFailed {
    error: StoreError,
    panicked: bool,
}

/// Applies one call; a panic is contained to the call that caused it.
fn apply_contained(
    conn: &Connection,
    ctx: &WriteContext,
    commands: &[Command],
) -> Result<(Written, Vec<Event>), CallFailed> {
    match catch_unwind(AssertUnwindSafe(|| write::apply(conn, ctx, commands))) {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(CallFailed {
            error: e.into(),
            panicked: false,
        }),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(CallFailed {
                error: StoreError::database(Panicked(msg)),
                panicked: true,
            })
        }
    }
}

/// One call inside its savepoint, released on success and rolled back on failure, so
/// a failing call leaves no trace and does not affect its neighbours.
fn apply_in_savepoint(conn: &Connection, ctx: &WriteContext, commands: &[Command]) -> Applied {
    conn.prepare_cached("SAVEPOINT call")
        .and_then(|mut s| s.execute([]))
        .map_err(StoreError::database)?;
    let result = apply_contained(conn, ctx, commands);
    let end = if result.is_ok() {
        "RELEASE call"
    } else {
        "ROLLBACK TO call"
    };
    let ended = conn.prepare_cached(end).and_then(|mut s| s.execute([]));
    let released = if result.is_err() {
        ended.and_then(|_| {
            conn.prepare_cached("RELEASE call")
                .and_then(|mut s| s.execute([]))
        })
    } else {
        ended
    };
    match (result, released) {
        (Ok(done), Ok(_)) => Ok(done),
        (Err(e), _) => Err(e.error),
        (Ok(_), Err(e)) => {
            // Undo the call so the group's COMMIT cannot carry it.
            let _ = conn.execute_batch("ROLLBACK TO call; RELEASE call");
            Err(StoreError::database(e))
        }
    }
}

fn batch_failed(e: rusqlite::Error) -> BatchFailed {
    // `fail_all` shares it among the group's callers.
    BatchFailed(e)
}

/// Answers every caller with `e` (shared: the error is not `Clone`).
fn fail_all<E>(replies: impl Iterator<Item = Reply>, e: E)
where
    E: std::error::Error + Send + Sync + 'static,
{
    tracing::error!(error = %e, "SQLite write batch failed");
    let shared = Arc::new(e);
    for reply in replies {
        let _ = reply.send(Err(StoreError::database(Shared(Arc::clone(&shared)))));
    }
}

/// One error answered to several callers.
#[derive(Debug)]
struct Shared<E>(Arc<E>);

impl<E: std::fmt::Display> std::fmt::Display for Shared<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error> std::error::Error for Shared<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
