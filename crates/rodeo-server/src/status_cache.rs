//! A cache of the serialized status matrix. Dashboards and hallway screens poll
//! `GET /api/v1/status`, which changes only when something is written, and a write
//! almost always changes one service's row. So the document is kept as one serialized
//! fragment per row; a deployment marks its service's row stale, and the next read
//! re-reads just the stale rows from the store and splices them in. Anything else that
//! may reshape the matrix (environments, teams, services created or deleted, a missed
//! event) marks the whole document stale, and the next read rebuilds it.
//!
//! Marks come from committed events (from any replica: on PostgreSQL, events arrive
//! through LISTEN/NOTIFY) and from this replica's own writes right after they commit, so
//! a client reads its own write even before the event arrives. A whole rebuild also
//! happens at least every [`MAX_AGE`], an upper bound on staleness should an event ever
//! be missed (a listener reconnecting on PostgreSQL).
//!
//! Every mark carries a generation number. A reader notes the generation when it plans
//! what to re-read and, when it is done, clears only marks no newer than that: a write
//! that lands while it reads stays marked for the next reader.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use rodeo_domain::{Environment, Event, Outcome, ServiceName, StatusMatrix};
use rodeo_store::{Store, StoreError};
use tokio::sync::broadcast::error::RecvError;

const MAX_AGE: Duration = Duration::from_secs(2);

/// What a write may have changed in the matrix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Touched {
    Nothing,
    Services(Vec<ServiceName>),
    Everything,
}

impl Touched {
    /// From a committed event. Unknown kinds reshape everything, so a new kind of event
    /// can make the cache slower but never wrong.
    pub(crate) fn of_event(e: &Event) -> Self {
        let kind = e.kind.as_str();
        if kind == "commits.recorded"
            || kind.starts_with("pull_request.")
            || kind.starts_with("token.")
            || kind.starts_with("incident.")
            || kind.starts_with("flag.")
            || kind.starts_with("flags.")
        {
            // Drift is a projection refreshed by deployments and environment changes;
            // commits alone do not move it.
            return Self::Nothing;
        }
        match (&e.service, kind.starts_with("deployment.")) {
            (Some(s), true) => Self::Services(vec![s.clone()]),
            _ => Self::Everything,
        }
    }

    /// From the outcomes of this replica's own write.
    pub(crate) fn of_outcomes(outcomes: &[Outcome]) -> Self {
        let mut services = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Deployment(d) => services.push(d.service.clone()),
                Outcome::Commits { .. }
                | Outcome::PullRequest(_)
                | Outcome::Token(_)
                | Outcome::Evaluations { .. } => {}
                // Opening an incident may register its services on first sight; the
                // outcome does not say, and incident writes are rare.
                // A flag change may register its environment (an `environment.created`
                // event follows it too).
                Outcome::Incident(_)
                | Outcome::Flags(_)
                | Outcome::Team(_)
                | Outcome::Service(_)
                | Outcome::Environment(_)
                | Outcome::Deleted => return Self::Everything,
            }
        }
        if services.is_empty() {
            Self::Nothing
        } else {
            Self::Services(services)
        }
    }
}

/// The document as serialized fragments, and the generation it reflects.
struct Doc {
    generation: u64,
    built: Instant,
    environments: Vec<Environment>,
    /// `{"environments":[…],"services":[`
    head: Bytes,
    /// One serialized row per service, in the store's order (by name).
    rows: Vec<(ServiceName, Bytes)>,
    body: Bytes,
}

impl Doc {
    fn new(generation: u64, matrix: &StatusMatrix) -> serde_json::Result<Self> {
        let mut head = b"{\"environments\":".to_vec();
        serde_json::to_writer(&mut head, &matrix.environments)?;
        head.extend_from_slice(b",\"services\":[");
        let rows = matrix
            .services
            .iter()
            .map(|r| Ok((r.service.clone(), Bytes::from(serde_json::to_vec(r)?))))
            .collect::<serde_json::Result<Vec<_>>>()?;
        let head = Bytes::from(head);
        let body = assemble(&head, &rows);
        Ok(Self {
            generation,
            built: Instant::now(),
            environments: matrix.environments.clone(),
            head,
            rows,
            body,
        })
    }

    /// This document with the rows of `fresh` replaced, or `None` when `fresh` does not
    /// fit (the environments changed, or a service appeared or disappeared).
    fn patched(
        &self,
        generation: u64,
        asked: &[ServiceName],
        fresh: &StatusMatrix,
    ) -> serde_json::Result<Option<Self>> {
        if fresh.environments != self.environments || fresh.services.len() != asked.len() {
            return Ok(None);
        }
        let mut rows = self.rows.clone();
        for row in &fresh.services {
            let Ok(i) = rows.binary_search_by(|(name, _)| name.cmp(&row.service)) else {
                return Ok(None);
            };
            rows[i].1 = Bytes::from(serde_json::to_vec(row)?);
        }
        let body = assemble(&self.head, &rows);
        Ok(Some(Self {
            generation,
            built: self.built,
            environments: self.environments.clone(),
            head: self.head.clone(),
            rows,
            body,
        }))
    }
}

