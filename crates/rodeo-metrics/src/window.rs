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
