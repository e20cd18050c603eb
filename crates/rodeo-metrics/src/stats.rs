//! Quantiles and means over seconds.

/// The `p` quantile (0 ≤ p ≤ 1) with linear interpolation between closest ranks (the
/// definition numpy and R call type 7): on sorted values `x`, `h = (n − 1)·p`, and the
/// result is `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋ + 1] − x[⌊h⌋])`. `None` for no values.
pub fn quantile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    quantile_of_sorted(&sorted, p)
}

/// [`quantile`] of values already sorted ascending, so several quantiles of one set
/// cost one sort.
pub fn quantile_of_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_closest_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        // n = 5, p90: h = 3.6 -> 40 + 0.6 * (100 - 40) = 76
        assert_eq!(quantile(&[10.0, 20.0, 30.0, 40.0, 100.0], 0.9), Some(76.0));
        // n = 4, p90: h = 2.7 -> 3 + 0.7 * (4 - 3) = 3.7
        let p90 = quantile(&[1.0, 2.0, 3.0, 4.0], 0.9);
        assert!(p90.is_some_and(|v| (v - 3.7).abs() < 1e-9));
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(mean(&[]), None);
    }
}
