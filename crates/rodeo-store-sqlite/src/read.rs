//! Read queries, run on the read pool. Each is a fixed, small number of indexed
//! queries, never one per row.

use std::collections::HashMap;

use rodeo_domain::{
    to_micros, Changes, Commit, Cursor, Deployment, DeploymentDetail, DeploymentKind,
    DeploymentStatus, DeploymentSummary, Environment, EventFilter, Page, Service, ServiceName, Sha,
    StatusCell, StatusMatrix, StatusRow, Team, Timestamp, Token, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use rodeo_store::{logic, DeploymentFilter};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use crate::error::Result;
use crate::rows::{
    self, deployment_columns, event_columns, service_columns, team_columns, token_columns,
};
use crate::{graph, queries};

fn page_size(limit: u32) -> u32 {
    if limit == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        limit.min(MAX_PAGE_SIZE)
    }
}

/// Cuts a `limit + 1` fetch down to one page with the cursor of the next.
fn paged<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|last| {
            Cursor {
                before_id: id(last),
            }
            .encode()
        })
    } else {
        None
    };
    Page { items, next_cursor }
}

/// One keyset page of `select` (a `SELECT … FROM …`), filtered by `clauses` (each with
/// one `?`, bound from `args` in order), newest first by `id_column`. One row more than
/// `limit` is fetched to know whether there is a next page.
#[allow(clippy::too_many_arguments)]
fn newest_first<T>(
    conn: &Connection,
    select: &str,
    id_column: &str,
    clauses: &[&str],
    args: Vec<Value>,
    limit: u32,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    id: impl Fn(&T) -> i64,
) -> Result<Page<T>> {
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "{select}{filter} ORDER BY {id_column} DESC LIMIT {}",
        limit + 1
    );
    let items = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(paged(items, limit, id))
}

pub(crate) fn token_by_hash(conn: &Connection, hash: &str) -> Result<Option<Token>> {
    let sql = concat!("SELECT ", token_columns!(), " FROM tokens WHERE hash = ?1");
    Ok(conn
        .prepare_cached(sql)?
        .query_row([hash], rows::token)
        .optional()?)
}

pub(crate) fn list_tokens(conn: &Connection) -> Result<Vec<Token>> {
    let sql = concat!("SELECT ", token_columns!(), " FROM tokens ORDER BY id");
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], rows::token)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_teams(conn: &Connection) -> Result<Vec<Team>> {
    let sql = concat!("SELECT ", team_columns!(), " FROM teams ORDER BY name");
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], rows::team)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_services(conn: &Connection) -> Result<Vec<Service>> {
    let sql = concat!(
        "SELECT ",
        service_columns!(),
        " FROM services ORDER BY name"
    );
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], rows::service)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_environments(conn: &Connection) -> Result<Vec<Environment>> {
    queries::environments(conn)
}

pub(crate) fn get_deployment(conn: &Connection, id: i64) -> Result<Option<DeploymentDetail>> {
    let Some(deployment) = queries::deployment(conn, id)? else {
        return Ok(None);
    };
    let order: Vec<Sha> = conn
        .prepare_cached(
            "SELECT sha FROM deployment_changes WHERE deployment_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| rows::sha(r, 0))?
        .collect::<rusqlite::Result<_>>()?;
    let changes = if order.is_empty() {
        Vec::new()
    } else {
        rows::commits_in(
            conn,
            "SELECT sha FROM deployment_changes WHERE deployment_id = ?1",
            &id,
            &order,
        )?
    };
    Ok(Some(DeploymentDetail {
        deployment,
        changes,
    }))
}

pub(crate) fn list_deployments(
    conn: &Connection,
    f: &DeploymentFilter,
) -> Result<Page<Deployment>> {
    let limit = page_size(f.limit);
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = &f.service {
        clauses.push("d.service = ?");
        args.push(Value::Text(s.to_string()));
    }
    if let Some(e) = &f.environment {
        clauses.push("d.environment = ?");
        args.push(Value::Text(e.to_string()));
    }
    if let Some(s) = f.status {
        clauses.push("d.status = ?");
        args.push(Value::Text(s.as_str().to_owned()));
    }
    if let Some(b) = f.before_id {
        clauses.push("d.id < ?");
        args.push(Value::Integer(b));
    }
    newest_first(
        conn,
        concat!("SELECT ", deployment_columns!(), " FROM deployments d"),
        "d.id",
        &clauses,
        args,
        limit,
        rows::deployment,
        |d| d.id,
    )
}

pub(crate) fn deployment_of_version(
    conn: &Connection,
    service: &str,
    version: &str,
) -> Result<Option<Deployment>> {
    let sql = concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d
         WHERE d.service = ?1 AND d.version = ?2 AND d.status = 'succeeded'
         ORDER BY d.finished_at DESC, d.id DESC LIMIT 1"
    );
    Ok(conn
        .prepare_cached(sql)?
        .query_row([service, version], rows::deployment)
        .optional()?)
}

