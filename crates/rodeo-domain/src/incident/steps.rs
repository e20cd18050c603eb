//! How an incident changes: opening one, and each step, checked against the incident
//! as it is.

use std::collections::BTreeMap;

use super::{
    ActionItem, Attribution, Incident, IncidentChange, IncidentEdit, IncidentEvent, IncidentStatus,
    NewIncident, TimelineEntry, MAX_LIST_LEN, MAX_POSTMORTEM_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN,
};
use crate::{FieldError, ServiceName, Source, Timestamp};

impl Incident {
    /// The incident `n` opens, before the store gives it an id.
    pub fn open(
        n: NewIncident,
        actor: &str,
        source: Source,
        at: Timestamp,
    ) -> Result<(Self, IncidentEvent), FieldError> {
        check_text("title", &n.title, MAX_TITLE_LEN)?;
        check_list("services", n.services.len())?;
        check_list("environments", n.environments.len())?;
        let detected_at = n.detected_at.unwrap_or(at);
        let started_at = n.started_at.unwrap_or(detected_at);
        let mut timeline = Vec::new();
        if let Some(s) = n.summary.filter(|s| !s.trim().is_empty()) {
            check_text("summary", &s, MAX_TEXT_LEN)?;
            timeline.push(TimelineEntry {
                at: detected_at,
                author: actor.to_owned(),
                kind: "note".into(),
                text: s,
            });
        }
        let roles = clean_roles(n.roles)?;
        let keys: Vec<String> = n.key.into_iter().collect();
        let firing = if n.firing { keys.clone() } else { Vec::new() };
        let i = Self {
            id: 0,
            title: n.title.trim().to_owned(),
            severity: n.severity,
            status: IncidentStatus::Open,
            kind: n.kind,
            services: dedup(n.services),
            environments: dedup(n.environments),
            started_at,
            detected_at,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            roles,
            timeline,
            causes: Vec::new(),
            attribution: Attribution::Unset,
            contributing_factors: Vec::new(),
            action_items: Vec::new(),
            postmortem: None,
            keys,
            firing,
            created_by: actor.to_owned(),
            source,
            created_at: at,
            updated_at: at,
        };
        i.check_times()?;
        let event = IncidentEvent {
            kind: "incident.opened",
            at: Some(detected_at),
            payload: serde_json::json!({
                "title": i.title,
                "severity": i.severity,
                "kind": i.kind,
                "services": i.services,
                "environments": i.environments,
                "started_at": crate::format_timestamp(i.started_at),
                "detected_at": crate::format_timestamp(i.detected_at),
            }),
        };
        Ok((i, event))
    }

