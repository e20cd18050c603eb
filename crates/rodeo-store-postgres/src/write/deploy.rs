//! Recording and finishing deployments: registration on first sight, external-id
//! upserts, rollback classification and the current-deployment projection.

use rodeo_domain::{
    to_micros, Commit, Deployment, DeploymentRef, DeploymentStatus, Environment, EnvironmentName,
    FieldError, FinishDeployment, NewDeployment, Service, ServiceName, Timestamp,
};
use rodeo_store::logic::{self, events};
use rodeo_store::StoreError;
use sqlx::Row;

use super::Writer;
use crate::rows::{self, DbResult, DEPLOYMENT_COLUMNS};

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid(FieldError::new(field, message).into())
}

fn already_finished(d: &Deployment) -> StoreError {
    StoreError::Conflict(format!(
        "deployment {} already finished as {}",
        d.id,
        d.status.as_str()
    ))
}

fn check_finish(started_at: Timestamp, finished_at: Timestamp) -> Result<(), StoreError> {
    if finished_at < started_at {
        return Err(invalid("finished_at", "must not be before started_at"));
    }
    Ok(())
}

/// The merged pull request whose merge commit is `dc.sha`, as `p` (all NULL when none;
/// the lowest repository and number if two name the same commit): the milestones a
/// first shipment carries for lead time's stages.
const MERGED_BY: &str = "LEFT JOIN LATERAL (
                 SELECT created_at, merged_at, first_commit_at, author FROM pull_requests
                 WHERE merge_commit_sha = dc.sha AND state = 'merged' AND merged_at IS NOT NULL
                 ORDER BY repository, number LIMIT 1
             ) p ON true";