fn assemble(head: &[u8], rows: &[(ServiceName, Bytes)]) -> Bytes {
    let len = head.len() + rows.iter().map(|(_, r)| r.len() + 1).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head);
    for (i, (_, row)) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(row);
    }
    body.extend_from_slice(b"]}");
    Bytes::from(body)
}

#[derive(Default)]
struct Inner {
    generation: u64,
    doc: Option<Doc>,
    /// The generation of the oldest unserved whole-document mark.
    everything: Option<u64>,
    /// Stale rows, with the generation of their latest mark.
    stale: HashMap<ServiceName, u64>,
}

impl Inner {
    /// Clears marks no newer than `generation` and keeps `doc` unless a newer one is
    /// already there.
    fn settle(&mut self, generation: u64, doc: Doc, whole: bool) {
        if whole && self.everything.is_some_and(|g| g <= generation) {
            self.everything = None;
        }
        self.stale.retain(|_, g| *g > generation);
        if self.doc.as_ref().is_none_or(|d| d.generation <= generation) {
            self.doc = Some(doc);
        }
    }
}

/// What a reader has to do.
enum Plan {
    Ready(Bytes),
    Rows(u64, Vec<ServiceName>),
    Whole(u64),
}

#[derive(Default)]
pub(crate) struct StatusCache {
    inner: Mutex<Inner>,
}

impl StatusCache {
    /// Starts marking on every committed event; the task ends with the store.
    pub(crate) fn start(store: &Arc<dyn Store>) -> Arc<Self> {
        let cache = Arc::new(Self::default());
        let mut rx = store.subscribe();
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            loop {
                let r = rx.recv().await;
                let Some(cache) = weak.upgrade() else { return };
                match r {
                    Ok(e) => cache.mark(Touched::of_event(&e)),
                    Err(RecvError::Lagged(_)) => cache.mark(Touched::Everything),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        cache
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is a cache: after a panic elsewhere it is still safe to use once
        // everything is marked stale.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut inner = poisoned.into_inner();
            inner.doc = None;
            inner
        })
    }

    pub(crate) fn mark(&self, touched: Touched) {
        if touched == Touched::Nothing {
            return;
        }
        let mut inner = self.lock();
        inner.generation += 1;
        let g = inner.generation;
        match touched {
            Touched::Nothing => {}
            Touched::Everything => {
                inner.everything.get_or_insert(g);
            }
            Touched::Services(names) => {
                for name in names {
                    inner.stale.insert(name, g);
                }
            }
        }
    }

    fn plan(&self) -> Plan {
        let inner = self.lock();
        match &inner.doc {
            Some(doc) if inner.everything.is_none() && doc.built.elapsed() < MAX_AGE => {
                if inner.stale.is_empty() {
                    Plan::Ready(doc.body.clone())
                } else {
                    let mut names: Vec<_> = inner.stale.keys().cloned().collect();
                    names.sort();
                    Plan::Rows(inner.generation, names)
                }
            }
            _ => Plan::Whole(inner.generation),
        }
    }

