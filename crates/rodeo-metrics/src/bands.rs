//! Performance bands, from the DORA 2023 report's clusters.
//!
//! The report's clusters overlap for low and medium performers on some metrics; the
//! thresholds below make them monotone (a better value never gets a worse band). They
//! live in this one table so a later report can replace it.

/// From best to worst; the order is the ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Elite,
    High,
    Medium,
    Low,
}

/// The thresholds of each banded metric, best band first.
pub struct Bands {
    /// Average production deployments per day at least: elite, high, medium.
    pub deploys_per_day: [f64; 3],
    /// Lead time median below, in seconds: elite, high, medium.
    pub lead_time_seconds: [f64; 3],
    /// Change failure rate at most: elite, high, medium.
    pub change_failure_rate: [f64; 3],
    /// Recovery time median below, in seconds: elite, high, medium.
    pub recovery_seconds: [f64; 3],
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;

/// DORA 2023, made monotone.
pub const BANDS: Bands = Bands {
    deploys_per_day: [1.0, 1.0 / 7.0, 1.0 / 30.0],
    lead_time_seconds: [DAY, 7.0 * DAY, 30.0 * DAY],
    change_failure_rate: [0.05, 0.10, 0.15],
    recovery_seconds: [HOUR, DAY, 7.0 * DAY],
};

const RANKED: [Band; 3] = [Band::Elite, Band::High, Band::Medium];

impl Bands {
    pub fn deployment_frequency(&self, per_day: f64) -> Band {
        first(&self.deploys_per_day, |t| per_day >= t)
    }

    pub fn lead_time(&self, median_seconds: f64) -> Band {
        first(&self.lead_time_seconds, |t| median_seconds < t)
    }

    pub fn change_failure_rate(&self, ratio: f64) -> Band {
        first(&self.change_failure_rate, |t| ratio <= t)
    }

    pub fn recovery_time(&self, median_seconds: f64) -> Band {
        first(&self.recovery_seconds, |t| median_seconds < t)
    }
}

fn first(thresholds: &[f64; 3], meets: impl Fn(f64) -> bool) -> Band {
    thresholds
        .iter()
        .zip(RANKED)
        .find(|(t, _)| meets(**t))
        .map_or(Band::Low, |(_, band)| band)
}

/// The median of several bands (a team's from its services'); for an even count, the
/// worse of the two middle ones, so a team is never rated above half its services.
/// `None` when there are none.
pub fn median_band(bands: &[Band]) -> Option<Band> {
    let mut sorted = bands.to_vec();
    sorted.sort();
    (!sorted.is_empty()).then(|| sorted[sorted.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_sit_on_the_better_side() {
        let b = &BANDS;
        assert_eq!(b.deployment_frequency(1.0), Band::Elite);
        assert_eq!(b.deployment_frequency(0.99), Band::High);
        assert_eq!(b.deployment_frequency(1.0 / 7.0), Band::High);
        assert_eq!(b.deployment_frequency(1.0 / 30.0), Band::Medium);
        assert_eq!(b.deployment_frequency(0.03), Band::Low);
        assert_eq!(b.lead_time(DAY - 1.0), Band::Elite);
        assert_eq!(b.lead_time(DAY), Band::High);
        assert_eq!(b.lead_time(30.0 * DAY), Band::Low);
        assert_eq!(b.change_failure_rate(0.05), Band::Elite);
        assert_eq!(b.change_failure_rate(0.0976), Band::High);
        assert_eq!(b.change_failure_rate(0.15), Band::Medium);
        assert_eq!(b.change_failure_rate(0.151), Band::Low);
        assert_eq!(b.recovery_time(2820.0), Band::Elite);
        assert_eq!(b.recovery_time(7.0 * DAY), Band::Low);
    }

    #[test]
    fn a_median_band_leans_to_the_worse() {
        use Band::*;
        assert_eq!(median_band(&[]), None);
        assert_eq!(median_band(&[High]), Some(High));
        assert_eq!(median_band(&[Elite, Low, High]), Some(High));
        assert_eq!(median_band(&[Elite, High]), Some(High));
        assert_eq!(median_band(&[Low, Elite, Elite, Medium]), Some(Medium));
    }
}
