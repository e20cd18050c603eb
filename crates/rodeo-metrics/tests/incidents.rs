//! Definition 6 (incident metrics) against hand-computed cases. Times are minutes after
//! 2026-03-01T00:00Z; the window is March.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use rodeo_domain::{ServiceName, Timestamp};
use rodeo_metrics::{incident_metrics, Incident, IncidentKind, Window};

fn at(minutes: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

const DAY: i64 = 24 * 60;

fn march() -> Window {
    Window::new(at(0), at(31 * DAY)).unwrap()
}

/// Started at `s`; detected, acknowledged, mitigated, resolved that many minutes later.
fn inc(
    id: i64,
    services: &[&str],
    s: i64,
    d: i64,
    a: Option<i64>,
    m: Option<i64>,
    r: Option<i64>,
) -> Incident {
    Incident {
        id,
        kind: IncidentKind::Real,
        severity: "sev2".into(),
        services: services
            .iter()
            .map(|x| ServiceName::parse(x).unwrap())
            .collect(),
        started_at: at(s),
        detected_at: Some(at(s + d)),
        acknowledged_at: a.map(|x| at(s + x)),
        mitigated_at: m.map(|x| at(s + x)),
        resolved_at: r.map(|x| at(s + x)),
        causes: vec![],
    }
}

#[test]
fn no_incidents_is_no_data() {
    let m = incident_metrics(&[], march());
    assert_eq!(m.count, 0);
    assert_eq!(m.time_to_resolve.median_seconds, None);
    assert_eq!(m.time_to_resolve.mean_seconds, None);
    assert!(m.mtbf.is_empty());
}

#[test]
fn intervals_medians_means_and_severities() {
    let mut sev1 = inc(3, &["api"], 5 * DAY, 2, Some(12), Some(62), Some(122));
    sev1.severity = "sev1".into();
    let list = vec![
        inc(1, &["api"], DAY, 10, Some(15), Some(40), Some(100)),
        inc(2, &["web"], 2 * DAY, 4, None, None, Some(30)),
        sev1,
    ];
    let m = incident_metrics(&list, march());
    assert_eq!(m.count, 3);
    assert_eq!(m.by_severity.get("sev2"), Some(&2));
    assert_eq!(m.by_severity.get("sev1"), Some(&1));
    // TTD: 10, 4, 2 minutes -> median 4 min, mean 16/3 min = 320 s.
    assert_eq!(m.time_to_detect.median_seconds, Some(240));
    assert_eq!(m.time_to_detect.mean_seconds, Some(320));
    // TTA (from detection): 5 and 10 minutes; #2 was never acknowledged.
    assert_eq!(m.time_to_acknowledge.count, 2);
    assert_eq!(m.time_to_acknowledge.median_seconds, Some(450));
    // TTM: 40 and 62 minutes.
    assert_eq!(m.time_to_mitigate.count, 2);
    assert_eq!(m.time_to_mitigate.mean_seconds, Some(51 * 60));
    // TTR: 100, 30, 122 -> median 100 min, mean 84 min.
    assert_eq!(m.time_to_resolve.median_seconds, Some(6000));
    assert_eq!(m.time_to_resolve.mean_seconds, Some(84 * 60));
}

#[test]
fn drills_are_counted_apart_and_nowhere_else() {
    let mut drill = inc(9, &["api"], DAY, 1, Some(2), Some(3), Some(4));
    drill.kind = IncidentKind::Drill;
    let m = incident_metrics(&[drill], march());
    assert_eq!((m.count, m.drills), (0, 1));
    assert_eq!(m.time_to_detect.count, 0);
    assert!(m.mtbf.is_empty());
}

#[test]
fn mtbf_is_the_mean_gap_from_resolution_to_the_next_start() {
    let list = vec![
        // February: resolved 60 minutes after starting at -2 days.
        inc(1, &["api"], -2 * DAY, 1, None, None, Some(60)),
        // March: starts 2 days - 60 min after #1 resolved.
        inc(2, &["api"], 0, 1, None, None, Some(100)),
        // Overlaps #2 (starts before it resolved): a gap of 0.
        inc(3, &["api", "web"], 50, 1, None, None, Some(200)),
        // web's only other incident, unresolved.
        inc(4, &["web"], 10 * DAY, 1, None, None, None),
        // Out of the window: starts in April.
        inc(5, &["api"], 31 * DAY, 1, None, None, Some(5)),
    ];
    let m = incident_metrics(&list, march());
    let api = m.mtbf.iter().find(|x| x.service.as_str() == "api").unwrap();
    // Gaps: #1 -> #2 = 2 days - 60 min = 2820 min; #2 -> #3 = 0. Mean 1410 min.
    assert_eq!((api.gaps, api.incidents), (2, 2));
    assert_eq!(api.mtbf_seconds, Some(1410 * 60));
    let web = m.mtbf.iter().find(|x| x.service.as_str() == "web").unwrap();
    // #3 resolved at 250, #4 started at 10 days.
    assert_eq!(web.gaps, 1);
    assert_eq!(web.mtbf_seconds, Some((10 * DAY - 250) * 60));
}
