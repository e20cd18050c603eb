//! Timestamps as GitHub and GitLab write them.
//!
//! GitHub sends RFC 3339. GitLab mixes RFC 3339 (`2026-03-02T10:00:00+01:00`) with
//! Ruby's default formats (`2026-03-02 10:00:00 UTC`, `2026-03-02 10:00:00 +0100`),
//! sometimes within one payload, so all of them are accepted.

use chrono::{DateTime, NaiveDateTime, Utc};
use rodeo_domain::{FieldError, Timestamp};

/// Parses any of the accepted formats and converts to UTC.
pub(super) fn parse(field: &str, s: &str) -> Result<Timestamp, FieldError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Some(naive) = s.strip_suffix(" UTC") {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f") {
            return Ok(t.and_utc());
        }
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
        return Ok(t.with_timezone(&Utc));
    }
    Err(FieldError::new(
        field,
        "must be a timestamp like 2026-03-02T10:00:00Z (RFC 3339) or 2026-03-02 10:00:00 UTC",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_github_and_gitlab_formats() {
        let expected = "2026-03-02T09:00:00Z";
        for s in [
            "2026-03-02T09:00:00Z",
            "2026-03-02T10:00:00+01:00",
            "2026-03-02 09:00:00 UTC",
            "2026-03-02 10:00:00 +0100",
            "2026-03-02 10:00:00 +01:00",
        ] {
            let t = parse("at", s).unwrap();
            assert_eq!(rodeo_domain::format_timestamp(t), expected, "{s}");
        }
        let t = parse("at", "2026-03-02 09:00:00.250 UTC").unwrap();
        assert_eq!(t.timestamp_subsec_millis(), 250);
    }

    #[test]
    fn rejects_other_text_naming_the_field() {
        for s in [
            "",
            "yesterday",
            "2026-03-02",
            "2026-03-02 10:00:00",
            "2026-13-02 10:00:00 UTC",
        ] {
            let e = parse("commits[2].timestamp", s).unwrap_err();
            assert_eq!(e.field, "commits[2].timestamp");
            assert!(e.message.contains("RFC 3339"), "{s}");
        }
    }
}
