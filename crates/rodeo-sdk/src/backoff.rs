//! The reconnection delay: exponential from `initial` to `max`, with "equal jitter"
//! (half the delay fixed, half random) so that a fleet of clients that lost the server at
//! the same moment does not come back at the same moment. Pure: the random draw is an
//! argument, so tests need no clock and no randomness.

use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.min(max);
        Self {
            initial,
            max,
            current: initial,
        }
    }

    /// The delay before the next attempt, for a uniform draw `unit` in `[0, 1)`; each
    /// call doubles the following one, up to `max`.
    pub(crate) fn next_delay(&mut self, unit: f64) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = base / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Back to `initial`, after a connection that worked.
    pub(crate) fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_up_to_the_max_then_resets() {
        let mut b = Backoff::new(MS(500), Duration::from_secs(30));
        let upper: Vec<Duration> = (0..9).map(|_| b.next_delay(1.0)).collect();
        let secs: Vec<f64> = upper.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        b.reset();
        assert_eq!(b.next_delay(1.0), MS(500));
    }

    #[test]
    fn jitter_stays_between_half_and_the_whole_delay() {
        let mut b = Backoff::new(MS(500), Duration::from_secs(30));
        assert_eq!(b.next_delay(0.0), MS(250));
        assert_eq!(b.next_delay(0.5), MS(750));
        assert_eq!(
            b.next_delay(7.0),
            MS(2000),
            "a draw out of range is clamped"
        );
    }

    #[test]
    fn an_initial_delay_above_the_max_is_the_max() {
        let mut b = Backoff::new(Duration::from_secs(60), Duration::from_secs(30));
        assert_eq!(b.next_delay(1.0), Duration::from_secs(30));
    }
}
