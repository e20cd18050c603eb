//! The projections the writer keeps in step with deployments: the current deployment
//! per service and environment, and each environment's drift against its predecessor.
//! `status()` reads them with a handful of queries instead of walking history.

use std::collections::HashMap;

use rodeo_domain::{EnvironmentName, ServiceName, Sha};
use rodeo_store::logic;
use rusqlite::params;

use super::Call;
use crate::error::Result;
use crate::{graph, queries, rows};

type Key = (String, String);

impl Call<'_> {
    /// Stores the latest successful deployment of a service to an environment: `known`
    /// when the caller knows it, else read back.
    pub(super) fn refresh_current(
        &mut self,
        service: &ServiceName,
        env: &EnvironmentName,
        known: Option<i64>,
    ) -> Result<()> {
        let current = match known {
            Some(id) => Some(id),
            None => queries::current_brief(self.conn, service.as_str(), env.as_str(), None)?
                .map(|d| d.id),
        };
        match current {
            Some(id) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO current_deployments (service, environment, deployment_id)
                         VALUES (?1, ?2, ?3)
                         ON CONFLICT (service, environment) DO UPDATE SET deployment_id = excluded.deployment_id",
                    )?
                    .execute(params![service.as_str(), env.as_str(), id])?;
            }
            None => {
                self.conn
                    .prepare_cached(
                        "DELETE FROM current_deployments WHERE service = ?1 AND environment = ?2",
                    )?
                    .execute(params![service.as_str(), env.as_str()])?;
            }
        }
        Ok(())
    }

    /// Current shas of one service (or all services), by (service, environment).
    fn current_shas(&self, service: Option<&str>) -> Result<HashMap<Key, Sha>> {
        const ALL: &str = "SELECT c.service, c.environment, d.commit_sha
             FROM current_deployments c JOIN deployments d ON d.id = c.deployment_id";
        let one = format!("{ALL} WHERE c.service = ?1");
        let row = |r: &rusqlite::Row<'_>| Ok(((r.get(0)?, r.get(1)?), rows::sha(r, 2)?));
        Ok(match service {
            Some(s) => self
                .conn
                .prepare_cached(&one)?
                .query_map([s], row)?
                .collect::<rusqlite::Result<_>>()?,
            None => self
                .conn
                .prepare_cached(ALL)?
                .query_map([], row)?
                .collect::<rusqlite::Result<_>>()?,
        })
    }

    /// Stores (or removes) the drift of `env` against `compared_to` for one service.
    fn store_drift(
        &mut self,
        service: &str,
        env: &str,
        compared_to: &str,
        current: &HashMap<Key, Sha>,
    ) -> Result<()> {
        let this = current.get(&(service.to_owned(), env.to_owned()));
        let ahead = current.get(&(service.to_owned(), compared_to.to_owned()));
        let counted = match (ahead, this) {
            (Some(ahead), Some(this)) if graph::generation(self.conn, this)?.is_some() => {
                Some(graph::range_between(self.conn, ahead, Some(this), None)?)
            }
            _ => None,
        };
        match counted {
            Some(b) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO drift (service, environment, compared_to, count, complete)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (service, environment) DO UPDATE SET
                             compared_to = excluded.compared_to, count = excluded.count,
                             complete = excluded.complete",
                    )?
                    .execute(params![
                        service,
                        env,
                        compared_to,
                        b.shas.len() as i64,
                        b.complete
                    ])?;
            }
            None => {
                self.conn
                    .prepare_cached("DELETE FROM drift WHERE service = ?1 AND environment = ?2")?
                    .execute(params![service, env])?;
            }
        }
        Ok(())
    }

    /// After `env` got a new current deployment of `service`: its drift against its
    /// predecessor, and the drift of every environment compared with it.
    pub(super) fn refresh_drift(
        &mut self,
        service: &ServiceName,
        env: &EnvironmentName,
    ) -> Result<()> {
        let envs = queries::environments(self.conn)?;
        let preds = logic::predecessors(&envs);
        let current = self.current_shas(Some(service.as_str()))?;
        for (e, pred) in &preds {
            let Some(pred) = pred else { continue };
            if e == env || pred == env {
                self.store_drift(service.as_str(), e.as_str(), pred.as_str(), &current)?;
            }
        }
        Ok(())
    }

    /// After environments were added, removed or reordered. A stored row whose pair of
    /// environments is unchanged is still right (same two current shas), so only rows
    /// whose predecessor changed are recomputed.
    pub(super) fn refresh_all_drift(&mut self) -> Result<()> {
        let envs = queries::environments(self.conn)?;
        let preds: HashMap<String, String> = logic::predecessors(&envs)
            .into_iter()
            .filter_map(|(e, p)| p.map(|p| (e.into_string(), p.into_string())))
            .collect();
        let stored: HashMap<Key, String> = self
            .conn
            .prepare_cached("SELECT service, environment, compared_to FROM drift")?
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let current = self.current_shas(None)?;
        for ((service, env), compared_to) in &stored {
            if preds.get(env) != Some(compared_to) {
                self.conn
                    .prepare_cached("DELETE FROM drift WHERE service = ?1 AND environment = ?2")?
                    .execute(params![service, env])?;
            }
        }
        for (service, env) in current.keys() {
            let Some(pred) = preds.get(env) else { continue };
            let key = (service.clone(), env.clone());
            if stored.get(&key) != Some(pred) {
                self.store_drift(service, env, pred, &current)?;
            }
        }
        Ok(())
    }
}
