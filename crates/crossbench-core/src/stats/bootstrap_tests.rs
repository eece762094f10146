use super::*;

/// Deterministic "noisy" samples around `center`: +-spread uniform, plus a
/// rare large outlier, as a shared machine produces.
fn noisy(center: f64, spread: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let outlier = if i % 9 == 4 { 3.0 } else { 1.0 };
            center * (1.0 + spread * (2.0 * u - 1.0)) * outlier
        })
        .collect()
}

#[test]
fn identical_samples_give_an_interval_containing_one() {
    let a = noisy(100.0, 0.05, 15, 1);
    let ci = ratio_of_medians_ci(&a, &a, 0.95, DEFAULT_RESAMPLES, DEFAULT_SEED).unwrap();
    assert_eq!(ci.estimate, 1.0);
    assert!(ci.contains(1.0), "{ci:?}");
    assert!(
        ci.low < 1.0 && ci.high > 1.0,
        "independent resampling must widen it: {ci:?}"
    );
}

#[test]
fn same_distribution_different_draws_contains_one() {
    let a = noisy(100.0, 0.05, 15, 1);
    let b = noisy(100.0, 0.05, 15, 2);
    let ci = ratio_of_medians_ci(&a, &b, 0.95, DEFAULT_RESAMPLES, DEFAULT_SEED).unwrap();
    assert!(ci.contains(1.0), "{ci:?}");
}

#[test]
fn twenty_percent_shift_is_detected_beyond_a_five_percent_threshold() {
    let base = noisy(100.0, 0.05, 10, 3);
    let slow: Vec<f64> = noisy(100.0, 0.05, 10, 4).iter().map(|x| x * 1.2).collect();
    let ci = ratio_of_medians_ci(&slow, &base, 0.95, DEFAULT_RESAMPLES, DEFAULT_SEED).unwrap();
    assert!(ci.low > 1.05, "whole interval should be beyond +5%: {ci:?}");
    assert!(
        ci.contains(1.2) || (ci.estimate - 1.2).abs() < 0.05,
        "{ci:?}"
    );
}

#[test]
fn seeded_runs_are_deterministic_and_seeds_matter() {
    let a = noisy(100.0, 0.2, 12, 5);
    let b = noisy(110.0, 0.2, 12, 6);
    let x = ratio_of_medians_ci(&a, &b, 0.9, 1000, 42).unwrap();
    let y = ratio_of_medians_ci(&a, &b, 0.9, 1000, 42).unwrap();
    assert_eq!(x, y);
    let z = ratio_of_medians_ci(&a, &b, 0.9, 1000, 43).unwrap();
    assert_eq!(x.estimate, z.estimate);
    assert!(
        x.low != z.low || x.high != z.high,
        "a different seed resamples differently"
    );
}

#[test]
fn ratio_needs_a_nonzero_baseline() {
    assert!(ratio_of_medians_ci(&[1.0], &[0.0], 0.95, 10, 1).is_none());
    assert!(ratio_of_medians_ci(&[], &[1.0], 0.95, 10, 1).is_none());
}
