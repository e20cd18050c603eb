//! Recording and finishing deployments: registration on first sight, upserts by
//! external id, rollback classification, shipped changes, and the ledger event.

use std::collections::{HashMap, HashSet};

use rodeo_domain::{
    to_micros, Deployment, DeploymentRef, DeploymentStatus, Environment, EnvironmentName,
    FieldError, FinishDeployment, NewDeployment, Service, ServiceName, Sha, Timestamp,
};
use rodeo_store::logic::{self, events};
use rodeo_store::StoreError;
use rusqlite::params;

use super::commits::Fresh;
use super::packs;
use super::Call;
use crate::error::Result;
use crate::graph::Between;
use crate::queries::Brief;
use crate::rows;
use crate::{graph, queries};

fn invalid(field: &str, message: String) -> crate::error::Error {
    StoreError::Invalid(FieldError::new(field, message).into()).into()
}

fn already_finished(d: &Deployment) -> crate::error::Error {
    StoreError::Conflict(format!(
        "deployment {} already finished as {}",
        d.id,
        d.status.as_str()
    ))
    .into()
}

/// The commits sent with a deployment, and what recording them found.
#[derive(Default)]
struct Sent {
    shas: Vec<Sha>,
    fresh: Option<HashMap<Sha, Fresh>>,
}

/// The usual CI case without touching the graph tables: when every commit reachable
/// from `include` without passing `exclude` was inserted by this very call, those
/// commits are exactly `exclude..include`, complete. That holds because `exclude` (a
/// commit rodeo knows, which the caller checks) was stored before this call and no new commit is the parent of an older one (`fresh`
/// guarantees it), so no new commit can be an ancestor of `exclude`. Anything else
/// returns `None` for the general walk.
fn only_new_commits(fresh: &HashMap<Sha, Fresh>, include: &Sha, exclude: &Sha) -> Option<Between> {
    if fresh.contains_key(exclude) {
        return None;
    }
    fresh.get(include)?;
    let mut seen: HashSet<&Sha> = HashSet::new();
    let mut stack = vec![include];
    while let Some(sha) = stack.pop() {
        if !seen.insert(sha) {
            continue;
        }
        for p in &fresh.get(sha)?.parents {
            if p == exclude {
                continue;
            }
            fresh.get(p)?;
            stack.push(p);
        }
    }
    let mut shas: Vec<&Sha> = seen.into_iter().collect();
    shas.sort_by(|a, b| {
        let (fa, fb) = (&fresh[*a], &fresh[*b]);
        (fb.generation, fb.committed_at)
            .cmp(&(fa.generation, fa.committed_at))
            .then(a.cmp(b))
    });
    let services = shas
        .iter()
        .filter(|s| !fresh[**s].services.is_empty())
        .map(|s| {
            let names = fresh[*s].services.iter().map(|n| n.as_str());
            ((*s).clone(), rows::json_array(names))
        })
        .collect();
    Some(Between::only(shas.into_iter().cloned().collect(), services))
}

