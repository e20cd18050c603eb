//! Transaction-scoped advisory locks that keep concurrent writers (in this process or
//! in other replicas) from interleaving where the result would be wrong.
//!
//! The locks, always taken in this order so that no two transactions wait on each other:
//! 1. the commit graph: exclusive for calls that record commits rodeo does not know yet
//!    (generations of a child and its parent arriving in concurrent calls must agree)
//!    and for pull requests (their milestones land on rows deployments write),
//!    shared for calls that only walk it (deployments, environment changes), so a walk
//!    never sees half a repair;
//! 2. one lock per service+environment, plus one per external deployment id, for the
//!    deployment commands of the call, and one for all incidents when the call changes
//!    one, sorted by key;
//! 3. at the end of the call, the drift projection: exclusive over everything when
//!    environments changed, otherwise shared, then one lock per touched service, sorted.

use std::collections::BTreeSet;

use rodeo_domain::{Command, DeploymentRef, ServiceName};
use rodeo_store::StoreError;
use sqlx::{PgConnection, Row};

use super::Writer;
use crate::rows::DbResult;

/// The `LISTEN`/`NOTIFY` channel that carries new event ids.
pub(crate) const EVENTS_CHANNEL: &str = "rodeo_events";

const COMMIT_GRAPH: &str = "rodeo:commit-graph";
const DRIFT: &str = "rodeo:drift";
const INCIDENTS: &str = "rodeo:incidents";

/// A stable 64-bit key (FNV-1a), identical in every replica and release.
fn key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

fn deployment_key(service: &str, environment: &str) -> i64 {
    // Names cannot contain '/', so the pair is unambiguous.
    key(&format!("rodeo:deploy:{service}/{environment}"))
}

fn external_key(external_id: &str) -> i64 {
    key(&format!("rodeo:external:{external_id}"))
}

