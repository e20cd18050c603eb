//! Reads for incidents and the delivery metrics.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::copy;
use rodeo_domain::{
    from_micros, to_micros, Deployment, DeploymentKind, DeploymentStatus, EnvironmentName,
    Incident, Page, ServiceName,
};
use rodeo_metrics::{Facts, FirstShipment, ProdDeployment, PullRequestTimes};
use rodeo_store::{FactsQuery, FinishedFilter, IncidentFilter, StoreError};
use sqlx::{PgPool, QueryBuilder, Row};

use super::lists::{page, page_size, Conditions};
use crate::rows::{self, DbResult, DEPLOYMENT_COLUMNS};

fn doc(text: &str) -> Result<Incident, StoreError> {
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

pub(crate) async fn metric_facts(pool: &PgPool, q: &FactsQuery) -> Result<Facts, StoreError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .db()?;
    let (from, to) = (to_micros(q.from), to_micros(q.to));
    let services: Option<Vec<String>> = q
        .services
        .as_ref()
        .map(|s| s.iter().map(|n| n.as_str().to_owned()).collect());
    // In the range, plus the first one after it in each lane (`deployments_history`
    // serves both).
    let rows = sqlx::query(
        "WITH lanes AS (
             SELECT s.name AS service, e.name AS environment
             FROM services s CROSS JOIN environments e
             WHERE e.production AND ($1::text[] IS NULL OR s.name = ANY($1))
         )
         SELECT d.id, d.service, d.environment, d.status, d.kind, d.finished_at
         FROM lanes l JOIN deployments d
           ON d.service = l.service AND d.environment = l.environment
         WHERE d.status IN ('succeeded', 'rolled_back')
           AND d.finished_at >= $2 AND d.finished_at < $3
         UNION ALL
         SELECT n.id, n.service, n.environment, n.status, n.kind, n.finished_at
         FROM lanes l CROSS JOIN LATERAL (
             SELECT d.id, d.service, d.environment, d.status, d.kind, d.finished_at
             FROM deployments d
             WHERE d.service = l.service AND d.environment = l.environment
               AND d.status IN ('succeeded', 'rolled_back') AND d.finished_at >= $3
             ORDER BY d.finished_at, d.id LIMIT 1
         ) n
         UNION ALL
         SELECT p.id, p.service, p.environment, p.status, p.kind, p.finished_at
         FROM lanes l CROSS JOIN LATERAL (
             SELECT d.id, d.service, d.environment, d.status, d.kind, d.finished_at
             FROM deployments d
             WHERE d.service = l.service AND d.environment = l.environment
               AND d.status IN ('succeeded', 'rolled_back') AND d.finished_at < $2
             ORDER BY d.finished_at DESC, d.id DESC LIMIT 1
         ) p",
    )
    .bind(&services)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await
    .db()?;
    let mut deployments = Vec::with_capacity(rows.len());
    for r in &rows {
        let status: String = r.try_get("status").db()?;
        let kind: String = r.try_get("kind").db()?;
        let service: String = r.try_get("service").db()?;
        let environment: String = r.try_get("environment").db()?;
        deployments.push(ProdDeployment {
            id: r.try_get("id").db()?,
            service: ServiceName::parse(&service).map_err(StoreError::database)?,
            environment: EnvironmentName::parse(&environment).map_err(StoreError::database)?,
            status: DeploymentStatus::parse(&status).unwrap_or(DeploymentStatus::Succeeded),
            kind: DeploymentKind::parse(&kind).unwrap_or(DeploymentKind::Normal),
            finished_at: from_micros(r.try_get("finished_at").db()?),
        });
    }
    let ids: Vec<i64> = deployments.iter().map(|d| d.id).collect();
    // The largest read by far (one row per counted commit): through COPY, see `copy`.
    let scope = match &services {
        // Names are validated (no quotes), and quoted here all the same.
        Some(list) => {
            let quoted: Vec<String> = list
                .iter()
                .map(|s| format!("'{}'", s.replace('\'', "''")))
                .collect();
            format!("f.service IN ({})", quoted.join(", "))
        }
        None => "true".to_owned(),
    };
    let mut first_shipments = Vec::new();
    let mut names: HashMap<String, Arc<ServiceName>> = HashMap::new();
    let mut authors: HashMap<String, Arc<str>> = HashMap::new();
    let mut intern = |author: &str| match authors.get(author) {
        Some(a) => Arc::clone(a),
        None => {
            let a: Arc<str> = Arc::from(author);
            authors.insert(author.to_owned(), Arc::clone(&a));
            a
        }
    };
    let query = format!(
        "SELECT f.service, f.deployment_id, f.deployed_at, f.committed_at, f.author,
                f.pr_opened_at, f.pr_merged_at, f.pr_first_commit_at, f.pr_author
         FROM first_shipments f
         WHERE {scope} AND f.deployed_at >= {from} AND f.deployed_at < {to}"
    );
    copy::copy_rows(&mut tx, &query, |f| {
        let [service, deployment_id, deployed_at, committed_at, author, opened, merged, first, pr_author] =
            f
        else {
            return Err(StoreError::Database("first_shipments: unexpected field count".into()));
        };
        let service = copy::text(*service)?.unwrap_or_default();
        let name = match names.get(service) {
            Some(n) => Arc::clone(n),
            None => {
                let n = Arc::new(ServiceName::parse(service).map_err(StoreError::database)?);
                names.insert(service.to_owned(), Arc::clone(&n));
                n
            }
        };
        let required = |v: Option<i64>| {
            v.ok_or_else(|| StoreError::Database("first_shipments: unexpected NULL".into()))
        };
        let pull_request = match (
            copy::int8(*opened)?,
            copy::int8(*merged)?,
            copy::text(*pr_author)?,
        ) {
            (Some(opened), Some(merged), Some(pr_author)) => Some(Box::new(PullRequestTimes {
                first_commit_at: copy::int8(*first)?.map(from_micros),
                opened_at: from_micros(opened),
                merged_at: from_micros(merged),
                author: intern(pr_author),
            })),
            _ => None,
        };
        first_shipments.push(FirstShipment {
            service: name,
            deployment_id: required(copy::int8(*deployment_id)?)?,
            deployed_at: from_micros(required(copy::int8(*deployed_at)?)?),
            committed_at: from_micros(required(copy::int8(*committed_at)?)?),
            author: intern(copy::text(*author)?.unwrap_or_default()),
            pull_request,
        });
        Ok(())
    })
    .await?;
    // Incidents started in the range, and earlier ones caused by deployments before it.
    let before: Vec<i64> = deployments
        .iter()
        .filter(|d| to_micros(d.finished_at) < from)
        .map(|d| d.id)
        .collect();
    let texts: Vec<String> = sqlx::query_scalar(
        "SELECT doc::text FROM incidents WHERE started_at >= $1
         UNION ALL
         SELECT i.doc::text FROM incidents i
         WHERE i.started_at < $1 AND i.id IN (
             SELECT incident_id FROM incident_causes WHERE deployment_id = ANY($2))",
    )
    .bind(from)
    .bind(&before)
    .fetch_all(&mut *tx)
    .await
    .db()?;
    tx.commit().await.db()?;
    let wanted: Option<BTreeSet<&str>> = services
        .as_ref()
        .map(|s| s.iter().map(String::as_str).collect());
    let ids: HashSet<i64> = ids.into_iter().collect();
    let mut incidents = Vec::new();
    for t in &texts {
        let i = doc(t)?;
        let relevant = wanted
            .as_ref()
            .is_none_or(|w| i.services.iter().any(|s| w.contains(s.as_str())))
            || i.causes.iter().any(|c| ids.contains(c));
        if relevant {
            incidents.push(rodeo_metrics::Incident::from(&i));
        }
    }
    Ok(Facts {
        deployments,
        shipments: Vec::new(),
        first_shipments,
        incidents,
    })
}
