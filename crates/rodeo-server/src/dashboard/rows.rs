//! The rows several pages list — deployments, incidents, ledger events — and the DORA
//! tiles, shaped for the templates.

use rodeo_domain::{Deployment, DeploymentKind, DeploymentStatus, Event, Incident, Timestamp};
use rodeo_metrics::{Band, Dora};

use super::format::{self, ago, iso, percent, seconds};
use super::metrics_cache::Figures;
use super::plot::{sparkline, Unit};

pub(crate) struct DeployRow {
    pub(crate) id: i64,
    pub(crate) service: String,
    pub(crate) environment: String,
    pub(crate) version: String,
    pub(crate) status: &'static str,
    /// `ok`, `bad`, `warn`, `busy`.
    pub(crate) status_class: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) rollback: bool,
    pub(crate) who: String,
    pub(crate) ago: String,
    pub(crate) iso: String,
    pub(crate) changes: u32,
}

impl DeployRow {
    pub(crate) fn new(d: &Deployment, now: Timestamp) -> Self {
        let at = d.finished_at.unwrap_or(d.started_at);
        Self {
            id: d.id,
            service: d.service.to_string(),
            environment: d.environment.to_string(),
            version: d.version.clone(),
            status: format::status(d.status),
            status_class: status_class(d.status),
            kind: d.kind.as_str(),
            rollback: d.kind == DeploymentKind::Rollback,
            who: d.created_by.clone(),
            ago: ago(at, now),
            iso: iso(at),
            changes: d.change_count,
        }
    }
}

pub(crate) fn status_class(s: DeploymentStatus) -> &'static str {
    match s {
        DeploymentStatus::Succeeded => "ok",
        DeploymentStatus::Failed => "bad",
        DeploymentStatus::RolledBack => "warn",
        DeploymentStatus::InProgress => "busy",
    }
}

pub(crate) struct IncidentRow {
    pub(crate) id: i64,
    pub(crate) title: String,
    pub(crate) severity: String,
    pub(crate) status: &'static str,
    pub(crate) active: bool,
    pub(crate) drill: bool,
    pub(crate) services: String,
    pub(crate) ago: String,
    pub(crate) iso: String,
    /// How long it lasted, or has lasted so far.
    pub(crate) duration: String,
}

impl IncidentRow {
    pub(crate) fn new(i: &Incident, now: Timestamp) -> Self {
        let end = i.resolved_at.unwrap_or(now);
        Self {
            id: i.id,
            title: i.title.clone(),
            severity: i.severity.as_str().to_owned(),
            status: i.status.as_str(),
            active: i.status.is_unresolved(),
            drill: i.kind == rodeo_domain::IncidentKind::Drill,
            services: i
                .services
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            ago: ago(i.started_at, now),
            iso: iso(i.started_at),
            duration: seconds((end - i.started_at).num_seconds() as f64),
        }
    }
}

pub(crate) struct EventRow {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) actor: String,
    pub(crate) source: &'static str,
    pub(crate) service: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) subject: Option<String>,
    /// A page about the subject, when there is one.
    pub(crate) href: Option<String>,
    /// The subject without its kind: a flag's key, a deployment's id.
    pub(crate) label: String,
    pub(crate) ago: String,
    pub(crate) iso: String,
}

impl EventRow {
    pub(crate) fn new(e: &Event, now: Timestamp) -> Self {
        let href = e.subject.as_deref().and_then(subject_page);
        Self {
            id: e.id,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            source: e.source.as_str(),
            service: e.service.as_ref().map(ToString::to_string),
            environment: e.environment.as_ref().map(ToString::to_string),
            label: e
                .subject
                .as_deref()
                .map(|s| s.rsplit(['/', ':']).next().unwrap_or(s).to_owned())
                .unwrap_or_default(),
            subject: e.subject.clone(),
            href,
            ago: ago(e.at, now),
            iso: iso(e.at),
        }
    }
}

/// The page about an event's subject (`deployment:12`, `flag:prod/new-checkout`, ...).
pub(crate) fn subject_page(subject: &str) -> Option<String> {
    let (kind, id) = subject.split_once(':')?;
    match kind {
        "deployment" => Some(format!("/deployments/{id}")),
        "incident" => Some(format!("/incidents/{id}")),
        "service" => Some(format!("/services/{id}")),
        "environment" => Some("/environments".into()),
        "flags" => Some(format!("/flags/{id}")),
        "flag" => {
            let (env, key) = id.split_once('/')?;
            Some(format!("/flags/{env}/{}", format::query_escape(key)))
        }
        _ => None,
    }
}

/// One DORA key as a tile: value, band, trend against the previous window, sparkline.
pub(crate) struct Tile {
    pub(crate) name: &'static str,
    pub(crate) value: String,
    pub(crate) detail: String,
    pub(crate) band_class: &'static str,
    pub(crate) band: &'static str,
    pub(crate) trend: String,
    /// `better`, `worse` or `same`.
    pub(crate) trend_class: &'static str,
    pub(crate) spark: String,
}

/// Which way is good for a metric.
#[derive(Clone, Copy, PartialEq)]
enum Good {
    Higher,
    Lower,
}

