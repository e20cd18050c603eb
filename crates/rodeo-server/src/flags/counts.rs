//! Evaluation counts per flag and variant: atomic counters beside each served flag set
//! (no lock on the evaluation path), swapped out and written to the database every
//! `flags.flush_interval_secs`, and added to `rodeo_flag_evaluations_total` on `/metrics`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rodeo_domain::{to_micros, Command, EvaluationCount, Source, WriteContext};
use rodeo_flags::{FlagSet, Resolution};
use rodeo_store::Store;

use super::FlagCache;

struct FlagCounts {
    /// In the flag's variant order.
    variants: Vec<(String, AtomicU64)>,
    /// The caller's default was served (disabled, no default variant, error).
    default: AtomicU64,
    /// Microseconds of the latest evaluation.
    last: AtomicI64,
}

/// The counters of one served flag set.
pub(crate) struct Counters(HashMap<String, FlagCounts>);

impl Counters {
    pub(crate) fn for_set(set: &FlagSet) -> Self {
        Self(
            set.flags()
                .map(|f| {
                    let variants = f
                        .variants()
                        .keys()
                        .map(|v| (v.clone(), AtomicU64::new(0)))
                        .collect();
                    (
                        f.key().to_owned(),
                        FlagCounts {
                            variants,
                            default: AtomicU64::new(0),
                            last: AtomicI64::new(0),
                        },
                    )
                })
                .collect(),
        )
    }

    /// Counts one evaluation (unknown flags are not counted: they have no row to show).
    pub(crate) fn count(&self, r: &Resolution<'_>, now_micros: i64) {
        let Some(flag) = self.0.get(r.key) else {
            return;
        };
        let slot = r
            .variant
            .and_then(|v| flag.variants.iter().find(|(name, _)| name == v))
            .map(|(_, c)| c);
        slot.unwrap_or(&flag.default)
            .fetch_add(1, Ordering::Relaxed);
        flag.last.fetch_max(now_micros, Ordering::Relaxed);
    }

    fn take(&self, environment: &rodeo_domain::EnvironmentName, out: &mut Vec<EvaluationCount>) {
        for (key, flag) in &self.0 {
            let last = rodeo_domain::from_micros(flag.last.load(Ordering::Relaxed));
            let slots = flag
                .variants
                .iter()
                .map(|(v, c)| (Some(v.clone()), c))
                .chain([(None, &flag.default)]);
            for (variant, counter) in slots {
                let n = counter.swap(0, Ordering::Relaxed);
                if n > 0 {
                    out.push(EvaluationCount {
                        environment: environment.clone(),
                        key: key.clone(),
                        variant,
                        count: n,
                        last_evaluated_at: last,
                    });
                }
            }
        }
    }
}

/// Collects and resets every served set's counts.
fn collect(cache: &FlagCache) -> Vec<EvaluationCount> {
    let mut out = Vec::new();
    for served in cache.drain_for_counts() {
        served.counters.take(&served.environment, &mut out);
    }
    out
}

/// One flush: counts go to `/metrics` and, added up, to the database.
pub(crate) async fn flush_once(cache: &FlagCache, store: &Arc<dyn Store>) {
    let counts = collect(cache);
    if counts.is_empty() {
        return;
    }
    for c in &counts {
        metrics::counter!(
            "rodeo_flag_evaluations_total",
            "environment" => c.environment.to_string(),
            "flag" => c.key.clone(),
            "variant" => c.variant.clone().unwrap_or_else(|| "(default)".into()),
        )
        .increment(c.count);
    }
    let ctx = WriteContext::new("rodeo", Source::System, rodeo_domain::now());
    if let Err(e) = store
        .execute(ctx, vec![Command::RecordEvaluations { counts }])
        .await
    {
        tracing::warn!(error = %e, "could not record flag evaluation counts; they are dropped");
    }
}

/// Flushes every `interval` until shutdown, then once more.
pub(crate) async fn flush_counts(
    cache: Arc<FlagCache>,
    store: Arc<dyn Store>,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
        }
        flush_once(&cache, &store).await;
    }
    flush_once(&cache, &store).await;
}

/// Microseconds now, for [`Counters::count`].
pub(crate) fn now_micros() -> i64 {
    to_micros(rodeo_domain::now())
}
