//! How values read on a page: ages, times, durations, percentages, bands. Strings
//! made here are text; the templates escape them.

use rodeo_domain::{DeploymentStatus, Timestamp};
use rodeo_metrics::Band;

/// "45s", "12m", "3.5h", "2.1d"; "—" for what is not a duration.
pub(crate) fn seconds(s: f64) -> String {
    let one = |v: f64, unit: &str| {
        let r = (v * 10.0).round() / 10.0;
        if r.fract() == 0.0 {
            format!("{r:.0}{unit}")
        } else {
            format!("{r:.1}{unit}")
        }
    };
    match s {
        s if !s.is_finite() || s < 0.0 => "—".into(),
        s if s < 90.0 => format!("{s:.0}s"),
        s if s < 90.0 * 60.0 => format!("{:.0}m", s / 60.0),
        s if s < 36.0 * 3600.0 => one(s / 3600.0, "h"),
        s => one(s / 86_400.0, "d"),
    }
}

/// "just now", "12m ago", "5h ago", "3d ago", then the date.
pub(crate) fn ago(t: Timestamp, now: Timestamp) -> String {
    let s = (now - t).num_seconds();
    match s {
        i64::MIN..=59 => "just now".into(),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86_399 => format!("{}h ago", s / 3600),
        86_400..=2_591_999 => format!("{}d ago", s / 86_400),
        _ => t.format("%b %-d, %Y").to_string(),
    }
}

/// "2026-11-23 14:05 UTC".
pub(crate) fn when(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// RFC 3339, for `<time datetime>`.
pub(crate) fn iso(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p != 0.0 && p.abs() < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// The CSS class and the words of a performance band.
pub(crate) fn band(b: Option<Band>) -> (&'static str, &'static str) {
    match b {
        Some(Band::Elite) => ("elite", "Elite"),
        Some(Band::High) => ("high", "High"),
        Some(Band::Medium) => ("medium", "Medium"),
        Some(Band::Low) => ("low", "Low"),
        None => ("none", "No data"),
    }
}

pub(crate) fn status(s: DeploymentStatus) -> &'static str {
    match s {
        DeploymentStatus::InProgress => "in progress",
        DeploymentStatus::Succeeded => "succeeded",
        DeploymentStatus::Failed => "failed",
        DeploymentStatus::RolledBack => "rolled back",
    }
}

/// Links are only made of http(s) URLs; anything else (`javascript:`, `data:`) is shown
/// as text or not at all.
pub(crate) fn web_url(url: Option<&str>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_owned)
}

/// The first line of a commit message.
pub(crate) fn headline(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> Timestamp {
        rodeo_domain::parse_timestamp("t", s).unwrap()
    }

    #[test]
    fn ages_read_naturally() {
        let now = t("2026-11-23T12:00:00Z");
        assert_eq!(ago(t("2026-11-23T11:59:30Z"), now), "just now");
        assert_eq!(ago(t("2026-11-23T11:48:00Z"), now), "12m ago");
        assert_eq!(ago(t("2026-11-23T07:00:00Z"), now), "5h ago");
        assert_eq!(ago(t("2026-11-20T12:00:00Z"), now), "3d ago");
        assert_eq!(ago(t("2026-09-07T12:00:00Z"), now), "Sep 7, 2026");
    }

    #[test]
    fn durations_read_in_their_largest_sensible_unit() {
        for (s, want) in [
            (45.0, "45s"),
            (720.0, "12m"),
            (3.5 * 3600.0, "3.5h"),
            (2.0 * 3600.0, "2h"),
            (2.1 * 86_400.0, "2.1d"),
            (-1.0, "—"),
            (f64::NAN, "—"),
        ] {
            assert_eq!(seconds(s), want, "{s}");
        }
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(web_url(Some("javascript:alert(1)")), None);
        assert_eq!(web_url(Some("data:text/html,x")), None);
        assert!(web_url(Some("https://ci.example/1")).is_some());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(query_escape("/flags?x=1&y"), "/flags%3Fx%3D1%26y");
        assert_eq!(percent(0.05), "5.0%");
        assert_eq!(percent(0.25), "25%");
    }
}
