//! Turning rows back into domain values. Stored names and enums are parsed again on the
//! way out; a value that does not parse is reported as a conversion error of its column
//! rather than trusted.

use std::collections::HashMap;

use rodeo_domain::{
    from_micros, Commit, Deployment, DeploymentKind, DeploymentStatus, Environment,
    EnvironmentName, Event, PullRequest, PullRequestState, Scope, Service, ServiceName, Sha,
    Source, Team, TeamName, Timestamp, Token, TokenName,
};
use rusqlite::types::Type;
use rusqlite::{Connection, Row};

use crate::error::Result;

#[derive(Debug, thiserror::Error)]
#[error("unexpected stored value {0:?}")]
struct Unexpected(String);

fn conversion(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

/// Parses a text column with a domain parser that reports a [`rodeo_domain::FieldError`].
fn parsed<T>(
    row: &Row<'_>,
    idx: usize,
    parse: impl FnOnce(&str) -> Result<T, rodeo_domain::FieldError>,
) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    parse(&s).map_err(|e| conversion(idx, e))
}

fn parsed_opt<T>(
    row: &Row<'_>,
    idx: usize,
    parse: impl FnOnce(&str) -> Result<T, rodeo_domain::FieldError>,
) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| parse(&s).map_err(|e| conversion(idx, e)))
        .transpose()
}

/// Parses a text column holding one of an enum's names.
pub(crate) fn named<T>(
    row: &Row<'_>,
    idx: usize,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    parse(&s).ok_or_else(|| conversion(idx, Unexpected(s)))
}

pub(crate) fn time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    row.get::<_, i64>(idx).map(from_micros)
}

pub(crate) fn time_opt(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    row.get::<_, Option<i64>>(idx).map(|t| t.map(from_micros))
}

pub(crate) fn sha(row: &Row<'_>, idx: usize) -> rusqlite::Result<Sha> {
    parsed(row, idx, Sha::parse)
}

/// A JSON array of strings, the form `json_each(?)` takes for set queries.
pub(crate) fn json_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::Array(
        items
            .into_iter()
            .map(|s| serde_json::Value::String(s.to_owned()))
            .collect(),
    )
    .to_string()
}

/// Selected as `d`, in this order, wherever a [`Deployment`] is read.
macro_rules! deployment_columns {
    () => {
        "d.id, d.service, d.environment, d.version, \
    d.commit_sha, d.status, d.kind, d.started_at, d.finished_at, d.external_id, d.url, \
    d.created_by, d.source, d.rollback_of, d.previous_id, d.change_count, d.changes_complete"
    };
}
pub(crate) use deployment_columns;

pub(crate) fn deployment(row: &Row<'_>) -> rusqlite::Result<Deployment> {
    Ok(Deployment {
        id: row.get(0)?,
        service: parsed(row, 1, ServiceName::parse)?,
        environment: parsed(row, 2, EnvironmentName::parse)?,
        version: row.get(3)?,
        commit_sha: sha(row, 4)?,
        status: named(row, 5, DeploymentStatus::parse)?,
        kind: named(row, 6, DeploymentKind::parse)?,
        started_at: time(row, 7)?,
        finished_at: time_opt(row, 8)?,
        external_id: row.get(9)?,
        url: row.get(10)?,
        created_by: row.get(11)?,
        source: named(row, 12, Source::parse)?,
        rollback_of: row.get(13)?,
        previous_id: row.get(14)?,
        change_count: row.get(15)?,
        changes_complete: row.get(16)?,
    })
}

macro_rules! team_columns {
    () => {
        "name, display_name, created_at"
    };
}
pub(crate) use team_columns;

pub(crate) fn team(row: &Row<'_>) -> rusqlite::Result<Team> {
    Ok(Team {
        name: parsed(row, 0, TeamName::parse)?,
        display_name: row.get(1)?,
        created_at: time(row, 2)?,
    })
}

macro_rules! service_columns {
    () => {
        "name, team, repository, created_at"
    };
}
pub(crate) use service_columns;

pub(crate) fn service(row: &Row<'_>) -> rusqlite::Result<Service> {
    Ok(Service {
        name: parsed(row, 0, ServiceName::parse)?,
        team: parsed_opt(row, 1, TeamName::parse)?,
        repository: row.get(2)?,
        created_at: time(row, 3)?,
    })
}

macro_rules! environment_columns {
    () => {
        "name, production, sort_order, created_at"
    };
}
pub(crate) use environment_columns;

pub(crate) fn environment(row: &Row<'_>) -> rusqlite::Result<Environment> {
    Ok(Environment {
        name: parsed(row, 0, EnvironmentName::parse)?,
        production: row.get(1)?,
        order: row.get(2)?,
        created_at: time(row, 3)?,
    })
}

macro_rules! token_columns {
    () => {
        "id, name, scope, prefix, hash, created_at, revoked_at, environment"
    };
}
pub(crate) use token_columns;

