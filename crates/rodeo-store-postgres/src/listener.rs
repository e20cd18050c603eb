//! Live events across replicas. Every write transaction notifies `rodeo_events` with
//! the id of each event it appends; PostgreSQL delivers notifications only on commit,
//! to every listening connection, in commit order. One task per store listens on its
//! own connection, loads the events by id and publishes them to the store's broadcast
//! channel. The writing replica learns of its own events the same way, so each event is
//! published exactly once per replica.
//!
//! Notifications sent while the listening connection is down are lost; after
//! reconnecting, the task publishes the events with ids above the largest it has seen
//! (best effort: a transaction that took a smaller id but committed during the outage
//! is not caught up). Recently published ids are remembered so the catch-up never
//! repeats an event.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use rodeo_domain::Event;
use rodeo_store::StoreError;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::rows::{self, DbResult, EVENT_COLUMNS};
use crate::write::EVENTS_CHANNEL;

/// How many published ids are remembered to suppress repeats after a catch-up.
const REMEMBERED: usize = 4096;
/// The most events one catch-up publishes.
const CATCH_UP_LIMIT: i64 = 10_000;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Connects the listener (so nothing committed after this returns is missed) and
/// starts the task. `listen_pool` is a one-connection pool reserved for listening;
/// `pool` loads the events.
pub(crate) async fn start(
    listen_pool: PgPool,
    pool: PgPool,
    events: broadcast::Sender<Event>,
    shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, StoreError> {
    let listener = subscribe(&listen_pool).await.db()?;
    let last_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(&pool)
        .await
        .db()?;
    let task = Task {
        listen_pool,
        pool,
        events,
        shutdown,
        last_id,
        recent: VecDeque::new(),
        recent_set: HashSet::new(),
    };
    Ok(tokio::spawn(task.run(listener)))
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    Ok(listener)
}

struct Task {
    listen_pool: PgPool,
    pool: PgPool,
    events: broadcast::Sender<Event>,
    shutdown: watch::Receiver<bool>,
    last_id: i64,
    recent: VecDeque<i64>,
    recent_set: HashSet<i64>,
}

impl Task {
    async fn run(mut self, listener: PgListener) {
        let mut listener = Some(listener);
        let mut backoff = Duration::from_millis(100);
        loop {
            let Some(l) = listener.as_mut() else {
                let connected = tokio::select! {
                    _ = self.shutdown.changed() => return,
                    r = subscribe(&self.listen_pool) => r,
                };
                match connected {
                    Ok(l) => {
                        listener = Some(l);
                        backoff = Duration::from_millis(100);
                        self.catch_up().await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener cannot reconnect to PostgreSQL");
                        tokio::select! {
                            _ = self.shutdown.changed() => return,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
                continue;
            };
            let received = tokio::select! {
                _ = self.shutdown.changed() => return,
                r = l.try_recv() => r,
            };
            match received {
                Ok(Some(first)) => {
                    let mut ids = vec![first];
                    while let Some(n) = l.next_buffered() {
                        ids.push(n);
                    }
                    let ids: Vec<i64> = ids
                        .iter()
                        .filter_map(|n| n.payload().parse().ok())
                        .collect();
                    self.publish_ids(&ids).await;
                }
                Ok(None) => {
                    tracing::warn!("event listener lost its connection; reconnected");
                    self.catch_up().await;
                }
                Err(e) => {
                    if self.listen_pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "event listener failed; reconnecting");
                    listener = None;
                }
            }
        }
    }

    async fn publish_ids(&mut self, ids: &[i64]) {
        let loaded = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY($1) ORDER BY id"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await;
        self.publish(loaded);
    }

    async fn catch_up(&mut self) {
        let loaded = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(self.last_id)
        .bind(CATCH_UP_LIMIT)
        .fetch_all(&self.pool)
        .await;
        self.publish(loaded);
    }

    fn publish(&mut self, loaded: Result<Vec<sqlx::postgres::PgRow>, sqlx::Error>) {
        let rows = match loaded {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot load committed events for live subscribers");
                return;
            }
        };
        for row in &rows {
            match rows::event(row) {
                Ok(event) => {
                    if !self.remember(event.id) {
                        continue;
                    }
                    self.last_id = self.last_id.max(event.id);
                    // No subscribers is not an error: the event is in the ledger.
                    let _ = self.events.send(event);
                }
                Err(e) => tracing::warn!(error = %e, "cannot read a committed event"),
            }
        }
    }

    /// False when `id` was published recently.
    fn remember(&mut self, id: i64) -> bool {
        if !self.recent_set.insert(id) {
            return false;
        }
        self.recent.push_back(id);
        if self.recent.len() > REMEMBERED {
            if let Some(old) = self.recent.pop_front() {
                self.recent_set.remove(&old);
            }
        }
        true
    }
}
