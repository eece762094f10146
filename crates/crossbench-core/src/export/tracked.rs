//! The per-backend figures continuous-benchmarking tools track, computed once
//! for every tool's format (bencher.rs, github_benchmark.rs): each a median
//! over the run's reps with its distribution-free 95% interval where the reps
//! allow one.

use crate::overhead::{self, REPORT_CONFIDENCE};
use crate::results::{BackendResult, BackendStatus, BenchResults, RepRecord};
use crate::stats::order::median_ci;
use crate::stats::rep_metrics;

/// One tracked figure of one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub backend: String,
    /// Measure slug: kebab case, at most 64 characters (Bencher's limit).
    pub measure: &'static str,
    pub unit: &'static str,
    pub value: f64,
    /// The 95% interval, when the run has one for this figure.
    pub bounds: Option<(f64, f64)>,
    pub bigger_is_better: bool,
}

/// Every tracked figure of every backend that finished ok.
pub fn tracked(results: &BenchResults) -> Vec<Tracked> {
    let prompt = results.scenario.prompt_tokens;
    let mut out = Vec::new();
    for b in results
        .backends
        .iter()
        .filter(|b| b.status == BackendStatus::Ok)
    {
        let per_rep = |f: &dyn Fn(&RepRecord) -> Option<f64>| -> Vec<f64> {
            b.reps.iter().filter_map(f).collect()
        };
        let metrics = |r: &RepRecord| {
            rep_metrics(
                r.request_sent_ns,
                &r.consumer_ns,
                r.producer_ns.as_deref(),
                prompt,
                r.prefill_ns,
            )
        };
        let mut add = |measure, unit, values: Vec<f64>, bigger| {
            if let Some(t) = median_of(b, measure, unit, &values, bigger) {
                out.push(t);
            }
        };
        add(
            "e2e-time",
            "ns",
            per_rep(&|r| metrics(r).map(|m| m.e2e_ns as f64)),
            false,
        );
        add(
            "ttft",
            "ns",
            per_rep(&|r| metrics(r).map(|m| m.ttft_ns as f64)),
            false,
        );
        add(
            "itl-p50",
            "ns",
            per_rep(&overhead::rep_itl_median_ns),
            false,
        );
        add(
            "decode-throughput",
            "tokens/s",
            per_rep(&|r| metrics(r).and_then(|m| m.decode_tokens_per_s)),
            true,
        );
        out.extend(single_values(b));
    }
    out
}

/// The median of per-rep values with its interval (none under 2 reps).
fn median_of(
    b: &BackendResult,
    measure: &'static str,
    unit: &'static str,
    values: &[f64],
    bigger: bool,
) -> Option<Tracked> {
    let ci = median_ci(values, REPORT_CONFIDENCE)?;
    Some(Tracked {
        backend: b.name.clone(),
        measure,
        unit,
        value: ci.estimate,
        bounds: (ci.samples >= 2).then_some((ci.low, ci.high)),
        bigger_is_better: bigger,
    })
}

/// Figures the run has one value of (pooled p99, peak RSS) or one interval
/// of (the paired overhead ratio vs native-cpp).
fn single_values(b: &BackendResult) -> Vec<Tracked> {
    let one = |measure, unit, value: f64, bounds| Tracked {
        backend: b.name.clone(),
        measure,
        unit,
        value,
        bounds,
        bigger_is_better: false,
    };
    let mut out = Vec::new();
    if let Some(s) = b.summaries.get("itl_ns") {
        out.push(one("itl-p99", "ns", s.p99, None));
    }
    if let Some(rss) = b
        .memory
        .peak_rss_bytes
        .or(b.memory.worker_reported_peak_rss_bytes)
    {
        out.push(one("peak-rss", "bytes", rss as f64, None));
    }
    if let Some(ci) = b.overhead_vs_native.get("decode_ns") {
        let bounds = (ci.samples >= 2).then_some((ci.low, ci.high));
        out.push(one(
            "decode-ratio-vs-native-cpp",
            "ratio",
            ci.estimate,
            bounds,
        ));
    }
    out
}
