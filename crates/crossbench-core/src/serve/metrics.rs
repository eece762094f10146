//! What one serve run measured, from its raw stamps: per request TTFT,
//! TPOT, inter-token gaps, end-to-end and queueing delay; per run the
//! output tokens and requests per second over the measured window, goodput
//! at the scenario's SLO, crossings per token, CPU and threads. Warm-up
//! requests (ids below `warmup_requests`) are left out of all of it.
//!
//! Definitions (vLLM's `bench serve` and MLPerf LoadGen's):
//! * TTFT = first token − arrival (open loop: scheduled arrival, so a late
//!   submit counts; closed loop: the submit);
//! * TPOT = (last − first) / (tokens − 1); ITL = each gap between tokens;
//! * end-to-end = last token − arrival;
//! * queueing = start of the step that prefilled it − submit;
//! * the window runs from the first measured arrival to the last measured
//!   token; rates and goodput divide by it.

pub use crate::results::serve::{Percentiles, RunMetrics};
use crate::results::serve::{RequestRecord, ServeRun};
use crate::scenario::Slo;
use crate::stats::{diffs, summarize};

/// Percentiles from an HdrHistogram of 3 significant digits (within 0.1%).
fn percentiles(samples: &[u64]) -> Option<Percentiles> {
    summarize(samples).map(|s| Percentiles {
        count: s.count,
        mean: s.mean,
        p50: s.p50,
        p90: s.p90,
        p99: s.p99,
        max: s.max,
    })
}

/// One request's latencies; None where it has too few tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics {
    pub id: u64,
    pub tokens: usize,
    pub complete: bool,
    pub ttft_ns: Option<u64>,
    pub tpot_ns: Option<f64>,
    pub e2e_ns: Option<u64>,
    pub queue_ns: Option<u64>,
    pub itl_ns: Vec<u64>,
    /// Complete, TTFT within the SLO, and TPOT too (when it has one).
    pub meets_slo: bool,
}

/// Per-request metrics; `prefill_step_ns` is the start of the step that
/// prefilled it (from the schedule), `max_new` what it asked for.
pub fn request_metrics(
    r: &RequestRecord,
    max_new: u32,
    prefill_step_ns: Option<u64>,
    slo: &Slo,
) -> RequestMetrics {
    let first = r.t_ns.first().copied();
    let last = r.t_ns.last().copied();
    let tokens = r.t_ns.len();
    let tpot_ns = match (first, last) {
        (Some(f), Some(l)) if tokens > 1 => Some(l.saturating_sub(f) as f64 / (tokens - 1) as f64),
        _ => None,
    };
    let ttft_ns = first.map(|f| f.saturating_sub(r.arrival_ns));
    let complete = r.error.is_none() && tokens == max_new as usize;
    let meets_slo = complete
        && ttft_ns.is_some_and(|t| t as f64 <= slo.ttft_ms * 1e6)
        && tpot_ns.map_or(true, |t| t <= slo.tpot_ms * 1e6);
    RequestMetrics {
        id: r.id,
        tokens,
        complete,
        ttft_ns,
        tpot_ns,
        e2e_ns: last.map(|l| l.saturating_sub(r.arrival_ns)),
        queue_ns: prefill_step_ns.map(|s| s.saturating_sub(r.submit_ns)),
        itl_ns: diffs(&r.t_ns),
        meets_slo,
    }
}

/// The run's metrics; `max_new` is each trace request's `max_new` by id.
pub fn run_metrics(run: &ServeRun, max_new: &[u32], warmup: u32, slo: &Slo) -> RunMetrics {
    let prefill_at = prefill_steps(run, max_new.len());
    let measured: Vec<&RequestRecord> = run
        .requests
        .iter()
        .filter(|r| r.id >= u64::from(warmup))
        .collect();
    let per_request: Vec<RequestMetrics> = measured
        .iter()
        .map(|r| {
            let i = r.id as usize;
            let asked = max_new.get(i).copied().unwrap_or(0);
            request_metrics(r, asked, prefill_at.get(i).copied().flatten(), slo)
        })
        .collect();
    let expected = max_new.len().saturating_sub(warmup as usize);
    let window_ns = window(&measured);
    let per_s = |n: usize| match window_ns {
        0 => 0.0,
        w => n as f64 * 1e9 / w as f64,
    };
    let completed = per_request.iter().filter(|m| m.complete).count();
    let good = per_request.iter().filter(|m| m.meets_slo).count();
    let output_tokens = per_request.iter().map(|m| m.tokens).sum::<usize>();
    let all = |f: fn(&RequestMetrics) -> Option<u64>| -> Option<Percentiles> {
        percentiles(&per_request.iter().filter_map(f).collect::<Vec<u64>>())
    };
    let itls: Vec<u64> = per_request
        .iter()
        .flat_map(|m| m.itl_ns.iter().copied())
        .collect();
    RunMetrics {
        measured_requests: expected,
        completed_requests: completed,
        failed_requests: expected - completed.min(expected),
        output_tokens: output_tokens as u64,
        window_ns,
        output_tokens_per_s: per_s(output_tokens),
        requests_per_s: per_s(completed),
        goodput_requests_per_s: per_s(good),
        slo_attainment: if expected > 0 {
            good as f64 / expected as f64
        } else {
            0.0
        },
        ttft_ns: all(|m| m.ttft_ns),
        tpot_ns: all(|m| m.tpot_ns.map(|t| t.round() as u64)),
        itl_ns: percentiles(&itls),
        e2e_ns: all(|m| m.e2e_ns),
        queue_ns: all(|m| m.queue_ns),
        ..readings(run)
    }
}

