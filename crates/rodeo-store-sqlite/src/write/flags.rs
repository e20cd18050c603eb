//! Flag changes and evaluation counts. The current definition is read inside the
//! writer's transaction, changed by the shared pure logic (`rodeo_store::flags`), and
//! written back as per-flag rows; nothing is written when the change is a no-op.

use rodeo_domain::{
    to_micros, EnvironmentName, EvaluationCount, FlagAction, FlagChange, FlagsWritten, Outcome,
};
use rodeo_store::flags;
use rodeo_store::logic::events;
use rusqlite::params;
use serde_json::{Map, Value};

use super::Call;
use crate::error::Result;

impl Call<'_> {
    pub(super) fn change_flags(
        &mut self,
        environment: &EnvironmentName,
        change: &FlagChange,
    ) -> Result<Outcome> {
        let env = environment.as_str();
        let (stored, version) = crate::read_flags::stored_flags(self.conn, env)?;
        let changed = flags::apply(&stored, change)?;
        if changed.diffs.is_empty() && !changed.set_changed {
            return Ok(Outcome::Flags(FlagsWritten {
                environment: environment.clone(),
                version,
                changes: Vec::new(),
                set_changed: false,
            }));
        }
        self.ensure_environment(environment)?;
        let version = version + 1;
        let at = to_micros(self.ctx.at);
        let text = |m: &Option<Map<String, Value>>| {
            m.as_ref().map(|m| Value::Object(m.clone()).to_string())
        };
        self.conn
            .prepare_cached(
                "INSERT INTO flag_sets (environment, evaluators, metadata, version, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (environment) DO UPDATE SET evaluators = excluded.evaluators,
                     metadata = excluded.metadata, version = excluded.version,
                     updated_at = excluded.updated_at",
            )?
            .execute(params![
                env,
                text(&changed.stored.evaluators),
                text(&changed.stored.metadata),
                version,
                at
            ])?;
        for diff in &changed.diffs {
            match (&diff.action, &diff.after) {
                (FlagAction::Deleted, _) | (_, None) => {
                    self.conn
                        .prepare_cached("DELETE FROM flags WHERE environment = ?1 AND key = ?2")?
                        .execute(params![env, diff.key])?;
                }
                (_, Some(after)) => {
                    self.conn
                        .prepare_cached(
                            "INSERT INTO flags (environment, key, definition, created_at, updated_at)
                             VALUES (?1, ?2, ?3, ?4, ?4)
                             ON CONFLICT (environment, key) DO UPDATE
                             SET definition = excluded.definition, updated_at = excluded.updated_at",
                        )?
                        .execute(params![env, diff.key, after.to_string(), at])?;
                }
            }
            self.append(events::flag(environment, diff, change, version))?;
        }
        if changed.set_changed {
            self.append(events::flag_set(
                environment,
                &stored.document(),
                &changed.stored.document(),
                version,
            ))?;
        }
        Ok(Outcome::Flags(FlagsWritten {
            environment: environment.clone(),
            version,
            changes: changed.diffs,
            set_changed: changed.set_changed,
        }))
    }

    pub(super) fn record_evaluations(&mut self, counts: &[EvaluationCount]) -> Result<Outcome> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO flag_evaluations (environment, key, variant, count, last_evaluated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (environment, key, variant) DO UPDATE
             SET count = count + excluded.count,
                 last_evaluated_at = max(last_evaluated_at, excluded.last_evaluated_at)",
        )?;
        for c in counts {
            let variant = serde_json::to_string(&c.variant)?;
            let count = i64::try_from(c.count).unwrap_or(i64::MAX);
            stmt.execute(params![
                c.environment.as_str(),
                c.key,
                variant,
                count,
                to_micros(c.last_evaluated_at)
            ])?;
        }
        Ok(Outcome::Evaluations {
            recorded: u32::try_from(counts.len()).unwrap_or(u32::MAX),
        })
    }
}
