//! Reads for incidents and the delivery metrics.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use rodeo_domain::{
    from_micros, to_micros, Deployment, DeploymentKind, DeploymentStatus, EnvironmentName,
    Incident, Page, ServiceName, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use rodeo_metrics::{Facts, ProdDeployment};
use rodeo_store::pack::Unpacker;
use rodeo_store::{FactsQuery, FinishedFilter, IncidentFilter, StoreError};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use crate::error::Result;
use crate::rows::{self, deployment_columns};

pub(crate) fn list_incidents(conn: &Connection, f: &IncidentFilter) -> Result<Page<Incident>> {
    let limit = if f.limit == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        f.limit.min(MAX_PAGE_SIZE)
    };
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = &f.service {
        clauses
            .push("i.id IN (SELECT incident_id FROM incident_services WHERE service = ?)".into());
        args.push(Value::Text(s.to_string()));
    }
    if !f.statuses.is_empty() {
        let marks = vec!["?"; f.statuses.len()].join(", ");
        clauses.push(format!("i.status IN ({marks})"));
        args.extend(f.statuses.iter().map(|s| Value::Text(s.as_str().into())));
    }
    if let Some(k) = f.kind {
        clauses.push("i.kind = ?".into());
        args.push(Value::Text(k.as_str().into()));
    }
    if let Some(t) = f.since {
        clauses.push("i.started_at >= ?".into());
        args.push(Value::Integer(to_micros(t)));
    }
    if let Some(t) = f.until {
        clauses.push("i.started_at < ?".into());
        args.push(Value::Integer(to_micros(t)));
    }
    if let Some(b) = f.before_id {
        clauses.push("i.id < ?".into());
        args.push(Value::Integer(b));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT i.doc FROM incidents i{filter} ORDER BY i.id DESC LIMIT {}",
        limit + 1
    );
    let docs = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut items = docs
        .iter()
        .map(|d| serde_json::from_str(d))
        .collect::<serde_json::Result<Vec<Incident>>>()?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        rodeo_domain::Cursor {
            before_id: items.last().map_or(0, |i| i.id),
        }
        .encode()
    });
    Ok(Page { items, next_cursor })
}

pub(crate) fn deployments_finished(
    conn: &Connection,
    f: &FinishedFilter,
) -> Result<Vec<Deployment>> {
    let sql = concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d
         WHERE d.service = ?1 AND d.finished_at >= ?2 AND d.finished_at <= ?3
         ORDER BY d.finished_at DESC, d.id DESC LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(sql)?;
    let mut all = Vec::new();
    for s in &f.services {
        let rows = stmt.query_map(
            params![
                s.as_str(),
                to_micros(f.from),
                to_micros(f.to),
                i64::from(f.limit)
            ],
            rows::deployment,
        )?;
        for d in rows {
            all.push(d?);
        }
    }
    all.sort_by_key(|d| std::cmp::Reverse((d.finished_at, d.id)));
    all.truncate(f.limit as usize);
    Ok(all)
}

