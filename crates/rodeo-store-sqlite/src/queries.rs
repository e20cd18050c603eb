//! Single-row and small lookups shared by the writer and the read pool, so both sides
//! read a row the same way.

use rodeo_domain::{Deployment, Environment, Service, Sha, Team};
use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;
use crate::rows::{self, deployment_columns, environment_columns, service_columns, team_columns};

pub(crate) fn team(conn: &Connection, name: &str) -> Result<Option<Team>> {
    let sql = concat!("SELECT ", team_columns!(), " FROM teams WHERE name = ?1");
    Ok(conn
        .prepare_cached(sql)?
        .query_row([name], rows::team)
        .optional()?)
}

pub(crate) fn service(conn: &Connection, name: &str) -> Result<Option<Service>> {
    let sql = concat!(
        "SELECT ",
        service_columns!(),
        " FROM services WHERE name = ?1"
    );
    Ok(conn
        .prepare_cached(sql)?
        .query_row([name], rows::service)
        .optional()?)
}

pub(crate) fn environment(conn: &Connection, name: &str) -> Result<Option<Environment>> {
    let sql = concat!(
        "SELECT ",
        environment_columns!(),
        " FROM environments WHERE name = ?1"
    );
    Ok(conn
        .prepare_cached(sql)?
        .query_row([name], rows::environment)
        .optional()?)
}

/// All environments by order, then name (the order of the status matrix).
pub(crate) fn environments(conn: &Connection) -> Result<Vec<Environment>> {
    let sql = concat!(
        "SELECT ",
        environment_columns!(),
        " FROM environments ORDER BY sort_order, name"
    );
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], rows::environment)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn deployment(conn: &Connection, id: i64) -> Result<Option<Deployment>> {
    let sql = concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d WHERE d.id = ?1"
    );
    Ok(conn
        .prepare_cached(sql)?
        .query_row([id], rows::deployment)
        .optional()?)
}

pub(crate) fn deployment_by_external(
    conn: &Connection,
    external_id: &str,
) -> Result<Option<Deployment>> {
    let sql = concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d WHERE d.external_id = ?1"
    );
    Ok(conn
        .prepare_cached(sql)?
        .query_row([external_id], rows::deployment)
        .optional()?)
}

/// The latest successful deployment (by finished_at, then id), other than `except`.
pub(crate) fn current(
    conn: &Connection,
    service: &str,
    environment: &str,
    except: Option<i64>,
) -> Result<Option<Deployment>> {
    let sql = concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d
         WHERE d.service = ?1 AND d.environment = ?2 AND d.status = 'succeeded' AND d.id <> ?3
         ORDER BY d.finished_at DESC, d.id DESC LIMIT 1"
    );
    Ok(conn
        .prepare_cached(sql)?
        .query_row(
            rusqlite::params![service, environment, except.unwrap_or(0)],
            rows::deployment,
        )
        .optional()?)
}

/// The columns of a deployment the writer decides with, without decoding the row.
pub(crate) struct Brief {
    pub(crate) id: i64,
    pub(crate) commit_sha: Sha,
    pub(crate) finished_at: Option<i64>,
}

fn brief(r: &rusqlite::Row<'_>) -> rusqlite::Result<Brief> {
    Ok(Brief {
        id: r.get(0)?,
        commit_sha: rows::sha(r, 1)?,
        finished_at: r.get(2)?,
    })
}

/// [`current`], briefly.
pub(crate) fn current_brief(
    conn: &Connection,
    service: &str,
    environment: &str,
    except: Option<i64>,
) -> Result<Option<Brief>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, commit_sha, finished_at FROM deployments
             WHERE service = ?1 AND environment = ?2 AND status = 'succeeded' AND id <> ?3
             ORDER BY finished_at DESC, id DESC LIMIT 1",
        )?
        .query_row(
            rusqlite::params![service, environment, except.unwrap_or(0)],
            brief,
        )
        .optional()?)
}

/// The deployment a new one at `as_of` follows: the latest that ran (succeeded, or
/// succeeded and was rolled back) finished no later than `as_of`, other than `except`.
pub(crate) fn previous_brief(
    conn: &Connection,
    service: &str,
    environment: &str,
    except: i64,
    as_of: i64,
) -> Result<Option<Brief>> {
    Ok(conn
        .prepare_cached(
            // One ordered probe per status: `status IN (..)` would make SQLite read
            // and sort the environment's whole history to find the latest row.
            "SELECT * FROM (
                 SELECT id, commit_sha, finished_at FROM deployments
                 WHERE service = ?1 AND environment = ?2 AND status = 'succeeded'
                   AND finished_at <= ?4 AND id <> ?3
                 ORDER BY finished_at DESC, id DESC LIMIT 1)
             UNION ALL
             SELECT * FROM (
                 SELECT id, commit_sha, finished_at FROM deployments
                 WHERE service = ?1 AND environment = ?2 AND status = 'rolled_back'
                   AND finished_at <= ?4 AND id <> ?3
                 ORDER BY finished_at DESC, id DESC LIMIT 1)
             ORDER BY finished_at DESC, id DESC LIMIT 1",
        )?
        .query_row(
            rusqlite::params![service, environment, except, as_of],
            brief,
        )
        .optional()?)
}

pub(crate) fn incident(conn: &Connection, id: i64) -> Result<Option<rodeo_domain::Incident>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM incidents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(doc.map(|d| serde_json::from_str(&d)).transpose()?)
}
