//! WAL checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside the committing connection, so now and then
//! one `COMMIT` also pays for copying the WAL into the database file and fsyncing it.
//! Instead the writer turns it off (`wal_autocheckpoint=0`) and nudges this thread every
//! few commits; it runs `PRAGMA wal_checkpoint(PASSIVE)`, which blocks neither the
//! writer nor readers, and does the bulk of the copying.
//!
//! A checkpoint running beside a busy writer never quite catches up (the writer keeps
//! appending), and SQLite only starts the WAL over from its beginning when a write
//! begins after a *complete* checkpoint. So once the WAL has grown past
//! [`CATCH_UP_FRAMES`] and a background pass is done, the writer finishes the job
//! itself between two groups ([`Checkpointer::catch_up`]): a PASSIVE checkpoint of
//! the frames appended meanwhile, after which the next write restarts the WAL instead
//! of growing it forever. A catch-up stalls the writer for two flushes (WAL, then
//! database) plus the copying, so it is rare (the WAL may reach 32 MiB first) and
//! short: background passes repeat until one finds little new to copy
//! ([`CATCH_UP_BACKLOG`]), and only then is the writer asked to finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::Connection;

/// Commits between two background checkpoints.
const COMMITS_PER_CHECKPOINT: u32 = 16;

/// WAL frames (pages, 4 KiB each) beyond which the writer catches up: 32 MiB.
const CATCH_UP_FRAMES: i64 = 8192;

/// Before a catch-up, background passes repeat until one copies at most this many
/// frames, so the writer's own pass (copied while it waits) stays short.
const CATCH_UP_BACKLOG: i64 = 512;

/// Background passes in a row at most, should the writer append faster than they copy.
const MAX_PASSES: u32 = 8;

pub(crate) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    commits: u32,
    /// Set by the background pass when it found the WAL past [`CATCH_UP_FRAMES`]; the
    /// writer then catches up.
    done: Arc<AtomicBool>,
}

/// Returns the frames in the WAL and how many of them are in the database file.
fn checkpoint(conn: &Connection) -> (i64, i64) {
    // (busy, frames in the WAL, frames copied)
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    }) {
        Ok(counts) => counts,
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed; it will be retried");
            (0, 0)
        }
    }
}

impl Checkpointer {
    pub(crate) fn start(conn: Connection) -> std::io::Result<Self> {
        // One pending nudge is enough: a checkpoint copies everything committed so far.
        let (tx, rx) = mpsc::sync_channel(1);
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("rodeo-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &rx, &flag))?;
        Ok(Self {
            nudge: Some(tx),
            thread: Some(thread),
            commits: 0,
            done,
        })
    }

    /// Called by the writer after each commit.
    pub(crate) fn committed(&mut self) {
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            if let Some(tx) = &self.nudge {
                // Full means a checkpoint is already due; nothing to add.
                let _ = tx.try_send(());
            }
        }
    }

    /// Called by the writer between groups, on its own connection.
    pub(crate) fn catch_up(&self, writer: &Connection) {
        if self.done.swap(false, Ordering::AcqRel) {
            checkpoint(writer);
        }
    }

    /// Lets a running checkpoint finish and stops the thread.
    pub(crate) fn stop(&mut self) {
        drop(self.nudge.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the SQLite checkpoint thread panicked");
            }
        }
    }
}

fn run(conn: &Connection, nudges: &Receiver<()>, done: &AtomicBool) {
    let mut copied_before = 0;
    while nudges.recv().is_ok() {
        for _ in 0..MAX_PASSES {
            let (frames, copied) = checkpoint(conn);
            // The WAL started over since the last pass: everything counts as new.
            let fresh = if copied >= copied_before {
                copied - copied_before
            } else {
                copied
            };
            copied_before = copied;
            if frames < CATCH_UP_FRAMES {
                break;
            }
            if fresh <= CATCH_UP_BACKLOG {
                done.store(true, Ordering::Release);
                break;
            }
        }
    }
}
