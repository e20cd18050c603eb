//! Reading flag definitions and evaluation counts.

use rodeo_domain::{from_micros, EnvironmentName, EvaluationCount, FlagSetRecord, FlagTimes};
use rodeo_store::flags::Stored;
use rodeo_store::StoreError;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool, Row};

use crate::rows::DbResult;

fn object(text: Option<String>) -> Result<Option<Map<String, Value>>, StoreError> {
    match text {
        None => Ok(None),
        Some(t) => match serde_json::from_str(&t).map_err(StoreError::database)? {
            Value::Object(m) => Ok(Some(m)),
            _ => Ok(None),
        },
    }
}

struct Loaded {
    stored: Stored,
    version: i64,
    updated_at: i64,
    times: Vec<FlagTimes>,
}

async fn load(
    conn: &mut PgConnection,
    env: &str,
    lock: bool,
) -> Result<Option<Loaded>, StoreError> {
    let sql = if lock {
        "SELECT evaluators, metadata, version, updated_at FROM flag_sets WHERE environment = $1 FOR UPDATE"
    } else {
        "SELECT evaluators, metadata, version, updated_at FROM flag_sets WHERE environment = $1"
    };
    let Some(set) = sqlx::query(sql)
        .bind(env)
        .fetch_optional(&mut *conn)
        .await
        .db()?
    else {
        return Ok(None);
    };
    let mut stored = Stored {
        flags: Map::new(),
        evaluators: object(set.try_get("evaluators").db()?)?,
        metadata: object(set.try_get("metadata").db()?)?,
    };
    let rows = sqlx::query(
        "SELECT key, definition, created_at, updated_at FROM flags WHERE environment = $1 ORDER BY key",
    )
    .bind(env)
    .fetch_all(&mut *conn)
    .await
    .db()?;
    let mut times = Vec::with_capacity(rows.len());
    for row in rows {
        let key: String = row.try_get("key").db()?;
        let definition: String = row.try_get("definition").db()?;
        stored.flags.insert(
            key.clone(),
            serde_json::from_str(&definition).map_err(StoreError::database)?,
        );
        times.push(FlagTimes {
            key,
            created_at: from_micros(row.try_get("created_at").db()?),
            updated_at: from_micros(row.try_get("updated_at").db()?),
        });
    }
    Ok(Some(Loaded {
        stored,
        version: set.try_get("version").db()?,
        updated_at: set.try_get("updated_at").db()?,
        times,
    }))
}

/// The current flags of an environment for a change (version 0: none yet).
pub(crate) async fn stored_flags(
    conn: &mut PgConnection,
    env: &str,
) -> Result<(Stored, i64), StoreError> {
    Ok(load(conn, env, true)
        .await?
        .map(|l| (l.stored, l.version))
        .unwrap_or_default())
}

fn environment(env: &str) -> Result<EnvironmentName, StoreError> {
    EnvironmentName::parse(env).map_err(StoreError::database)
}

pub(crate) async fn flag_set(
    pool: &PgPool,
    env: &str,
) -> Result<Option<FlagSetRecord>, StoreError> {
    let mut conn = pool.acquire().await.db()?;
    let Some(l) = load(&mut conn, env, false).await? else {
        return Ok(None);
    };
    Ok(Some(FlagSetRecord {
        environment: environment(env)?,
        document: l.stored.document(),
        version: l.version,
        updated_at: from_micros(l.updated_at),
        flags: l.times,
    }))
}

pub(crate) async fn flag_sets(pool: &PgPool) -> Result<Vec<FlagSetRecord>, StoreError> {
    let envs: Vec<String> =
        sqlx::query_scalar("SELECT environment FROM flag_sets ORDER BY environment")
            .fetch_all(pool)
            .await
            .db()?;
    let mut out = Vec::with_capacity(envs.len());
    for env in envs {
        out.extend(flag_set(pool, &env).await?);
    }
    Ok(out)
}

pub(crate) async fn flag_evaluations(
    pool: &PgPool,
    env: &str,
) -> Result<Vec<EvaluationCount>, StoreError> {
    let rows = sqlx::query(
        "SELECT key, variant, count, last_evaluated_at FROM flag_evaluations
         WHERE environment = $1 ORDER BY key, variant",
    )
    .bind(env)
    .fetch_all(pool)
    .await
    .db()?;
    let environment = environment(env)?;
    rows.iter()
        .map(|row| {
            let variant: String = row.try_get("variant").db()?;
            let count: i64 = row.try_get("count").db()?;
            Ok(EvaluationCount {
                environment: environment.clone(),
                key: row.try_get("key").db()?,
                variant: serde_json::from_str(&variant).map_err(StoreError::database)?,
                count: u64::try_from(count).unwrap_or(0),
                last_evaluated_at: from_micros(row.try_get("last_evaluated_at").db()?),
            })
        })
        .collect()
}
