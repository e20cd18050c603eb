//! The client applications hold: [`RodeoFlags`] evaluates the last definition it
//! received, in memory, while a background task (`follow`) keeps that definition current.
//!
//! The definition lives in a `tokio::sync::watch` channel: an evaluation takes its read
//! lock only long enough to clone an `Arc`, then evaluates with no lock held; the follower
//! task replaces the `Arc` when a new definition arrives, and the same channel wakes
//! whoever waits on [`Changes`]. One primitive serves both, so the value read and the
//! change announced cannot disagree.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use open_feature::provider::ProviderMetadata;
use rodeo_flags::{FlagSet, Requested, Resolution};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::builder::Builder;
use crate::details::{Details, ErrorCode, EvalError};
use crate::error::Error;

/// How the client stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Connection {
    /// The first attempt has not finished yet.
    Connecting,
    /// Following the definition stream: a change arrives within about a second.
    Live,
    /// The stream is down: the client keeps serving the last definition it has (if
    /// any), polls the definition and reconnects with backoff.
    Disconnected,
    /// The server refused the SDK key (401 or 403); the client keeps retrying slowly.
    Refused,
    /// [`RodeoFlags::close`] was called: the last definition keeps serving, frozen.
    Closed,
}

/// A compiled definition and the version the server gave it.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) set: FlagSet,
    pub(crate) version: i64,
}

/// What the client and its follower task share.
pub(crate) struct Shared {
    pub(crate) definition: watch::Sender<Option<Arc<Snapshot>>>,
    pub(crate) connection: watch::Sender<Connection>,
    pub(crate) last_error: Mutex<Option<Arc<Error>>>,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            definition: watch::Sender::new(None),
            connection: watch::Sender::new(Connection::Connecting),
            last_error: Mutex::new(None),
        }
    }

    /// Records the connection's state; nothing leaves `Closed`, so that a follower
    /// caught mid-step by `close` cannot undo it.
    pub(crate) fn set_connection(&self, new: Connection) {
        self.connection.send_if_modified(|current| {
            let changes = *current != new && *current != Connection::Closed;
            if changes {
                *current = new;
            }
            changes
        });
    }

    pub(crate) fn set_last_error(&self, error: Option<Arc<Error>>) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error;
        }
    }

    fn last_error(&self) -> Option<Arc<Error>> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

/// A rodeo feature-flag client for one environment, evaluating locally.
///
/// Cheap to clone (clones share one definition and one background task). The task
/// stops when the last clone is dropped or [`close`](Self::close) is called. It also
/// implements OpenFeature's `FeatureProvider`: pass a clone to
/// `OpenFeature::set_provider`.
#[derive(Clone)]
pub struct RodeoFlags {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    task: AbortHandle,
    pub(crate) metadata: ProviderMetadata,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for RodeoFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RodeoFlags")
            .field("version", &self.version())
            .field("connection", &self.connection())
            .finish_non_exhaustive()
    }
}

impl RodeoFlags {
    /// A builder for a client of `environment` on the rodeo server at `base_url`,
    /// authenticated with a server-side SDK key of that environment (scope
    /// `sdk_server`; client-side keys are refused).
    pub fn builder(
        base_url: impl Into<String>,
        environment: impl Into<String>,
        sdk_key: impl Into<String>,
    ) -> Builder {
        Builder::new(base_url.into(), environment.into(), sdk_key.into())
    }

