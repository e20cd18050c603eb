//! The commits a deployment shipped: `previous..deployed` over the known graph, or,
//! for a first deployment (or an unknown previous sha), the commits within the horizon
//! plus those sent along; monorepo commits of other services are dropped.

use std::collections::{HashMap, HashSet};

use rodeo_domain::{from_micros, to_micros, Commit, Deployment, Sha, Timestamp};
use rodeo_store::StoreError;
use sqlx::Row;

use super::Writer;
use crate::graph::{self, Walked};
use crate::rows::{self, DbResult};

impl Writer<'_> {
    /// Computes and stores the commits `d` shipped since the previous successful
    /// deployment of the same service+environment.
    pub(super) async fn ship(
        &mut self,
        d: &mut Deployment,
        sent: &[Commit],
        fresh: bool,
    ) -> Result<(), StoreError> {
        let until = d.finished_at.unwrap_or(d.started_at);
        let previous: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, commit_sha FROM deployments
             WHERE service = $1 AND environment = $2 AND id <> $3
               AND status IN ('succeeded', 'rolled_back') AND finished_at <= $4
             ORDER BY finished_at DESC, id DESC LIMIT 1",
        )
        .bind(d.service.as_str())
        .bind(d.environment.as_str())
        .bind(d.id)
        .bind(to_micros(until))
        .fetch_optional(&mut *self.tx)
        .await
        .db()?;
        d.previous_id = previous.as_ref().map(|p| p.0);
        let previous_sha = previous
            .map(|(_, s)| rows::sha("commit_sha", &s))
            .transpose()?;

        let include = &d.commit_sha;
        let ends: Vec<&Sha> = std::iter::once(include).chain(&previous_sha).collect();
        let gens = graph::generations(&mut self.tx, &ends).await?;
        let walked = match (gens.get(include), &previous_sha) {
            (None, _) => Walked::unknown(),
            (Some(&gi), Some(p)) if gens.contains_key(p) => {
                graph::between(&mut self.tx, (include, gi), (p, gens[p])).await?
            }
            (Some(_), _) => {
                let not_before = d.started_at - self.ctx.first_deploy_horizon;
                let mut walked = graph::since(&mut self.tx, include, Some(not_before)).await?;
                let mut listed: HashSet<Sha> = walked.shas.iter().cloned().collect();
                for c in sent {
                    if listed.insert(c.sha.clone()) {
                        walked.shas.push(c.sha.clone());
                    }
                }
                walked.complete &= previous_sha.is_none();
                walked
            }
        };
        let complete = walked.complete;
        let shas = self.for_service(d, walked.shas).await?;

        // A deployment inserted by this call has no stored changes to replace yet.
        if !fresh {
            sqlx::query("DELETE FROM deployment_changes WHERE deployment_id = $1")
                .bind(d.id)
                .execute(&mut *self.tx)
                .await
                .db()?;
        }
        if !shas.is_empty() {
            let list: Vec<&str> = shas.iter().map(Sha::as_str).collect();
            sqlx::query(
                "INSERT INTO deployment_changes (deployment_id, position, sha)
                 SELECT $1, t.ord::int, t.sha FROM UNNEST($2::text[]) WITH ORDINALITY AS t(sha, ord)",
            )
            .bind(d.id)
            .bind(list)
            .execute(&mut *self.tx)
            .await
            .db()?;
        }
        d.change_count = u32::try_from(shas.len()).unwrap_or(u32::MAX);
        d.changes_complete = complete;
        Ok(())
    }

    /// Keeps the commits that belong to `d`'s service (monorepo commits mapped to other
    /// services are dropped), newest first.
    async fn for_service(
        &mut self,
        d: &Deployment,
        shas: Vec<Sha>,
    ) -> Result<Vec<Sha>, StoreError> {
        if shas.is_empty() {
            return Ok(shas);
        }
        let list: Vec<&str> = shas.iter().map(Sha::as_str).collect();
        let rows = sqlx::query(
            "SELECT sha, generation, committed_at FROM commits
             WHERE sha = ANY($1) AND (cardinality(services) = 0 OR $2 = ANY(services))",
        )
        .bind(&list)
        .bind(d.service.as_str())
        .fetch_all(&mut *self.tx)
        .await
        .db()?;
        let mut keep: HashMap<Sha, (i64, Timestamp)> = HashMap::with_capacity(rows.len());
        for r in &rows {
            keep.insert(
                rows::sha("sha", &r.try_get::<String, _>("sha").db()?)?,
                (
                    r.try_get("generation").db()?,
                    from_micros(r.try_get("committed_at").db()?),
                ),
            );
        }
        let mut out: Vec<(Sha, (i64, Timestamp))> = shas
            .into_iter()
            .filter_map(|s| keep.get(&s).copied().map(|k| (s, k)))
            .collect();
        // The same order as the range walk, so commits sent along slot in by age.
        out.sort_by(|(sa, a), (sb, b)| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(sa.cmp(sb)));
        Ok(out.into_iter().map(|(s, _)| s).collect())
    }
}
