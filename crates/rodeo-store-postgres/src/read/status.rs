//! The service × environment matrix, read from the current-deployment and drift
//! projections in four statements inside one read-only snapshot.

use std::collections::HashMap;

use rodeo_domain::{Deployment, StatusCell, StatusMatrix, StatusRow, TeamName};
use rodeo_store::{logic, StoreError};
use sqlx::{PgPool, Row};

use crate::rows::{self, DbResult, DEPLOYMENT_COLUMNS};

pub(crate) async fn status(pool: &PgPool) -> Result<StatusMatrix, StoreError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .db()?;
    let environments = super::list_environments(&mut tx).await?;
    let services = sqlx::query("SELECT name, team FROM services ORDER BY name")
        .fetch_all(&mut *tx)
        .await
        .db()?;
    let current = sqlx::query(&format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM current_deployments c
         JOIN deployments d ON d.id = c.deployment_id"
    ))
    .fetch_all(&mut *tx)
    .await
    .db()?;
    let drift: Vec<(String, String, String, i64, bool)> =
        sqlx::query_as("SELECT service, environment, compared_to, undeployed, complete FROM drift")
            .fetch_all(&mut *tx)
            .await
            .db()?;
    tx.commit().await.db()?;

    let mut deployed: HashMap<String, HashMap<String, Deployment>> = HashMap::new();
    for row in &current {
        let d = rows::deployment(row)?;
        deployed
            .entry(d.service.to_string())
            .or_default()
            .insert(d.environment.to_string(), d);
    }
    let drift: HashMap<(&str, &str), (&str, i64, bool)> = drift
        .iter()
        .map(|(s, e, c, n, ok)| ((s.as_str(), e.as_str()), (c.as_str(), *n, *ok)))
        .collect();
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
                let drift = pred.as_ref().map(|pred| {
                    let both = present[env.as_str()]
                        && present.get(pred.as_str()).copied().unwrap_or(false);
                    let stored = drift
                        .get(&(name.as_str(), env.as_str()))
                        .filter(|(c, _, _)| *c == pred.as_str())
                        .map(|(_, n, ok)| (u32::try_from(*n).unwrap_or(u32::MAX), *ok));
                    logic::drift(pred.clone(), both, stored)
                });
                StatusCell {
                    environment: env.clone(),
                    deployment: here.remove(env.as_str()),
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
