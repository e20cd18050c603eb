//! Incidents and delivery metrics as text.

use rodeo_domain::Incident;
use serde_json::Value;

use super::{short_time, table};

/// `#12 open sev2 checkout errors (api, web)`.
pub fn incident_line(i: &Incident) -> String {
    let services: Vec<&str> = i.services.iter().map(|s| s.as_str()).collect();
    let drill = if i.kind == rodeo_domain::IncidentKind::Drill {
        " [drill]"
    } else {
        ""
    };
    format!(
        "#{} {} {} {}{drill} ({})",
        i.id,
        i.status.as_str(),
        i.severity.as_str(),
        i.title,
        services.join(", ")
    )
}

pub fn incidents(items: &[Incident]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let services: Vec<&str> = i.services.iter().map(|s| s.as_str()).collect();
            vec![
                i.id.to_string(),
                i.status.as_str().to_owned(),
                i.severity.as_str().to_owned(),
                short_time(i.started_at),
                services.join(","),
                i.title.clone(),
            ]
        })
        .collect();
    table(
        &["ID", "STATUS", "SEV", "STARTED", "SERVICES", "TITLE"],
        &rows,
    )
}

pub fn incident_detail(i: &Incident) -> String {
    let mut out = vec![incident_line(i)];
    let times = [
        ("started", Some(i.started_at)),
        ("detected", Some(i.detected_at)),
        ("acknowledged", i.acknowledged_at),
        ("mitigated", i.mitigated_at),
        ("resolved", i.resolved_at),
        ("closed", i.closed_at),
    ];
    for (name, t) in times {
        if let Some(t) = t {
            out.push(format!("  {name:<13}{}", short_time(t)));
        }
    }
    for (role, who) in &i.roles {
        out.push(format!("  {role:<13}{who}"));
    }
    if !i.causes.is_empty() {
        let ids: Vec<String> = i.causes.iter().map(i64::to_string).collect();
        out.push(format!("  caused by    deployment {}", ids.join(", ")));
    }
    for f in &i.contributing_factors {
        out.push(format!("  factor       {f}"));
    }
    if !i.timeline.is_empty() {
        out.push(String::new());
        out.push("Timeline:".into());
        for e in &i.timeline {
            out.push(format!(
                "  {}  {:<7} {}: {}",
                short_time(e.at),
                e.kind,
                e.author,
                e.text
            ));
        }
    }
    if !i.action_items.is_empty() {
        out.push(String::new());
        out.push("Action items:".into());
        for a in &i.action_items {
            let mark = if a.done { "x" } else { " " };
            let owner = a
                .owner
                .as_deref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            out.push(format!("  [{mark}] {}. {}{owner}", a.id, a.text));
        }
    }
    out.join("\n")
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

pub fn what_changed(v: &Value) -> String {
    let mut out = Vec::new();
    if let Some(c) = v["suggested_cause"].as_object() {
        out.push(format!(
            "Suggested cause: deployment {} ({})",
            s(&c["deployment"]),
            s(&c["reason"])
        ));
    }
    let rows: Vec<Vec<String>> = v["changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    vec![
                        s(&c["id"]),
                        s(&c["type"]),
                        s(&c["service"]),
                        s(&c["environment"]),
                        s(&c["version"]),
                        s(&c["status"]),
                        s(&c["finished_at"]),
                        c["commits"].as_array().map_or(0, Vec::len).to_string(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    if rows.is_empty() {
        out.push("No deployments of the affected services in the window.".into());
    } else {
        out.push(table(
            &[
                "ID", "TYPE", "SERVICE", "ENV", "VERSION", "STATUS", "FINISHED", "COMMITS",
            ],
            &rows,
        ));
    }
    out.join("\n")
}

/// A duration in seconds as `3d 4h`, `2h 5m`, `45s`.
pub fn duration(seconds: i64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn secs(v: &Value) -> String {
    v.as_i64().map_or_else(|| "-".into(), duration)
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn band(v: &Value) -> String {
    v.as_str().unwrap_or("-").to_owned()
}

/// The five keys, now and in the previous window, one row each.
pub fn dora(v: &Value) -> String {
    let f = &v["deployment_frequency"];
    let l = &v["lead_time"];
    let c = &v["change_failure_rate"];
    let r = &v["recovery_time"];
    let w = &v["rework_rate"];
    let per_day = |x: &Value| {
        let rate = x["per_day"]
            .as_f64()
            .map_or_else(|| "-".into(), |p| format!("{p:.2}/day"));
        format!("{rate} ({} total)", s(&x["count"]))
    };
    let mut rows = vec![
        vec![
            "Deployment frequency".into(),
            per_day(f),
            band(&f["band"]),
            per_day(&f["previous"]),
        ],
        vec![
            "Lead time (median)".into(),
            format!(
                "{} (p90 {}, n={})",
                secs(&l["median_seconds"]),
                secs(&l["p90_seconds"]),
                l["count"]
            ),
            band(&l["band"]),
            secs(&l["previous"]["median_seconds"]),
        ],
        vec![
            "Change failure rate".into(),
            format!("{} ({} of {})", pct(&c["ratio"]), c["failed"], c["total"]),
            band(&c["band"]),
            pct(&c["previous"]["ratio"]),
        ],
        vec![
            "Recovery time (median)".into(),
            format!("{} (n={})", secs(&r["median_seconds"]), r["count"]),
            band(&r["band"]),
            secs(&r["previous"]["median_seconds"]),
        ],
        vec![
            "Rework rate".into(),
            format!("{} ({} of {})", pct(&w["ratio"]), w["rework"], w["total"]),
            "-".into(),
            pct(&w["previous"]["ratio"]),
        ],
    ];
    // Where lead time went, when pull requests were merged and shipped in the window.
    let stages = &l["stages"];
    if stages.is_object() {
        let stage = |label: &str, key: &str| {
            let x = &stages[key];
            vec![
                format!("  {label}"),
                format!(
                    "{} (p90 {}, n={})",
                    secs(&x["median_seconds"]),
                    secs(&x["p90_seconds"]),
                    x["count"]
                ),
                "-".into(),
                secs(&l["previous"]["stages"][key]["median_seconds"]),
            ]
        };
        let at = 2;
        rows.splice(
            at..at,
            [
                stage("first commit -> PR opened", "coding"),
                stage("PR opened -> merged", "review"),
                stage("merged -> production", "deploy"),
            ],
        );
    }
    let head = format!("{} .. {}", s(&v["window"]["from"]), s(&v["window"]["to"]));
    format!(
        "{head}\n{}",
        table(&["METRIC", "VALUE", "BAND", "PREVIOUS"], &rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(300), "5m");
        assert_eq!(duration(7_500), "2h 5m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 59), "3d 4h");
    }

    #[test]
    fn missing_values_show_as_dashes_never_zero() {
        let v = serde_json::json!({
            "window": {"from": "a", "to": "b"},
            "deployment_frequency": {"count": 0, "per_day": null, "band": null, "previous": {"count": 0, "per_day": null}},
            "lead_time": {"median_seconds": null, "p90_seconds": null, "count": 0, "band": null, "previous": {}},
            "change_failure_rate": {"ratio": null, "failed": 0, "total": 0, "band": null, "previous": {}},
            "recovery_time": {"median_seconds": null, "count": 0, "band": null, "previous": {}},
            "rework_rate": {"ratio": null, "rework": 0, "total": 0, "previous": {}},
        });
        let t = dora(&v);
        assert!(t.contains("Change failure rate     - (0 of 0)"), "{t}");
        assert!(t.contains("Deployment frequency    - (0 total)"), "{t}");
        assert!(!t.contains("0.0%"), "{t}");
        assert!(!t.contains("elite"), "{t}");
        assert!(
            !t.contains("PR opened"),
            "no stage rows without pull requests: {t}"
        );
    }

    #[test]
    fn lead_time_stages_follow_lead_time() {
        let stage =
            |m: i64| serde_json::json!({"median_seconds": m, "p90_seconds": m * 2, "count": 3});
        let v = serde_json::json!({
            "window": {"from": "a", "to": "b"},
            "deployment_frequency": {"count": 1, "per_day": 1.0, "band": "elite", "previous": {}},
            "lead_time": {"median_seconds": 7200, "p90_seconds": 9000, "count": 4, "band": "elite",
                          "stages": {"coding": stage(600), "review": stage(3600), "deploy": stage(60)},
                          "previous": {}},
            "change_failure_rate": {"ratio": null, "failed": 0, "total": 0, "band": null, "previous": {}},
            "recovery_time": {"median_seconds": null, "count": 0, "band": null, "previous": {}},
            "rework_rate": {"ratio": null, "rework": 0, "total": 0, "previous": {}},
        });
        let t = dora(&v);
        let lines: Vec<&str> = t.lines().collect();
        let at = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
        assert!(at("Lead time") < at("first commit -> PR opened"), "{t}");
        assert!(
            at("PR opened -> merged") < at("merged -> production"),
            "{t}"
        );
        assert!(
            at("merged -> production") < at("Change failure rate"),
            "{t}"
        );
        assert!(
            lines[at("PR opened -> merged")].contains("1h 0m (p90 2h 0m, n=3)"),
            "{t}"
        );
    }
}
