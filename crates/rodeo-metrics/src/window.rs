//! The half-open time window `[from, to)` every metric is computed over.

use chrono::Duration;
use rodeo_domain::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Window {
    /// `None` unless `from < to`.
    pub fn new(from: Timestamp, to: Timestamp) -> Option<Self> {
        (from < to).then_some(Self { from, to })
    }

    /// The window of `length` ending at `to`.
    pub fn ending(to: Timestamp, length: Duration) -> Option<Self> {
        Self::new(to - length, to)
    }

    /// The window of equal length right before this one.
    pub fn previous(&self) -> Self {
        Self {
            from: self.from - self.length(),
            to: self.from,
        }
    }

    pub fn length(&self) -> Duration {
        self.to - self.from
    }

    /// The window's length in days (fractional for windows that are not whole days).
    pub fn days(&self) -> f64 {
        self.length().num_milliseconds() as f64 / 86_400_000.0
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }

    /// Consecutive 24-hour slices from `from`; the last may be shorter.
    pub(crate) fn day_count(&self) -> usize {
        self.days().ceil() as usize
    }

    /// Which 24-hour slice `t` (inside the window) falls in.
    pub(crate) fn day_of(&self, t: Timestamp) -> usize {
        ((t - self.from).num_milliseconds() / 86_400_000) as usize
    }
}

/// The size of one point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Day,
    /// ISO weeks, Monday 00:00 UTC to Monday.
    Week,
}

impl Window {
    /// The window cut at calendar day or week boundaries (UTC); the first and last
    /// pieces are clipped to the window, so the pieces cover it exactly.
    pub fn buckets(&self, bucket: Bucket) -> Vec<Window> {
        use chrono::{Datelike, TimeZone, Utc};
        let day = self.from.date_naive();
        let start_day = match bucket {
            Bucket::Day => day,
            Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        };
        let step = match bucket {
            Bucket::Day => Duration::days(1),
            Bucket::Week => Duration::weeks(1),
        };
        let mut start = Utc.from_utc_datetime(&start_day.and_time(chrono::NaiveTime::MIN));
        let mut out = Vec::new();
        while start < self.to {
            let end = start + step;
            if let Some(w) = Window::new(start.max(self.from), end.min(self.to)) {
                out.push(w);
            }
            start = end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        rodeo_domain::parse_timestamp("t", s).unwrap_or_default()
    }

    #[test]
    fn weekly_buckets_start_on_monday_and_cover_the_window_exactly() {
        // 2026-03-04 is a Wednesday.
        let w =
            Window::new(t("2026-03-04T12:00:00Z"), t("2026-03-17T00:00:00Z")).unwrap_or(Window {
                from: Timestamp::default(),
                to: Timestamp::default(),
            });
        let b = w.buckets(Bucket::Week);
        let bounds: Vec<(Timestamp, Timestamp)> = b.iter().map(|x| (x.from, x.to)).collect();
        assert_eq!(
            bounds,
            vec![
                (t("2026-03-04T12:00:00Z"), t("2026-03-09T00:00:00Z")),
                (t("2026-03-09T00:00:00Z"), t("2026-03-16T00:00:00Z")),
                (t("2026-03-16T00:00:00Z"), t("2026-03-17T00:00:00Z")),
            ]
        );
        assert_eq!(w.buckets(Bucket::Day).len(), 13);
    }
}
