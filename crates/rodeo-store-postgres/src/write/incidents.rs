//! Incidents: open, raise (attach an alert group or open), and change one step at a
//! time. The checks live in `Incident::apply`; this file loads, stores and indexes.
//! Calls that touch incidents hold the incidents lock (see `locks`).

use rodeo_domain::{
    to_micros, EnvironmentName, FieldError, Incident, IncidentChange, IncidentRef, NewIncident,
    ServiceName,
};
use rodeo_store::logic::{self, events};
use rodeo_store::StoreError;

use super::Writer;
use crate::rows::DbResult;

fn invalid(e: FieldError) -> StoreError {
    StoreError::Invalid(e.into())
}

const UNRESOLVED: &str = "('open', 'acknowledged', 'mitigated')";

impl Writer<'_> {
    pub(super) async fn open_incident(&mut self, n: NewIncident) -> Result<Incident, StoreError> {
        self.ensure_incident_targets(&n.services, &n.environments)
            .await?;
        let (mut i, event) =
            Incident::open(n, &self.ctx.actor, self.ctx.source, self.ctx.at).map_err(invalid)?;
        i.id = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('incidents', 'id'))")
            .fetch_one(&mut *self.tx)
            .await
            .db()?;
        self.save_incident(&i, true).await?;
        self.events.push(events::incident(&i, event));
        Ok(i)
    }

    pub(super) async fn raise_incident(&mut self, n: NewIncident) -> Result<Incident, StoreError> {
        let mut found = match &n.key {
            Some(k) => self.unresolved_by_key(k).await?,
            None => None,
        };
        if found.is_none() {
            if let Some(s) = n.services.first() {
                found = sqlx::query_scalar(&format!(
                    "SELECT i.id FROM incident_services s JOIN incidents i ON i.id = s.incident_id
                     WHERE s.service = $1 AND i.status IN {UNRESOLVED}
                     ORDER BY i.id DESC LIMIT 1"
                ))
                .bind(s.as_str())
                .fetch_optional(&mut *self.tx)
                .await
                .db()?;
            }
        }
        match (found, &n.key) {
            (Some(id), Some(key)) => {
                let change = IncidentChange::AlertFiring {
                    key: key.clone(),
                    text: logic::alert_text(&n),
                    firing: n.firing,
                };
                self.update_incident(&IncidentRef::Id(id), change).await
            }
            _ => self.open_incident(n).await,
        }
    }

    pub(super) async fn update_incident(
        &mut self,
        by: &IncidentRef,
        change: IncidentChange,
    ) -> Result<Incident, StoreError> {
        let id = match by {
            IncidentRef::Id(id) => Some(*id),
            IncidentRef::Key(k) => match self.unresolved_by_key(k).await? {
                Some(id) => Some(id),
                None => {
                    sqlx::query_scalar("SELECT max(incident_id) FROM incident_keys WHERE key = $1")
                        .bind(k)
                        .fetch_one(&mut *self.tx)
                        .await
                        .db()?
                }
            },
        };
        let doc: Option<String> = match id {
            Some(id) => sqlx::query_scalar("SELECT doc::text FROM incidents WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await
                .db()?,
            None => None,
        };
        let Some(doc) = doc else {
            let key = match by {
                IncidentRef::Id(id) => id.to_string(),
                IncidentRef::Key(k) => k.clone(),
            };
            return Err(StoreError::not_found("incident", key));
        };
        let mut i: Incident = serde_json::from_str(&doc).map_err(StoreError::database)?;
        match &change {
            IncidentChange::SetCauses { deployments, .. } => {
                self.check_deployments(deployments).await?;
            }
            IncidentChange::Edit(e) => {
                self.ensure_incident_targets(
                    e.services.as_deref().unwrap_or_default(),
                    e.environments.as_deref().unwrap_or_default(),
                )
                .await?;
            }
            _ => {}
        }
        let Some(event) = i
            .apply(change, &self.ctx.actor, self.ctx.at)
            .map_err(invalid)?
        else {
            return Ok(i);
        };
        self.save_incident(&i, false).await?;
        self.events.push(events::incident(&i, event));
        Ok(i)
    }

    async fn unresolved_by_key(&mut self, key: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar(&format!(
            "SELECT i.id FROM incident_keys k JOIN incidents i ON i.id = k.incident_id
             WHERE k.key = $1 AND i.status IN {UNRESOLVED}
             ORDER BY i.id DESC LIMIT 1"
        ))
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await
        .db()
    }

    async fn ensure_incident_targets(
        &mut self,
        services: &[ServiceName],
        environments: &[EnvironmentName],
    ) -> Result<(), StoreError> {
        for s in services {
            self.ensure_service(s).await?;
        }
        for e in environments {
            self.ensure_environment(e).await?;
        }
        Ok(())
    }

    async fn check_deployments(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let known: Vec<i64> = sqlx::query_scalar("SELECT id FROM deployments WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&mut *self.tx)
            .await
            .db()?;
        match ids.iter().enumerate().find(|(_, id)| !known.contains(id)) {
            Some((n, id)) => Err(invalid(FieldError::new(
                format!("deployments[{n}]"),
                format!("no deployment has id {id}"),
            ))),
            None => Ok(()),
        }
    }

    /// Writes the row, its document and its index rows.
    async fn save_incident(&mut self, i: &Incident, new: bool) -> Result<(), StoreError> {
        let doc = serde_json::to_string(i).map_err(StoreError::database)?;
        let sql = if new {
            "INSERT INTO incidents (id, status, kind, severity, started_at, resolved_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
        } else {
            "UPDATE incidents SET status = $2, kind = $3, severity = $4, started_at = $5,
                                  resolved_at = $6, doc = $7::jsonb
             WHERE id = $1"
        };
        sqlx::query(sql)
            .bind(i.id)
            .bind(i.status.as_str())
            .bind(i.kind.as_str())
            .bind(i.severity.as_str())
            .bind(to_micros(i.started_at))
            .bind(i.resolved_at.map(to_micros))
            .bind(doc)
            .execute(&mut *self.tx)
            .await
            .db()?;
        let services: Vec<&str> = i.services.iter().map(ServiceName::as_str).collect();
        sqlx::query(
            "WITH gone AS (DELETE FROM incident_services WHERE incident_id = $1),
                  gone_keys AS (DELETE FROM incident_keys WHERE incident_id = $1),
                  gone_causes AS (DELETE FROM incident_causes WHERE incident_id = $1)
             SELECT 1",
        )
        .bind(i.id)
        .execute(&mut *self.tx)
        .await
        .db()?;
        sqlx::query(
            "INSERT INTO incident_services (service, incident_id) SELECT s, $2 FROM UNNEST($1::text[]) s",
        )
        .bind(services)
        .bind(i.id)
        .execute(&mut *self.tx)
        .await
        .db()?;
        sqlx::query(
            "INSERT INTO incident_keys (key, incident_id) SELECT k, $2 FROM UNNEST($1::text[]) k",
        )
        .bind(&i.keys)
        .bind(i.id)
        .execute(&mut *self.tx)
        .await
        .db()?;
        sqlx::query(
            "INSERT INTO incident_causes (deployment_id, incident_id)
             SELECT d, $2 FROM UNNEST($1::bigint[]) d",
        )
        .bind(&i.causes)
        .bind(i.id)
        .execute(&mut *self.tx)
        .await
        .db()?;
        Ok(())
    }
}
