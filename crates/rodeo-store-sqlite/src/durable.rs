//! Acknowledging committed groups once they are durable, without making the writer
//! wait for the disk.
//!
//! With `synchronous=FULL`, SQLite fsyncs the WAL inside every `COMMIT`, and the writer
//! thread sits idle for the whole flush (several milliseconds on virtual disks) before
//! it can apply the next group. Instead, in [`Synchronous::Full`] mode the writer's
//! connection runs with `synchronous=NORMAL` (a `COMMIT` writes the WAL frames into
//! the OS without flushing them) and hands each committed group to this thread, which
//! calls `fdatasync` on the WAL file and only then publishes the group's events and
//! answers its callers. Meanwhile the writer already applies the next group, so the
//! flush of one group overlaps the work of the next; several groups that commit while
//! a flush is running share the next one.
//!
//! Why this is as durable as `FULL`: every frame of a group was written to the WAL
//! before the `fdatasync` began, so when it returns they are on disk, and WAL recovery
//! keeps every transaction up to the last complete commit frame. Checkpoints sync the
//! WAL themselves before copying it into the database (SQLite does so in `NORMAL`
//! mode), and a restarted WAL's header is synced by SQLite too. What differs: another
//! connection may read a group in the few milliseconds between its `COMMIT` and its
//! flush, before any caller is told it succeeded.
//!
//! A failed flush is not retried: after a failed `fsync`, Linux may have dropped the
//! dirty pages and report the next `fsync` as a success. The store stops taking
//! writes instead (see [`Durability::failed`]); a restart recovers from the WAL.
//!
//! [`Synchronous::Full`]: crate::Synchronous::Full

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use rodeo_domain::Event;
use rodeo_store::{StoreError, Written};
use tokio::sync::{broadcast, oneshot};

pub(crate) type Reply = oneshot::Sender<Result<Written, StoreError>>;
pub(crate) type Applied = Result<(Written, Vec<Event>), StoreError>;

/// A committed group: each caller's reply and what to answer it.
pub(crate) type Group = Vec<(Reply, Applied)>;

#[derive(Debug, thiserror::Error)]
#[error("flushing the write-ahead log to disk failed; rodeo takes no more writes until restarted")]
pub(crate) struct FlushFailed(#[source] pub(crate) Arc<std::io::Error>);

/// Where committed groups go: answered at once, or after a flush of the WAL.
pub(crate) enum Durability {
    /// The connection's own `COMMIT` is as durable as configured.
    Immediate { events: broadcast::Sender<Event> },
    /// A flusher thread makes groups durable before answering them.
    Flushed {
        groups: Option<Sender<Group>>,
        thread: Option<JoinHandle<()>>,
        failed: Arc<AtomicBool>,
    },
}

impl Durability {
    pub(crate) fn immediate(events: broadcast::Sender<Event>) -> Self {
        Self::Immediate { events }
    }

    /// Starts the flusher for the WAL file at `wal`.
    pub(crate) fn flushed(wal: PathBuf, events: broadcast::Sender<Event>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failed);
        let thread = std::thread::Builder::new()
            .name("rodeo-sqlite-flush".into())
            .spawn(move || run(&wal, &rx, &events, &flag))?;
        Ok(Self::Flushed {
            groups: Some(tx),
            thread: Some(thread),
            failed,
        })
    }

    /// Set once a flush failed; the writer then refuses every later call.
    pub(crate) fn failed(&self) -> bool {
        match self {
            Self::Immediate { .. } => false,
            Self::Flushed { failed, .. } => failed.load(Ordering::Acquire),
        }
    }

    /// Called by the writer right after a group's `COMMIT`.
    pub(crate) fn committed(&self, group: Group) {
        match self {
            Self::Immediate { events } => answer(group, events),
            Self::Flushed { groups, .. } => {
                if let Some(tx) = groups {
                    // The flusher only stops after `stop`, so this cannot fail; if it
                    // did, the replies drop and callers see the store as closed.
                    let _ = tx.send(group);
                }
            }
        }
    }

    /// Answers every group handed over so far and stops the flusher.
    pub(crate) fn stop(&mut self) {
        if let Self::Flushed { groups, thread, .. } = self {
            drop(groups.take());
            if let Some(t) = thread.take() {
                if t.join().is_err() {
                    tracing::error!("the SQLite flush thread panicked");
                }
            }
        }
    }
}

/// Publishes a durable group's events in commit order and answers its callers.
fn answer(group: Group, events: &broadcast::Sender<Event>) {
    for (reply, result) in group {
        let answer = result.map(|(written, new_events)| {
            for e in new_events {
                // No subscriber is not an error.
                let _ = events.send(e);
            }
            written
        });
        // The caller may have gone away; the write stands regardless.
        let _ = reply.send(answer);
    }
}

fn flush(wal: &PathBuf) -> std::io::Result<()> {
    // Opened per flush so a WAL file SQLite replaced is never missed; an open is cheap
    // next to the flush itself.
    File::open(wal)?.sync_data()
}

fn run(
    wal: &PathBuf,
    groups: &Receiver<Group>,
    events: &broadcast::Sender<Event>,
    failed: &AtomicBool,
) {
    while let Ok(first) = groups.recv() {
        let mut ready = vec![first];
        ready.extend(groups.try_iter());
        let outcome = if failed.load(Ordering::Acquire) {
            Err(Arc::new(std::io::Error::other("an earlier flush failed")))
        } else {
            flush(wal).map_err(Arc::new)
        };
        match outcome {
            Ok(()) => {
                for group in ready {
                    answer(group, events);
                }
            }
            Err(e) => {
                if !failed.swap(true, Ordering::AcqRel) {
                    tracing::error!(error = %e, wal = %wal.display(),
                        "flushing the SQLite WAL failed; refusing further writes");
                }
                for (reply, _) in ready.into_iter().flatten() {
                    let err = StoreError::database(FlushFailed(Arc::clone(&e)));
                    let _ = reply.send(Err(err));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(n: usize) -> (Group, Vec<oneshot::Receiver<Result<Written, StoreError>>>) {
        (0..n)
            .map(|_| {
                let (tx, rx) = oneshot::channel();
                ((tx, Ok((Written::DuplicateDelivery, Vec::new()))), rx)
            })
            .unzip()
    }

    #[test]
    fn groups_are_answered_after_a_flush_and_a_failed_flush_stops_all_writes() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("db-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let (events, _) = broadcast::channel(16);
        let mut d = Durability::flushed(wal.clone(), events).unwrap();

        let (g, answers) = group(2);
        d.committed(g);
        for a in answers {
            assert!(matches!(
                a.blocking_recv().unwrap(),
                Ok(Written::DuplicateDelivery)
            ));
        }
        assert!(!d.failed());

        // The file vanishes: the flush fails, the callers hear it, and the store is
        // marked failed for good, even once the file is back.
        std::fs::remove_file(&wal).unwrap();
        let (g, answers) = group(1);
        d.committed(g);
        for a in answers {
            assert!(matches!(
                a.blocking_recv().unwrap(),
                Err(StoreError::Database(_))
            ));
        }
        assert!(d.failed());
        std::fs::write(&wal, b"frames").unwrap();
        let (g, answers) = group(1);
        d.committed(g);
        for a in answers {
            assert!(a.blocking_recv().unwrap().is_err());
        }
        d.stop();
    }
}
