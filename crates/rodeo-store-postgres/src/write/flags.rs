//! Flag changes and evaluation counts. The environment's flag lock (taken up front in
//! `locks`) serialises changes to one environment across replicas; the current
//! definition is read inside the transaction, changed by the shared pure logic
//! (`rodeo_store::flags`) and written back as per-flag rows.

use rodeo_domain::{
    to_micros, EnvironmentName, EvaluationCount, FlagAction, FlagChange, FlagsWritten,
};
use rodeo_store::flags;
use rodeo_store::logic::events;
use rodeo_store::StoreError;
use serde_json::{Map, Value};

use super::Writer;
use crate::rows::DbResult;

impl Writer<'_> {
    pub(super) async fn change_flags(
        &mut self,
        environment: &EnvironmentName,
        change: &FlagChange,
    ) -> Result<FlagsWritten, StoreError> {
        let env = environment.as_str();
        let (stored, version) = crate::read::stored_flags(&mut self.tx, env).await?;
        let changed = flags::apply(&stored, change)?;
        if changed.diffs.is_empty() && !changed.set_changed {
            return Ok(FlagsWritten {
                environment: environment.clone(),
                version,
                changes: Vec::new(),
                set_changed: false,
            });
        }
        self.ensure_environment(environment).await?;
        let version = version + 1;
        let at = to_micros(self.ctx.at);
        let text = |m: &Option<Map<String, Value>>| {
            m.as_ref().map(|m| Value::Object(m.clone()).to_string())
        };
        sqlx::query(
            "INSERT INTO flag_sets (environment, evaluators, metadata, version, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (environment) DO UPDATE SET evaluators = EXCLUDED.evaluators,
                 metadata = EXCLUDED.metadata, version = EXCLUDED.version,
                 updated_at = EXCLUDED.updated_at",
        )
        .bind(env)
        .bind(text(&changed.stored.evaluators))
        .bind(text(&changed.stored.metadata))
        .bind(version)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .db()?;
        for diff in &changed.diffs {
            match (&diff.action, &diff.after) {
                (FlagAction::Deleted, _) | (_, None) => {
                    sqlx::query("DELETE FROM flags WHERE environment = $1 AND key = $2")
                        .bind(env)
                        .bind(&diff.key)
                        .execute(&mut *self.tx)
                        .await
                        .db()?;
                }
                (_, Some(after)) => {
                    sqlx::query(
                        "INSERT INTO flags (environment, key, definition, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $4)
                         ON CONFLICT (environment, key) DO UPDATE
                         SET definition = EXCLUDED.definition, updated_at = EXCLUDED.updated_at",
                    )
                    .bind(env)
                    .bind(&diff.key)
                    .bind(after.to_string())
                    .bind(at)
                    .execute(&mut *self.tx)
                    .await
                    .db()?;
                }
            }
            self.events
                .push(events::flag(environment, diff, change, version));
        }
        if changed.set_changed {
            self.events.push(events::flag_set(
                environment,
                &stored.document(),
                &changed.stored.document(),
                version,
            ));
        }
        Ok(FlagsWritten {
            environment: environment.clone(),
            version,
            changes: changed.diffs,
            set_changed: changed.set_changed,
        })
    }

    pub(super) async fn record_evaluations(
        &mut self,
        counts: &[EvaluationCount],
    ) -> Result<u32, StoreError> {
        let mut env = Vec::with_capacity(counts.len());
        let mut key = Vec::with_capacity(counts.len());
        let mut variant = Vec::with_capacity(counts.len());
        let mut count = Vec::with_capacity(counts.len());
        let mut last = Vec::with_capacity(counts.len());
        for c in counts {
            env.push(c.environment.as_str().to_owned());
            key.push(c.key.clone());
            variant.push(serde_json::to_string(&c.variant).map_err(StoreError::database)?);
            count.push(i64::try_from(c.count).unwrap_or(i64::MAX));
            last.push(to_micros(c.last_evaluated_at));
        }
        // Sorted so that two replicas flushing overlapping counts lock rows in one order.
        sqlx::query(
            "INSERT INTO flag_evaluations AS f (environment, key, variant, count, last_evaluated_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
                 AS t(environment, key, variant, count, last_evaluated_at)
             ORDER BY 1, 2, 3
             ON CONFLICT (environment, key, variant) DO UPDATE
             SET count = f.count + EXCLUDED.count,
                 last_evaluated_at = GREATEST(f.last_evaluated_at, EXCLUDED.last_evaluated_at)",
        )
        .bind(env)
        .bind(key)
        .bind(variant)
        .bind(count)
        .bind(last)
        .execute(&mut *self.tx)
        .await
        .db()?;
        Ok(u32::try_from(counts.len()).unwrap_or(u32::MAX))
    }
}
