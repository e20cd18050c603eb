//! A cache of the serialized status matrix. Dashboards and hallway screens poll
//! `GET /api/v1/status`, which changes only when something is written, so the answer is
//! kept until the next committed event (from any replica: on PostgreSQL, events arrive
//! through LISTEN/NOTIFY) or for at most [`MAX_AGE`], whichever comes first.
//!
//! A generation counter closes the race between a read and a write: a reader remembers
//! the generation before it asks the store and keeps its answer only if no event
//! arrived meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use rodeo_store::Store;
use tokio::sync::broadcast::error::RecvError;

/// An upper bound on staleness should an invalidation ever be missed (a listener
/// reconnecting on PostgreSQL).
const MAX_AGE: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(crate) struct StatusCache {
    generation: AtomicU64,
    entry: Mutex<Option<(u64, Instant, Bytes)>>,
}

impl StatusCache {
    /// Starts invalidating on every committed event; the task ends with the store.
    pub(crate) fn start(store: &Arc<dyn Store>) -> Arc<Self> {
        let cache = Arc::new(Self::default());
        let mut rx = store.subscribe();
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            loop {
                let r = rx.recv().await;
                let Some(cache) = weak.upgrade() else { return };
                match r {
                    Ok(_) | Err(RecvError::Lagged(_)) => cache.invalidate(),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        cache
    }

    /// Called by the event task, and by this replica's own writes right after they
    /// commit, so a client reads its own write even before the event arrives.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut e) = self.entry.lock() {
            *e = None;
        }
    }

    /// The cached body, if fresh; otherwise the generation to pass to [`Self::put`].
    pub(crate) fn get(&self) -> Result<Bytes, u64> {
        let generation = self.generation.load(Ordering::SeqCst);
        let entry = self.entry.lock().ok();
        match entry.as_deref() {
            Some(Some((g, at, body))) if *g == generation && at.elapsed() < MAX_AGE => {
                Ok(body.clone())
            }
            _ => Err(generation),
        }
    }

    /// Keeps `body`, computed after [`Self::get`] returned `generation`, unless an event
    /// arrived since.
    pub(crate) fn put(&self, generation: u64, body: Bytes) {
        if let Ok(mut e) = self.entry.lock() {
            if self.generation.load(Ordering::SeqCst) == generation {
                *e = Some((generation, Instant::now(), body));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_between_read_and_put_discards_the_answer() {
        let c = StatusCache::default();
        let g = c.get().unwrap_err();
        c.invalidate();
        c.put(g, Bytes::from_static(b"stale"));
        assert!(c.get().is_err());
        let g = c.get().unwrap_err();
        c.put(g, Bytes::from_static(b"fresh"));
        assert_eq!(c.get().unwrap(), Bytes::from_static(b"fresh"));
        c.invalidate();
        assert!(c.get().is_err());
    }
}
