//! The drift projection: per service and environment, how many commits the preceding
//! environment runs that this one does not. Refreshed at the end of a call, once per
//! touched service, so `status()` only reads it.

use std::collections::{BTreeSet, HashMap};

use rodeo_domain::{EnvironmentName, ServiceName, Sha};
use rodeo_store::logic;
use rodeo_store::StoreError;

use super::Writer;
use crate::graph;
use crate::rows::{self, DbResult, ENVIRONMENT_COLUMNS};

/// One stored drift row.
struct DriftRow {
    service: String,
    environment: String,
    compared_to: String,
    undeployed: i64,
    complete: bool,
}

impl Writer<'_> {
    /// Recomputes drift for the touched service+environment pairs (or for everything
    /// when environments changed).
    pub(super) async fn refresh_drift(&mut self) -> Result<(), StoreError> {
        let touched = std::mem::take(&mut self.touched);
        let scope: Option<BTreeSet<&ServiceName>> = if self.topology_changed {
            None
        } else if touched.is_empty() {
            return Ok(());
        } else {
            Some(touched.iter().map(|(s, _)| s).collect())
        };
        self.lock_drift(scope.as_ref()).await?;

        let envs = sqlx::query(&format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM environments ORDER BY sort_order, name"
        ))
        .fetch_all(&mut *self.tx)
        .await
        .db()?
        .iter()
        .map(rows::environment)
        .collect::<Result<Vec<_>, _>>()?;
        let pairs: Vec<(EnvironmentName, EnvironmentName)> = logic::predecessors(&envs)
            .into_iter()
            .filter_map(|(env, pred)| pred.map(|p| (env, p)))
            .collect();

        let names: Option<Vec<&str>> = scope
            .as_ref()
            .map(|s| s.iter().map(|n| n.as_str()).collect());
        let current: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT c.service, c.environment, d.commit_sha
             FROM current_deployments c JOIN deployments d ON d.id = c.deployment_id
             WHERE $1::text[] IS NULL OR c.service = ANY($1)",
        )
        .bind(&names)
        .fetch_all(&mut *self.tx)
        .await
        .db()?;
        let mut deployed: HashMap<&str, HashMap<&str, &str>> = HashMap::new();
        for (s, e, sha) in &current {
            deployed.entry(s).or_default().insert(e, sha);
        }

        let mut stale: Vec<(String, String)> = Vec::new();
        let mut fresh: Vec<DriftRow> = Vec::new();
        for (service, at) in &deployed {
            for (env, pred) in &pairs {
                let affected = scope.is_none()
                    || touched
                        .iter()
                        .any(|(s, e)| s.as_str() == *service && (e == env || e == pred));
                if !affected {
                    continue;
                }
                match (at.get(pred.as_str()), at.get(env.as_str())) {
                    (Some(include), Some(exclude)) => {
                        let include = rows::sha("commit_sha", include)?;
                        let exclude = rows::sha("commit_sha", exclude)?;
                        let walked = self.undeployed(&include, &exclude).await?;
                        fresh.push(DriftRow {
                            service: (*service).to_owned(),
                            environment: env.to_string(),
                            compared_to: pred.to_string(),
                            undeployed: i64::try_from(walked.0).unwrap_or(i64::MAX),
                            complete: walked.1,
                        });
                    }
                    _ => stale.push(((*service).to_owned(), env.to_string())),
                }
            }
        }

        if scope.is_none() {
            sqlx::query("DELETE FROM drift")
                .execute(&mut *self.tx)
                .await
                .db()?;
        } else if !stale.is_empty() {
            let (s, e): (Vec<String>, Vec<String>) = stale.into_iter().unzip();
            sqlx::query(
                "DELETE FROM drift d USING UNNEST($1::text[], $2::text[]) AS t(service, environment)
                 WHERE d.service = t.service AND d.environment = t.environment",
            )
            .bind(s)
            .bind(e)
            .execute(&mut *self.tx)
            .await
            .db()?;
        }
        self.store_drift(fresh).await
    }

    async fn undeployed(
        &mut self,
        include: &Sha,
        exclude: &Sha,
    ) -> Result<(usize, bool), StoreError> {
        let walked = graph::changes(&mut self.tx, include, Some(exclude), None).await?;
        Ok((walked.shas.len(), walked.complete))
    }

    async fn store_drift(&mut self, rows: Vec<DriftRow>) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut service = Vec::with_capacity(rows.len());
        let mut environment = Vec::with_capacity(rows.len());
        let mut compared_to = Vec::with_capacity(rows.len());
        let mut undeployed = Vec::with_capacity(rows.len());
        let mut complete = Vec::with_capacity(rows.len());
        for r in rows {
            service.push(r.service);
            environment.push(r.environment);
            compared_to.push(r.compared_to);
            undeployed.push(r.undeployed);
            complete.push(r.complete);
        }
        sqlx::query(
            "INSERT INTO drift (service, environment, compared_to, undeployed, complete)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bool[])
             ON CONFLICT (service, environment) DO UPDATE SET
                 compared_to = EXCLUDED.compared_to, undeployed = EXCLUDED.undeployed,
                 complete = EXCLUDED.complete",
        )
        .bind(service)
        .bind(environment)
        .bind(compared_to)
        .bind(undeployed)
        .bind(complete)
        .execute(&mut *self.tx)
        .await
        .db()?;
        Ok(())
    }
}
