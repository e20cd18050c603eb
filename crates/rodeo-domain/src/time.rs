//! Timestamps: RFC 3339 in UTC on the wire, microseconds since the epoch in storage.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};

use crate::FieldError;

pub type Timestamp = DateTime<Utc>;

/// How far in the future a client-supplied time may be (clock skew allowance).
pub const MAX_FUTURE_SKEW: Duration = Duration::hours(24);

/// The current time at the precision rodeo stores (microseconds), so what a write
/// answers is exactly what a later read returns.
pub fn now() -> Timestamp {
    from_micros(to_micros(Utc::now()))
}

/// Parses an RFC 3339 time with any offset, converts it to UTC and truncates it to
/// microseconds, the precision rodeo stores.
pub fn parse_timestamp(field: &str, s: &str) -> Result<Timestamp, FieldError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| from_micros(to_micros(t.with_timezone(&Utc))))
        .map_err(|e| {
            FieldError::new(
                field,
                format!("must be an RFC 3339 timestamp like 2026-03-02T10:00:00Z ({e})"),
            )
        })
}

pub fn to_micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> Timestamp {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

/// RFC 3339 with a `Z`, seconds precision unless sub-second parts are present.
pub fn format(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_offsets_to_utc_and_round_trips_micros() {
        let t = parse_timestamp("at", "2026-03-02T11:00:00+01:00").unwrap();
        assert_eq!(format(t), "2026-03-02T10:00:00Z");
        assert_eq!(from_micros(to_micros(t)), t);
        assert!(parse_timestamp("at", "yesterday")
            .unwrap_err()
            .message
            .contains("RFC 3339"));
    }
}
