//! The service × environment matrix, read from the current-deployment and drift
//! projections in three statements inside one read-only snapshot.

use std::collections::HashMap;

use rodeo_domain::{Deployment, ServiceName, StatusCell, StatusMatrix, StatusRow, TeamName};
use rodeo_store::{logic, StoreError};
use sqlx::{PgPool, Row};

use crate::rows::{self, DbResult, DEPLOYMENT_COLUMNS};

/// A current deployment with the stored drift of its environment, if any.
struct Cell {
    deployment: Deployment,
    drift: Option<(String, u32, bool)>,
}

/// With `only`, the rows of those services (the ones that exist) and every environment.
pub(crate) async fn status(
    pool: &PgPool,
    only: Option<&[ServiceName]>,
) -> Result<StatusMatrix, StoreError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .db()?;
    let environments = super::list_environments(&mut tx).await?;
    let names: Vec<&str> = only
        .unwrap_or_default()
        .iter()
        .map(|s| s.as_str())
        .collect();
    let (services_filter, current_filter) = match only {
        None => ("", ""),
        Some(_) => (" WHERE name = ANY($1)", " WHERE c.service = ANY($1)"),
    };
    let sql = format!("SELECT name, team FROM services{services_filter} ORDER BY name");
    let services = sqlx::query(&sql);
    let services = if only.is_some() {
        services.bind(&names)
    } else {
        services
    }
    .fetch_all(&mut *tx)
    .await
    .db()?;
    // Drift is only stored where both environments have a current deployment, so
    // joining it to the current deployments finds every row.
    let sql = format!(
        "SELECT {DEPLOYMENT_COLUMNS}, dr.compared_to, dr.undeployed, dr.complete
         FROM current_deployments c
         JOIN deployments d ON d.id = c.deployment_id
         LEFT JOIN drift dr ON dr.service = c.service AND dr.environment = c.environment{current_filter}"
    );
    let current = sqlx::query(&sql);
    let current = if only.is_some() {
        current.bind(&names)
    } else {
        current
    }
    .fetch_all(&mut *tx)
    .await
    .db()?;
    tx.commit().await.db()?;

    let mut deployed: HashMap<String, HashMap<String, Cell>> = HashMap::new();
    for row in &current {
        let deployment = rows::deployment(row)?;
        let compared_to: Option<String> = row.try_get("compared_to").db()?;
        let drift = match compared_to {
            Some(c) => Some((
                c,
                u32::try_from(row.try_get::<i64, _>("undeployed").db()?).unwrap_or(u32::MAX),
                row.try_get("complete").db()?,
            )),
            None => None,
        };
        deployed
            .entry(deployment.service.to_string())
            .or_default()
            .insert(
                deployment.environment.to_string(),
                Cell { deployment, drift },
            );
    }
    let predecessors = logic::predecessors(&environments);

    let mut matrix = Vec::with_capacity(services.len());
    for row in &services {
        let name: String = row.try_get("name").db()?;
        let team: Option<String> = row.try_get("team").db()?;
        let mut here = deployed.remove(&name).unwrap_or_default();
        let present: HashMap<&str, bool> = predecessors
            .iter()
            .map(|(env, _)| (env.as_str(), here.contains_key(env.as_str())))
            .collect();
        let cells = predecessors
            .iter()
            .map(|(env, pred)| {
                let cell = here.remove(env.as_str());
                let drift = pred.as_ref().map(|pred| {
                    let both = cell.is_some() && present.get(pred.as_str()) == Some(&true);
                    let stored = cell
                        .as_ref()
                        .and_then(|c| c.drift.as_ref())
                        .filter(|(compared_to, _, _)| compared_to == pred.as_str())
                        .map(|(_, n, complete)| (*n, *complete));
                    logic::drift(pred.clone(), both, stored)
                });
                StatusCell {
                    environment: env.clone(),
                    deployment: cell.map(|c| c.deployment.into()),
                    drift,
                }
            })
            .collect();
        matrix.push(StatusRow {
            service: rows::service_name(&name)?,
            team: team
                .map(|t| TeamName::parse(&t).map_err(StoreError::database))
                .transpose()?,
            environments: cells,
        });
    }
    Ok(StatusMatrix {
        environments,
        services: matrix,
    })
}
