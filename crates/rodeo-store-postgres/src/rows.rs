//! Turning rows into domain values, and sqlx errors into [`StoreError`]s.
//!
//! Every stored name and enum was validated on the way in, so a value that fails to
//! parse here means the database was changed behind rodeo's back; it surfaces as a
//! database error that names the column, never as a panic.

use rodeo_domain::{
    from_micros, Commit, Deployment, DeploymentKind, DeploymentStatus, Environment,
    EnvironmentName, Event, FieldError, Scope, Service, ServiceName, Sha, Source, Team, TeamName,
    Token, TokenName,
};
use rodeo_store::StoreError;
use sqlx::postgres::PgRow;
use sqlx::Row;

/// A stored value rodeo cannot read back.
#[derive(Debug, thiserror::Error)]
#[error("column {column} holds {value:?}, which rodeo cannot read")]
pub(crate) struct Corrupt {
    column: &'static str,
    value: String,
    #[source]
    cause: Option<FieldError>,
}

fn corrupt(column: &'static str, value: &str, cause: Option<FieldError>) -> StoreError {
    StoreError::database(Corrupt {
        column,
        value: value.to_owned(),
        cause,
    })
}

/// `.db()?` on sqlx results: the orphan rule keeps us from a `From` impl.
pub(crate) trait DbResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> DbResult<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(StoreError::database)
    }
}

fn get<'r, T>(row: &'r PgRow, column: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).db()
}

