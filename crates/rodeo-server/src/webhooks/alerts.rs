//! Incidents from alerting: PagerDuty V3 webhooks and Prometheus Alertmanager's webhook
//! (version 4).
//!
//! Alertmanager: a `firing` notification raises an incident keyed by the group key (it
//! attaches to the unresolved incident with that key, or of the same service, or opens
//! one) when the group's common labels match `open_on`; a `resolved` notification (all
//! alerts of the group resolved) resolves the group on its incident, and the last firing
//! group to resolve mitigates it. Repeated notifications of a group still firing change
//! nothing. PagerDuty: `incident.triggered` raises an incident keyed by the PagerDuty
//! incident id; `incident.acknowledged` and `incident.resolved` advance it (never back);
//! `incident.annotated` adds the note to the timeline.

use std::collections::BTreeMap;

use rodeo_domain::{
    Command, FieldError, IncidentChange, IncidentKind, IncidentRef, IncidentStatus, NewIncident,
    ServiceName, Severity, Timestamp, MAX_AUTHOR_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN,
};
use serde::{Deserialize, Serialize};

use super::json::{self, Obj};
use super::{Parsed, WebhookError};

/// How alerts become incidents (`[alerting]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// The alert label that names the rodeo service.
    pub service_label: String,
    /// The alert label that carries the severity.
    pub severity_label: String,
    /// Severity label value (case-insensitive) -> `sev1`..`sev5`.
    pub severities: BTreeMap<String, String>,
    /// When the label is missing or not in `severities`.
    pub default_severity: String,
    /// Label -> accepted values: a firing group opens or attaches to an incident only
    /// when its common labels match every entry. Empty: every firing group does.
    pub open_on: BTreeMap<String, Vec<String>>,
    /// PagerDuty service id or name -> rodeo service; unlisted services use their name,
    /// normalized (lowercase, other characters replaced by `-`).
    pub pagerduty_services: BTreeMap<String, String>,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        Self {
            service_label: "service".into(),
            severity_label: "severity".into(),
            severities: [
                ("critical", "sev1"),
                ("page", "sev2"),
                ("error", "sev2"),
                ("warning", "sev3"),
                ("info", "sev5"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
            default_severity: "sev3".into(),
            open_on: BTreeMap::new(),
            pagerduty_services: BTreeMap::new(),
        }
    }
}

impl AlertingConfig {
    fn severity(&self, value: Option<&str>) -> Severity {
        value
            .and_then(|v| self.severities.get(&v.to_ascii_lowercase()))
            .and_then(|s| Severity::parse("severity", s).ok())
            .or_else(|| Severity::parse("severity", &self.default_severity).ok())
            .unwrap_or(Severity::LEAST)
    }
}

fn label<'a>(labels: &Obj<'a>, key: &str) -> Result<Option<&'a str>, FieldError> {
    labels.opt_str(key)
}

/// The Alertmanager key of a group.
pub fn alertmanager_key(group_key: &str) -> String {
    format!("alertmanager:{group_key}")
}

/// Reads an Alertmanager webhook notification.
pub fn parse_alertmanager(body: &[u8], cfg: &AlertingConfig) -> Result<Parsed, WebhookError> {
    let value = json::parse_body(body)?;
    let root = Obj::root(&value)?;
    Ok(alertmanager(&root, cfg)?)
}