/// The matrix in four queries: environments, services, current deployments, drift.
/// Cold (right after a write) it is read for every request, so it reads only the
/// summary columns and looks cells up by borrowed names, without a row decode or an
/// allocation per cell.
///
/// With `only`, the rows of those services (the ones that exist) and every environment:
/// what the status cache asks for after a write touched a few services.
pub(crate) fn status(conn: &Connection, only: Option<&[ServiceName]>) -> Result<StatusMatrix> {
    // One snapshot for the four statements.
    let tx = conn.unchecked_transaction()?;
    let environments = queries::environments(conn)?;
    let preds = logic::predecessors(&environments);
    // The filter travels as a JSON array; the unfiltered statements scan, the filtered
    // ones probe by service.
    let only = only.map(serde_json::to_string).transpose()?;
    let services = match &only {
        None => list_services(conn)?,
        Some(names) => {
            let sql = concat!(
                "SELECT ",
                service_columns!(),
                " FROM services WHERE name IN (SELECT value FROM json_each(?1)) ORDER BY name"
            );
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map([names], rows::service)?;
            rows.collect::<rusqlite::Result<_>>()?
        }
    };
    // service -> environment -> cell contents
    type ByCell<T> = HashMap<String, HashMap<String, T>>;
    let mut current: ByCell<DeploymentSummary> = HashMap::new();
    const CURRENT: &str =
        "SELECT c.service, c.environment, d.id, d.version, d.commit_sha, d.status, d.kind,
                d.finished_at, d.created_by
         FROM current_deployments c
         CROSS JOIN deployments d ON d.id = c.deployment_id";
    let (sql, params) = match &only {
        None => (CURRENT.to_owned(), vec![]),
        Some(names) => (
            format!("{CURRENT} WHERE c.service IN (SELECT value FROM json_each(?1))"),
            vec![names.as_str()],
        ),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows_ = stmt.query(params_from_iter(&params))?;
    while let Some(r) = rows_.next()? {
        let summary = DeploymentSummary {
            id: r.get(2)?,
            version: r.get(3)?,
            commit_sha: rows::sha(r, 4)?,
            status: rows::named(r, 5, DeploymentStatus::parse)?,
            kind: rows::named(r, 6, DeploymentKind::parse)?,
            finished_at: rows::time_opt(r, 7)?,
            created_by: r.get(8)?,
        };
        current
            .entry(r.get(0)?)
            .or_default()
            .insert(r.get(1)?, summary);
    }
    drop(rows_);
    let mut drift: ByCell<(String, u32, bool)> = HashMap::new();
    const DRIFT: &str = "SELECT service, environment, compared_to, count, complete FROM drift";
    let sql = match &only {
        None => DRIFT.to_owned(),
        Some(_) => format!("{DRIFT} WHERE service IN (SELECT value FROM json_each(?1))"),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows_ = stmt.query(params_from_iter(&params))?;
    while let Some(r) = rows_.next()? {
        drift
            .entry(r.get(0)?)
            .or_default()
            .insert(r.get(1)?, (r.get(2)?, r.get(3)?, r.get(4)?));
    }
    drop(rows_);

    let none = HashMap::new();
    let rows = services
        .into_iter()
        .map(|s| {
            let mut here = current.remove(s.name.as_str()).unwrap_or_default();
            let drifts = drift.get(s.name.as_str()).unwrap_or(&none);
            // Drift first: it asks whether the predecessor's cell is filled, so no cell
            // may be moved out before every drift is known.
            let drift_of: Vec<_> = preds
                .iter()
                .map(|(env, pred)| {
                    pred.as_ref().map(|p| {
                        let both = here.contains_key(env.as_str()) && here.contains_key(p.as_str());
                        let counted = drifts
                            .get(env.as_str())
                            .filter(|(compared_to, _, _)| compared_to == p.as_str())
                            .map(|(_, n, complete)| (*n, *complete));
                        logic::drift(p.clone(), both, counted)
                    })
                })
                .collect();
            let environments = preds
                .iter()
                .zip(drift_of)
                .map(|((env, _), drift)| StatusCell {
                    environment: env.clone(),
                    deployment: here.remove(env.as_str()),
                    drift,
                })
                .collect();
            StatusRow {
                service: s.name,
                team: s.team,
                environments,
            }
        })
        .collect();
    tx.commit()?;
    Ok(StatusMatrix {
        environments,
        services: rows,
    })
}

pub(crate) fn get_commit(conn: &Connection, sha: &Sha) -> Result<Option<Commit>> {
    Ok(rows::commits(conn, std::slice::from_ref(sha))?.pop())
}

pub(crate) fn changes_between(
    conn: &Connection,
    include: &Sha,
    exclude: Option<&Sha>,
    not_before: Option<Timestamp>,
    limit: u32,
) -> Result<Changes> {
    let mut between = graph::range_between(conn, include, exclude, not_before)?;
    let mut complete = between.complete;
    if between.shas.len() > limit as usize {
        between.shas.truncate(limit as usize);
        complete = false;
    }
    Ok(Changes {
        commits: rows::commits(conn, &between.shas)?,
        complete,
    })
}

/// The upper bound of the kinds starting with `prefix` (which ends in '.'): the same
/// string with the final '.' replaced by the next character, '/'. A range, unlike
/// LIKE, has no wildcards to escape and uses the index.
fn prefix_end(prefix: &str) -> String {
    format!("{}/", &prefix[..prefix.len() - 1])
}

pub(crate) fn list_events(conn: &Connection, f: &EventFilter) -> Result<Page<rodeo_domain::Event>> {
    let limit = page_size(f.limit);
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = &f.service {
        clauses.push("service = ?");
        args.push(Value::Text(s.to_string()));
    }
    if let Some(e) = &f.environment {
        clauses.push("environment = ?");
        args.push(Value::Text(e.to_string()));
    }
    match &f.kind {
        Some(k) if k.ends_with('.') => {
            clauses.push("kind >= ? AND kind < ?");
            args.push(Value::Text(k.clone()));
            args.push(Value::Text(prefix_end(k)));
        }
        Some(k) => {
            clauses.push("kind = ?");
            args.push(Value::Text(k.clone()));
        }
        None => {}
    }
    if let Some(t) = f.since {
        clauses.push("at >= ?");
        args.push(Value::Integer(to_micros(t)));
    }
    if let Some(t) = f.until {
        clauses.push("at < ?");
        args.push(Value::Integer(to_micros(t)));
    }
    if let Some(b) = f.before_id {
        clauses.push("id < ?");
        args.push(Value::Integer(b));
    }
    newest_first(
        conn,
        concat!("SELECT ", event_columns!(), " FROM events"),
        "id",
        &clauses,
        args,
        limit,
        rows::event,
        |e| e.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges_cover_exactly_the_prefix() {
        let end = prefix_end("deployment.");
        assert_eq!(end, "deployment/");
        for k in [
            "deployment.started",
            "deployment.rolled_back",
            "deployment.~",
        ] {
            assert!(k >= "deployment." && k < end.as_str(), "{k}");
        }
        for k in ["deployment", "deploymentx", "deployment/x", "deploy.x"] {
            assert!(!(k >= "deployment." && k < end.as_str()), "{k}");
        }
    }

    #[test]
    fn pages_carry_a_cursor_only_when_more_exist() {
        let p = paged(vec![5, 4, 3], 2, |x| *x);
        assert_eq!(p.items, vec![5, 4]);
        assert_eq!(p.next_cursor, Some(Cursor { before_id: 4 }.encode()));
        assert_eq!(paged(vec![5, 4], 2, |x| *x).next_cursor, None);
    }
}
