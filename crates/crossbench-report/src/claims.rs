//! The design note's quantitative claims, each beside what this run (or the
//! microbenchmarks) measured, with a verdict.
//!
//! Each claim becomes a range. Ranges are the note's own ("20-50 ms"); point
//! figures get the range their rounding allows ("2.5 s vs 2.0 s", given to
//! 0.1 s, is a ratio between 2.45/2.05 and 2.55/1.95); "less than X" is an
//! upper bound. The measurement is an estimate with its 95% interval where
//! it has one. Verdict: holds when the interval lies inside the range, does
//! not hold when it lies outside, inconclusive when it straddles an edge
//! (the run cannot resolve the claim, e.g. 0.01% against a +-1% interval).

use crossbench_core::backend::names;
use crossbench_core::overhead::{self, REFERENCE_BACKEND, REPORT_CONFIDENCE};
use crossbench_core::results::{BackendResult, RepRecord};
use crossbench_core::stats::bootstrap::Interval;
use crossbench_core::stats::order::median_ci;

use crate::html::{fmt_bytes, fmt_ns};
use crate::load::Microbench;
use crate::view::{BackendView, RunView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    Inconclusive,
    NotMeasured,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotMeasured => "not measured in this run",
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            Verdict::Holds => "verdict-holds",
            Verdict::DoesNotHold => "verdict-fails",
            Verdict::Inconclusive => "verdict-unclear",
            Verdict::NotMeasured => "verdict-none",
        }
    }
}

/// How the ratio column compares measurement and claim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    /// measured / claimed (midpoint of the range).
    Value,
    /// measured overhead / claimed overhead, for ratios to native-cpp.
    Overhead,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    /// The note's words.
    pub claim: &'static str,
    /// What was measured for it here and the range it was held to.
    pub tested_as: String,
    pub measured: String,
    pub ratio: Option<String>,
    pub verdict: Verdict,
}

/// A claimed range in the unit of its measurement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub lo: f64,
    pub hi: f64,
    /// The note's figure, for the ratio column.
    pub claimed: f64,
}

/// holds / does not hold / inconclusive for an interval against a range.
pub fn verdict(measured: &Interval, lo: f64, hi: f64) -> Verdict {
    if measured.low >= lo && measured.high <= hi {
        Verdict::Holds
    } else if measured.high < lo || measured.low > hi {
        Verdict::DoesNotHold
    } else {
        Verdict::Inconclusive
    }
}

fn point(v: f64) -> Interval {
    Interval {
        estimate: v,
        low: v,
        high: v,
        confidence: 1.0,
        samples: 1,
    }
}

pub(crate) fn row(
    claim: &'static str,
    tested_as: String,
    m: Option<(Interval, String)>,
    r: Range,
    scale: Scale,
) -> ClaimRow {
    let Some((ci, measured)) = m else {
        return ClaimRow {
            claim,
            tested_as,
            measured: "not measured in this run".into(),
            ratio: None,
            verdict: Verdict::NotMeasured,
        };
    };
    // Too few reps for an interval (a point estimate from 1-2 reps, not an
    // exact value; microbenchmarks carry samples 0 and their own interval):
    // nothing can be resolved, so no verdict either way.
    if (1..crate::view::MIN_REPS_FOR_CI).contains(&ci.samples) && ci.confidence < 1.0 {
        return ClaimRow {
            claim,
            tested_as,
            measured,
            ratio: Some(format!(
                "{} rep(s): no interval, so no verdict (need {})",
                ci.samples,
                crate::view::MIN_REPS_FOR_CI
            )),
            verdict: Verdict::Inconclusive,
        };
    }
    let ratio = match scale {
        Scale::Value => times(ci.estimate / r.claimed),
        // Below 1.0 beyond the interval would mean the floor is not a floor;
        // a point estimate below 1.0 inside it is only "no overhead seen".
        Scale::Overhead if ci.high < 1.0 => {
            "faster than native-cpp beyond its interval: the floor did not hold in this run".into()
        }
        Scale::Overhead if ci.estimate <= 1.0 => {
            "no overhead measurable (estimate at or below +0%, interval includes it)".into()
        }
        Scale::Overhead => format!(
            "{} the claimed overhead",
            times((ci.estimate - 1.0) / (r.claimed - 1.0))
        ),
    };
    ClaimRow {
        claim,
        tested_as,
        measured,
        ratio: Some(ratio),
        verdict: verdict(&ci, r.lo, r.hi),
    }
}

