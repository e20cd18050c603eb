//! What each environment serves: its flag definition compiled once into a
//! [`FlagSet`], with the definition's JSON and ETag ready for the SDK endpoint. One
//! `watch` channel per environment holds the current [`Served`]; evaluations borrow it,
//! streams wait on it. A change is installed by the replica that wrote it right after
//! the commit, and by every replica when the ledger event arrives, so a change reaches
//! connected streams within the event delivery time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use rodeo_domain::{EnvironmentName, FlagSetRecord, Timestamp};
use rodeo_flags::FlagSet;
use rodeo_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, watch};

use super::counts::Counters;

/// One environment's flags as served.
pub(crate) struct Served {
    pub(crate) environment: EnvironmentName,
    pub(crate) set: FlagSet,
    /// 0 before the environment's first flag change.
    pub(crate) version: i64,
    pub(crate) updated_at: Option<Timestamp>,
    /// A strong ETag of the definition's content (quoted).
    pub(crate) etag: String,
    /// The flagd document, serialized once.
    pub(crate) document: String,
    pub(crate) counters: Counters,
}

impl Served {
    fn new(
        environment: EnvironmentName,
        set: FlagSet,
        version: i64,
        updated_at: Option<Timestamp>,
    ) -> Self {
        let document = set.to_document().to_string();
        let digest = Sha256::digest(document.as_bytes());
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        let counters = Counters::for_set(&set);
        Self {
            environment,
            set,
            version,
            updated_at,
            etag,
            document,
            counters,
        }
    }

    fn empty(environment: EnvironmentName) -> Self {
        Self::new(environment, FlagSet::default(), 0, None)
    }
}

#[derive(Default)]
pub(crate) struct FlagCache {
    envs: RwLock<HashMap<String, watch::Sender<Arc<Served>>>>,
    /// Replaced sets whose evaluation counts have not been flushed yet.
    retired: Mutex<Vec<Arc<Served>>>,
}

impl FlagCache {
    /// Loads every environment's flags.
    pub(crate) async fn load(store: &Arc<dyn Store>) -> Result<Arc<Self>, StoreError> {
        let cache = Arc::new(Self::default());
        for record in store.flag_sets().await? {
            let env = record.environment.clone();
            cache.install(&env, Some(record));
        }
        Ok(cache)
    }

    /// The flags `env` serves, if it ever had any.
    pub(crate) fn get(&self, env: &str) -> Option<Arc<Served>> {
        let envs = self.envs.read().ok()?;
        envs.get(env).map(|tx| Arc::clone(&tx.borrow()))
    }

    /// A receiver that sees every change of `env`'s flags (from now on).
    pub(crate) fn subscribe(&self, env: &EnvironmentName) -> watch::Receiver<Arc<Served>> {
        if let Some(tx) = self
            .envs
            .read()
            .ok()
            .and_then(|e| e.get(env.as_str()).cloned())
        {
            return tx.subscribe();
        }
        let Ok(mut envs) = self.envs.write() else {
            return watch::channel(Arc::new(Served::empty(env.clone()))).1;
        };
        envs.entry(env.to_string())
            .or_insert_with(|| watch::channel(Arc::new(Served::empty(env.clone()))).0)
            .subscribe()
    }

    /// Serves `record` for `env` unless what is served is as new (`None`: no flags).
    pub(crate) fn install(&self, env: &EnvironmentName, record: Option<FlagSetRecord>) {
        let version = record.as_ref().map_or(0, |r| r.version);
        if self
            .get(env.as_str())
            .is_some_and(|s| s.version >= version && version > 0)
        {
            return;
        }
        let served = match record {
            None => Served::empty(env.clone()),
            Some(r) => match FlagSet::compile(&r.document) {
                Ok(set) => Served::new(env.clone(), set, r.version, Some(r.updated_at)),
                Err(problems) => {
                    // Stored definitions were validated when written; a newer rodeo may
                    // have written one this binary cannot read. Keep serving the old one.
                    tracing::error!(environment = %env, ?problems, "stored flag definition does not compile; still serving the previous one");
                    return;
                }
            },
        };
        let Ok(mut envs) = self.envs.write() else {
            return;
        };
        let served = Arc::new(served);
        match envs.get(env.as_str()) {
            Some(tx) => {
                let old = tx.send_replace(served);
                if let Ok(mut retired) = self.retired.lock() {
                    retired.push(old);
                }
            }
            None => {
                envs.insert(env.to_string(), watch::channel(served).0);
            }
        }
    }

    /// Reads `env`'s flags from the store and serves them.
    pub(crate) async fn reload(
        &self,
        store: &Arc<dyn Store>,
        env: &EnvironmentName,
    ) -> Result<(), StoreError> {
        let record = store.flag_set(env).await?;
        self.install(env, record);
        Ok(())
    }

    /// Every set served now, and the ones replaced since the last call (for counting).
    pub(crate) fn drain_for_counts(&self) -> Vec<Arc<Served>> {
        let mut out: Vec<Arc<Served>> = self
            .retired
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        if let Ok(envs) = self.envs.read() {
            out.extend(envs.values().map(|tx| Arc::clone(&tx.borrow())));
        }
        out
    }

    /// Follows the ledger: a flag event (from this replica or another) reloads its
    /// environment; a lagged subscriber reloads everything.
    pub(crate) async fn follow(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut events = store.subscribe();
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                _ = shutdown.wait_for(|s| *s) => return,
            };
            match event {
                Ok(e) if e.kind.starts_with("flag.") || e.kind.starts_with("flags.") => {
                    let Some(env) = e.environment else { continue };
                    if let Err(e) = self.reload(&store, &env).await {
                        tracing::warn!(environment = %env, error = %e, "could not reload flags");
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => match store.flag_sets().await {
                    Ok(records) => {
                        for r in records {
                            let env = r.environment.clone();
                            self.install(&env, Some(r));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not reload flags after missing events")
                    }
                },
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
