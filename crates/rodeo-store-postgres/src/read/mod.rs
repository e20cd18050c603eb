//! The read side of [`Store`](rodeo_store::Store): typed queries, each a fixed number of
//! statements however many rows they return.

use rodeo_domain::{
    Changes, Commit, Deployment, DeploymentDetail, Environment, EnvironmentName, Service,
    ServiceName, Sha, Team, TeamName, Timestamp, Token,
};
use rodeo_store::StoreError;
use sqlx::{PgConnection, PgPool};

use crate::graph;
use crate::rows::{
    self, DbResult, COMMIT_COLUMNS, DEPLOYMENT_COLUMNS, ENVIRONMENT_COLUMNS, SERVICE_COLUMNS,
    TOKEN_COLUMNS,
};

mod copy;
mod facts;
mod flags;
mod incidents;
mod lists;
mod status;

pub(crate) use facts::metric_facts;
pub(crate) use flags::{flag_evaluations, flag_set, flag_sets, stored_flags};
pub(crate) use incidents::{deployments_finished, get_incident, list_incidents};
pub(crate) use lists::{list_deployments, list_events};
pub(crate) use status::status;

pub(crate) async fn token_by_hash(pool: &PgPool, hash: &str) -> Result<Option<Token>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await
    .db()?;
    row.as_ref().map(rows::token).transpose()
}

pub(crate) async fn list_tokens(pool: &PgPool) -> Result<Vec<Token>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))
        .fetch_all(pool)
        .await
        .db()?;
    rows.iter().map(rows::token).collect()
}

pub(crate) async fn list_teams(pool: &PgPool) -> Result<Vec<Team>, StoreError> {
    let rows = sqlx::query("SELECT name, display_name, created_at FROM teams ORDER BY name")
        .fetch_all(pool)
        .await
        .db()?;
    rows.iter().map(rows::team).collect()
}

pub(crate) async fn get_team(pool: &PgPool, name: &TeamName) -> Result<Option<Team>, StoreError> {
    let row = sqlx::query("SELECT name, display_name, created_at FROM teams WHERE name = $1")
        .bind(name.as_str())
        .fetch_optional(pool)
        .await
        .db()?;
    row.as_ref().map(rows::team).transpose()
}

pub(crate) async fn list_services(pool: &PgPool) -> Result<Vec<Service>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {SERVICE_COLUMNS} FROM services ORDER BY name"
    ))
    .fetch_all(pool)
    .await
    .db()?;
    rows.iter().map(rows::service).collect()
}

pub(crate) async fn get_service(
    pool: &PgPool,
    name: &ServiceName,
) -> Result<Option<Service>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SERVICE_COLUMNS} FROM services WHERE name = $1"
    ))
    .bind(name.as_str())
    .fetch_optional(pool)
    .await
    .db()?;
    row.as_ref().map(rows::service).transpose()
}

pub(crate) async fn list_environments(
    conn: &mut PgConnection,
) -> Result<Vec<Environment>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENVIRONMENT_COLUMNS} FROM environments ORDER BY sort_order, name"
    ))
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter().map(rows::environment).collect()
}

pub(crate) async fn get_deployment(
    pool: &PgPool,
    id: i64,
) -> Result<Option<DeploymentDetail>, StoreError> {
    let mut conn = pool.acquire().await.db()?;
    let row = sqlx::query(&format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    let Some(deployment) = row.as_ref().map(rows::deployment).transpose()? else {
        return Ok(None);
    };
    let rows = sqlx::query(&format!(
        "SELECT {COMMIT_COLUMNS} FROM deployment_changes dc JOIN commits c ON c.sha = dc.sha
         WHERE dc.deployment_id = $1 ORDER BY dc.position"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .db()?;
    let changes = rows.iter().map(rows::commit).collect::<Result<_, _>>()?;
    Ok(Some(DeploymentDetail {
        deployment,
        changes,
    }))
}

pub(crate) async fn current_deployment(
    pool: &PgPool,
    service: &ServiceName,
    environment: &EnvironmentName,
) -> Result<Option<Deployment>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM current_deployments c
         JOIN deployments d ON d.id = c.deployment_id
         WHERE c.service = $1 AND c.environment = $2"
    ))
    .bind(service.as_str())
    .bind(environment.as_str())
    .fetch_optional(pool)
    .await
    .db()?;
    row.as_ref().map(rows::deployment).transpose()
}

pub(crate) async fn deployment_of_version(
    pool: &PgPool,
    service: &ServiceName,
    version: &str,
) -> Result<Option<Deployment>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d
         WHERE d.service = $1 AND d.version = $2 AND d.status = 'succeeded'
         ORDER BY d.finished_at DESC, d.id DESC LIMIT 1"
    ))
    .bind(service.as_str())
    .bind(version)
    .fetch_optional(pool)
    .await
    .db()?;
    row.as_ref().map(rows::deployment).transpose()
}

pub(crate) async fn get_commit(pool: &PgPool, sha: &Sha) -> Result<Option<Commit>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COMMIT_COLUMNS} FROM commits c WHERE c.sha = $1"
    ))
    .bind(sha.as_str())
    .fetch_optional(pool)
    .await
    .db()?;
    row.as_ref().map(rows::commit).transpose()
}

/// The commits of `include` and not of `exclude`, newest first, cut to `limit`.
pub(crate) async fn changes_between(
    pool: &PgPool,
    include: &Sha,
    exclude: Option<&Sha>,
    not_before: Option<Timestamp>,
    limit: u32,
) -> Result<Changes, StoreError> {
    let mut conn = pool.acquire().await.db()?;
    let walked = graph::changes(&mut conn, include, exclude, not_before).await?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let truncated = walked.shas.len() > limit;
    let shas: Vec<&str> = walked.shas.iter().take(limit).map(Sha::as_str).collect();
    let rows = sqlx::query(&format!(
        "SELECT {COMMIT_COLUMNS} FROM UNNEST($1::text[]) WITH ORDINALITY AS t(sha, ord)
         JOIN commits c ON c.sha = t.sha ORDER BY t.ord"
    ))
    .bind(&shas)
    .fetch_all(&mut *conn)
    .await
    .db()?;
    Ok(Changes {
        commits: rows.iter().map(rows::commit).collect::<Result<_, _>>()?,
        complete: walked.complete && !truncated,
    })
}