/// First measured arrival to last measured token (0 when there is none).
fn window(measured: &[&RequestRecord]) -> u64 {
    let start = measured.iter().map(|r| r.arrival_ns).min();
    let end = measured.iter().filter_map(|r| r.t_ns.last().copied()).max();
    match (start, end) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        _ => 0,
    }
}

/// What the run reports as a whole: crossings and pipe messages per token
/// of the whole serve (warm-up included: the counters cover it), CPU,
/// threads, steps.
fn readings(run: &ServeRun) -> RunMetrics {
    let served = run.served.as_ref();
    let tokens = served.and_then(|s| s.u64("tokens")).filter(|&t| t > 0);
    let crossings = served.and_then(|s| Some(s.u64("calls")? + s.u64("callbacks").unwrap_or(0)));
    let pipe = run.ipc.messages_in + run.ipc.messages_out;
    RunMetrics {
        crossings_per_token: crossings.zip(tokens).map(|(c, t)| c as f64 / t as f64),
        pipe_messages_per_token: tokens.filter(|_| pipe > 0).map(|t| pipe as f64 / t as f64),
        process_cpu_ns: served.and_then(|s| s.u64("process_cpu_ns")),
        client_cpu_ns: run.client_cpu_ns,
        os_threads: served.and_then(|s| s.u64("os_threads")),
        steps: served.and_then(|s| s.u64("steps")),
        max_active: served.and_then(|s| s.u64("max_active")),
        ..RunMetrics::default()
    }
}

/// Request id -> the start of the step that prefilled it (None for ids the
/// schedule never prefilled, or beyond the trace).
fn prefill_steps(run: &ServeRun, n: usize) -> Vec<Option<u64>> {
    let mut at = vec![None; n];
    for step in &run.schedule {
        for &id in step.prefilled() {
            if let Some(slot) = at.get_mut(id as usize) {
                slot.get_or_insert(step.t_ns());
            }
        }
    }
    at
}

/// A run-level scalar, as the design summaries and the chart read it.
pub type RunSeries = fn(&RunMetrics) -> Option<f64>;

/// Every run-level scalar kept per design as the median over its reps.
pub const RUN_SERIES: [(&str, RunSeries); 17] = [
    ("output_tokens_per_s", |m| Some(m.output_tokens_per_s)),
    ("requests_per_s", |m| Some(m.requests_per_s)),
    ("goodput_requests_per_s", |m| Some(m.goodput_requests_per_s)),
    ("slo_attainment", |m| Some(m.slo_attainment)),
    ("ttft_p50_ns", |m| m.ttft_ns.map(|p| p.p50)),
    ("ttft_p99_ns", |m| m.ttft_ns.map(|p| p.p99)),
    ("tpot_p50_ns", |m| m.tpot_ns.map(|p| p.p50)),
    ("tpot_p99_ns", |m| m.tpot_ns.map(|p| p.p99)),
    ("itl_p99_ns", |m| m.itl_ns.map(|p| p.p99)),
    ("e2e_p99_ns", |m| m.e2e_ns.map(|p| p.p99)),
    ("queue_p99_ns", |m| m.queue_ns.map(|p| p.p99)),
    ("crossings_per_token", |m| m.crossings_per_token),
    ("pipe_messages_per_token", |m| m.pipe_messages_per_token),
    ("process_cpu_ns", |m| m.process_cpu_ns.map(|v| v as f64)),
    ("client_cpu_ns", |m| m.client_cpu_ns.map(|v| v as f64)),
    ("os_threads", |m| m.os_threads.map(|v| v as f64)),
    ("failed_requests", |m| Some(m.failed_requests as f64)),
];

/// The series compared with the floor, rep by rep.
pub const COMPARED_SERIES: [&str; 3] = ["output_tokens_per_s", "tpot_p50_ns", "ttft_p99_ns"];

/// The series called `name` of `RUN_SERIES`.
pub fn series(name: &str) -> Option<RunSeries> {
    RUN_SERIES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