pub(crate) fn token(row: &Row<'_>) -> rusqlite::Result<Token> {
    Ok(Token {
        id: row.get::<_, i64>(0)?.to_string(),
        name: parsed(row, 1, TokenName::parse)?,
        scope: named(row, 2, Scope::parse)?,
        prefix: row.get(3)?,
        hash: row.get(4)?,
        created_at: time(row, 5)?,
        revoked_at: time_opt(row, 6)?,
        environment: parsed_opt(row, 7, EnvironmentName::parse)?,
    })
}

macro_rules! pull_request_columns {
    () => {
        "repository, number, title, author, state, \
    created_at, merged_at, merge_commit_sha, head_sha, url"
    };
}
pub(crate) use pull_request_columns;

pub(crate) fn pull_request(row: &Row<'_>) -> rusqlite::Result<PullRequest> {
    Ok(PullRequest {
        repository: row.get(0)?,
        number: row.get(1)?,
        title: row.get(2)?,
        author: row.get(3)?,
        state: named(row, 4, PullRequestState::parse)?,
        created_at: time(row, 5)?,
        merged_at: time_opt(row, 6)?,
        merge_commit_sha: parsed_opt(row, 7, Sha::parse)?,
        head_sha: parsed_opt(row, 8, Sha::parse)?,
        url: row.get(9)?,
    })
}

macro_rules! event_columns {
    () => {
        "id, at, recorded_at, kind, actor, source, service, environment, subject, payload"
    };
}
pub(crate) use event_columns;

pub(crate) fn event(row: &Row<'_>) -> rusqlite::Result<Event> {
    let payload: String = row.get(9)?;
    Ok(Event {
        id: row.get(0)?,
        at: time(row, 1)?,
        recorded_at: time(row, 2)?,
        kind: row.get(3)?,
        actor: row.get(4)?,
        source: named(row, 5, Source::parse)?,
        service: parsed_opt(row, 6, ServiceName::parse)?,
        environment: parsed_opt(row, 7, EnvironmentName::parse)?,
        subject: row.get(8)?,
        payload: serde_json::from_str(&payload).map_err(|e| conversion(9, e))?,
    })
}

fn services_list(row: &Row<'_>, idx: usize) -> rusqlite::Result<Vec<ServiceName>> {
    let Some(json) = row.get::<_, Option<String>>(idx)? else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = serde_json::from_str(&json).map_err(|e| conversion(idx, e))?;
    names
        .iter()
        .map(|n| ServiceName::parse(n).map_err(|e| conversion(idx, e)))
        .collect()
}

/// Full commits for `shas`, in the order given; unknown shas are left out.
pub(crate) fn commits(conn: &Connection, shas: &[Sha]) -> Result<Vec<Commit>> {
    if shas.is_empty() {
        return Ok(Vec::new());
    }
    let list = json_array(shas.iter().map(Sha::as_str));
    commits_in(conn, "SELECT value FROM json_each(?1)", &list, shas)
}

/// Full commits whose shas `subquery` (taking `param` as `?1`) selects, in the order of
/// `order`. Two set queries whatever the number of commits.
pub(crate) fn commits_in(
    conn: &Connection,
    subquery: &str,
    param: &dyn rusqlite::ToSql,
    order: &[Sha],
) -> Result<Vec<Commit>> {
    let mut parents: HashMap<String, Vec<Sha>> = HashMap::new();
    let sql = format!(
        "SELECT c.sha, p.parent FROM commits c
         CROSS JOIN commit_parents p ON p.commit_id = c.id
         WHERE c.sha IN ({subquery}) ORDER BY p.commit_id, p.position"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([param], |r| Ok((r.get::<_, String>(0)?, sha(r, 1)?)))?;
    for row in rows {
        let (child, parent) = row?;
        parents.entry(child).or_default().push(parent);
    }
    let sql = format!(
        "SELECT c.sha, c.author, c.author_email, c.authored_at, c.committed_at, c.message,
                c.repository, c.services
         FROM commits c WHERE c.sha IN ({subquery})"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([param], |r| {
        Ok(Commit {
            sha: sha(r, 0)?,
            parents: Vec::new(),
            author: r.get(1)?,
            author_email: r.get(2)?,
            authored_at: time(r, 3)?,
            committed_at: time(r, 4)?,
            message: r.get(5)?,
            repository: r.get(6)?,
            services: services_list(r, 7)?,
        })
    })?;
    let mut found: HashMap<Sha, Commit> = HashMap::with_capacity(order.len());
    for row in rows {
        let mut c = row?;
        c.parents = parents.remove(c.sha.as_str()).unwrap_or_default();
        found.insert(c.sha.clone(), c);
    }
    Ok(order.iter().filter_map(|s| found.remove(s)).collect())
}