/// "0.123×", "12.3×", "4000×": three significant digits, or whole numbers.
fn times(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}×"),
        a if a >= 10.0 => format!("{x:.1}×"),
        a if a >= 1.0 => format!("{x:.2}×"),
        _ => format!("{x:.3}×"),
    }
}

/// Interval of the median of per-rep values (ns), formatted with its backend.
fn rep_median(b: &BackendView, values: Vec<f64>) -> Option<(Interval, String)> {
    let ci = median_ci(&values, REPORT_CONFIDENCE)?;
    let text = if ci.samples >= crate::view::MIN_REPS_FOR_CI {
        format!(
            "{} [{}, {}] ({}, n={})",
            fmt_ns(ci.estimate),
            fmt_ns(ci.low),
            fmt_ns(ci.high),
            b.name,
            ci.samples
        )
    } else {
        format!("{} ({}, n={})", fmt_ns(ci.estimate), b.name, ci.samples)
    };
    Some((ci, text))
}

fn per_rep(b: &BackendView, f: impl Fn(&RepRecord) -> Option<f64>) -> Vec<f64> {
    b.result
        .map(|r: &BackendResult| r.reps.iter().filter_map(&f).collect())
        .unwrap_or_default()
}

/// The claims table for one run.
pub fn evaluate(view: &RunView, micro: Option<&Microbench>) -> Vec<ClaimRow> {
    let mut rows = crate::claims_go::call_rows(micro);
    rows.extend(crate::claims_go::go_rows(micro));
    rows.extend(duration_rows(view));
    rows.extend(overhead_rows(view));
    rows.extend(memory_rows(view));
    rows
}

/// The note's MLX operation times, against the floor backend (native-cpp,
/// else the first ok real one), for this run's model and machine.
fn duration_rows(view: &RunView) -> Vec<ClaimRow> {
    // The mock engine is no MLX: its times say nothing about the note's claims.
    let floor = view.backend(REFERENCE_BACKEND).or_else(|| {
        view.ok_backends()
            .find(|b| !b.result.is_some_and(|r| r.descriptor().is_mock()))
    });
    let ms = |lo: f64, hi: f64| Range {
        lo: lo * 1e6,
        hi: hi * 1e6,
        claimed: (lo + hi) / 2.0 * 1e6,
    };
    let measure = |f: &dyn Fn(&BackendView) -> Option<(Interval, String)>| floor.and_then(f);
    let load = measure(&|b| {
        b.load_ns
            .map(|v| (point(v), format!("{} ({})", fmt_ns(v), b.name)))
    });
    let token = measure(&|b| rep_median(b, per_rep(b, overhead::rep_itl_median_ns)));
    let prompt = measure(&|b| {
        rep_median(
            b,
            per_rep(b, |r| (r.prefill_ns > 0).then_some(r.prefill_ns as f64)),
        )
    });
    let step = measure(&|b| {
        rep_median(
            b,
            per_rep(b, |r| {
                (r.token_ids.len() > 1 && r.decode_ns > 0)
                    .then(|| r.decode_ns as f64 / (r.token_ids.len() - 1) as f64)
            }),
        )
    });
    vec![
        row(
            "Load Model (once): 2–5 seconds",
            "worker's model load time".into(),
            load,
            ms(2000.0, 5000.0),
            Scale::Value,
        ),
        row(
            "Generate Token: 20–50 ms",
            "median inter-token latency (median of per-rep medians)".into(),
            token,
            ms(20.0, 50.0),
            Scale::Value,
        ),
        row(
            "Process Prompt: 100–500 ms",
            format!(
                "worker-side prefill of the {}-token prompt",
                view.results.scenario.prompt_tokens
            ),
            prompt,
            ms(100.0, 500.0),
            Scale::Value,
        ),
        row(
            "Model Forward Pass: 15–30 ms",
            "worker-side decode time per step".into(),
            step,
            ms(15.0, 30.0),
            Scale::Value,
        ),
    ]
}

