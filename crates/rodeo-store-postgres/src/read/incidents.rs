//! Reads for incidents and the deployments that finished in a range.

use rodeo_domain::{to_micros, Deployment, Incident, Page, ServiceName};
use rodeo_store::{FinishedFilter, IncidentFilter, StoreError};
use sqlx::{PgPool, QueryBuilder};

use super::lists::{page, page_size, Conditions};
use crate::rows::{self, DbResult, DEPLOYMENT_COLUMNS};

pub(super) fn doc(text: &str) -> Result<Incident, StoreError> {
    serde_json::from_str(text).map_err(StoreError::database)
}

pub(crate) async fn get_incident(pool: &PgPool, id: i64) -> Result<Option<Incident>, StoreError> {
    let text: Option<String> = sqlx::query_scalar("SELECT doc::text FROM incidents WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .db()?;
    text.as_deref().map(doc).transpose()
}

pub(crate) async fn list_incidents(
    pool: &PgPool,
    f: &IncidentFilter,
) -> Result<Page<Incident>, StoreError> {
    let limit = page_size(f.limit);
    let mut q = QueryBuilder::new("SELECT i.doc::text FROM incidents i");
    let mut w = Conditions { any: false };
    if let Some(s) = &f.service {
        w.next(&mut q)
            .push("i.id IN (SELECT incident_id FROM incident_services WHERE service = ")
            .push_bind(s.as_str().to_owned())
            .push(")");
    }
    if !f.statuses.is_empty() {
        let statuses: Vec<&'static str> = f.statuses.iter().map(|s| s.as_str()).collect();
        w.next(&mut q)
            .push("i.status = ANY(")
            .push_bind(statuses)
            .push(")");
    }
    if let Some(k) = f.kind {
        w.next(&mut q).push("i.kind = ").push_bind(k.as_str());
    }
    if let Some(t) = f.since {
        w.next(&mut q)
            .push("i.started_at >= ")
            .push_bind(to_micros(t));
    }
    if let Some(t) = f.until {
        w.next(&mut q)
            .push("i.started_at < ")
            .push_bind(to_micros(t));
    }
    if let Some(b) = f.before_id {
        w.next(&mut q).push("i.id < ").push_bind(b);
    }
    q.push(" ORDER BY i.id DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let texts: Vec<String> = q.build_query_scalar().fetch_all(pool).await.db()?;
    let items = texts
        .iter()
        .map(|t| doc(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, limit, |i| i.id))
}

pub(crate) async fn deployments_finished(
    pool: &PgPool,
    f: &FinishedFilter,
) -> Result<Vec<Deployment>, StoreError> {
    let services: Vec<&str> = f.services.iter().map(ServiceName::as_str).collect();
    let rows = sqlx::query(&format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d
         WHERE d.service = ANY($1) AND d.finished_at >= $2 AND d.finished_at <= $3
         ORDER BY d.finished_at DESC, d.id DESC LIMIT $4"
    ))
    .bind(services)
    .bind(to_micros(f.from))
    .bind(to_micros(f.to))
    .bind(i64::from(f.limit))
    .fetch_all(pool)
    .await
    .db()?;
    rows.iter().map(rows::deployment).collect()
}
