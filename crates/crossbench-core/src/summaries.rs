//! A backend's summaries derived from its raw reps: percentiles and
//! histograms per metric, memory peaks, crossing counts and the phase split.
//! Kept out of `results` (the schema) so the schema depends on no analysis.

use std::collections::BTreeMap;

use crate::results::{BackendResult, Crossings, RepRecord};
use crate::stats::{encode_histogram, histogram, rep_metrics, summarize, summarize_f64};
use crate::worker::IpcCounts;

impl BackendResult {
    /// Recomputes summaries, histograms, memory and crossings from the reps.
    pub fn recompute(&mut self, prompt_tokens: usize) {
        let mut series = MetricSeries::default();
        for rep in &self.reps {
            series.add(rep, prompt_tokens);
        }
        self.summaries.clear();
        self.histograms.clear();
        for (name, samples) in &series.integer {
            if let Some(s) = summarize(samples) {
                self.summaries.insert(name.to_string(), s);
            }
            if let Some(h) = histogram(samples) {
                // The summaries and raw samples stay; only the encoded copy is lost.
                match encode_histogram(&h) {
                    Ok(text) => {
                        self.histograms.insert(name.to_string(), text);
                    }
                    Err(e) => eprintln!(
                        "crossbench: {}: the {name} histogram cannot be serialized ({e}); \
                         results.json keeps its samples and summary",
                        self.name
                    ),
                }
            }
        }
        for (name, samples) in &series.real {
            if let Some(s) = summarize_f64(samples) {
                self.summaries.insert(name.to_string(), s);
            }
        }
        // Per rep when each rep loads its own worker, else the long-lived worker's.
        let per_rep = self.reps.iter().filter_map(|r| r.load_peak_rss_bytes).max();
        self.memory.load_peak_rss_bytes = per_rep.max(self.load_peak_rss_bytes);
        self.memory.worker_reported_peak_rss_bytes = max_counter(&self.reps, "peak_rss_bytes");
        self.memory.mlx_peak_bytes = max_counter(&self.reps, "mlx_peak_bytes");
        let rep_rss = self.reps.iter().filter_map(|r| r.peak_rss_bytes).max();
        if rep_rss.is_some() {
            self.memory.peak_rss_bytes = self.memory.peak_rss_bytes.max(rep_rss);
        }
        self.crossings = crossings(&self.reps);
        self.phase_split = crate::attribution::phase_split(&self.reps);
    }
}

/// Raw samples per metric, pooled over reps.
#[derive(Default)]
struct MetricSeries {
    integer: BTreeMap<&'static str, Vec<u64>>,
    real: BTreeMap<&'static str, Vec<f64>>,
}

impl MetricSeries {
    fn add(&mut self, rep: &RepRecord, prompt_tokens: usize) {
        let mut int = |k: &'static str, v: u64| self.integer.entry(k).or_default().push(v);
        if let Some(v) = rep.load_ns {
            int("load_ns", v);
        }
        if let Some(v) = rep.spawn_to_loaded_ns {
            int("spawn_to_loaded_ns", v);
        }
        let producer = rep.producer_ns.as_deref();
        let Some(m) = rep_metrics(
            rep.request_sent_ns,
            &rep.consumer_ns,
            producer,
            prompt_tokens,
            rep.prefill_ns,
        ) else {
            return;
        };
        int("ttft_ns", m.ttft_ns);
        int("e2e_ns", m.e2e_ns);
        int("worker_prefill_ns", rep.prefill_ns);
        int("worker_decode_ns", rep.decode_ns);
        self.integer.entry("itl_ns").or_default().extend(&m.itl_ns);
        if !m.ipc_ns.is_empty() {
            self.integer.entry("ipc_ns").or_default().extend(&m.ipc_ns);
        }
        let mut real = |k: &'static str, v: Option<f64>| {
            if let Some(v) = v {
                self.real.entry(k).or_default().push(v);
            }
        };
        real("tpot_ns", m.tpot_ns);
        real("decode_tokens_per_s", m.decode_tokens_per_s);
        real("prefill_tokens_per_s", m.prefill_tokens_per_s);
    }
}

fn max_counter(reps: &[RepRecord], key: &str) -> Option<u64> {
    reps.iter()
        .filter_map(|r| r.counters.get(key).copied())
        .max()
}

fn mean_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn crossings(reps: &[RepRecord]) -> Crossings {
    let counter = |key: &str| {
        mean_of(
            reps.iter()
                .filter_map(|r| r.counters.get(key).map(|&v| v as f64)),
        )
    };
    let per_token = |key: &str| {
        mean_of(reps.iter().filter_map(|r| {
            let tokens = r.token_ids.len();
            r.counters
                .get(key)
                .filter(|_| tokens > 0)
                .map(|&v| v as f64 / tokens as f64)
        }))
    };
    let ipc = |f: fn(&IpcCounts) -> u64| mean_of(reps.iter().map(|r| f(&r.ipc) as f64));
    Crossings {
        rust_to_c_calls: counter("calls"),
        c_to_rust_callbacks: counter("callbacks"),
        ipc_messages_in: ipc(|c| c.messages_in),
        ipc_messages_out: ipc(|c| c.messages_out),
        ipc_bytes_in: ipc(|c| c.bytes_in),
        ipc_bytes_out: ipc(|c| c.bytes_out),
        mlx_evals_per_token: per_token("evals"),
        mlx_syncs_per_token: per_token("syncs"),
    }
}