    /// A client over `shared`, whose follower is `task`.
    pub(crate) fn new(shared: Arc<Shared>, task: AbortHandle) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared,
                task,
                metadata: ProviderMetadata::new("rodeo"),
            }),
        }
    }

    /// Evaluates `key` for `context`, whatever the flag's type.
    pub fn evaluate(&self, key: &str, context: &Map<String, Value>) -> Details {
        self.evaluate_as(key, context, Requested::Any)
    }

    /// Evaluates `key` for `context`; a value not of the `requested` type becomes a
    /// `TYPE_MISMATCH` error with the caller's default.
    pub fn evaluate_as(
        &self,
        key: &str,
        context: &Map<String, Value>,
        requested: Requested,
    ) -> Details {
        self.resolve(
            key,
            context,
            requested,
            |resolved, version| match resolved {
                Ok(r) => Details::from_resolution(r, version.unwrap_or_default()),
                Err(e) => Details::failed(key, e, version),
            },
        )
    }

    /// The flag's boolean value, or `default`.
    pub fn bool_value(&self, key: &str, context: &Map<String, Value>, default: bool) -> bool {
        self.typed(key, context, Requested::Boolean, Value::as_bool)
            .unwrap_or(default)
    }

    /// The flag's string value, or `default`.
    pub fn string_value(&self, key: &str, context: &Map<String, Value>, default: &str) -> String {
        self.typed(key, context, Requested::String, |v| {
            v.as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| default.to_owned())
    }

    /// The flag's integer value, or `default`.
    pub fn int_value(&self, key: &str, context: &Map<String, Value>, default: i64) -> i64 {
        self.typed(key, context, Requested::Integer, Value::as_i64)
            .unwrap_or(default)
    }

    /// The flag's numeric value, or `default`.
    pub fn float_value(&self, key: &str, context: &Map<String, Value>, default: f64) -> f64 {
        self.typed(key, context, Requested::Float, Value::as_f64)
            .unwrap_or(default)
    }

    /// The flag's object value, or `default`.
    pub fn object_value(
        &self,
        key: &str,
        context: &Map<String, Value>,
        default: Map<String, Value>,
    ) -> Map<String, Value> {
        self.typed(key, context, Requested::Object, |v| v.as_object().cloned())
            .unwrap_or(default)
    }

    fn typed<T>(
        &self,
        key: &str,
        context: &Map<String, Value>,
        requested: Requested,
        extract: impl FnOnce(&Value) -> Option<T>,
    ) -> Option<T> {
        self.resolve(key, context, requested, |resolved, _| {
            resolved.ok()?.value.and_then(extract)
        })
    }

    /// Evaluates against the current definition and hands the borrowed resolution (or
    /// why there is none) to `f`, with the definition's version.
    pub(crate) fn resolve<R>(
        &self,
        key: &str,
        context: &Map<String, Value>,
        requested: Requested,
        f: impl for<'s> FnOnce(Result<Resolution<'s>, EvalError>, Option<i64>) -> R,
    ) -> R {
        let snapshot = self.inner.shared.definition.borrow().clone();
        let Some(snapshot) = snapshot else {
            let error = EvalError {
                code: ErrorCode::ProviderNotReady,
                details: "no flag definition has arrived from the rodeo server yet".into(),
            };
            return f(Err(error), None);
        };
        if let Err(e) = rodeo_flags::check_context(context) {
            return f(Err(e.into()), Some(snapshot.version));
        }
        let resolution = snapshot
            .set
            .evaluate(key, context, unix_now())
            .expecting(requested);
        f(Ok(resolution), Some(snapshot.version))
    }

    /// The version of the definition being served; `None` before the first arrived.
    /// Version 0 is an environment that never had flags.
    pub fn version(&self) -> Option<i64> {
        self.inner
            .shared
            .definition
            .borrow()
            .as_ref()
            .map(|s| s.version)
    }

    /// How the client stands with the server now.
    pub fn connection(&self) -> Connection {
        *self.inner.shared.connection.borrow()
    }

    /// A receiver of the connection's changes (`wait_for`, `changed`).
    pub fn watch_connection(&self) -> watch::Receiver<Connection> {
        self.inner.shared.connection.subscribe()
    }

    /// The last failure to reach the server or to use its answer, cleared when the
    /// stream is live again.
    pub fn last_error(&self) -> Option<Arc<Error>> {
        self.inner.shared.last_error()
    }

    /// Notifications of new definitions, from now on.
    pub fn changes(&self) -> Changes {
        let mut definition = self.inner.shared.definition.subscribe();
        definition.mark_unchanged();
        Changes {
            definition,
            connection: self.inner.shared.connection.subscribe(),
        }
    }

    /// Waits until a definition has arrived (at once if one has) and returns its
    /// version.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] if the server refuses the key first, [`Error::Closed`] if the
    /// client is closed, [`Error::Timeout`] (with the last failure) after `timeout`.
    pub async fn wait_for_definition(&self, timeout: Duration) -> Result<i64, Error> {
        let shared = &self.inner.shared;
        let mut definition = shared.definition.subscribe();
        let mut connection = shared.connection.subscribe();
        let waiting = async {
            loop {
                if let Some(s) = definition.borrow_and_update().as_ref() {
                    return Ok(s.version);
                }
                match *connection.borrow_and_update() {
                    Connection::Closed => return Err(Error::Closed),
                    Connection::Refused => {
                        if let Some(Error::Refused { status, detail }) =
                            shared.last_error().as_deref()
                        {
                            return Err(Error::Refused {
                                status: *status,
                                detail: detail.clone(),
                            });
                        }
                    }
                    _ => {}
                }
                tokio::select! {
                    changed = definition.changed() => changed.map_err(|_| Error::Closed)?,
                    changed = connection.changed() => changed.map_err(|_| Error::Closed)?,
                }
            }
        };
        match tokio::time::timeout(timeout, waiting).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                waited: timeout,
                source: shared.last_error(),
            }),
        }
    }

    /// Stops following the server. Evaluations keep answering from the last
    /// definition. Dropping every clone does the same.
    pub fn close(&self) {
        self.inner.task.abort();
        self.inner.shared.set_connection(Connection::Closed);
    }

    pub(crate) fn provider_metadata(&self) -> &ProviderMetadata {
        &self.inner.metadata
    }
}

/// Notifications of new definitions; see [`RodeoFlags::changes`].
#[derive(Debug)]
pub struct Changes {
    definition: watch::Receiver<Option<Arc<Snapshot>>>,
    connection: watch::Receiver<Connection>,
}

impl Changes {
    /// Waits for a definition newer than the last one this receiver saw and returns
    /// its version; `None` once the client is closed or dropped. Definitions that
    /// arrive in quick succession may be seen as one (the newest).
    pub async fn changed(&mut self) -> Option<i64> {
        loop {
            if *self.connection.borrow_and_update() == Connection::Closed {
                return None;
            }
            tokio::select! {
                changed = self.definition.changed() => {
                    changed.ok()?;
                    if let Some(s) = self.definition.borrow_and_update().as_ref() {
                        return Some(s.version);
                    }
                }
                changed = self.connection.changed() => changed.ok()?,
            }
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
