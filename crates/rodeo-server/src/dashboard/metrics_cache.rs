//! DORA figures for the dashboard, computed once and reused.
//!
//! An organisation's figures take hundreds of milliseconds to compute on a large
//! ledger (see `docs/benchmarks.md`); a page must render in well under that. So the
//! figures of each scope are kept: fresh ones are served as they are; after a
//! deployment, commit or incident event, or once older than `metrics_cache_secs`, the
//! kept figures are still served while one background task recomputes them
//! (stale-while-revalidate). Only the very first request of a scope waits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rodeo_domain::{ServiceName, Timestamp};
use rodeo_metrics::{dora_in, BotPatterns, Bucket, Dora, Window};
use rodeo_store::{FactsQuery, Store};
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiError;

/// The figures of one scope: the window, the one before it, and each week.
#[derive(Debug)]
pub(crate) struct Figures {
    pub(crate) computed_at: Timestamp,
    pub(crate) window: Window,
    pub(crate) current: Dora,
    pub(crate) previous: Dora,
    pub(crate) weeks: Vec<(Window, Dora)>,
}

/// What to compute for.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    /// Cache key: `all`, `service:<name>`, `team:<name>`.
    pub(crate) key: String,
    /// `None`: every service.
    pub(crate) services: Option<Vec<ServiceName>>,
    pub(crate) window_days: u32,
    pub(crate) weeks: u32,
    pub(crate) bots: Vec<String>,
}

struct Entry {
    figures: Arc<Figures>,
    generation: u64,
    at: Instant,
    refreshing: bool,
}

pub(crate) struct DoraCache {
    entries: Mutex<HashMap<String, Entry>>,
    generation: AtomicU64,
    ttl: Duration,
}

/// More scopes than this and the cache starts over.
const MAX_ENTRIES: usize = 1024;

impl DoraCache {
    /// A cache that marks its figures stale on every event that can change them.
    pub(crate) fn start(store: &Arc<dyn Store>, ttl: Duration) -> Arc<Self> {
        let cache = Arc::new(Self {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            ttl,
        });
        let mut rx = store.subscribe();
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            loop {
                let r = rx.recv().await;
                let Some(cache) = weak.upgrade() else { return };
                match r {
                    Ok(e) if !counts(&e.kind) => {}
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        cache.generation.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        cache
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| {
            let mut m = p.into_inner();
            m.clear();
            m
        })
    }

    /// The figures for `ask`: kept ones when there are any (starting a recomputation
    /// when they are stale), else computed now.
    pub(crate) async fn get(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        ask: Ask,
    ) -> Result<Arc<Figures>, ApiError> {
        let generation = self.generation.load(Ordering::Relaxed);
        let kept = {
            let mut entries = self.lock();
            match entries.get_mut(&ask.key) {
                Some(e) => {
                    let stale = e.generation != generation || e.at.elapsed() >= self.ttl;
                    let start = stale && !e.refreshing;
                    if start {
                        e.refreshing = true;
                    }
                    Some((e.figures.clone(), start))
                }
                None => None,
            }
        };
        match kept {
            Some((figures, refresh)) => {
                if refresh {
                    let (cache, store) = (Arc::clone(self), Arc::clone(store));
                    tokio::spawn(async move {
                        let key = ask.key.clone();
                        if let Err(e) = cache.refresh(&store, ask, generation).await {
                            tracing::warn!(scope = %key, error = %e, "recomputing dashboard figures failed");
                            if let Some(e) = cache.lock().get_mut(&key) {
                                e.refreshing = false;
                            }
                        }
                    });
                }
                Ok(figures)
            }
            None => self.refresh(store, ask, generation).await,
        }
    }

    async fn refresh(
        &self,
        store: &Arc<dyn Store>,
        ask: Ask,
        generation: u64,
    ) -> Result<Arc<Figures>, ApiError> {
        let key = ask.key.clone();
        let figures = Arc::new(compute(store, ask).await?);
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                figures: figures.clone(),
                generation,
                at: Instant::now(),
                refreshing: false,
            },
        );
        Ok(figures)
    }
}

/// Events that can change delivery figures.
fn counts(kind: &str) -> bool {
    kind.starts_with("deployment.")
        || kind.starts_with("incident.")
        || kind.starts_with("commits.")
        || kind.starts_with("pull_request.")
        || kind.starts_with("service.")
        || kind.starts_with("environment.")
}

async fn compute(store: &Arc<dyn Store>, ask: Ask) -> Result<Figures, ApiError> {
    let now = rodeo_domain::now();
    let days = |n: u32| chrono::Duration::days(i64::from(n.max(1)));
    let window = Window::ending(now, days(ask.window_days))
        .ok_or_else(|| ApiError::invalid("window", "invalid"))?;
    let previous = window.previous();
    let weeks = Window::ending(now, days(ask.weeks.max(1) * 7))
        .map(|w| w.buckets(Bucket::Week))
        .unwrap_or_default();
    let from = weeks
        .first()
        .map_or(previous.from, |w| w.from.min(previous.from));
    let facts = store
        .metric_facts(&FactsQuery {
            services: ask.services,
            from,
            to: now,
        })
        .await?;
    let bots = BotPatterns::new(&ask.bots);
    tokio::task::spawn_blocking(move || {
        let mut windows = vec![window, previous];
        windows.extend(weeks.iter().copied());
        let mut all = dora_in(&facts, &windows, &bots).into_iter();
        let (Some(current), Some(previous)) = (all.next(), all.next()) else {
            return Err(ApiError::Internal("no figures for the window".into()));
        };
        Ok(Figures {
            computed_at: now,
            window,
            current,
            previous,
            weeks: weeks.into_iter().zip(all).collect(),
        })
    })
    .await
    .map_err(ApiError::internal)?
}
