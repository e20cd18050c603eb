//! The facts the delivery metrics read (`Store::metric_facts`): production deployments
//! of the range and its edges, the range's first shipments, and the incidents that
//! matter. The organisation-wide read is the largest rodeo does (half a million first
//! shipments for 200 services over 180 days), so it runs on three connections sharing
//! one snapshot: the deployments on one while the first shipments stream in on the
//! other two, half the services each.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use rodeo_domain::{
    from_micros, to_micros, DeploymentKind, DeploymentStatus, EnvironmentName, ServiceName,
};
use rodeo_metrics::{Facts, FirstShipment, ProdDeployment, PullRequestShipment, PullRequestTimes};
use rodeo_store::{FactsQuery, StoreError};
use sqlx::{PgConnection, PgPool, Row};

use super::copy;
use super::incidents::doc;
use crate::rows::DbResult;

const READ_ONLY: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

pub(crate) async fn metric_facts(pool: &PgPool, q: &FactsQuery) -> Result<Facts, StoreError> {
    let mut tx = pool.begin_with(READ_ONLY).await.db()?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await
        .db()?;
    let mut side = [
        pool.begin_with(READ_ONLY).await.db()?,
        pool.begin_with(READ_ONLY).await.db()?,
    ];
    // An exported snapshot's name is digits, letters and dashes.
    if !snapshot
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(StoreError::Database(
            format!("unexpected snapshot name {snapshot:?}").into(),
        ));
    }
    for s in &mut side {
        sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
            .execute(&mut **s)
            .await
            .db()?;
    }
    let (from, to) = (to_micros(q.from), to_micros(q.to));
    let services: Option<Vec<String>> = q
        .services
        .as_ref()
        .map(|s| s.iter().map(|n| n.as_str().to_owned()).collect());
    // Every service, listed: the per-service ranges of `first_shipments_by_time` (an
    // index-only scan of the window's rows) beat a scan of every first shipment ever
    // recorded, which is what a time range alone gets.
    let listed: Vec<String> = match &services {
        Some(list) => list.clone(),
        None => sqlx::query_scalar("SELECT name FROM services ORDER BY name")
            .fetch_all(&mut *tx)
            .await
            .db()?,
    };
    // Half the services' first shipments on each side connection: PostgreSQL spends a
    // core on each.
    let (a, b) = listed.split_at(listed.len() / 2);
    // First shipments name authors by id (migration 0005).
    let authors: HashMap<i32, Arc<str>> =
        sqlx::query_as::<_, (i32, String)>("SELECT id, name FROM authors")
            .fetch_all(&mut *tx)
            .await
            .db()?
            .into_iter()
            .map(|(id, name)| (id, Arc::from(name)))
            .collect();
    let [mut side_a, mut side_b] = side;
    let (deployments, first_a, first_b) = tokio::join!(
        deployments(&mut tx, services.as_deref(), from, to),
        first_shipments(&mut side_a, a, &authors, from, to),
        first_shipments(&mut side_b, b, &authors, from, to),
    );
    let deployments = deployments?;
    let (mut first_shipments, mut pull_requests) = first_a?;
    let (more_firsts, more_prs) = first_b?;
    first_shipments.extend(more_firsts);
    pull_requests.extend(more_prs);
    side_a.commit().await.db()?;
    side_b.commit().await.db()?;

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
    let ids: HashSet<i64> = deployments.iter().map(|d| d.id).collect();
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
        pull_requests,
        incidents,
    })
}

/// Production deployments in the range, plus the last before it and the first after it
/// in each lane (`deployments_history` serves all three, index-only).
async fn deployments(
    conn: &mut PgConnection,
    services: Option<&[String]>,
    from: i64,
    to: i64,
) -> Result<Vec<ProdDeployment>, StoreError> {
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
    .bind(services)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
    .db()?;
    // Lanes repeat on every row: parse each name once.
    let mut services: HashMap<String, ServiceName> = HashMap::new();
    let mut environments: HashMap<String, EnvironmentName> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let service: &str = r.try_get(1).db()?;
        let service = match services.get(service) {
            Some(s) => s.clone(),
            None => {
                let s = ServiceName::parse(service).map_err(StoreError::database)?;
                services.insert(service.to_owned(), s.clone());
                s
            }
        };
        let environment: &str = r.try_get(2).db()?;
        let environment = match environments.get(environment) {
            Some(e) => e.clone(),
            None => {
                let e = EnvironmentName::parse(environment).map_err(StoreError::database)?;
                environments.insert(environment.to_owned(), e.clone());
                e
            }
        };
        let status: &str = r.try_get(3).db()?;
        let kind: &str = r.try_get(4).db()?;
        out.push(ProdDeployment {
            id: r.try_get(0).db()?,
            service,
            environment,
            status: DeploymentStatus::parse(status).unwrap_or(DeploymentStatus::Succeeded),
            kind: DeploymentKind::parse(kind).unwrap_or(DeploymentKind::Normal),
            finished_at: from_micros(r.try_get(5).db()?),
        });
    }
    Ok(out)
}