    /// Applies one change made by `actor` at `at`, or explains why it cannot be made
    /// (and leaves `self` unchanged). An update that changes nothing yields no event.
    pub fn apply(
        &mut self,
        change: IncidentChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<IncidentEvent>, FieldError> {
        let mut next = self.clone();
        let event = next.step(change, actor, at)?;
        next.check_times()?;
        check_list("timeline", next.timeline.len())?;
        check_list("keys", next.keys.len())?;
        if event.is_some() {
            next.updated_at = at;
            *self = next;
        }
        Ok(event)
    }

    fn step(
        &mut self,
        change: IncidentChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<IncidentEvent>, FieldError> {
        let entry = |kind: &str, text: String, when: Timestamp| TimelineEntry {
            at: when,
            author: actor.to_owned(),
            kind: kind.to_owned(),
            text,
        };
        match change {
            IncidentChange::Status {
                status,
                at: when,
                note,
            } => {
                let when = when.unwrap_or(at);
                if let Some(n) = &note {
                    check_text("note", n, MAX_TEXT_LEN)?;
                }
                let from = self.status;
                if status == from {
                    return Err(FieldError::new(
                        "status",
                        format!("the incident is already {}", from.as_str()),
                    ));
                }
                self.move_to(status, when);
                let text = match &note {
                    Some(n) => format!("{} → {}: {n}", from.as_str(), status.as_str()),
                    None => format!("{} → {}", from.as_str(), status.as_str()),
                };
                self.timeline.push(entry("status", text, when));
                let kind = if status < from {
                    "incident.reopened"
                } else {
                    match status {
                        IncidentStatus::Open => "incident.reopened",
                        IncidentStatus::Acknowledged => "incident.acknowledged",
                        IncidentStatus::Mitigated => "incident.mitigated",
                        IncidentStatus::Resolved => "incident.resolved",
                        IncidentStatus::Closed => "incident.closed",
                    }
                };
                Ok(Some(IncidentEvent {
                    kind,
                    at: Some(when),
                    payload: serde_json::json!({
                        "from": from, "to": status, "note": note,
                    }),
                }))
            }
            IncidentChange::Advance { status, at: when } => {
                if status <= self.status {
                    return Ok(None);
                }
                // A notification may be stamped before the start a person set later.
                let when = when.unwrap_or(at).max(self.started_at);
                self.step(
                    IncidentChange::Status {
                        status,
                        at: Some(when),
                        note: None,
                    },
                    actor,
                    at,
                )
            }
            IncidentChange::Note { text, at: when } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                let when = when.unwrap_or(at);
                self.timeline.push(entry("note", text.clone(), when));
                Ok(Some(IncidentEvent {
                    kind: "incident.noted",
                    at: Some(when),
                    payload: serde_json::json!({ "text": text }),
                }))
            }
            IncidentChange::Edit(edit) => self.edit(edit, actor, at),
            IncidentChange::SetCauses {
                deployments,
                automatic,
            } => {
                check_list("deployments", deployments.len())?;
                let deployments = dedup(deployments);
                let attribution = if automatic {
                    Attribution::Automatic
                } else {
                    Attribution::Confirmed
                };
                if deployments == self.causes && attribution == self.attribution {
                    return Ok(None);
                }
                let before = std::mem::replace(&mut self.causes, deployments.clone());
                self.attribution = attribution;
                let text = if deployments.is_empty() {
                    "no deployment caused this".to_owned()
                } else {
                    let ids: Vec<String> = deployments.iter().map(i64::to_string).collect();
                    let by = if automatic { " (automatic)" } else { "" };
                    format!("caused by deployment {}{by}", ids.join(", "))
                };
                self.timeline.push(entry("cause", text, at));
                Ok(Some(IncidentEvent {
                    kind: "incident.cause_set",
                    at: None,
                    payload: serde_json::json!({
                        "deployments": ids_json(&deployments),
                        "before": ids_json(&before),
                        "attribution": attribution,
                    }),
                }))
            }
            IncidentChange::AddActionItem { text, owner } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                check_list("action_items", self.action_items.len() + 1)?;
                let id = self.action_items.iter().map(|a| a.id).max().unwrap_or(0) + 1;
                self.action_items.push(ActionItem {
                    id,
                    text: text.clone(),
                    owner: owner.clone(),
                    done: false,
                });
                Ok(Some(IncidentEvent {
                    kind: "incident.action_item_added",
                    at: None,
                    payload: serde_json::json!({ "id": id, "text": text, "owner": owner }),
                }))
            }
            IncidentChange::UpdateActionItem {
                id,
                text,
                owner,
                done,
            } => {
                let item = self
                    .action_items
                    .iter_mut()
                    .find(|a| a.id == id)
                    .ok_or_else(|| {
                        FieldError::new("id", format!("the incident has no action item {id}"))
                    })?;
                let before = item.clone();
                if let Some(t) = text {
                    check_text("text", &t, MAX_TEXT_LEN)?;
                    item.text = t;
                }
                if let Some(o) = owner {
                    item.owner = o;
                }
                if let Some(d) = done {
                    item.done = d;
                }
                if *item == before {
                    return Ok(None);
                }
                let after = item.clone();
                Ok(Some(IncidentEvent {
                    kind: "incident.action_item_updated",
                    at: None,
                    payload: serde_json::json!({ "before": before, "after": after }),
                }))
            }
            IncidentChange::AlertFiring { key, text, firing } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                let known = if firing {
                    self.firing.contains(&key)
                } else {
                    self.keys.contains(&key)
                };
                if known {
                    return Ok(None); // a repeated notification
                }
                if !self.keys.contains(&key) {
                    self.keys.push(key.clone());
                }
                if firing {
                    self.firing.push(key.clone());
                }
                self.timeline.push(entry("alert", text.clone(), at));
                Ok(Some(IncidentEvent {
                    kind: "incident.alert_firing",
                    at: None,
                    payload: serde_json::json!({ "key": key, "text": text }),
                }))
            }
            IncidentChange::AlertResolved {
                key,
                text,
                at: when,
            } => {
                check_text("text", &text, MAX_TEXT_LEN)?;
                let when = when.unwrap_or(at).max(self.started_at);
                let was_firing = self.firing.len();
                self.firing.retain(|k| *k != key);
                if self.firing.len() == was_firing {
                    return Ok(None); // already resolved: a repeated notification
                }
                self.timeline.push(entry("alert", text.clone(), when));
                let mitigates = self.firing.is_empty() && self.status.is_active();
                if mitigates {
                    self.move_to(IncidentStatus::Mitigated, when);
                }
                Ok(Some(IncidentEvent {
                    kind: if mitigates {
                        "incident.mitigated"
                    } else {
                        "incident.alert_resolved"
                    },
                    at: Some(when),
                    payload: serde_json::json!({ "key": key, "text": text }),
                }))
            }
        }
    }

    fn edit(
        &mut self,
        e: IncidentEdit,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<IncidentEvent>, FieldError> {
        let before = self.clone();
        if let Some(t) = e.title {
            check_text("title", &t, MAX_TITLE_LEN)?;
            self.title = t.trim().to_owned();
        }
        if let Some(s) = e.severity {
            self.severity = s;
        }
        if let Some(k) = e.kind {
            self.kind = k;
        }
        if let Some(s) = e.services {
            check_list("services", s.len())?;
            self.services = dedup(s);
        }
        if let Some(s) = e.environments {
            check_list("environments", s.len())?;
            self.environments = dedup(s);
        }
        if let Some(t) = e.started_at {
            self.started_at = t;
        }
        if let Some(t) = e.detected_at {
            self.detected_at = t;
        }
        if let Some(r) = e.roles {
            for (role, who) in clean_roles_allow_empty(r)? {
                if who.is_empty() {
                    self.roles.remove(&role);
                } else {
                    self.roles.insert(role, who);
                }
            }
        }
        if let Some(f) = e.contributing_factors {
            check_list("contributing_factors", f.len())?;
            for (n, x) in f.iter().enumerate() {
                check_text(&format!("contributing_factors[{n}]"), x, MAX_TEXT_LEN)?;
            }
            self.contributing_factors = f;
        }
        if let Some(p) = e.postmortem {
            if p.len() > MAX_POSTMORTEM_LEN {
                return Err(FieldError::new(
                    "postmortem",
                    format!("must be at most {MAX_POSTMORTEM_LEN} bytes"),
                ));
            }
            self.postmortem = (!p.trim().is_empty()).then_some(p);
        }
        let changed = changed_fields(&before, self);
        if changed.is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = changed.iter().map(|(k, _, _)| *k).collect();
        self.timeline.push(TimelineEntry {
            at,
            author: actor.to_owned(),
            kind: "edit".into(),
            text: format!("changed {}", names.join(", ")),
        });
        let mut b = serde_json::Map::new();
        let mut a = serde_json::Map::new();
        for (k, old, new) in changed {
            b.insert(k.to_owned(), old);
            a.insert(k.to_owned(), new);
        }
        Ok(Some(IncidentEvent {
            kind: "incident.updated",
            at: None,
            payload: serde_json::json!({ "before": b, "after": a }),
        }))
    }

    /// Sets the status and its timestamp; going back clears the timestamps of the
    /// states after the new one (the ledger keeps the old ones).
    fn move_to(&mut self, status: IncidentStatus, when: Timestamp) {
        use IncidentStatus as S;
        if status < self.status {
            for later in S::ALL.into_iter().filter(|s| *s > status) {
                *self.stamp(later) = None;
            }
        }
        if status != S::Open {
            *self.stamp(status) = Some(when);
        }
        self.status = status;
    }

    fn stamp(&mut self, s: IncidentStatus) -> &mut Option<Timestamp> {
        match s {
            IncidentStatus::Acknowledged => &mut self.acknowledged_at,
            IncidentStatus::Mitigated => &mut self.mitigated_at,
            IncidentStatus::Resolved => &mut self.resolved_at,
            IncidentStatus::Closed | IncidentStatus::Open => &mut self.closed_at,
        }
    }

    /// Impact starts before it is detected; every later step comes after the start, and
    /// resolution and closing come after mitigation and resolution.
    fn check_times(&self) -> Result<(), FieldError> {
        let after = |field: &str, t: Option<Timestamp>, floor: Timestamp, what: &str| match t {
            Some(t) if t < floor => {
                Err(FieldError::new(field, format!("must not be before {what}")))
            }
            _ => Ok(()),
        };
        after(
            "started_at",
            Some(self.detected_at),
            self.started_at,
            "started_at",
        )
        .map_err(|_| FieldError::new("started_at", "must not be after detected_at"))?;
        after(
            "acknowledged_at",
            self.acknowledged_at,
            self.started_at,
            "started_at",
        )?;
        after(
            "mitigated_at",
            self.mitigated_at,
            self.started_at,
            "started_at",
        )?;
        after(
            "resolved_at",
            self.resolved_at,
            self.started_at,
            "started_at",
        )?;
        if let Some(m) = self.mitigated_at {
            after("resolved_at", self.resolved_at, m, "mitigated_at")?;
        }
        if let Some(r) = self.resolved_at {
            after("closed_at", self.closed_at, r, "resolved_at")?;
        }
        Ok(())
    }

    /// The primary service: the first affected one (ledger events are filed under it).
    pub fn primary_service(&self) -> Option<&ServiceName> {
        self.services.first()
    }
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), FieldError> {
    if s.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if s.len() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} bytes"),
        ));
    }
    Ok(())
}