impl Call<'_> {
    pub(super) fn record_deployment(&mut self, nd: &NewDeployment) -> Result<Deployment> {
        self.ensure_service(&nd.service)?;
        self.ensure_environment(&nd.environment)?;
        let recorded = self.record_commits(&nd.commits)?;
        let sent = Sent {
            shas: nd.commits.iter().map(|c| c.sha.clone()).collect(),
            fresh: recorded.fresh,
        };

        if let Some(external) = &nd.external_id {
            if let Some(existing) = queries::deployment_by_external(self.conn, external)? {
                if existing.status == DeploymentStatus::InProgress && nd.status.is_finished() {
                    let finished_at = nd.finished_at.unwrap_or(self.ctx.at);
                    return self.finish(existing, nd.status, finished_at, &sent);
                }
                // A late "in progress" after the finish (webhooks arrive out of order)
                // changes nothing.
                if existing.status == nd.status || nd.status == DeploymentStatus::InProgress {
                    return Ok(existing);
                }
                return Err(already_finished(&existing));
            }
        }

        // Not stored yet: `settle` works out everything about it first and inserts the
        // row once, complete (an insert then an update would write every index twice).
        let mut d = Deployment {
            id: 0,
            service: nd.service.clone(),
            environment: nd.environment.clone(),
            version: nd.version.clone(),
            commit_sha: nd.commit_sha.clone(),
            status: nd.status,
            kind: nd.kind,
            started_at: nd.started_at,
            finished_at: nd.finished_at,
            external_id: nd.external_id.clone(),
            url: nd.url.clone(),
            created_by: self.ctx.actor.clone(),
            source: self.ctx.source,
            rollback_of: None,
            previous_id: None,
            change_count: 0,
            changes_complete: true,
        };
        self.settle(&mut d, &sent)?;
        Ok(d)
    }

    pub(super) fn finish_deployment(&mut self, f: FinishDeployment) -> Result<Deployment> {
        let found = match &f.id {
            DeploymentRef::Id(id) => queries::deployment(self.conn, *id)?,
            DeploymentRef::External(e) => queries::deployment_by_external(self.conn, e)?,
        };
        let d = found.ok_or_else(|| {
            let key = match f.id {
                DeploymentRef::Id(id) => id.to_string(),
                DeploymentRef::External(e) => e,
            };
            StoreError::not_found("deployment", key)
        })?;
        self.finish(d, f.status, f.finished_at, &Sent::default())
    }

    fn finish(
        &mut self,
        mut d: Deployment,
        status: DeploymentStatus,
        finished_at: Timestamp,
        sent: &Sent,
    ) -> Result<Deployment> {
        if d.status != DeploymentStatus::InProgress {
            return Err(already_finished(&d));
        }
        if !status.is_finished() {
            return Err(invalid(
                "status",
                "must be a finished status: succeeded, failed or rolled_back".into(),
            ));
        }
        if finished_at < d.started_at {
            return Err(invalid(
                "finished_at",
                "must not be before started_at".into(),
            ));
        }
        d.status = status;
        d.finished_at = Some(finished_at);
        self.settle(&mut d, sent)?;
        Ok(d)
    }

    pub(super) fn ensure_service(&mut self, name: &ServiceName) -> Result<()> {
        if queries::service(self.conn, name.as_str())?.is_some() {
            return Ok(());
        }
        if !self.ctx.auto_register {
            return Err(invalid(
                "service",
                format!("unknown service '{name}'; auto-registration is off, create it first"),
            ));
        }
        let service = Service {
            name: name.clone(),
            team: None,
            repository: None,
            created_at: self.ctx.at,
        };
        self.insert_service(&service)
    }

    pub(super) fn ensure_environment(&mut self, name: &EnvironmentName) -> Result<()> {
        if queries::environment(self.conn, name.as_str())?.is_some() {
            return Ok(());
        }
        if !self.ctx.auto_register {
            return Err(invalid(
                "environment",
                format!("unknown environment '{name}'; auto-registration is off, create it first"),
            ));
        }
        self.insert_environment(&Environment::inferred(name.clone(), self.ctx.at))
    }

    /// Steps shared by a new deployment and a finished one: rollback classification,
    /// shipped changes, the stored row, projections, and the event. A deployment with
    /// id 0 is new: its row is inserted here, with everything already known.
    fn settle(&mut self, d: &mut Deployment, sent: &Sent) -> Result<()> {
        let new = d.id == 0;
        let (current, replaced) = if d.status == DeploymentStatus::Succeeded {
            self.classify(d)?
        } else {
            (None, None)
        };
        let shipped = self.shipped_changes(d, sent)?;
        if new {
            self.insert_deployment(d)?;
        } else {
            self.conn
                .prepare_cached(
                    "UPDATE deployments SET status = ?2, kind = ?3, finished_at = ?4,
                         rollback_of = ?5, previous_id = ?6, change_count = ?7,
                         changes_complete = ?8
                     WHERE id = ?1",
                )?
                .execute(params![
                    d.id,
                    d.status.as_str(),
                    d.kind.as_str(),
                    d.finished_at.map(to_micros),
                    d.rollback_of,
                    d.previous_id,
                    d.change_count,
                    d.changes_complete,
                ])?;
            self.conn
                .prepare_cached("DELETE FROM deployment_changes WHERE deployment_id = ?1")?
                .execute([d.id])?;
        }
        if let Some(mut replaced) = replaced {
            self.conn
                .prepare_cached("UPDATE deployments SET status = 'rolled_back' WHERE id = ?1")?
                .execute([replaced.id])?;
            replaced.status = DeploymentStatus::RolledBack;
            self.append(events::rolled_back(&replaced, d.id))?;
        }
        if !shipped.is_empty() {
            self.conn
                .prepare_cached(
                    "INSERT INTO deployment_changes (deployment_id, position, sha)
                     SELECT ?1, key, value FROM json_each(?2)",
                )?
                .execute(params![
                    d.id,
                    rows::json_array(shipped.iter().map(Sha::as_str))
                ])?;
        }
        if d.status == DeploymentStatus::Succeeded && !shipped.is_empty() {
            self.record_first_shipments(d)?;
        }
        if d.status == DeploymentStatus::Succeeded {
            // The newest successful deployment is the current one without asking again.
            let newest = current
                .is_none_or(|c| (c.finished_at, c.id) <= (d.finished_at.map(to_micros), d.id));
            self.refresh_current(&d.service, &d.environment, newest.then_some(d.id))?;
            self.refresh_drift(&d.service, &d.environment)?;
        }
        self.append(events::deployment(d))
    }

    /// The lead-time rollup: `d` reached production, so it is the first production
    /// deployment of each commit it shipped unless an earlier one shipped it too.
    fn record_first_shipments(&mut self, d: &Deployment) -> Result<()> {
        let production =
            queries::environment(self.conn, d.environment.as_str())?.is_some_and(|e| e.production);
        let Some(finished) = d.finished_at.filter(|_| production) else {
            return Ok(());
        };
        let finished = to_micros(finished);
        // The deployments that held commits this one takes over lose them: their packs
        // are rebuilt with this one's.
        let mut changed: Vec<i64> = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT f.deployment_id
                 FROM deployment_changes dc JOIN commits c ON c.sha = dc.sha
                 JOIN first_shipments f ON f.service = ?1 AND f.commit_id = c.id
                 WHERE dc.deployment_id = ?3 AND (?2, ?3) < (f.deployed_at, f.deployment_id)",
            )?
            .query_map(params![d.service.as_str(), finished, d.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        changed.push(d.id);
        self.conn
            .prepare_cached(
                "INSERT INTO first_shipments
                     (service, deployed_at, commit_id, deployment_id, committed_at, author,
                      pr_opened_at, pr_merged_at, pr_first_commit_at, pr_author)
                 SELECT ?1, ?2, c.id, ?3, c.committed_at, c.author,
                        p.created_at, p.merged_at, p.first_commit_at, p.author
                 FROM deployment_changes dc JOIN commits c ON c.sha = dc.sha
                 LEFT JOIN pull_requests p ON p.merge_commit_sha = dc.sha
                     AND p.state = 'merged' AND p.merged_at IS NOT NULL
                 WHERE dc.deployment_id = ?3
                 ON CONFLICT (service, commit_id) DO UPDATE
                     SET deployed_at = excluded.deployed_at,
                         deployment_id = excluded.deployment_id
                     WHERE (excluded.deployed_at, excluded.deployment_id)
                         < (first_shipments.deployed_at, first_shipments.deployment_id)",
            )?
            .execute(params![d.service.as_str(), finished, d.id])?;
        packs::repack(self.conn, &changed)?;
        self.attach_shipped_pull_requests(d.id)
    }

    /// Rebuilds the lead-time rollup from the shipped changes: after an environment
    /// became (or stopped being) production.
    pub(super) fn rebuild_first_shipments(&mut self) -> Result<()> {
        self.conn.execute_batch(
            "DELETE FROM first_shipments;
             INSERT INTO first_shipments
                 (service, deployed_at, commit_id, deployment_id, committed_at, author,
                  pr_opened_at, pr_merged_at, pr_first_commit_at, pr_author)
             SELECT d.service, min(d.finished_at), c.id, d.id, c.committed_at, c.author,
                    p.created_at, p.merged_at, p.first_commit_at, p.author
             FROM deployment_changes dc
             JOIN deployments d ON d.id = dc.deployment_id
             JOIN environments e ON e.name = d.environment
             JOIN commits c ON c.sha = dc.sha
             LEFT JOIN pull_requests p ON p.merge_commit_sha = dc.sha
                 AND p.state = 'merged' AND p.merged_at IS NOT NULL
             WHERE e.production = 1 AND d.status IN ('succeeded', 'rolled_back')
               AND d.finished_at IS NOT NULL
             GROUP BY d.service, c.id;",
        )?;
        packs::repack_all(self.conn)
    }

    fn insert_deployment(&mut self, d: &mut Deployment) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO deployments (service, environment, version, commit_sha, status, kind,
                     started_at, finished_at, external_id, url, created_by, source, rollback_of,
                     previous_id, change_count, changes_complete)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                d.service.as_str(),
                d.environment.as_str(),
                d.version,
                d.commit_sha.as_str(),
                d.status.as_str(),
                d.kind.as_str(),
                to_micros(d.started_at),
                d.finished_at.map(to_micros),
                d.external_id,
                d.url,
                d.created_by,
                d.source.as_str(),
                d.rollback_of,
                d.previous_id,
                d.change_count,
                d.changes_complete,
            ])?;
        d.id = self.conn.last_insert_rowid();
        Ok(())
    }

    /// Classifies `d` as a rollback when it puts back what ran before. Returns the
    /// current deployment before `d`, and the one `d` rolls back (to be marked
    /// `rolled_back` once `d` is stored).
    fn classify(&mut self, d: &mut Deployment) -> Result<(Option<Brief>, Option<Deployment>)> {
        let (service, env) = (d.service.as_str(), d.environment.as_str());
        let current = queries::current_brief(self.conn, service, env, Some(d.id))?;
        let ran_before = match &current {
            Some(c) if c.commit_sha != d.commit_sha => {
                // Two probes, each on its own index (by version, by sha), so the check
                // reads a handful of rows however long the history is.
                let before = c.finished_at.unwrap_or(i64::MIN);
                let probe = |sql: &str, value: &str| -> Result<bool> {
                    Ok(self
                        .conn
                        .prepare_cached(sql)?
                        .query_row(params![service, env, before, d.id, value], |r| r.get(0))?)
                };
                probe(
                    "SELECT EXISTS (SELECT 1 FROM deployments
                     WHERE service = ?1 AND version = ?5 AND environment = ?2
                       AND status IN ('succeeded', 'rolled_back') AND finished_at < ?3
                       AND id <> ?4)",
                    &d.version,
                )? || probe(
                    // Without the hint the planner prefers deployments_by_target,
                    // which scans the whole history of the environment.
                    "SELECT EXISTS (SELECT 1 FROM deployments INDEXED BY deployments_by_sha
                     WHERE service = ?1 AND commit_sha = ?5 AND environment = ?2
                       AND status IN ('succeeded', 'rolled_back') AND finished_at < ?3
                       AND id <> ?4)",
                    d.commit_sha.as_str(),
                )?
            }
            _ => false,
        };
        let brief = current.as_ref().map(|c| logic::Current {
            id: c.id,
            commit_sha: &c.commit_sha,
        });
        let classified = logic::classify(d.kind, &d.commit_sha, brief, ran_before);
        d.kind = classified.kind;
        d.rollback_of = classified.rollback_of;
        let replaced = match classified.rollback_of {
            Some(id) => queries::deployment(self.conn, id)?,
            None => None,
        };
        Ok((current, replaced))
    }

    /// What `d` shipped since the previous successful deployment of its service to its
    /// environment (or, for a first one, within the first-deploy horizon), newest first.
    /// Sets `previous_id`, `change_count` and `changes_complete`.
    fn shipped_changes(&mut self, d: &mut Deployment, sent: &Sent) -> Result<Vec<Sha>> {
        let as_of = to_micros(d.finished_at.unwrap_or(d.started_at));
        let previous = queries::previous_brief(
            self.conn,
            d.service.as_str(),
            d.environment.as_str(),
            d.id,
            as_of,
        )?;
        d.previous_id = previous.as_ref().map(|p| p.id);
        let not_before = d.started_at - self.ctx.first_deploy_horizon;
        let fast = match (&previous, &sent.fresh) {
            (Some(p), Some(fresh)) if graph::generation(self.conn, &p.commit_sha)?.is_some() => {
                only_new_commits(fresh, &d.commit_sha, &p.commit_sha)
            }
            _ => None,
        };
        let mut between = match fast {
            Some(b) => b,
            None => graph::range_between(
                self.conn,
                &d.commit_sha,
                previous.as_ref().map(|p| &p.commit_sha),
                Some(not_before),
            )?,
        };
        let mut extra = Vec::new();
        if between.bounded_by_time && !sent.shas.is_empty() {
            let mut have: HashSet<Sha> = between.shas.iter().cloned().collect();
            for s in &sent.shas {
                if have.insert(s.clone()) {
                    extra.push(s.clone());
                }
            }
            if !extra.is_empty() {
                between.shas.extend(extra.iter().cloned());
                graph::sort_newest_first(self.conn, &mut between.shas)?;
            }
        }
        between.keep_only_service(self.conn, d.service.as_str(), &extra)?;
        d.change_count = between.shas.len() as u32;
        d.changes_complete = between.complete;
        Ok(between.shas)
    }
}
