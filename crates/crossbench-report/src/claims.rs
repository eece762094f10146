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

use crossbench_core::analysis::claims::{self as analysis, OperationTimes};
use crossbench_core::backend::names;
use crossbench_core::backend::FLOOR;
use crossbench_core::stats::Interval;

use crate::claim_row::{point, row, Range, Scale};
pub use crate::claim_row::{verdict, ClaimRow, Verdict};
use crate::html::{fmt_bytes, fmt_ns};
use crate::load::Microbench;
use crate::view::{BackendView, RunView};

/// A median's interval (ns), formatted with its backend.
fn median_text(b: &BackendView, ci: Option<Interval>) -> Option<(Interval, String)> {
    let ci = ci?;
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

fn operation_times(b: &BackendView) -> OperationTimes {
    b.result
        .map(analysis::operation_times)
        .unwrap_or(OperationTimes {
            token: None,
            prompt: None,
            step: None,
        })
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
    let floor = view.backend(FLOOR).or_else(|| {
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
    let token = measure(&|b| median_text(b, operation_times(b).token));
    let prompt = measure(&|b| median_text(b, operation_times(b).prompt));
    let step = measure(&|b| median_text(b, operation_times(b).step));
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

/// One backend's interval on the floor for `series`, with its text.
fn floor_ratio(view: &RunView, name: &str, series: &str) -> Option<(Interval, String)> {
    let ci = *view.backend(name)?.overhead.get(series)?;
    Some((
        ci,
        format!(
            "{} ({name} / {FLOOR}, {series})",
            crate::html::fmt_ratio(&ci)
        ),
    ))
}

/// A ratio claimed to be at most 1 + `pct`%.
fn at_most(pct: f64) -> Range {
    Range {
        lo: 0.0,
        hi: 1.0 + pct / 100.0,
        claimed: 1.0 + pct / 100.0,
    }
}

/// The note's end-to-end claims: the Python subprocess, then the cgo designs
/// measured literally by the Go backends and by their Rust FFI counterparts.
fn overhead_rows(view: &RunView) -> Vec<ClaimRow> {
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
        floor_ratio(view, names::PYTHON_SUBPROCESS, "e2e_ns"),
        rounded_ratio(2.5, 2.0, 0.1),
        Scale::Overhead,
    )];
    for (naive, batched, counterpart) in designs {
        rows.push(row(
            claim_text(counterpart, 0),
            format!("end-to-end time ratio {naive} / native-cpp, 1.098–1.205{counterpart}"),
            floor_ratio(view, naive, "e2e_ns"),
            rounded_ratio(2.3, 2.0, 0.1),
            Scale::Overhead,
        ));
        rows.push(row(
            claim_text(counterpart, 1),
            format!("end-to-end time ratio {batched} / native-cpp at most 1.05{counterpart}"),
            floor_ratio(view, batched, "e2e_ns"),
            at_most(5.0),
            Scale::Overhead,
        ));
    }
    rows.extend(per_token_rows(view));
    rows
}

/// The per-token claims, on the design that crosses once per token.
fn per_token_rows(view: &RunView) -> Vec<ClaimRow> {
    let naive = [names::GO_CGO_TOKEN, names::FFI_TOKEN]
        .into_iter()
        .find(|n| view.backend(n).is_some())
        .unwrap_or(names::GO_CGO_TOKEN);
    vec![
        row(
            "Generate Token: crossing overhead 0.0004% per token",
            format!("median inter-token latency ratio {naive} / native-cpp at most 1.000004"),
            floor_ratio(view, naive, "itl_median_ns"),
            at_most(0.0004),
            Scale::Overhead,
        ),
        row(
            "CGO overhead is 0.01% of the time (model computation 99.9%)",
            format!("decode time ratio {naive} / native-cpp at most 1.0001"),
            floor_ratio(view, naive, "decode_ns"),
            at_most(0.01),
            Scale::Overhead,
        ),
    ]
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
    let native = view.backend(FLOOR).and_then(|b| b.peak_rss_bytes);
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

    #[test]
    fn rounding_ranges_bracket_the_figures() {
        let r = rounded_ratio(2.5, 2.0, 0.1);
        assert!((r.lo - 2.45 / 2.05).abs() < 1e-12 && (r.hi - 2.55 / 1.95).abs() < 1e-12);
        assert!(r.lo < 1.25 && 1.25 < r.hi);
    }
}