fn parse_with<T>(
    column: &'static str,
    value: &str,
    f: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<T, StoreError> {
    f(value).map_err(|e| corrupt(column, value, Some(e)))
}

fn parse_opt<T>(
    column: &'static str,
    value: &str,
    f: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    f(value).ok_or_else(|| corrupt(column, value, None))
}

pub(crate) fn sha(column: &'static str, value: &str) -> Result<Sha, StoreError> {
    parse_with(column, value, Sha::parse)
}

pub(crate) fn service_name(value: &str) -> Result<ServiceName, StoreError> {
    parse_with("service", value, ServiceName::parse)
}

pub(crate) fn environment_name(value: &str) -> Result<EnvironmentName, StoreError> {
    parse_with("environment", value, EnvironmentName::parse)
}

pub(crate) fn team(row: &PgRow) -> Result<Team, StoreError> {
    Ok(Team {
        name: parse_with("name", get::<&str>(row, "name")?, TeamName::parse)?,
        display_name: get(row, "display_name")?,
        created_at: from_micros(get(row, "created_at")?),
    })
}

pub(crate) const SERVICE_COLUMNS: &str = "name, team, repository, created_at";

pub(crate) fn service(row: &PgRow) -> Result<Service, StoreError> {
    let team: Option<String> = get(row, "team")?;
    Ok(Service {
        name: service_name(get::<&str>(row, "name")?)?,
        team: team
            .map(|t| parse_with("team", &t, TeamName::parse))
            .transpose()?,
        repository: get(row, "repository")?,
        created_at: from_micros(get(row, "created_at")?),
    })
}

pub(crate) const ENVIRONMENT_COLUMNS: &str = "name, production, sort_order, created_at";

pub(crate) fn environment(row: &PgRow) -> Result<Environment, StoreError> {
    Ok(Environment {
        name: environment_name(get::<&str>(row, "name")?)?,
        production: get(row, "production")?,
        order: get(row, "sort_order")?,
        created_at: from_micros(get(row, "created_at")?),
    })
}

pub(crate) const TOKEN_COLUMNS: &str =
    "id, name, scope, prefix, hash, created_at, revoked_at, environment";

pub(crate) fn token(row: &PgRow) -> Result<Token, StoreError> {
    Ok(Token {
        id: get::<i64>(row, "id")?.to_string(),
        name: parse_with("name", get::<&str>(row, "name")?, TokenName::parse)?,
        scope: parse_opt("scope", get::<&str>(row, "scope")?, Scope::parse)?,
        prefix: get(row, "prefix")?,
        created_at: from_micros(get(row, "created_at")?),
        revoked_at: get::<Option<i64>>(row, "revoked_at")?.map(from_micros),
        environment: get::<Option<&str>>(row, "environment")?
            .map(environment_name)
            .transpose()?,
        hash: get(row, "hash")?,
    })
}

/// Commit columns of table alias `c`, with the parents in git order.
pub(crate) const COMMIT_COLUMNS: &str = "c.sha, c.author, c.author_email, c.authored_at, \
     c.committed_at, c.message, c.repository, c.services, \
     ARRAY(SELECT p.parent FROM commit_parents p WHERE p.sha = c.sha ORDER BY p.position) AS parents";

pub(crate) fn commit(row: &PgRow) -> Result<Commit, StoreError> {
    let parents: Vec<String> = get(row, "parents")?;
    let services: Vec<String> = get(row, "services")?;
    Ok(Commit {
        sha: sha("sha", get::<&str>(row, "sha")?)?,
        parents: parents
            .iter()
            .map(|p| sha("parent", p))
            .collect::<Result<_, _>>()?,
        author: get(row, "author")?,
        author_email: get(row, "author_email")?,
        authored_at: from_micros(get(row, "authored_at")?),
        committed_at: from_micros(get(row, "committed_at")?),
        message: get(row, "message")?,
        repository: get(row, "repository")?,
        services: services
            .iter()
            .map(|s| service_name(s))
            .collect::<Result<_, _>>()?,
    })
}

/// Deployment columns of table alias `d`.
pub(crate) const DEPLOYMENT_COLUMNS: &str = "d.id, d.service, d.environment, d.version, \
     d.commit_sha, d.status, d.kind, d.started_at, d.finished_at, d.external_id, d.url, \
     d.created_by, d.source, d.rollback_of, d.previous_id, d.change_count, d.changes_complete";

pub(crate) fn deployment(row: &PgRow) -> Result<Deployment, StoreError> {
    let change_count: i32 = get(row, "change_count")?;
    Ok(Deployment {
        id: get(row, "id")?,
        service: service_name(get::<&str>(row, "service")?)?,
        environment: environment_name(get::<&str>(row, "environment")?)?,
        version: get(row, "version")?,
        commit_sha: sha("commit_sha", get::<&str>(row, "commit_sha")?)?,
        status: parse_opt(
            "status",
            get::<&str>(row, "status")?,
            DeploymentStatus::parse,
        )?,
        kind: parse_opt("kind", get::<&str>(row, "kind")?, DeploymentKind::parse)?,
        started_at: from_micros(get(row, "started_at")?),
        finished_at: get::<Option<i64>>(row, "finished_at")?.map(from_micros),
        external_id: get(row, "external_id")?,
        url: get(row, "url")?,
        created_by: get(row, "created_by")?,
        source: parse_opt("source", get::<&str>(row, "source")?, Source::parse)?,
        rollback_of: get(row, "rollback_of")?,
        previous_id: get(row, "previous_id")?,
        change_count: u32::try_from(change_count)
            .map_err(|_| corrupt("change_count", &change_count.to_string(), None))?,
        changes_complete: get(row, "changes_complete")?,
    })
}

/// Event columns; the payload is read as text because the workspace builds sqlx
/// without its `json` feature.
pub(crate) const EVENT_COLUMNS: &str = "id, at, recorded_at, kind, actor, source, service, \
     environment, subject, payload::text AS payload";

pub(crate) fn event(row: &PgRow) -> Result<Event, StoreError> {
    let service: Option<String> = get(row, "service")?;
    let environment: Option<String> = get(row, "environment")?;
    let payload: String = get(row, "payload")?;
    Ok(Event {
        id: get(row, "id")?,
        at: from_micros(get(row, "at")?),
        recorded_at: from_micros(get(row, "recorded_at")?),
        kind: get(row, "kind")?,
        actor: get(row, "actor")?,
        source: parse_opt("source", get::<&str>(row, "source")?, Source::parse)?,
        service: service.as_deref().map(service_name).transpose()?,
        environment: environment.as_deref().map(environment_name).transpose()?,
        subject: get(row, "subject")?,
        payload: serde_json::from_str(&payload).map_err(StoreError::database)?,
    })
}
