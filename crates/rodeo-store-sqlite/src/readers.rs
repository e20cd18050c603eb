//! The read pool: a few read-only connections, each query run on tokio's blocking pool
//! so the async runtime never waits on SQLite. In WAL mode readers never block the
//! writer and see every transaction committed before they start.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rodeo_store::{PoolStats, StoreError};
use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::connection::open_reader;
use crate::error::Result;
use crate::options::SqliteOptions;

pub(crate) struct Readers {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    open: AtomicU32,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, options: SqliteOptions) -> Self {
        let size = options.readers.max(1);
        Self {
            path,
            options,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
            open: AtomicU32::new(0),
        }
    }

    fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(c) => Ok(c),
            None => {
                let c = open_reader(&self.path, &self.options)?;
                self.open.fetch_add(1, Ordering::Relaxed);
                Ok(c)
            }
        }
    }

    /// Runs `f` on a pooled connection on a blocking thread.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let this = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let conn = this.take()?;
            let result = f(&conn);
            this.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
            result
        })
        .await;
        match joined {
            Ok(result) => result.map_err(StoreError::from),
            // The connection went down with the panicking query; the next read opens
            // a fresh one.
            Err(e) => {
                self.open.fetch_sub(1, Ordering::Relaxed);
                Err(StoreError::database(e))
            }
        }
    }

    /// Refuses further reads and closes idle connections.
    pub(crate) fn close(&self) {
        self.permits.close();
        let closed = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        self.open.fetch_sub(closed.len() as u32, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).len() as u32;
        PoolStats {
            connections: self.open.load(Ordering::Relaxed),
            idle,
        }
    }
}
