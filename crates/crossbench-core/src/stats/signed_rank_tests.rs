use super::*;
use crate::stats::bootstrap::SplitMix64;
use crate::stats::order::median_ci;

/// A standard normal draw (Box–Muller) from the test's seeded generator.
fn normal(rng: &mut SplitMix64) -> f64 {
    let u = |rng: &mut SplitMix64| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (u1, u2) = (u(rng).max(1e-300), u(rng));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[test]
fn picks_the_textbook_walsh_averages() {
    // n = 10 at 95%: P(T <= 8) = 25/1024 <= 0.025 < P(T <= 9) = 33/1024, so
    // k = 9: the 9th smallest and 9th largest of the 55 Walsh averages. For
    // logs 1..=10 those are 3 and 8, the estimate is 5.5.
    let ratios: Vec<f64> = (1..=10).map(|i| f64::from(i).exp()).collect();
    let ci = signed_rank_ratio_ci(&ratios, 0.95).unwrap();
    assert!((ci.low.ln() - 3.0).abs() < 1e-12, "{ci:?}");
    assert!((ci.high.ln() - 8.0).abs() < 1e-12, "{ci:?}");
    assert!((ci.estimate.ln() - 5.5).abs() < 1e-12, "{ci:?}");
    assert!(
        (ci.confidence - (1.0 - 50.0 / 1024.0)).abs() < 1e-12,
        "{ci:?}"
    );
    assert_eq!(ci.samples, 10);
}

#[test]
fn too_few_ratios_give_the_range_and_say_so() {
    // n = 3: P(T = 0) = 1/8 > 0.025, so no k reaches 95%.
    let ci = signed_rank_ratio_ci(&[1.0, 2.0, 4.0], 0.95).unwrap();
    assert_eq!((ci.low, ci.high), (1.0, 4.0));
    assert!((ci.confidence - 0.75).abs() < 1e-12, "{ci:?}");
    assert!(signed_rank_ratio_ci(&[], 0.95).is_none());
    assert!(signed_rank_ratio_ci(&[1.0, 0.0, 2.0], 0.95).is_none());
    assert!(signed_rank_ratio_ci(&[1.0, f64::NAN], 0.95).is_none());
}

#[test]
fn the_normal_approximation_meets_the_exact_distribution() {
    // Checked where it could take over (it is used above EXACT_MAX only):
    // never a narrower interval than the exact one (k no larger), and within
    // 2% of T's standard deviation of it.
    for n in [144, 300, EXACT_MAX] {
        let max_k = (n * (n + 1) / 2).div_ceil(2);
        let sd = moments(n).1;
        for tail in [0.025, 0.005, 0.0083] {
            let (exact, p) = critical_count(n, tail);
            let (approx, _) = normal_critical_count(n, tail, max_k);
            assert!(
                approx <= exact && (exact - approx) as f64 <= 0.02 * sd,
                "n {n} tail {tail}: exact {exact} approx {approx} (sd {sd:.0})"
            );
            assert!(p <= tail && p > 0.99 * tail, "n {n}: P(T <= k-1) = {p}");
        }
    }
}

#[test]
fn symmetric_noise_is_covered_at_the_asked_confidence() {
    // 2000 samples of 48 log ratios centred on 0, normal and heavy-tailed
    // (a normal with a 10% chance of 4x the spread): the 95% interval must
    // contain 1.0 in at least ~95% (binomial SE 0.5%: 93.5% is 3 SE below).
    let mut rng = SplitMix64::new(7);
    for heavy in [false, true] {
        let mut covered = 0;
        for _ in 0..2000 {
            let ratios: Vec<f64> = (0..48)
                .map(|_| {
                    let scale = if heavy && rng.below(10) == 0 {
                        0.2
                    } else {
                        0.05
                    };
                    (scale * normal(&mut rng)).exp()
                })
                .collect();
            covered += usize::from(signed_rank_ratio_ci(&ratios, 0.95).unwrap().contains(1.0));
        }
        assert!(covered >= 1870, "heavy {heavy}: covered {covered} of 2000");
    }
}

#[test]
fn its_interval_is_narrower_than_the_medians_under_normal_noise() {
    // The reason the A/B uses it: ~95% against ~64% efficiency, so about
    // sqrt(0.64 / 0.95) = 0.82 of the median interval's width.
    let mut rng = SplitMix64::new(11);
    let (mut hl, mut med) = (0.0, 0.0);
    for _ in 0..300 {
        let ratios: Vec<f64> = (0..48).map(|_| (0.06 * normal(&mut rng)).exp()).collect();
        let width = |ci: Interval| ci.high.ln() - ci.low.ln();
        hl += width(signed_rank_ratio_ci(&ratios, 0.95).unwrap());
        med += width(median_ci(&ratios, 0.95).unwrap());
    }
    assert!(hl / med < 0.9 && hl / med > 0.7, "width ratio {}", hl / med);
}