fn check_list(field: &str, n: usize) -> Result<(), FieldError> {
    if n > MAX_LIST_LEN {
        return Err(FieldError::new(
            field,
            format!("must have at most {MAX_LIST_LEN} entries"),
        ));
    }
    Ok(())
}

fn clean_roles(r: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, FieldError> {
    let r = clean_roles_allow_empty(r)?;
    Ok(r.into_iter().filter(|(_, who)| !who.is_empty()).collect())
}

fn clean_roles_allow_empty(
    r: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, FieldError> {
    check_list("roles", r.len())?;
    r.into_iter()
        .map(|(role, who)| {
            let role = role.trim().to_owned();
            if role.is_empty() || role.len() > 100 {
                return Err(FieldError::new("roles", "role names are 1 to 100 bytes"));
            }
            if who.len() > 200 {
                return Err(FieldError::new(
                    format!("roles.{role}"),
                    "must be at most 200 bytes",
                ));
            }
            Ok((role, who.trim().to_owned()))
        })
        .collect()
}

fn dedup<T: Ord + Clone>(v: Vec<T>) -> Vec<T> {
    let mut seen = std::collections::BTreeSet::new();
    v.into_iter().filter(|x| seen.insert(x.clone())).collect()
}

fn ids_json(ids: &[i64]) -> Vec<String> {
    ids.iter().map(i64::to_string).collect()
}

/// The editable fields that differ, as (name, before, after).
fn changed_fields(
    a: &Incident,
    b: &Incident,
) -> Vec<(&'static str, serde_json::Value, serde_json::Value)> {
    let (ja, jb) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    [
        "title",
        "severity",
        "kind",
        "services",
        "environments",
        "started_at",
        "detected_at",
        "roles",
        "contributing_factors",
        "postmortem",
    ]
    .into_iter()
    .filter(|k| ja[k] != jb[k])
    .map(|k| (k, ja[k].clone(), jb[k].clone()))
    .collect()
}