fn trend(now: Option<f64>, before: Option<f64>, good: Good, days: i64) -> (String, &'static str) {
    let (Some(now), Some(before)) = (now, before) else {
        return (format!("no data for the previous {days} days"), "same");
    };
    if (now - before).abs() < f64::EPSILON
        || (before != 0.0 && ((now - before) / before).abs() < 0.02)
    {
        return (format!("unchanged from the previous {days} days"), "same");
    }
    let up = now > before;
    let arrow = if up { "▲" } else { "▼" };
    let class = if up == (good == Good::Higher) {
        "better"
    } else {
        "worse"
    };
    let change = if before == 0.0 {
        "from 0".to_owned()
    } else {
        percent(((now - before) / before).abs())
    };
    (
        format!("{arrow} {change} vs the previous {days} days"),
        class,
    )
}

/// One of the five keys as a tile shows it: what is compared with the previous window
/// and drawn per week, how the value and its detail read, and which way is better.
struct Key {
    name: &'static str,
    good: Good,
    unit: Unit,
    /// Compared against the previous window.
    compared: fn(&Dora) -> Option<f64>,
    /// One point per week of the sparkline.
    weekly: fn(&Dora) -> Option<f64>,
    weekly_label: &'static str,
    /// `None`: DORA defines no bands for it.
    band: Option<fn(&Dora) -> Option<Band>>,
    value: fn(&Dora) -> String,
    detail: fn(&Dora, i64) -> String,
}

fn secs(s: Option<i64>) -> Option<f64> {
    s.map(|s| s as f64)
}

fn duration(s: Option<i64>) -> String {
    s.map_or("—".into(), |s| seconds(s as f64))
}

const KEYS: [Key; 5] = [
    Key {
        name: "Deployment frequency",
        good: Good::Higher,
        unit: Unit::Count,
        compared: |d| d.deployment_frequency.per_day,
        weekly: |d| Some(f64::from(d.deployment_frequency.count)),
        weekly_label: "Deployments per week",
        band: Some(|d| d.deployment_frequency.band),
        value: |d| match (
            d.deployment_frequency.per_day,
            d.deployment_frequency.per_week,
        ) {
            (Some(n), _) if n >= 1.0 => format!("{n:.1} / day"),
            (_, Some(w)) => format!("{w:.1} / week"),
            _ => "—".into(),
        },
        detail: |d, days| {
            format!(
                "{} production deployments in {days} days",
                d.deployment_frequency.count
            )
        },
    },
    Key {
        name: "Lead time for changes",
        good: Good::Lower,
        unit: Unit::Seconds,
        compared: |d| secs(d.lead_time.median_seconds),
        weekly: |d| secs(d.lead_time.median_seconds),
        weekly_label: "Median lead time per week",
        band: Some(|d| d.lead_time.band),
        value: |d| duration(d.lead_time.median_seconds),
        detail: |d, _| {
            format!(
                "median of {} commits; p90 {}",
                d.lead_time.count,
                duration(d.lead_time.p90_seconds)
            )
        },
    },
    Key {
        name: "Change failure rate",
        good: Good::Lower,
        unit: Unit::Ratio,
        compared: |d| d.change_failure_rate.ratio,
        weekly: |d| d.change_failure_rate.ratio,
        weekly_label: "Change failure rate per week",
        band: Some(|d| d.change_failure_rate.band),
        value: |d| d.change_failure_rate.ratio.map_or("—".into(), percent),
        detail: |d, _| {
            let c = &d.change_failure_rate;
            format!("{} of {} deployments failed", c.failed, c.total)
        },
    },
    Key {
        name: "Failed deployment recovery time",
        good: Good::Lower,
        unit: Unit::Seconds,
        compared: |d| secs(d.recovery_time.median_seconds),
        weekly: |d| secs(d.recovery_time.median_seconds),
        weekly_label: "Median recovery time per week",
        band: Some(|d| d.recovery_time.band),
        value: |d| duration(d.recovery_time.median_seconds),
        detail: |d, _| {
            let r = &d.recovery_time;
            format!(
                "median of {} recoveries; {} unrecovered",
                r.count, r.unrecovered
            )
        },
    },
    Key {
        name: "Rework rate",
        good: Good::Lower,
        unit: Unit::Ratio,
        compared: |d| d.rework_rate.ratio,
        weekly: |d| d.rework_rate.ratio,
        weekly_label: "Rework rate per week",
        band: None,
        value: |d| d.rework_rate.ratio.map_or("—".into(), percent),
        detail: |d, _| {
            let r = &d.rework_rate;
            format!(
                "{} of {} deployments were hotfixes or rollbacks",
                r.rework, r.total
            )
        },
    },
];

/// The five keys as tiles, in DORA's order.
pub(crate) fn tiles(f: &Figures) -> Vec<Tile> {
    let days = f.window.length().num_days();
    KEYS.iter()
        .map(|k| {
            let (trend, trend_class) = trend(
                (k.compared)(&f.current),
                (k.compared)(&f.previous),
                k.good,
                days,
            );
            let (band_class, band) = match k.band {
                Some(of) => format::band(of(&f.current)),
                None => ("none", "No band"),
            };
            let weekly: Vec<Option<f64>> = f.weeks.iter().map(|(_, d)| (k.weekly)(d)).collect();
            Tile {
                name: k.name,
                value: (k.value)(&f.current),
                detail: (k.detail)(&f.current, days),
                band_class,
                band,
                trend,
                trend_class,
                spark: sparkline(&weekly, k.weekly_label, k.unit),
            }
        })
        .collect()
}
