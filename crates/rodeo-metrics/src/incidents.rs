//! Definition 6: incident metrics. Drills are recorded but never counted.

use std::collections::BTreeMap;

use rodeo_domain::{ServiceName, Timestamp};

use crate::facts::{Incident, IncidentKind};
use crate::stats::{mean, median};
use crate::window::Window;

/// Median and mean of one interval over the incidents that have both ends.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Interval {
    pub median_seconds: Option<i64>,
    pub mean_seconds: Option<i64>,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceMtbf {
    pub service: ServiceName,
    /// Mean of the gaps between one incident's resolution and the next one's start.
    pub mtbf_seconds: Option<i64>,
    /// Gaps the mean rests on.
    pub gaps: u32,
    pub incidents: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IncidentMetrics {
    /// Real incidents that started in the window.
    pub count: u32,
    /// `sev1`..`sev5` -> count (only severities that occurred).
    pub by_severity: BTreeMap<String, u32>,
    /// Drills that started in the window (not counted anywhere else).
    pub drills: u32,
    /// `detected_at − started_at`.
    pub time_to_detect: Interval,
    /// `acknowledged_at − detected_at`.
    pub time_to_acknowledge: Interval,
    /// `mitigated_at − started_at`.
    pub time_to_mitigate: Interval,
    /// `resolved_at − started_at`.
    pub time_to_resolve: Interval,
    /// Per affected service, in name order.
    pub mtbf: Vec<ServiceMtbf>,
}

/// The incident metrics of the real incidents that started in `window`. `incidents` may
/// include earlier ones: MTBF's first gap in the window starts at the resolution of the
/// service's incident before it.
pub fn incident_metrics(incidents: &[Incident], window: Window) -> IncidentMetrics {
    let real: Vec<&Incident> = incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Real)
        .collect();
    let inside: Vec<&Incident> = real
        .iter()
        .copied()
        .filter(|i| window.contains(i.started_at))
        .collect();
    let mut by_severity = BTreeMap::new();
    for i in &inside {
        *by_severity.entry(i.severity.clone()).or_insert(0) += 1;
    }
    let interval = |span: &dyn Fn(&Incident) -> Option<(Timestamp, Timestamp)>| {
        let secs: Vec<f64> = inside
            .iter()
            .filter_map(|i| span(i))
            .map(|(a, b)| seconds(b - a).max(0.0))
            .collect();
        Interval {
            median_seconds: median(&secs).map(round),
            mean_seconds: mean(&secs).map(round),
            count: secs.len() as u32,
        }
    };
    IncidentMetrics {
        count: inside.len() as u32,
        by_severity,
        drills: incidents
            .iter()
            .filter(|i| i.kind == IncidentKind::Drill && window.contains(i.started_at))
            .count() as u32,
        time_to_detect: interval(&|i| i.detected_at.map(|d| (i.started_at, d))),
        time_to_acknowledge: interval(&|i| i.detected_at.zip(i.acknowledged_at)),
        time_to_mitigate: interval(&|i| i.mitigated_at.map(|m| (i.started_at, m))),
        time_to_resolve: interval(&|i| i.resolved_at.map(|r| (i.started_at, r))),
        mtbf: mtbf(&real, window),
    }
}

/// For each service, the incidents affecting it in start order; a gap is from one's
/// resolution to the next one's start (0 when they overlap), counted when the later
/// incident started in the window and the earlier one is resolved.
fn mtbf(real: &[&Incident], window: Window) -> Vec<ServiceMtbf> {
    let mut per: BTreeMap<&ServiceName, Vec<&Incident>> = BTreeMap::new();
    for i in real {
        for s in &i.services {
            per.entry(s).or_default().push(i);
        }
    }
    per.into_iter()
        .filter_map(|(service, mut list)| {
            list.sort_by_key(|i| (i.started_at, i.id));
            let incidents = list
                .iter()
                .filter(|i| window.contains(i.started_at))
                .count() as u32;
            if incidents == 0 {
                return None;
            }
            let gaps: Vec<f64> = list
                .windows(2)
                .filter(|w| window.contains(w[1].started_at))
                .filter_map(|w| {
                    w[0].resolved_at
                        .map(|r| seconds(w[1].started_at - r).max(0.0))
                })
                .collect();
            Some(ServiceMtbf {
                service: service.clone(),
                mtbf_seconds: mean(&gaps).map(round),
                gaps: gaps.len() as u32,
                incidents,
            })
        })
        .collect()
}

fn seconds(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn round(s: f64) -> i64 {
    s.round() as i64
}
