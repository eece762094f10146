//! Descriptive statistics of one sample that every method builds on: the
//! median, the coefficient of variation, per-rep paired ratios.

/// Exact median (mean of the two middle values for an even count).
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(median_sorted(&sorted))
}

/// Median of an already sorted, non-empty slice.
pub(crate) fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Coefficient of variation (sample stddev / mean); None for < 2 samples.
pub fn cv(samples: &[f64]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean != 0.0).then(|| var.sqrt() / mean.abs())
}

/// Element-wise a[i] / b[i] over the common length, skipping zero divisors:
/// the per-rep paired ratio of two backends measured in the same round.
pub fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|(_, &d)| d != 0.0)
        .map(|(n, d)| n / d)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_known_answers() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn cv_known_answer() {
        // mean 2, sample stddev 1 -> cv 0.5
        assert!((cv(&[1.0, 2.0, 3.0]).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(cv(&[1.0]), None);
    }

    #[test]
    fn paired_ratios_skip_zero_divisors() {
        assert_eq!(
            paired_ratios(&[2.0, 3.0, 4.0], &[1.0, 0.0, 2.0]),
            vec![2.0, 2.0]
        );
    }
}
