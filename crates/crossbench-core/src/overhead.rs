//! Per-rep series for comparing backends, each backend's overhead relative
//! to native-cpp measured in the same run, and the run's noise flag.
//!
//! Why paired per-rep ratios: the driver runs one rep of every backend per
//! round, so rep i of ffi-token and rep i of native-cpp ran seconds apart
//! under the same machine load. Their ratio cancels slow drift (thermal
//! state, another engineer's build) that would move both absolute times;
//! the median of those ratios, with its distribution-free interval
//! (`stats::order`), is the overhead
//! we report and gate.

use std::collections::BTreeMap;

mod resolution;
use resolution::resolution;
pub use resolution::{detectable_difference, DETECTION_POWER};

use crate::backend::FLOOR;
pub use crate::results::Resolution;
use crate::results::{BackendResult, BackendStatus, BenchResults, RepRecord};
use crate::stats::order::median_ci;
use crate::stats::{cv, median, paired_ratios};

/// Confidence of the intervals written into results.json.
pub const REPORT_CONFIDENCE: f64 = 0.95;
/// A backend whose per-rep decode time varies by more than this (coefficient
/// of variation) is flagged `noisy` in results.json, summary.md and the
/// report: a reporting flag, so a reader discounts its medians. The gate does
/// not read it; it judges each check's noise against its own, looser
/// `gate::GATE_CV_LIMIT` (`--cv-limit`), because quiet runs of the ci scenario
/// on the 2-core VM already sit near this limit (see docs/methodology.md,
/// "Regression gate").
pub const CV_LIMIT: f64 = 0.10;

/// Fewer paired rounds than this and a run states no resolution.
pub const MIN_ROUNDS_FOR_RESOLUTION: usize = 3;

/// The timing series the gate and the report use, one value per rep.
pub const SERIES: [&str; 2] = ["decode_ns", "itl_median_ns"];

/// Consumer-side decode time of a rep: last minus first token stamp.
pub fn rep_decode_ns(rep: &RepRecord) -> Option<f64> {
    let (first, last) = (rep.consumer_ns.first()?, rep.consumer_ns.last()?);
    (rep.consumer_ns.len() > 1).then(|| last.saturating_sub(*first) as f64)
}

/// Median inter-token latency of a rep (robust to one slow token).
pub fn rep_itl_median_ns(rep: &RepRecord) -> Option<f64> {
    let itl: Vec<f64> = rep
        .consumer_ns
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]) as f64)
        .collect();
    median(&itl)
}

/// One value per rep (index order) for a series name of `SERIES`; reps that
/// lack the value are skipped.
pub fn rep_series(backend: &BackendResult, series: &str) -> Vec<f64> {
    let mut reps: Vec<&RepRecord> = backend.reps.iter().collect();
    reps.sort_by_key(|r| r.index);
    let f = match series {
        "decode_ns" => rep_decode_ns,
        "itl_median_ns" => rep_itl_median_ns,
        _ => return Vec::new(),
    };
    reps.into_iter().filter_map(f).collect()
}

/// Per-rep ratio backend / reference for reps present in both (by index).
pub fn paired_series(backend: &BackendResult, reference: &BackendResult, series: &str) -> Vec<f64> {
    let f = match series {
        "decode_ns" => rep_decode_ns,
        "itl_median_ns" => rep_itl_median_ns,
        _ => return Vec::new(),
    };
    paired_by_round(backend, reference, f)
}

/// Per-rep ratio `f(backend rep) / f(reference rep)` for reps of the same
/// round (same index), in index order: the pairing every overhead uses.
pub fn paired_by_round(
    backend: &BackendResult,
    reference: &BackendResult,
    f: fn(&RepRecord) -> Option<f64>,
) -> Vec<f64> {
    let by_index: BTreeMap<u32, f64> = reference
        .reps
        .iter()
        .filter_map(|r| f(r).map(|v| (r.index, v)))
        .collect();
    let (mut num, mut den) = (Vec::new(), Vec::new());
    let mut reps: Vec<&RepRecord> = backend.reps.iter().collect();
    reps.sort_by_key(|r| r.index);
    for rep in reps {
        if let (Some(v), Some(&d)) = (f(rep), by_index.get(&rep.index)) {
            num.push(v);
            den.push(d);
        }
    }
    paired_ratios(&num, &den)
}

