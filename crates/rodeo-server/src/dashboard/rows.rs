//! The rows several pages list — deployments, incidents, ledger events — and the DORA
//! tiles, shaped for the templates.

use rodeo_domain::{Deployment, DeploymentKind, DeploymentStatus, Event, Incident, Timestamp};
use rodeo_metrics::Dora;

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
            kind: format::kind(d.kind),
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

pub(crate) fn tiles(f: &Figures) -> Vec<Tile> {
    let days = f.window.length().num_days();
    let series = |pick: &dyn Fn(&Dora) -> Option<f64>| -> Vec<Option<f64>> {
        f.weeks.iter().map(|(_, d)| pick(d)).collect()
    };
    let (c, p) = (&f.current, &f.previous);
    let mut out = Vec::with_capacity(5);

    let df = &c.deployment_frequency;
    let value = match (df.per_day, df.per_week) {
        (Some(d), _) if d >= 1.0 => format!("{d:.1} / day"),
        (_, Some(w)) => format!("{w:.1} / week"),
        _ => "—".into(),
    };
    let (t, tc) = trend(
        df.per_day,
        p.deployment_frequency.per_day,
        Good::Higher,
        days,
    );
    let (bc, b) = format::band(df.band);
    out.push(Tile {
        name: "Deployment frequency",
        value,
        detail: format!("{} production deployments in {days} days", df.count),
        band_class: bc,
        band: b,
        trend: t,
        trend_class: tc,
        spark: sparkline(
            &series(&|d| Some(f64::from(d.deployment_frequency.count))),
            "Deployments per week",
            Unit::Count,
        ),
    });

    let lt = &c.lead_time;
    let secs = |s: Option<i64>| s.map(|s| s as f64);
    let (t, tc) = trend(
        secs(lt.median_seconds),
        secs(p.lead_time.median_seconds),
        Good::Lower,
        days,
    );
    let (bc, b) = format::band(lt.band);
    out.push(Tile {
        name: "Lead time for changes",
        value: lt.median_seconds.map_or("—".into(), |s| seconds(s as f64)),
        detail: format!(
            "median of {} commits; p90 {}",
            lt.count,
            lt.p90_seconds.map_or("—".into(), |s| seconds(s as f64))
        ),
        band_class: bc,
        band: b,
        trend: t,
        trend_class: tc,
        spark: sparkline(
            &series(&|d| secs(d.lead_time.median_seconds)),
            "Median lead time per week",
            Unit::Seconds,
        ),
    });

    let cfr = &c.change_failure_rate;
    let (t, tc) = trend(cfr.ratio, p.change_failure_rate.ratio, Good::Lower, days);
    let (bc, b) = format::band(cfr.band);
    out.push(Tile {
        name: "Change failure rate",
        value: cfr.ratio.map_or("—".into(), percent),
        detail: format!("{} of {} deployments failed", cfr.failed, cfr.total),
        band_class: bc,
        band: b,
        trend: t,
        trend_class: tc,
        spark: sparkline(
            &series(&|d| d.change_failure_rate.ratio),
            "Change failure rate per week",
            Unit::Ratio,
        ),
    });

    let rt = &c.recovery_time;
    let (t, tc) = trend(
        secs(rt.median_seconds),
        secs(p.recovery_time.median_seconds),
        Good::Lower,
        days,
    );
    let (bc, b) = format::band(rt.band);
    out.push(Tile {
        name: "Failed deployment recovery time",
        value: rt.median_seconds.map_or("—".into(), |s| seconds(s as f64)),
        detail: format!(
            "median of {} recoveries; {} unrecovered",
            rt.count, rt.unrecovered
        ),
        band_class: bc,
        band: b,
        trend: t,
        trend_class: tc,
        spark: sparkline(
            &series(&|d| secs(d.recovery_time.median_seconds)),
            "Median recovery time per week",
            Unit::Seconds,
        ),
    });

    let rw = &c.rework_rate;
    let (t, tc) = trend(rw.ratio, p.rework_rate.ratio, Good::Lower, days);
    out.push(Tile {
        name: "Rework rate",
        value: rw.ratio.map_or("—".into(), percent),
        detail: format!(
            "{} of {} deployments were hotfixes or rollbacks",
            rw.rework, rw.total
        ),
        band_class: "none",
        band: "No band",
        trend: t,
        trend_class: tc,
        spark: sparkline(
            &series(&|d| d.rework_rate.ratio),
            "Rework rate per week",
            Unit::Ratio,
        ),
    });
    out
}
