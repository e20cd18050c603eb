//! Incidents: open, raise (attach an alert group or open), and change one step at a
//! time. The checks live in `Incident::apply`; this file loads, stores and indexes.

use rodeo_domain::{
    to_micros, FieldError, Incident, IncidentChange, IncidentRef, NewIncident, Outcome,
};
use rodeo_store::logic::{self, events};
use rodeo_store::StoreError;
use rusqlite::{params, OptionalExtension};

use super::Call;
use crate::error::Result;
use crate::queries;

fn invalid(e: FieldError) -> crate::error::Error {
    StoreError::Invalid(e.into()).into()
}

impl Call<'_> {
    pub(super) fn open_incident(&mut self, n: &NewIncident) -> Result<Outcome> {
        self.ensure_incident_targets(&n.services, &n.environments)?;
        let (mut i, event) =
            Incident::open(n.clone(), &self.ctx.actor, self.ctx.source, self.ctx.at)
                .map_err(invalid)?;
        i.id = self
            .conn
            .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM incidents")?
            .query_row([], |r| r.get(0))?;
        self.save_incident(&i, true)?;
        self.append(events::incident(&i, event))?;
        Ok(Outcome::Incident(Box::new(i)))
    }

    pub(super) fn raise_incident(&mut self, n: &NewIncident) -> Result<Outcome> {
        let by_key = match &n.key {
            Some(k) => self.unresolved_incident_by_key(k)?,
            None => None,
        };
        let found = match (by_key, n.services.first()) {
            (Some(id), _) => Some(id),
            (None, Some(s)) => self
                .conn
                .prepare_cached(
                    "SELECT i.id FROM incident_services s JOIN incidents i ON i.id = s.incident_id
                     WHERE s.service = ?1 AND i.status IN ('open', 'acknowledged', 'mitigated')
                     ORDER BY i.id DESC LIMIT 1",
                )?
                .query_row([s.as_str()], |r| r.get(0))
                .optional()?,
            (None, None) => None,
        };
        match (found, &n.key) {
            (Some(id), Some(key)) => self.update_incident(
                &IncidentRef::Id(id),
                IncidentChange::AlertFiring {
                    key: key.clone(),
                    text: logic::alert_text(n),
                    firing: n.firing,
                },
            ),
            _ => self.open_incident(n),
        }
    }

    pub(super) fn update_incident(
        &mut self,
        by: &IncidentRef,
        change: IncidentChange,
    ) -> Result<Outcome> {
        let id = match by {
            IncidentRef::Id(id) => Some(*id),
            IncidentRef::Key(k) => match self.unresolved_incident_by_key(k)? {
                Some(id) => Some(id),
                None => self
                    .conn
                    .prepare_cached("SELECT max(incident_id) FROM incident_keys WHERE key = ?1")?
                    .query_row([k], |r| r.get(0))?,
            },
        };
        let mut i = match id {
            Some(id) => queries::incident(self.conn, id)?,
            None => None,
        }
        .ok_or_else(|| StoreError::not_found("incident", by_text(by)))?;
        match &change {
            IncidentChange::SetCauses { deployments, .. } => self.check_deployments(deployments)?,
            IncidentChange::Edit(e) => {
                self.ensure_incident_targets(
                    e.services.as_deref().unwrap_or_default(),
                    e.environments.as_deref().unwrap_or_default(),
                )?;
            }
            _ => {}
        }
        let Some(event) = i
            .apply(change, &self.ctx.actor, self.ctx.at)
            .map_err(invalid)?
        else {
            return Ok(Outcome::Incident(Box::new(i)));
        };
        self.save_incident(&i, false)?;
        self.append(events::incident(&i, event))?;
        Ok(Outcome::Incident(Box::new(i)))
    }

    fn unresolved_incident_by_key(&self, key: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT i.id FROM incident_keys k JOIN incidents i ON i.id = k.incident_id
                 WHERE k.key = ?1 AND i.status IN ('open', 'acknowledged', 'mitigated')
                 ORDER BY i.id DESC LIMIT 1",
            )?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn ensure_incident_targets(
        &mut self,
        services: &[rodeo_domain::ServiceName],
        environments: &[rodeo_domain::EnvironmentName],
    ) -> Result<()> {
        for s in services {
            self.ensure_service(s)?;
        }
        for e in environments {
            self.ensure_environment(e)?;
        }
        Ok(())
    }

    fn check_deployments(&self, ids: &[i64]) -> Result<()> {
        for (n, id) in ids.iter().enumerate() {
            if queries::deployment(self.conn, *id)?.is_none() {
                return Err(invalid(FieldError::new(
                    format!("deployments[{n}]"),
                    format!("no deployment has id {id}"),
                )));
            }
        }
        Ok(())
    }

    /// Writes the row, its document and its index rows.
    fn save_incident(&mut self, i: &Incident, new: bool) -> Result<()> {
        let doc = serde_json::to_string(i)?;
        let sql = if new {
            "INSERT INTO incidents (id, status, kind, severity, started_at, resolved_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        } else {
            "UPDATE incidents SET status = ?2, kind = ?3, severity = ?4, started_at = ?5,
                                  resolved_at = ?6, doc = ?7
             WHERE id = ?1"
        };
        self.conn.prepare_cached(sql)?.execute(params![
            i.id,
            i.status.as_str(),
            i.kind.as_str(),
            i.severity.as_str(),
            to_micros(i.started_at),
            i.resolved_at.map(to_micros),
            doc,
        ])?;
        for table in ["incident_services", "incident_keys", "incident_causes"] {
            if !new {
                self.conn
                    .prepare_cached(&format!("DELETE FROM {table} WHERE incident_id = ?1"))?
                    .execute([i.id])?;
            }
        }
        let mut ins = self.conn.prepare_cached(
            "INSERT INTO incident_services (service, incident_id) VALUES (?1, ?2)",
        )?;
        for s in &i.services {
            ins.execute(params![s.as_str(), i.id])?;
        }
        let mut ins = self
            .conn
            .prepare_cached("INSERT INTO incident_keys (key, incident_id) VALUES (?1, ?2)")?;
        for k in &i.keys {
            ins.execute(params![k, i.id])?;
        }
        let mut ins = self.conn.prepare_cached(
            "INSERT INTO incident_causes (deployment_id, incident_id) VALUES (?1, ?2)",
        )?;
        for d in &i.causes {
            ins.execute(params![d, i.id])?;
        }
        Ok(())
    }
}

fn by_text(by: &IncidentRef) -> String {
    match by {
        IncidentRef::Id(id) => id.to_string(),
        IncidentRef::Key(k) => k.clone(),
    }
}