/// The range's first shipments and the merged pull requests among them, through COPY
/// (see `copy`), one row per service with its shipments as arrays: a row per shipment
/// costs more in messages than in data.
async fn first_shipments(
    conn: &mut PgConnection,
    listed: &[String],
    authors: &HashMap<i32, Arc<str>>,
    from: i64,
    to: i64,
) -> Result<(Vec<FirstShipment>, Vec<PullRequestShipment>), StoreError> {
    if listed.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // COPY takes no parameters. Names are validated (no quotes) and quoted all the same.
    let quoted: Vec<String> = listed
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect();
    // Merged pull requests are few: their milestones come as arrays of their own.
    let query = format!(
        "SELECT f.service, array_agg(f.deployment_id), array_agg(f.deployed_at),
                array_agg(f.committed_at), array_agg(f.author_id),
                array_agg(f.deployed_at) FILTER (WHERE {pr}),
                array_agg(f.pr_opened_at) FILTER (WHERE {pr}),
                array_agg(f.pr_merged_at) FILTER (WHERE {pr}),
                array_agg(f.pr_first_commit_at) FILTER (WHERE {pr}),
                array_agg(f.pr_author) FILTER (WHERE {pr})
         FROM first_shipments f
         WHERE f.service IN ({}) AND f.deployed_at >= {from} AND f.deployed_at < {to}
         GROUP BY f.service",
        quoted.join(", "),
        pr = "f.pr_opened_at IS NOT NULL AND f.pr_merged_at IS NOT NULL \
              AND f.pr_author IS NOT NULL",
    );
    let mut out = Vec::new();
    let mut pull_requests = Vec::new();
    // Pull-request authors by name, sharing the commit authors' `Arc`s where they match.
    let mut by_name: HashMap<String, Arc<str>> = authors
        .values()
        .map(|a| (a.to_string(), Arc::clone(a)))
        .collect();
    let mut intern = |author: &str| match by_name.get(author) {
        Some(a) => Arc::clone(a),
        None => {
            let a: Arc<str> = Arc::from(author);
            by_name.insert(author.to_owned(), Arc::clone(&a));
            a
        }
    };
    let malformed = |what: &str| StoreError::Database(format!("first_shipments: {what}").into());
    copy::copy_rows(conn, &query, |f| {
        let [service, columns @ ..] = f else {
            return Err(malformed("no service"));
        };
        let name = copy::text(*service)?.ok_or_else(|| malformed("NULL service"))?;
        let name = Arc::new(ServiceName::parse(name).map_err(StoreError::database)?);
        let arrays = columns
            .iter()
            .map(|c| copy::array(*c))
            .collect::<Result<Vec<_>, _>>()?;
        let [ids, deployed, committed, author, pr_deployed, opened, merged, first, pr_author] =
            arrays.as_slice()
        else {
            return Err(malformed("unexpected field count"));
        };
        let (n, prs) = (ids.len(), pr_deployed.len());
        if [deployed, committed, author].iter().any(|a| a.len() != n)
            || [opened, merged, first, pr_author]
                .iter()
                .any(|a| a.len() != prs)
        {
            return Err(malformed("arrays of different lengths"));
        }
        let int = |v: Option<&[u8]>| copy::int8(v)?.ok_or_else(|| malformed("unexpected NULL"));
        out.reserve(n);
        for i in 0..n {
            out.push(FirstShipment {
                service: Arc::clone(&name),
                deployment_id: int(ids[i])?,
                deployed_at: from_micros(int(deployed[i])?),
                committed_at: from_micros(int(committed[i])?),
                author: copy::int4(author[i])?
                    .and_then(|id| authors.get(&id))
                    .map(Arc::clone)
                    .ok_or_else(|| malformed("unknown author id"))?,
            });
        }
        for i in 0..prs {
            pull_requests.push(PullRequestShipment {
                service: Arc::clone(&name),
                deployed_at: from_micros(int(pr_deployed[i])?),
                times: PullRequestTimes {
                    first_commit_at: copy::int8(first[i])?.map(from_micros),
                    opened_at: from_micros(int(opened[i])?),
                    merged_at: from_micros(int(merged[i])?),
                    author: intern(copy::text(pr_author[i])?.unwrap_or_default()),
                },
            });
        }
        Ok(())
    })
    .await?;
    Ok((out, pull_requests))
}