/// Rounding range of the ratio of two figures given to `step`.
fn rounded_ratio(num: f64, den: f64, step: f64) -> Range {
    let h = step / 2.0;
    Range {
        lo: (num - h) / (den + h),
        hi: (num + h) / (den - h),
        claimed: num / den,
    }
}

fn overhead_rows(view: &RunView) -> Vec<ClaimRow> {
    let ratio = |name: &str, series: &str| {
        let b = view.backend(name)?;
        let ci = *b.overhead.get(series)?;
        Some((
            ci,
            format!(
                "{} ({name} / {REFERENCE_BACKEND}, {series})",
                crate::html::fmt_ratio(&ci)
            ),
        ))
    };
    let at_most = |pct: f64| Range {
        lo: 0.0,
        hi: 1.0 + pct / 100.0,
        claimed: 1.0 + pct / 100.0,
    };
    // The note's cgo designs, measured literally by the Go backends, then
    // by their Rust FFI counterparts.
    let designs = [
        (names::GO_CGO_TOKEN, names::GO_CGO_BATCHED, ""),
        (
            names::FFI_TOKEN,
            names::FFI_BATCHED,
            " (Rust FFI counterpart)",
        ),
    ];
    let mut rows = vec![row(
        "Generate 100 tokens: Python subprocess 2.5 s vs pure C++ 2.0 s (+25%)",
        "end-to-end time ratio python-subprocess / native-cpp, 1.195–1.308 (the figures' rounding)"
            .into(),
        ratio(names::PYTHON_SUBPROCESS, "e2e_ns"),
        rounded_ratio(2.5, 2.0, 0.1),
        Scale::Overhead,
    )];
    for (naive, batched, counterpart) in designs {
        rows.push(row(
            claim_text(counterpart, 0),
            format!("end-to-end time ratio {naive} / native-cpp, 1.098–1.205{counterpart}"),
            ratio(naive, "e2e_ns"),
            rounded_ratio(2.3, 2.0, 0.1),
            Scale::Overhead,
        ));
        rows.push(row(
            claim_text(counterpart, 1),
            format!("end-to-end time ratio {batched} / native-cpp at most 1.05{counterpart}"),
            ratio(batched, "e2e_ns"),
            at_most(5.0),
            Scale::Overhead,
        ));
    }
    // The per-token claims, on the design that crosses once per token.
    let naive = [names::GO_CGO_TOKEN, names::FFI_TOKEN]
        .into_iter()
        .find(|n| view.backend(n).is_some())
        .unwrap_or(names::GO_CGO_TOKEN);
    rows.push(row(
        "Generate Token: crossing overhead 0.0004% per token",
        format!("median inter-token latency ratio {naive} / native-cpp at most 1.000004"),
        ratio(naive, "itl_median_ns"),
        at_most(0.0004),
        Scale::Overhead,
    ));
    rows.push(row(
        "CGO overhead is 0.01% of the time (model computation 99.9%)",
        format!("decode time ratio {naive} / native-cpp at most 1.0001"),
        ratio(naive, "decode_ns"),
        at_most(0.01),
        Scale::Overhead,
    ));
    rows
}

/// The note's two cgo timing claims, marked when a Rust backend stands in.
fn claim_text(counterpart: &str, which: usize) -> &'static str {
    match (counterpart.is_empty(), which) {
        (true, 0) => "Naive CGO (token-by-token) 2.3 s vs pure C++ 2.0 s (+15%)",
        (true, _) => "Optimized (batched) CGO within ~5% of pure C++ (2.1 s vs 2.0 s)",
        (false, 0) => "Naive CGO (token-by-token) +15% — Rust FFI counterpart",
        (false, _) => "Optimized (batched) CGO within ~5% — Rust FFI counterpart",
    }
}