fn alertmanager(root: &Obj<'_>, cfg: &AlertingConfig) -> Result<Parsed, FieldError> {
    match root.opt_str("version")? {
        Some("4") => {}
        Some(v) => {
            return Ok(Parsed::ignored(format!(
                "Alertmanager webhook version {v:?} is not 4"
            )))
        }
        None => return Err(FieldError::new("version", "is required (\"4\")")),
    }
    let group_key = root.text("groupKey", 4096)?;
    let key = alertmanager_key(group_key);
    let status = root.str("status")?;
    let common = root.obj("commonLabels")?;
    let alerts = root.objects("alerts")?;
    let receiver = root
        .opt_text("receiver", MAX_AUTHOR_LEN)?
        .unwrap_or("alertmanager");
    let actor = format!("alertmanager:{receiver}");
    let mut times = Vec::new();
    for a in &alerts {
        if a.str("status")? == status {
            let at = if status == "firing" {
                "startsAt"
            } else {
                "endsAt"
            };
            times.push(a.timestamp(at)?);
        }
    }
    let name = label(&common, "alertname")?.unwrap_or("alert");
    let summary = root
        .opt_obj("commonAnnotations")?
        .map(|a| a.opt_text("summary", MAX_TEXT_LEN))
        .transpose()?
        .flatten();
    match status {
        "firing" => {
            for (label_name, accepted) in &cfg.open_on {
                let value = label(&common, label_name)?;
                if !value.is_some_and(|v| accepted.iter().any(|a| a == v)) {
                    return Ok(Parsed::ignored(format!(
                        "the group's {label_name} label is not one of {accepted:?} (alerting.open_on)"
                    )));
                }
            }
            let services = match label(&common, &cfg.service_label)? {
                Some(s) => vec![ServiceName::normalize(
                    &format!("commonLabels.{}", cfg.service_label),
                    s,
                )?],
                None => Vec::new(),
            };
            let started = times.iter().min().copied();
            let title = truncate(summary.map_or(name, |s| s), MAX_TITLE_LEN);
            let n = NewIncident {
                title: title.to_owned(),
                severity: cfg.severity(label(&common, &cfg.severity_label)?),
                kind: IncidentKind::Real,
                services,
                environments: Vec::new(),
                started_at: started,
                detected_at: started,
                roles: BTreeMap::new(),
                summary: Some(format!("{name}: {} alert(s) firing", times.len())),
                key: Some(key),
                firing: true,
            };
            Ok(Parsed::Commands {
                actor,
                commands: vec![Command::RaiseIncident(n)],
            })
        }
        "resolved" => Ok(Parsed::Commands {
            actor,
            commands: vec![Command::UpdateIncident {
                incident: IncidentRef::Key(key.clone()),
                change: IncidentChange::AlertResolved {
                    key,
                    text: format!("{name}: all alerts of the group resolved"),
                    at: times.iter().max().copied(),
                },
            }],
        }),
        other => Err(FieldError::new(
            "status",
            format!("must be firing or resolved, not {other:?}"),
        )),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The PagerDuty key of an incident.
pub fn pagerduty_key(id: &str) -> String {
    format!("pagerduty:{id}")
}

/// Reads a PagerDuty V3 webhook. `Ok(id)` alongside: the event id, for idempotency.
pub fn parse_pagerduty(
    body: &[u8],
    cfg: &AlertingConfig,
) -> Result<(Option<String>, Parsed), WebhookError> {
    let value = json::parse_body(body)?;
    let root = Obj::root(&value)?;
    let event = root.obj("event")?;
    let id = event.opt_text("id", 256)?.map(str::to_owned);
    Ok((id, pagerduty(&event, cfg)?))
}

fn pagerduty(event: &Obj<'_>, cfg: &AlertingConfig) -> Result<Parsed, FieldError> {
    let kind = event.str("event_type")?;
    if event
        .opt_str("resource_type")?
        .is_some_and(|r| r != "incident")
    {
        return Ok(Parsed::ignored(format!(
            "PagerDuty event {kind:?} is not about an incident"
        )));
    }
    let occurred: Option<Timestamp> = event.opt_timestamp("occurred_at")?;
    let actor = match event.opt_obj("agent")? {
        Some(a) => a
            .opt_text("summary", MAX_AUTHOR_LEN)?
            .unwrap_or("pagerduty"),
        None => "pagerduty",
    }
    .to_owned();
    let data = event.obj("data")?;
    let advance = |status| IncidentChange::Advance {
        status,
        at: occurred,
    };
    let change = match kind {
        "incident.triggered" => {
            let n = triggered(&data, cfg, occurred)?;
            return Ok(Parsed::Commands {
                actor,
                commands: vec![Command::RaiseIncident(n)],
            });
        }
        "incident.acknowledged" => advance(IncidentStatus::Acknowledged),
        "incident.resolved" => advance(IncidentStatus::Resolved),
        "incident.annotated" => IncidentChange::Note {
            text: data.text("content", MAX_TEXT_LEN)?.to_owned(),
            at: occurred,
        },
        other => {
            return Ok(Parsed::ignored(format!(
                "PagerDuty event {other:?} is not used by rodeo"
            )))
        }
    };
    // `incident.annotated` carries the incident under data.incident.
    let incident_id = match data.opt_obj("incident")? {
        Some(i) if kind == "incident.annotated" => i.text("id", 256)?,
        _ => data.text("id", 256)?,
    };
    Ok(Parsed::Commands {
        actor,
        commands: vec![Command::UpdateIncident {
            incident: IncidentRef::Key(pagerduty_key(incident_id)),
            change,
        }],
    })
}

fn triggered(
    data: &Obj<'_>,
    cfg: &AlertingConfig,
    occurred: Option<Timestamp>,
) -> Result<NewIncident, FieldError> {
    let id = data.text("id", 256)?;
    let title = truncate(data.text("title", 100_000)?, MAX_TITLE_LEN).to_owned();
    let services = match data.opt_obj("service")? {
        Some(s) => {
            let sid = s.opt_str("id")?;
            let name = s.opt_text("summary", 256)?;
            let mapped = sid
                .and_then(|i| cfg.pagerduty_services.get(i))
                .or_else(|| name.and_then(|n| cfg.pagerduty_services.get(n)));
            match (mapped, name) {
                (Some(m), _) => vec![ServiceName::parse_field("data.service", m)?],
                (None, Some(n)) => vec![ServiceName::normalize("data.service.summary", n)?],
                (None, None) => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    // Priority P1..P5 when set, else urgency.
    let priority = data
        .opt_obj("priority")?
        .map(|p| p.opt_str("summary"))
        .transpose()?
        .flatten()
        .and_then(|p| p.strip_prefix('P').or_else(|| p.strip_prefix('p')))
        .and_then(|n| n.parse::<u8>().ok())
        .and_then(Severity::from_level);
    let severity = priority.unwrap_or(match data.opt_str("urgency")? {
        Some("high") => Severity::parse("urgency", "sev2")?,
        _ => cfg.severity(None),
    });
    let created = data.opt_timestamp("created_at")?.or(occurred);
    let url = data.opt_text("html_url", 2048)?;
    Ok(NewIncident {
        title,
        severity,
        kind: IncidentKind::Real,
        services,
        environments: Vec::new(),
        started_at: created,
        detected_at: created,
        roles: BTreeMap::new(),
        summary: Some(match url {
            Some(u) => format!("PagerDuty incident {id}: {u}"),
            None => format!("PagerDuty incident {id}"),
        }),
        key: Some(pagerduty_key(id)),
        firing: false,
    })
}