    /// The serialized matrix, re-reading from `store` only what is stale.
    pub(crate) async fn get(&self, store: &dyn Store) -> Result<Bytes, CacheError> {
        let generation = match self.plan() {
            Plan::Ready(body) => return Ok(body),
            Plan::Whole(g) => g,
            Plan::Rows(g, names) => {
                let fresh = store.status_of(&names).await?;
                let patched = {
                    let inner = self.lock();
                    match &inner.doc {
                        Some(doc) => doc.patched(g, &names, &fresh)?,
                        None => None,
                    }
                };
                if let Some(doc) = patched {
                    let body = doc.body.clone();
                    self.lock().settle(g, doc, false);
                    return Ok(body);
                }
                // The matrix changed shape under the write: read it whole.
                self.mark(Touched::Everything);
                self.lock().generation
            }
        };
        let matrix = store.status().await?;
        let doc = Doc::new(generation, &matrix)?;
        let body = doc.body.clone();
        self.lock().settle(generation, doc, true);
        Ok(body)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("serializing the status matrix")]
    Json(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use rodeo_domain::{EnvironmentName, StatusCell, StatusRow, Timestamp};

    fn matrix(services: &[(&str, Option<&str>)]) -> StatusMatrix {
        let env = |n: &str, order| Environment {
            name: EnvironmentName::parse(n).unwrap(),
            production: order > 1,
            order,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let environments = vec![env("staging", 1), env("production", 2)];
        let services = services
            .iter()
            .map(|(name, team)| StatusRow {
                service: ServiceName::parse(name).unwrap(),
                team: team.map(|t| rodeo_domain::TeamName::parse(t).unwrap()),
                environments: environments
                    .iter()
                    .map(|e| StatusCell {
                        environment: e.name.clone(),
                        deployment: None,
                        drift: None,
                    })
                    .collect(),
            })
            .collect();
        StatusMatrix {
            environments,
            services,
        }
    }

    fn names(n: &[&str]) -> Vec<ServiceName> {
        n.iter().map(|s| ServiceName::parse(s).unwrap()).collect()
    }

    #[test]
    fn fragments_assemble_to_the_serialized_matrix() {
        for m in [
            matrix(&[]),
            matrix(&[("api", None)]),
            matrix(&[("api", Some("core")), ("web", None), ("zeta", Some("x"))]),
        ] {
            let doc = Doc::new(0, &m).unwrap();
            assert_eq!(doc.body, serde_json::to_vec(&m).unwrap());
        }
    }

    #[test]
    fn patching_replaces_exactly_the_fresh_rows() {
        let old = matrix(&[("api", None), ("web", None), ("zeta", None)]);
        let doc = Doc::new(0, &old).unwrap();
        let new = matrix(&[("api", None), ("web", Some("core")), ("zeta", None)]);
        let fresh = StatusMatrix {
            environments: new.environments.clone(),
            services: vec![new.services[1].clone()],
        };
        let patched = doc.patched(1, &names(&["web"]), &fresh).unwrap().unwrap();
        assert_eq!(patched.body, serde_json::to_vec(&new).unwrap());

        // A row the document does not have, a row the store no longer has, and a changed
        // list of environments all ask for a rebuild.
        let newcomer = matrix(&[("new", None)]);
        assert!(doc
            .patched(1, &names(&["new"]), &newcomer)
            .unwrap()
            .is_none());
        let gone = StatusMatrix {
            environments: old.environments.clone(),
            services: vec![],
        };
        assert!(doc.patched(1, &names(&["web"]), &gone).unwrap().is_none());
        let mut reshaped = fresh.clone();
        reshaped.environments.pop();
        assert!(doc
            .patched(1, &names(&["web"]), &reshaped)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_mark_during_a_read_survives_it() {
        let c = StatusCache::default();
        let m = matrix(&[("api", None), ("web", None)]);
        let Plan::Whole(g) = c.plan() else {
            panic!("empty cache must rebuild")
        };
        c.lock().settle(g, Doc::new(g, &m).unwrap(), true);
        assert!(matches!(c.plan(), Plan::Ready(_)));

        c.mark(Touched::Services(names(&["web"])));
        let Plan::Rows(g, asked) = c.plan() else {
            panic!("a stale row is re-read")
        };
        assert_eq!(asked, names(&["web"]));
        // A write to `api` lands while the reader is reading `web`.
        c.mark(Touched::Services(names(&["api"])));
        let doc = c.lock().doc.as_ref().unwrap().patched(
            g,
            &asked,
            &StatusMatrix {
                environments: m.environments.clone(),
                services: vec![m.services[1].clone()],
            },
        );
        c.lock().settle(g, doc.unwrap().unwrap(), false);
        let Plan::Rows(_, asked) = c.plan() else {
            panic!("api is still stale")
        };
        assert_eq!(asked, names(&["api"]));

        c.mark(Touched::Nothing);
        c.mark(Touched::Everything);
        assert!(matches!(c.plan(), Plan::Whole(_)));
    }

    #[test]
    fn outcomes_and_events_name_what_they_touch() {
        assert_eq!(Touched::of_outcomes(&[]), Touched::Nothing);
        assert_eq!(
            Touched::of_outcomes(&[Outcome::Commits {
                recorded: 1,
                already_known: 0
            }]),
            Touched::Nothing
        );
        assert_eq!(
            Touched::of_outcomes(&[Outcome::Deleted]),
            Touched::Everything
        );

        let event = |kind: &str, service: Option<&str>| Event {
            id: 1,
            at: Timestamp::UNIX_EPOCH,
            recorded_at: Timestamp::UNIX_EPOCH,
            kind: kind.into(),
            actor: "ci".into(),
            source: rodeo_domain::Source::Api,
            service: service.map(|s| ServiceName::parse(s).unwrap()),
            environment: None,
            subject: None,
            payload: serde_json::Value::Null,
        };
        assert_eq!(
            Touched::of_event(&event("deployment.finished", Some("api"))),
            Touched::Services(names(&["api"]))
        );
        assert_eq!(
            Touched::of_event(&event("deployment.rolled_back", Some("web"))),
            Touched::Services(names(&["web"]))
        );
        for quiet in [
            "commits.recorded",
            "pull_request.merged",
            "token.created",
            "incident.opened",
            "flag.updated",
            "flags.set_updated",
        ] {
            assert_eq!(
                Touched::of_event(&event(quiet, Some("api"))),
                Touched::Nothing
            );
        }
        // A deployment event without a service, catalog changes and kinds this code
        // does not know reshape everything.
        for reshaping in [
            ("deployment.finished", None),
            ("service.updated", Some("api")),
            ("environment.created", None),
            ("check.failed", Some("api")),
        ] {
            assert_eq!(
                Touched::of_event(&event(reshaping.0, reshaping.1)),
                Touched::Everything,
                "{reshaping:?}"
            );
        }
    }
}