impl Writer<'_> {
    pub(super) async fn record_deployment(
        &mut self,
        nd: NewDeployment,
    ) -> Result<Deployment, StoreError> {
        self.register(&nd).await?;
        if !nd.commits.is_empty() {
            self.record_commits(&nd.commits).await?;
        }
        let finished_at = match (nd.status.is_finished(), nd.finished_at) {
            (true, None) => {
                return Err(invalid(
                    "finished_at",
                    "is required when status is finished",
                ))
            }
            (true, Some(f)) => {
                check_finish(nd.started_at, f)?;
                Some(f)
            }
            (false, _) => None,
        };

        if let Some(ext) = &nd.external_id {
            let by = DeploymentRef::External(ext.clone());
            if let Some(existing) = self.find_deployment(&by).await? {
                return match (existing.status, finished_at) {
                    (DeploymentStatus::InProgress, Some(f)) => {
                        self.finish(existing, nd.status, f, &nd.commits).await
                    }
                    // A late "in progress" after the finish (webhooks arrive out of
                    // order) changes nothing.
                    (status, _)
                        if status == nd.status || nd.status == DeploymentStatus::InProgress =>
                    {
                        Ok(existing)
                    }
                    _ => Err(already_finished(&existing)),
                };
            }
        }

        let row = sqlx::query(
            "INSERT INTO deployments (service, environment, version, commit_sha, status, kind,
                 started_at, finished_at, external_id, url, created_by, source)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING id",
        )
        .bind(nd.service.as_str())
        .bind(nd.environment.as_str())
        .bind(&nd.version)
        .bind(nd.commit_sha.as_str())
        .bind(nd.status.as_str())
        .bind(nd.kind.as_str())
        .bind(to_micros(nd.started_at))
        .bind(finished_at.map(to_micros))
        .bind(&nd.external_id)
        .bind(&nd.url)
        .bind(&self.ctx.actor)
        .bind(self.ctx.source.as_str())
        .fetch_one(&mut *self.tx)
        .await
        .db()?;
        let d = Deployment {
            id: row.try_get("id").db()?,
            service: nd.service,
            environment: nd.environment,
            version: nd.version,
            commit_sha: nd.commit_sha,
            status: nd.status,
            kind: nd.kind,
            started_at: nd.started_at,
            finished_at,
            external_id: nd.external_id,
            url: nd.url,
            created_by: self.ctx.actor.clone(),
            source: self.ctx.source,
            rollback_of: None,
            previous_id: None,
            change_count: 0,
            changes_complete: true,
        };
        self.settle(d, &nd.commits, true).await
    }

    pub(super) async fn finish_deployment(
        &mut self,
        f: FinishDeployment,
    ) -> Result<Deployment, StoreError> {
        let key = match &f.id {
            DeploymentRef::Id(id) => id.to_string(),
            DeploymentRef::External(e) => e.clone(),
        };
        let d = self
            .find_deployment(&f.id)
            .await?
            .ok_or_else(|| StoreError::not_found("deployment", key))?;
        if d.status.is_finished() {
            return Err(already_finished(&d));
        }
        if !f.status.is_finished() {
            return Err(invalid(
                "status",
                "must be a finished status: succeeded, failed or rolled_back",
            ));
        }
        self.finish(d, f.status, f.finished_at, &[]).await
    }

    /// Registers an unknown service or environment on first sight, or refuses.
    async fn register(&mut self, nd: &NewDeployment) -> Result<(), StoreError> {
        self.ensure_service(&nd.service).await?;
        self.ensure_environment(&nd.environment).await
    }

    pub(super) async fn ensure_service(&mut self, name: &ServiceName) -> Result<(), StoreError> {
        if self.find_service(name).await?.is_some() {
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
        if self.insert_service(&service).await? {
            self.events
                .push(events::service("service.created", &service));
        }
        Ok(())
    }

    pub(super) async fn ensure_environment(
        &mut self,
        name: &EnvironmentName,
    ) -> Result<(), StoreError> {
        if self.find_environment(name).await?.is_some() {
            return Ok(());
        }
        if !self.ctx.auto_register {
            return Err(invalid(
                "environment",
                format!("unknown environment '{name}'; auto-registration is off, create it first"),
            ));
        }
        let env = Environment::inferred(name.clone(), self.ctx.at);
        if self.insert_environment(&env).await? {
            self.events
                .push(events::environment("environment.created", &env));
        }
        Ok(())
    }

    /// A stored deployment, locked for this transaction.
    async fn find_deployment(
        &mut self,
        by: &DeploymentRef,
    ) -> Result<Option<Deployment>, StoreError> {
        let sql = match by {
            DeploymentRef::Id(_) => {
                format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1 FOR UPDATE")
            }
            DeploymentRef::External(_) => format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.external_id = $1 FOR UPDATE"
            ),
        };
        let query = sqlx::query(&sql);
        let query = match by {
            DeploymentRef::Id(id) => query.bind(*id),
            DeploymentRef::External(e) => query.bind(e.as_str()),
        };
        let row = query.fetch_optional(&mut *self.tx).await.db()?;
        row.as_ref().map(rows::deployment).transpose()
    }

    async fn finish(
        &mut self,
        mut d: Deployment,
        status: DeploymentStatus,
        finished_at: Timestamp,
        sent: &[Commit],
    ) -> Result<Deployment, StoreError> {
        check_finish(d.started_at, finished_at)?;
        sqlx::query("UPDATE deployments SET status = $2, finished_at = $3 WHERE id = $1")
            .bind(d.id)
            .bind(status.as_str())
            .bind(to_micros(finished_at))
            .execute(&mut *self.tx)
            .await
            .db()?;
        d.status = status;
        d.finished_at = Some(finished_at);
        self.settle(d, sent, false).await
    }

    /// Steps shared by recording and finishing: rollback classification, shipped
    /// changes, the current-deployment projection, and the deployment's event. `fresh`
    /// says `d` was inserted by this call (so it has no stored changes yet).
    async fn settle(
        &mut self,
        mut d: Deployment,
        sent: &[Commit],
        fresh: bool,
    ) -> Result<Deployment, StoreError> {
        if d.status == DeploymentStatus::Succeeded {
            self.classify(&mut d).await?;
            self.refresh_current(&d).await?;
        }
        self.ship(&mut d, sent, fresh).await?;
        if d.status == DeploymentStatus::Succeeded && d.change_count > 0 {
            self.record_first_shipments(&d).await?;
        }
        sqlx::query(
            "UPDATE deployments SET kind = $2, rollback_of = $3, previous_id = $4,
                 change_count = $5, changes_complete = $6
             WHERE id = $1",
        )
        .bind(d.id)
        .bind(d.kind.as_str())
        .bind(d.rollback_of)
        .bind(d.previous_id)
        .bind(i32::try_from(d.change_count).unwrap_or(i32::MAX))
        .bind(d.changes_complete)
        .execute(&mut *self.tx)
        .await
        .db()?;
        self.events.push(events::deployment(&d));
        Ok(d)
    }

    /// The lead-time rollup: `d` reached production, so it is the first production
    /// deployment of each commit it shipped unless an earlier one shipped it too.
    async fn record_first_shipments(&mut self, d: &Deployment) -> Result<(), StoreError> {
        let Some(finished) = d.finished_at else {
            return Ok(());
        };
        // The authors' ids first (see migration 0005), in name order.
        sqlx::query(
            "INSERT INTO authors (name)
             SELECT DISTINCT c.author FROM deployment_changes dc JOIN commits c ON c.sha = dc.sha
             WHERE dc.deployment_id = $1
               AND NOT EXISTS (SELECT 1 FROM authors a WHERE a.name = c.author)
             ORDER BY 1
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(d.id)
        .execute(&mut *self.tx)
        .await
        .db()?;
        sqlx::query(&format!(
            "INSERT INTO first_shipments
                 (service, sha, deployed_at, deployment_id, committed_at, author_id,
                  pr_opened_at, pr_merged_at, pr_first_commit_at, pr_author)
             SELECT $1, c.sha, $2, $3, c.committed_at, a.id,
                    p.created_at, p.merged_at, p.first_commit_at, p.author
             FROM deployment_changes dc
             JOIN commits c ON c.sha = dc.sha
             JOIN authors a ON a.name = c.author
             {MERGED_BY}
             WHERE dc.deployment_id = $3
               AND EXISTS (SELECT 1 FROM environments e WHERE e.name = $4 AND e.production)
             ON CONFLICT (service, sha) DO UPDATE
                 SET deployed_at = EXCLUDED.deployed_at, deployment_id = EXCLUDED.deployment_id
                 WHERE (EXCLUDED.deployed_at, EXCLUDED.deployment_id)
                     < (first_shipments.deployed_at, first_shipments.deployment_id)"
        ))
        .bind(d.service.as_str())
        .bind(to_micros(finished))
        .bind(d.id)
        .bind(d.environment.as_str())
        .execute(&mut *self.tx)
        .await
        .db()?;
        self.attach_shipped_pull_requests(d.id).await
    }

    /// Rebuilds the lead-time rollup from the shipped changes: after an environment
    /// became (or stopped being) production.
    pub(super) async fn rebuild_first_shipments(&mut self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM first_shipments")
            .execute(&mut *self.tx)
            .await
            .db()?;
        sqlx::query(
            "INSERT INTO authors (name)
             SELECT DISTINCT c.author FROM deployment_changes dc JOIN commits c ON c.sha = dc.sha
             ORDER BY 1
             ON CONFLICT (name) DO NOTHING",
        )
        .execute(&mut *self.tx)
        .await
        .db()?;
        sqlx::query(&format!(
            "INSERT INTO first_shipments
                 (service, sha, deployed_at, deployment_id, committed_at, author_id,
                  pr_opened_at, pr_merged_at, pr_first_commit_at, pr_author)
             SELECT DISTINCT ON (d.service, c.sha)
                    d.service, c.sha, d.finished_at, d.id, c.committed_at, a.id,
                    p.created_at, p.merged_at, p.first_commit_at, p.author
             FROM deployment_changes dc
             JOIN deployments d ON d.id = dc.deployment_id
             JOIN environments e ON e.name = d.environment
             JOIN commits c ON c.sha = dc.sha
             JOIN authors a ON a.name = c.author
             {MERGED_BY}
             WHERE e.production AND d.status IN ('succeeded', 'rolled_back')
               AND d.finished_at IS NOT NULL
             ORDER BY d.service, c.sha, d.finished_at, d.id"
        ))
        .execute(&mut *self.tx)
        .await
        .db()?;
        Ok(())
    }

    /// Recognises a rollback and marks the deployment it replaced.
    async fn classify(&mut self, d: &mut Deployment) -> Result<(), StoreError> {
        // The deployment `d` replaces, and whether its sha or version ran before that one.
        let row = sqlx::query(&format!(
            "SELECT {DEPLOYMENT_COLUMNS}, EXISTS (
                 SELECT 1 FROM deployments o
                 WHERE o.service = $1 AND o.environment = $2 AND o.id <> $3
                   AND o.status IN ('succeeded', 'rolled_back') AND o.finished_at < d.finished_at
                   AND (o.commit_sha = $4 OR o.version = $5)
             ) AS ran_before
             FROM deployments d
             WHERE d.service = $1 AND d.environment = $2 AND d.status = 'succeeded' AND d.id <> $3
             ORDER BY d.finished_at DESC, d.id DESC LIMIT 1"
        ))
        .bind(d.service.as_str())
        .bind(d.environment.as_str())
        .bind(d.id)
        .bind(d.commit_sha.as_str())
        .bind(&d.version)
        .fetch_optional(&mut *self.tx)
        .await
        .db()?;
        let current = row.as_ref().map(rows::deployment).transpose()?;
        let ran_before = match &row {
            Some(r) => r.try_get("ran_before").db()?,
            None => false,
        };
        let classified = logic::classify(
            d.kind,
            &d.commit_sha,
            current.as_ref().map(Into::into),
            ran_before,
        );
        d.kind = classified.kind;
        d.rollback_of = classified.rollback_of;
        if let Some(replaced) = classified.rollback_of {
            let row = sqlx::query(&format!(
                "UPDATE deployments d SET status = 'rolled_back' WHERE d.id = $1
                 RETURNING {DEPLOYMENT_COLUMNS}"
            ))
            .bind(replaced)
            .fetch_one(&mut *self.tx)
            .await
            .db()?;
            let replaced = rows::deployment(&row)?;
            self.events.push(events::rolled_back(&replaced, d.id));
        }
        Ok(())
    }

    /// Points the current-deployment projection at the latest successful deployment and
    /// queues the drift refresh of this service+environment.
    async fn refresh_current(&mut self, d: &Deployment) -> Result<(), StoreError> {
        sqlx::query(
            "WITH latest AS (
                SELECT id FROM deployments
                WHERE service = $1 AND environment = $2 AND status = 'succeeded'
                ORDER BY finished_at DESC, id DESC LIMIT 1
             ), gone AS (
                DELETE FROM current_deployments
                WHERE service = $1 AND environment = $2 AND NOT EXISTS (SELECT 1 FROM latest)
             )
             INSERT INTO current_deployments (service, environment, deployment_id)
             SELECT $1, $2, id FROM latest
             ON CONFLICT (service, environment) DO UPDATE SET deployment_id = EXCLUDED.deployment_id",
        )
        .bind(d.service.as_str())
        .bind(d.environment.as_str())
        .execute(&mut *self.tx)
        .await
        .db()?;
        self.touched
            .insert((d.service.clone(), d.environment.clone()));
        Ok(())
    }
}
