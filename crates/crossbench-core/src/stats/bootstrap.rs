//! Bootstrap confidence interval for a ratio of medians (the gate's
//! `--method median-bootstrap`; the default is `rank`'s shift).
//!
//! Why this method: on a shared machine timings have heavy right tails
//! (another process takes the core for a while), so the median is the
//! location we trust, not the mean; and the distribution of a median has no
//! convenient closed form, so we resample (Efron's percentile bootstrap)
//! instead of assuming normality. The generator is a seeded SplitMix64, so a
//! verdict computed twice from the same samples is the same verdict.

use super::{median, median_sorted, Interval};

/// Resamples per interval: enough that the 2.5% / 97.5% percentiles move by
/// well under 0.1% between seeds for the sample sizes we see (5 to 50 reps).
pub const DEFAULT_RESAMPLES: usize = 4000;
/// The seed every caller uses unless it has a reason not to.
pub const DEFAULT_SEED: u64 = 0x00c0_55be_9c4a_7e57;

/// SplitMix64: tiny, fast, and good enough to pick resample indices.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0); the modulo bias is < n / 2^64, negligible here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Bootstrap interval of median(current) / median(baseline), the two samples
/// resampled independently (they come from different runs).
pub fn ratio_of_medians_ci(
    current: &[f64],
    baseline: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> Option<Interval> {
    let (mc, mb) = (median(current)?, median(baseline)?);
    if mb == 0.0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let (mut sc, mut sb) = (vec![0.0; current.len()], vec![0.0; baseline.len()]);
    let mut stats = Vec::with_capacity(resamples.max(1));
    for _ in 0..resamples.max(1) {
        let c = resampled_median(current, &mut sc, &mut rng);
        let b = resampled_median(baseline, &mut sb, &mut rng);
        if b != 0.0 {
            stats.push(c / b);
        }
    }
    let n = current.len().min(baseline.len());
    Some(percentile_interval(mc / mb, stats, confidence, n))
}

fn resampled_median(samples: &[f64], scratch: &mut [f64], rng: &mut SplitMix64) -> f64 {
    for slot in scratch.iter_mut() {
        *slot = samples[rng.below(samples.len())];
    }
    scratch.sort_by(f64::total_cmp);
    median_sorted(scratch)
}

/// Percentile interval: the (1-c)/2 and (1+c)/2 quantiles of the resampled
/// statistic (nearest rank).
fn percentile_interval(
    estimate: f64,
    mut stats: Vec<f64>,
    confidence: f64,
    samples: usize,
) -> Interval {
    stats.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| {
        let idx = (q * (stats.len() - 1) as f64).round() as usize;
        stats[idx.min(stats.len() - 1)]
    };
    Interval {
        estimate,
        low: at(alpha),
        high: at(1.0 - alpha),
        confidence,
        samples,
    }
}

#[cfg(test)]
#[path = "bootstrap_tests.rs"]
mod tests;