fn memory_rows(view: &RunView) -> Vec<ClaimRow> {
    let native = view
        .backend(REFERENCE_BACKEND)
        .and_then(|b| b.peak_rss_bytes);
    let ratio = |name: &str| {
        let (b, n) = (view.backend(name)?.peak_rss_bytes? as f64, native? as f64);
        Some((
            point(b / n),
            format!("{:.2}× ({} vs {})", b / n, fmt_bytes(b), fmt_bytes(n)),
        ))
    };
    let mem = |claim: &'static str, name: &'static str, mb: f64| {
        let range = rounded_ratio(mb, 100.0, 10.0);
        let tested = format!(
            "peak RSS ratio {name} / native-cpp, {:.3}–{:.3} ({mb:.0} MB / 100 MB to 10 MB rounding)",
            range.lo, range.hi
        );
        row(claim, tested, ratio(name), range, Scale::Value)
    };
    let absolute = native.map(|n| {
        (
            point(n as f64 / 1e6),
            format!("{} (native-cpp peak RSS)", fmt_bytes(n as f64)),
        )
    });
    vec![
        mem(
            "Memory: Python subprocess 300 MB (3× pure C++)",
            names::PYTHON_SUBPROCESS,
            300.0,
        ),
        mem(
            "Memory: Naive CGO 150 MB (1.5× pure C++)",
            names::GO_CGO_TOKEN,
            150.0,
        ),
        mem(
            "Memory: Optimized CGO 120 MB (1.2× pure C++)",
            names::GO_CGO_BATCHED,
            120.0,
        ),
        mem(
            "Memory: Naive CGO 150 MB — Rust FFI counterpart",
            names::FFI_TOKEN,
            150.0,
        ),
        mem(
            "Memory: Optimized CGO 120 MB — Rust FFI counterpart",
            names::FFI_BATCHED,
            120.0,
        ),
        row(
            "Memory: pure C++ 100 MB (Mistral-7B)",
            "native-cpp peak RSS, 95–105 MB; depends on the model's size".into(),
            absolute,
            Range {
                lo: 95.0,
                hi: 105.0,
                claimed: 100.0,
            },
            Scale::Value,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(estimate: f64, low: f64, high: f64) -> Interval {
        Interval {
            estimate,
            low,
            high,
            confidence: 0.95,
            samples: 5,
        }
    }

    #[test]
    fn verdict_compares_the_interval_with_the_range() {
        assert_eq!(verdict(&iv(30.0, 25.0, 35.0), 20.0, 50.0), Verdict::Holds);
        assert_eq!(
            verdict(&iv(5.0, 4.0, 6.0), 20.0, 50.0),
            Verdict::DoesNotHold
        );
        assert_eq!(
            verdict(&iv(1.0, 0.99, 1.01), 0.0, 1.0001),
            Verdict::Inconclusive
        );
        assert_eq!(verdict(&iv(1.3, 1.2, 1.4), 0.0, 1.05), Verdict::DoesNotHold);
    }

    #[test]
    fn a_single_rep_gets_no_verdict() {
        let mut one = iv(1.006, 1.006, 1.006);
        one.samples = 1;
        one.confidence = 0.0;
        let r = Range {
            lo: 0.0,
            hi: 1.05,
            claimed: 1.05,
        };
        let got = row("c", "t".into(), Some((one, "m".into())), r, Scale::Overhead);
        assert_eq!(got.verdict, Verdict::Inconclusive);
        assert!(got.ratio.unwrap().contains("no verdict"));
        // An exact value (a peak, a count) is still judged from one run.
        let exact = point(1.006);
        let got = row(
            "c",
            "t".into(),
            Some((exact, "m".into())),
            r,
            Scale::Overhead,
        );
        assert_eq!(got.verdict, Verdict::Holds);
    }

    #[test]
    fn rounding_ranges_bracket_the_figures() {
        let r = rounded_ratio(2.5, 2.0, 0.1);
        assert!((r.lo - 2.45 / 2.05).abs() < 1e-12 && (r.hi - 2.55 / 1.95).abs() < 1e-12);
        assert!(r.lo < 1.25 && 1.25 < r.hi);
    }

    #[test]
    fn missing_measurement_is_not_measured_and_overhead_ratio_reads_plainly() {
        let r = Range {
            lo: 0.0,
            hi: 1.0001,
            claimed: 1.0001,
        };
        let none = row("c", "t".into(), None, r, Scale::Overhead);
        assert_eq!(
            (none.verdict, none.measured.as_str()),
            (Verdict::NotMeasured, "not measured in this run")
        );
        let slower = row(
            "c",
            "t".into(),
            Some((iv(1.02, 1.01, 1.03), "m".into())),
            r,
            Scale::Overhead,
        );
        assert_eq!(slower.verdict, Verdict::DoesNotHold);
        assert_eq!(slower.ratio.as_deref(), Some("200× the claimed overhead"));
    }
}