/// Fills every backend's `overhead_vs_native`, `decode_cv` and `noisy`, and
/// the run's `noisy` and `cv_limit`. Cheap enough to run after every round.
pub fn annotate(results: &mut BenchResults) {
    let reference = results
        .backends
        .iter()
        .find(|b| b.name == FLOOR && b.status == BackendStatus::Ok)
        .cloned();
    for b in &mut results.backends {
        b.overhead_vs_native.clear();
        if let Some(reference) = reference.as_ref().filter(|r| r.name != b.name) {
            for series in SERIES {
                let ratios = paired_series(b, reference, series);
                if let Some(ci) = median_ci(&ratios, REPORT_CONFIDENCE) {
                    b.overhead_vs_native.insert(series.to_string(), ci);
                }
            }
        }
        b.decode_cv = cv(&rep_series(b, "decode_ns"));
        b.noisy = b.decode_cv.is_some_and(|c| c > CV_LIMIT);
    }
    results.cv_limit = CV_LIMIT;
    results.noisy = results.backends.iter().any(|b| b.noisy);
    results.resolution = resolution(results);
}

pub use crate::units::fmt_ratio_ci;

/// fmt_ratio_ci, followed by the interval's confidence when it is below the
/// 95% of the reports (few reps: 3 give a min-max interval at 75%).
pub fn fmt_ratio_ci_conf(ci: &crate::stats::Interval) -> String {
    if ci.confidence < REPORT_CONFIDENCE - 1e-9 {
        format!(
            "{} ({:.0}% conf.)",
            crate::units::fmt_ratio_ci(ci),
            100.0 * ci.confidence
        )
    } else {
        crate::units::fmt_ratio_ci(ci)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{backend, results};

    #[test]
    fn overhead_is_the_paired_ratio_and_noise_is_flagged() {
        let native = backend("native-cpp", &[100, 200, 100, 200, 100]);
        // Exactly 10% slower in every round, whatever the round's drift.
        let ffi = backend("ffi-token", &[110, 220, 110, 220, 110]);
        let mut r = results(vec![ffi, native]);
        annotate(&mut r);
        let ci = r.backends[0].overhead_vs_native["decode_ns"];
        assert!(
            (ci.estimate - 1.1).abs() < 1e-9 && (ci.low - 1.1).abs() < 1e-9,
            "{ci:?}"
        );
        assert!(
            r.backends[1].overhead_vs_native.is_empty(),
            "no ratio to itself"
        );
        // Spans alternate 100/200: cv ~0.46 > limit, so both are noisy.
        assert!(r.backends[0].noisy && r.noisy);
    }

    #[test]
    fn resolution_is_stated_only_with_enough_rounds_and_says_its_confidence() {
        let five = |k: u64| backend("ffi-token", &[100 + k, 104, 98, 101, 103]);
        let mut r = results(vec![five(0), backend("native-cpp", &[100; 5])]);
        annotate(&mut r);
        let res = r.resolution.expect("5 rounds state a resolution");
        for part in ["widest 93.8% decode interval", "half-width", "80% power"] {
            assert!(res.statement.contains(part), "{part}: {}", res.statement);
        }
        let widest = res.interval.expect("the widest interval is recorded");
        assert_eq!(res.half_width, widest.larger_side());
        assert!(res.detectable_80.unwrap() > res.half_width);
        assert!(
            res.statement.contains("93.8% confidence"),
            "{}",
            res.statement
        );
        let mut r = results(vec![
            backend("ffi-token", &[101, 99]),
            backend("native-cpp", &[100, 100]),
        ]);
        annotate(&mut r);
        assert!(r.resolution.is_none(), "2 rounds resolve nothing");
    }

    #[test]
    fn a_lopsided_interval_is_shown_with_its_larger_side_as_half_width() {
        // Ratios 1.0, 1.0, 1.01, 1.02, 1.2: median +1%, range [+0%, +20%].
        let ffi = backend("ffi-token", &[100, 100, 101, 102, 120]);
        let mut r = results(vec![ffi, backend("native-cpp", &[100; 5])]);
        annotate(&mut r);
        let res = r.resolution.expect("5 rounds state a resolution");
        assert!((res.half_width - 0.19).abs() < 1e-9, "{res:?}");
        assert!(
            res.statement.contains(
                "ffi-token vs native-cpp +1.0% [+0.0%, +20.0%]; half-width 19.0% (its larger side)"
            ),
            "{}",
            res.statement
        );
    }

    #[test]
    fn detectable_difference_is_the_normal_power_factor() {
        // (z_0.975 + z_0.80) / z_0.975 = (1.95996 + 0.84162) / 1.95996.
        let factor = detectable_difference(1.0, 0.95, 0.80);
        assert!((factor - 1.4294).abs() < 1e-3, "{factor}");
        // At 50% power the interval's own half-width is what is detected.
        assert!((detectable_difference(0.02, 0.95, 0.5) - 0.02).abs() < 1e-9);
    }

    #[test]
    fn quiet_run_is_not_noisy() {
        let native = backend("native-cpp", &[100, 101, 99, 100]);
        let mut r = results(vec![native]);
        annotate(&mut r);
        assert!(!r.noisy);
        assert_eq!(r.cv_limit, CV_LIMIT);
        assert!(r.backends[0].decode_cv.unwrap() < 0.02);
    }
}
