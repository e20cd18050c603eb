//! Reading flag definitions and evaluation counts.

use rodeo_domain::{from_micros, EnvironmentName, EvaluationCount, FlagSetRecord, FlagTimes};
use rodeo_store::flags::Stored;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::error::Result;

fn object(text: Option<String>) -> Result<Option<Map<String, Value>>> {
    Ok(match text {
        None => None,
        Some(t) => match serde_json::from_str(&t)? {
            Value::Object(m) => Some(m),
            _ => None,
        },
    })
}

/// An environment's flags as the writer changes them, with their version (0: none yet).
pub(crate) fn stored_flags(conn: &Connection, env: &str) -> Result<(Stored, i64)> {
    let (record, _) = load(conn, env)?.unwrap_or_default();
    Ok(record)
}

type Loaded = ((Stored, i64), (i64, Vec<FlagTimes>));

fn load(conn: &Connection, env: &str) -> Result<Option<Loaded>> {
    let set: Option<(Option<String>, Option<String>, i64, i64)> = conn
        .prepare_cached("SELECT evaluators, metadata, version, updated_at FROM flag_sets WHERE environment = ?1")?
        .query_row([env], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((evaluators, metadata, version, updated_at)) = set else {
        return Ok(None);
    };
    let mut stored = Stored {
        flags: Map::new(),
        evaluators: object(evaluators)?,
        metadata: object(metadata)?,
    };
    let mut times = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT key, definition, created_at, updated_at FROM flags WHERE environment = ?1 ORDER BY key",
    )?;
    let mut rows = stmt.query([env])?;
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let definition: String = row.get(1)?;
        stored
            .flags
            .insert(key.clone(), serde_json::from_str(&definition)?);
        times.push(FlagTimes {
            key,
            created_at: from_micros(row.get(2)?),
            updated_at: from_micros(row.get(3)?),
        });
    }
    Ok(Some(((stored, version), (updated_at, times))))
}

pub(crate) fn flag_set(conn: &Connection, env: &str) -> Result<Option<FlagSetRecord>> {
    let Some(((stored, version), (updated_at, flags))) = load(conn, env)? else {
        return Ok(None);
    };
    let environment = EnvironmentName::parse(env)
        .map_err(|e| crate::error::Error::Store(rodeo_store::StoreError::database(e)))?;
    Ok(Some(FlagSetRecord {
        environment,
        document: stored.document(),
        version,
        updated_at: from_micros(updated_at),
        flags,
    }))
}

pub(crate) fn flag_sets(conn: &Connection) -> Result<Vec<FlagSetRecord>> {
    let envs: Vec<String> = conn
        .prepare_cached("SELECT environment FROM flag_sets ORDER BY environment")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(envs.len());
    for env in envs {
        out.extend(flag_set(conn, &env)?);
    }
    Ok(out)
}

pub(crate) fn flag_evaluations(conn: &Connection, env: &str) -> Result<Vec<EvaluationCount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, variant, count, last_evaluated_at FROM flag_evaluations
         WHERE environment = ?1 ORDER BY key, variant",
    )?;
    let mut rows = stmt.query([env])?;
    let environment = EnvironmentName::parse(env)
        .map_err(|e| crate::error::Error::Store(rodeo_store::StoreError::database(e)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let variant: String = row.get(1)?;
        let count: i64 = row.get(2)?;
        out.push(EvaluationCount {
            environment: environment.clone(),
            key: row.get(0)?,
            variant: serde_json::from_str(&variant)?,
            count: u64::try_from(count).unwrap_or(0),
            last_evaluated_at: from_micros(row.get(3)?),
        });
    }
    Ok(out)
}