pub(crate) fn metric_facts(conn: &Connection, q: &FactsQuery) -> Result<Facts> {
    let tx = conn.unchecked_transaction()?;
    let (from, to) = (to_micros(q.from), to_micros(q.to));
    let production: Vec<String> = tx
        .prepare_cached("SELECT name FROM environments WHERE production = 1 ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let services: Vec<String> = match &q.services {
        Some(list) => list.iter().map(|s| s.to_string()).collect(),
        None => tx
            .prepare_cached("SELECT name FROM services ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?,
    };

    // Per lane and status, so each read is one range of `deployments_by_target`.
    let mut in_range = tx.prepare_cached(
        "SELECT id, kind, finished_at FROM deployments
         WHERE service = ?1 AND environment = ?2 AND status = ?3
           AND finished_at >= ?4 AND finished_at < ?5",
    )?;
    let mut after = tx.prepare_cached(
        "SELECT id, kind, finished_at FROM deployments
         WHERE service = ?1 AND environment = ?2 AND status = ?3 AND finished_at >= ?4
         ORDER BY finished_at, id LIMIT 1",
    )?;
    let mut before = tx.prepare_cached(
        "SELECT id, kind, finished_at FROM deployments
         WHERE service = ?1 AND environment = ?2 AND status = ?3 AND finished_at < ?4
         ORDER BY finished_at DESC, id DESC LIMIT 1",
    )?;
    let mut boundary = Vec::new();
    let mut deployments = Vec::new();
    for service in &services {
        let service_name = ServiceName::parse(service).map_err(StoreError::database)?;
        for env in &production {
            let env_name = EnvironmentName::parse(env).map_err(StoreError::database)?;
            let mut next: Option<ProdDeployment> = None;
            let mut last: Option<ProdDeployment> = None;
            for status in [DeploymentStatus::Succeeded, DeploymentStatus::RolledBack] {
                let make = |r: &rusqlite::Row<'_>| -> rusqlite::Result<ProdDeployment> {
                    let kind: String = r.get(1)?;
                    Ok(ProdDeployment {
                        id: r.get(0)?,
                        service: service_name.clone(),
                        environment: env_name.clone(),
                        status,
                        kind: DeploymentKind::parse(&kind).unwrap_or(DeploymentKind::Normal),
                        finished_at: from_micros(r.get(2)?),
                    })
                };
                for d in
                    in_range.query_map(params![service, env, status.as_str(), from, to], make)?
                {
                    deployments.push(d?);
                }
                for d in after.query_map(params![service, env, status.as_str(), to], make)? {
                    let d = d?;
                    if next
                        .as_ref()
                        .is_none_or(|n| (d.finished_at, d.id) < (n.finished_at, n.id))
                    {
                        next = Some(d);
                    }
                }
                for d in before.query_map(params![service, env, status.as_str(), from], make)? {
                    let d = d?;
                    if last
                        .as_ref()
                        .is_none_or(|l| (d.finished_at, d.id) > (l.finished_at, l.id))
                    {
                        last = Some(d);
                    }
                }
            }
            deployments.extend(next);
            if let Some(l) = last {
                boundary.push(l.id);
                deployments.push(l);
            }
        }
    }
    drop((in_range, after, before));

    let ids: HashSet<i64> = deployments.iter().map(|d| d.id).collect();
    // The first shipments come packed per deployment (see `write::packs`).
    let (mut first_shipments, mut pull_requests) = (Vec::new(), Vec::new());
    let mut packs = tx.prepare_cached(
        "SELECT deployment_id, deployed_at, commits FROM first_shipment_packs
         WHERE service = ?1 AND deployed_at >= ?2 AND deployed_at < ?3
         ORDER BY deployed_at, deployment_id",
    )?;
    let mut unpacker = Unpacker::new();
    for service in &services {
        let name = Arc::new(ServiceName::parse(service).map_err(StoreError::database)?);
        let mut rows = packs.query(params![service, from, to])?;
        while let Some(r) = rows.next()? {
            let bytes = r.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
            unpacker.unpack(
                &name,
                r.get(0)?,
                r.get(1)?,
                bytes,
                &mut first_shipments,
                &mut pull_requests,
            )?;
        }
    }
    drop(packs);

    let wanted: BTreeSet<&str> = services.iter().map(String::as_str).collect();
    let mut docs: Vec<String> = tx
        .prepare_cached("SELECT doc FROM incidents WHERE started_at >= ?1 ORDER BY id")?
        .query_map([from], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // Incidents caused by the deployments before the range started before it too.
    let earlier: Vec<String> = tx
        .prepare_cached(
            "SELECT i.doc FROM incidents i
             WHERE i.started_at < ?1 AND i.id IN (
                 SELECT c.incident_id FROM incident_causes c
                 WHERE c.deployment_id IN (SELECT value FROM json_each(?2)))",
        )?
        .query_map(params![from, serde_json::to_string(&boundary)?], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?;
    docs.extend(earlier);
    let mut incidents = Vec::new();
    for doc in docs {
        let i: Incident = serde_json::from_str(&doc)?;
        let relevant = i.services.iter().any(|s| wanted.contains(s.as_str()))
            || i.causes.iter().any(|c| ids.contains(c));
        if relevant {
            incidents.push(rodeo_metrics::Incident::from(&i));
        }
    }
    tx.finish()?;
    Ok(Facts {
        deployments,
        shipments: Vec::new(),
        first_shipments,
        pull_requests,
        incidents,
    })
}
