//! The run's Resolution: the widest decode-time interval, its half-width and
//! the smallest true difference the run detects with `DETECTION_POWER`.
//!
//! Why both numbers: a half-width h says that an interval centred on a true
//! difference of h just touches 0, so such a difference is detected (the
//! interval excludes 0) only about half the time. What a reviewer wants is
//! the difference the run would reliably catch, which is larger.

use super::{fmt_ratio_ci, paired_series, REPORT_CONFIDENCE};
use super::{Resolution, MIN_ROUNDS_FOR_RESOLUTION};
use crate::backend::FLOOR;
use crate::results::{BackendResult, BackendStatus, BenchResults};
use crate::stats::order::median_ci;
use crate::stats::rank::normal_quantile;
use crate::stats::Interval;
use crate::units::fmt_confidence;

/// Power at which the Resolution states a detectable difference.
pub const DETECTION_POWER: f64 = 0.80;

/// Smallest true difference that a two-sided interval of half-width
/// `half_width` at `confidence` excludes 0 with probability `power`.
///
/// Normal approximation: the estimate is ~N(d, SE) and the interval is
/// estimate ± z_c·SE with z_c = z at 1 − (1 − confidence)/2, so it excludes 0
/// when the estimate exceeds z_c·SE, which happens with probability `power`
/// when d = (z_c + z_power)·SE = (z_c + z_power)/z_c × half-width. For 95%
/// and 80% that is (1.96 + 0.84)/1.96 ≈ 1.43 × half-width. The median
/// intervals here are distribution-free, so this is an approximation, not a
/// property of the interval.
pub fn detectable_difference(half_width: f64, confidence: f64, power: f64) -> f64 {
    let z_c = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    half_width * (z_c + normal_quantile(power)) / z_c
}

/// Decode-time intervals of every backend against native-cpp, plus the A/A
/// twin against its original; None when the run has no interval at all or
/// too few rounds for one.
pub(super) fn resolution(results: &BenchResults) -> Option<Resolution> {
    let aa = aa_interval(results);
    let decode = |b: &BackendResult| b.overhead_vs_native.get("decode_ns").copied();
    // An interval over fewer rounds than this is a single point or two: it
    // says nothing about what the run can resolve.
    let fewest = results
        .backends
        .iter()
        .filter_map(decode)
        .min_by_key(|ci| ci.samples)?;
    if fewest.samples < MIN_ROUNDS_FOR_RESOLUTION {
        return None;
    }
    let (name, compared_with, widest) = widest_interval(results, aa)?;
    let half_width = widest.larger_side();
    let detectable = detectable_difference(half_width, widest.confidence, DETECTION_POWER);
    let label = format!("{name} vs {compared_with}");
    let mut statement = widest_statement(&label, &widest, detectable);
    if fewest.confidence < REPORT_CONFIDENCE {
        statement.push_str(&format!(
            "; with {} rounds an interval is the range of the ratios, {:.1}% confidence",
            fewest.samples,
            fewest.confidence * 100.0
        ));
    }
    if let (Some(ci), Some((original, twin))) = (&aa, &results.design.aa) {
        statement.push_str(&aa_statement(ci, original, twin));
    }
    Some(Resolution {
        half_width,
        widest: name,
        aa,
        statement,
        interval: Some(widest),
        detectable_80: Some(detectable),
    })
}

/// The widest decode interval of the run, a backend's against native-cpp
/// or the A/A twin's against its original, as (the name results.json
/// records, what it was compared with, its interval). The first strictly
/// widest wins, a backend before the A/A twin on a tie.
fn widest_interval(
    results: &BenchResults,
    aa: Option<Interval>,
) -> Option<(String, String, Interval)> {
    let decode = |b: &BackendResult| b.overhead_vs_native.get("decode_ns").copied();
    let twin = results
        .design
        .aa
        .as_ref()
        .map(|(original, twin)| (format!("A/A {twin}"), original.clone()));
    results
        .backends
        .iter()
        .filter(|b| b.status == BackendStatus::Ok)
        .filter_map(|b| Some((b.name.clone(), FLOOR.to_string(), decode(b)?)))
        .chain(
            twin.zip(aa)
                .map(|((name, original), ci)| (name, original, ci)),
        )
        .reduce(|best, c| {
            if c.2.larger_side() > best.2.larger_side() {
                c
            } else {
                best
            }
        })
}

/// "; A/A twin vs original: ratio [interval] (whether it contains 0)".
fn aa_statement(ci: &Interval, original: &str, twin: &str) -> String {
    let verdict = if ci.contains(1.0) {
        "contains 0, as it should"
    } else {
        "EXCLUDES 0: the run is biased or its interval too narrow"
    };
    format!(
        "; A/A {twin} vs {original}: {} ({verdict})",
        fmt_ratio_ci(ci)
    )
}

/// twin / original decode time, paired per round, when the run has a twin.
fn aa_interval(results: &BenchResults) -> Option<Interval> {
    let (original, twin) = results.design.aa.as_ref()?;
    let find = |n: &str| {
        results
            .backends
            .iter()
            .find(|b| b.name == *n && b.status == BackendStatus::Ok)
    };
    let ratios = paired_series(find(twin)?, find(original)?, "decode_ns");
    median_ci(&ratios, REPORT_CONFIDENCE)
}

/// "widest 95% decode interval: ffi-token vs native-cpp +5.3% [+2.3%,
/// +22.9%]; half-width 17.6% (its larger side); ...": the interval itself,
/// then what its half-width does and does not let the run detect.
fn widest_statement(name: &str, widest: &Interval, detectable: f64) -> String {
    let half_width = widest.larger_side();
    let lopsided = if widest.larger_side() > widest.half_width() * (1.0 + 1e-9) {
        " (its larger side)"
    } else {
        ""
    };
    format!(
        "widest {} decode interval: {name} {}; half-width {:.1}%{lopsided}; \
         a true difference of that size is detected about half the time and smaller ones usually cannot be told apart from none; \
         smallest difference detected with {:.0}% power \u{2248} {:.1}% (normal approximation)",
        fmt_confidence(widest.confidence),
        fmt_ratio_ci(widest),
        half_width * 100.0,
        DETECTION_POWER * 100.0,
        detectable * 100.0
    )
}