fn drift_key(service: &ServiceName) -> i64 {
    key(&format!("rodeo:drift:{service}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Shared,
    Exclusive,
}

/// Takes `locks` in the order given, in one round trip: a function scan over the
/// arrays yields its rows, and so takes the locks, in array order.
async fn lock_all(conn: &mut PgConnection, locks: &[(i64, Mode)]) -> Result<(), StoreError> {
    if locks.is_empty() {
        return Ok(());
    }
    let keys: Vec<i64> = locks.iter().map(|(k, _)| *k).collect();
    let shared: Vec<bool> = locks.iter().map(|(_, m)| *m == Mode::Shared).collect();
    sqlx::query(
        "SELECT CASE WHEN t.shared THEN pg_advisory_xact_lock_shared(t.k)
                     ELSE pg_advisory_xact_lock(t.k) END
         FROM UNNEST($1::bigint[], $2::bool[]) AS t(k, shared)",
    )
    .bind(keys)
    .bind(shared)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The service and environment of a stored deployment (they never change).
async fn placement(
    conn: &mut PgConnection,
    by: &DeploymentRef,
) -> Result<Option<(String, String)>, StoreError> {
    let q = match by {
        DeploymentRef::Id(id) => {
            sqlx::query("SELECT service, environment FROM deployments WHERE id = $1").bind(*id)
        }
        DeploymentRef::External(e) => {
            sqlx::query("SELECT service, environment FROM deployments WHERE external_id = $1")
                .bind(e.as_str())
        }
    };
    let row = q.fetch_optional(conn).await.db()?;
    row.map(|r| Ok((r.try_get("service").db()?, r.try_get("environment").db()?)))
        .transpose()
}

/// True when every sha is a stored commit. Commits are never deleted, so the answer
/// cannot turn false before the transaction ends.
async fn all_known(conn: &mut PgConnection, shas: &[&str]) -> Result<bool, StoreError> {
    let unknown: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM UNNEST($1::text[]) AS s(sha)
                        WHERE NOT EXISTS (SELECT 1 FROM commits c WHERE c.sha = s.sha))",
    )
    .bind(shas)
    .fetch_one(conn)
    .await
    .db()?;
    Ok(!unknown)
}

impl Writer<'_> {
    /// Takes the graph and deployment locks the commands need, before running any.
    pub(super) async fn lock_for(&mut self, commands: &[Command]) -> Result<(), StoreError> {
        let mut graph: Option<Mode> = None;
        let mut sent: Vec<&str> = Vec::new();
        let mut keys = BTreeSet::new();
        for command in commands {
            match command {
                Command::RecordCommits { commits } => {
                    sent.extend(commits.iter().map(|c| c.sha.as_str()));
                }
                Command::RecordDeployment(d) => {
                    graph = Some(Mode::Shared);
                    sent.extend(d.commits.iter().map(|c| c.sha.as_str()));
                    keys.insert(deployment_key(d.service.as_str(), d.environment.as_str()));
                    if let Some(ext) = &d.external_id {
                        keys.insert(external_key(ext));
                        let by = DeploymentRef::External(ext.clone());
                        if let Some((s, e)) = placement(&mut self.tx, &by).await? {
                            keys.insert(deployment_key(&s, &e));
                        }
                    }
                }
                Command::FinishDeployment(f) => {
                    graph = Some(Mode::Shared);
                    if let DeploymentRef::External(ext) = &f.id {
                        keys.insert(external_key(ext));
                    }
                    if let Some((s, e)) = placement(&mut self.tx, &f.id).await? {
                        keys.insert(deployment_key(&s, &e));
                    }
                }
                // A merged pull request walks the graph for its first commit and fills
                // the first shipments of its merge commit, which a deployment recording
                // them concurrently would miss: exclusive, like new commits. Pull
                // requests arrive far less often than commits.
                Command::UpsertPullRequest(_) => graph = Some(Mode::Exclusive),
                Command::CreateEnvironment { .. }
                | Command::UpdateEnvironment { .. }
                | Command::DeleteEnvironment { .. } => graph = Some(Mode::Shared),
                // Incident writes are rare; one lock keeps two alerts of a group from
                // opening two incidents, and a change from losing a concurrent one.
                Command::OpenIncident(_)
                | Command::RaiseIncident(_)
                | Command::UpdateIncident { .. } => {
                    keys.insert(key(INCIDENTS));
                }
                // Changes to one environment's flags read, change and write the whole
                // definition: one at a time per environment. (The first change of an
                // environment has no flag_sets row to lock with FOR UPDATE yet.)
                Command::ChangeFlags { environment, .. } => {
                    keys.insert(key(&format!("rodeo:flags:{environment}")));
                }
                _ => {}
            }
        }
        // Commits that are all known already (a CI job resending what a push webhook
        // recorded) change nothing in the graph, so they do not need it exclusively.
        if graph != Some(Mode::Exclusive)
            && !sent.is_empty()
            && !all_known(&mut self.tx, &sent).await?
        {
            graph = Some(Mode::Exclusive);
        }
        let locks: Vec<(i64, Mode)> = graph
            .map(|mode| (key(COMMIT_GRAPH), mode))
            .into_iter()
            .chain(keys.into_iter().map(|k| (k, Mode::Exclusive)))
            .collect();
        lock_all(&mut self.tx, &locks).await
    }

    /// Takes the drift locks for a refresh of `services` (every service when `None`).
    pub(super) async fn lock_drift(
        &mut self,
        services: Option<&BTreeSet<&ServiceName>>,
    ) -> Result<(), StoreError> {
        let locks: Vec<(i64, Mode)> = match services {
            None => vec![(key(DRIFT), Mode::Exclusive)],
            Some(services) => {
                let keys: BTreeSet<i64> = services.iter().map(|s| drift_key(s)).collect();
                std::iter::once((key(DRIFT), Mode::Shared))
                    .chain(keys.into_iter().map(|k| (k, Mode::Exclusive)))
                    .collect()
            }
        };
        lock_all(&mut self.tx, &locks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        // FNV-1a test vector: the key must never change between releases, or replicas
        // of different versions would stop excluding each other during an upgrade.
        assert_eq!(key("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_ne!(
            deployment_key("api", "prod"),
            deployment_key("api", "staging")
        );
        assert_ne!(deployment_key("a", "bc"), deployment_key("ab", "c"));
    }
}
