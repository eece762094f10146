//! trace.json: the run's token timeline in the Chrome trace-event format
//! (JSON object form; opens offline in Perfetto and in Chrome's
//! about://tracing). One process track per backend, one complete event ("X")
//! per generation and per token: the prefill (request to first token) and
//! each inter-token interval, on the consumer's clock. Where a backend's
//! tokens are also stamped by its worker (python-subprocess), a second thread
//! carries those, so the pipe's share of each token shows as the offset.
//! With `bench --phases`, a third thread carries every recorded phase span
//! (build, dispatch, wait, host, crossing, consumer, pipe) on the worker's
//! generation thread, nested as recorded, so a token can be opened into the
//! phases it was spent in.

use super::{ExportError, Exporter};
use crate::phases::{Span, PHASE_NAMES};
use crate::results::{BackendResult, BenchResults, RepRecord};
use serde_json::{json, Value};

pub struct TraceExporter;

/// Thread ids within a backend's track.
const CONSUMER_TID: u64 = 1;
const WORKER_TID: u64 = 2;
const PHASES_TID: u64 = 3;

impl Exporter for TraceExporter {
    fn file_name(&self) -> &'static str {
        "trace.json"
    }

    fn render(&self, results: &BenchResults) -> Result<Vec<u8>, ExportError> {
        let origin = results
            .backends
            .iter()
            .flat_map(|b| b.reps.iter().map(|r| r.request_sent_ns))
            .filter(|&t| t > 0)
            .min()
            .unwrap_or(0);
        let mut events = Vec::new();
        for (pid, b) in results.backends.iter().enumerate() {
            let pid = pid as u64 + 1;
            events.extend(track_names(b, pid));
            for rep in &b.reps {
                events.extend(rep_events(rep, pid, origin));
                events.extend(phase_events(rep, pid, origin));
            }
        }
        let doc = json!({
            "traceEvents": events,
            "displayTimeUnit": "ms",
            "otherData": { "run_id": results.run_id, "scenario": results.scenario.name },
        });
        serde_json::to_vec(&doc).map_err(|e| ExportError::Render {
            file: "trace.json",
            message: e.to_string(),
        })
    }
}

/// Metadata events naming the backend's process and its threads.
fn track_names(b: &BackendResult, pid: u64) -> Vec<Value> {
    let meta = |name: &str, tid: u64, value: &str| json!({"ph": "M", "name": name, "pid": pid, "tid": tid, "args": {"name": value}});
    let mut out = vec![
        meta("process_name", 0, &b.name),
        meta("thread_name", CONSUMER_TID, "consumer (token held)"),
    ];
    if b.reps.iter().any(|r| r.producer_ns.is_some()) {
        out.push(meta("thread_name", WORKER_TID, "worker (token produced)"));
    }
    if b.reps.iter().any(|r| r.phases.is_some()) {
        out.push(meta("thread_name", PHASES_TID, "worker phases"));
    }
    out
}

/// Microseconds since the run's first request, as trace viewers expect.
fn us(t_ns: u64, origin: u64) -> f64 {
    t_ns.saturating_sub(origin) as f64 / 1000.0
}

fn span(name: String, pid: u64, tid: u64, from: u64, to: u64, origin: u64) -> Value {
    slice("token", name, pid, tid, from, to, origin)
}

fn slice(cat: &str, name: String, pid: u64, tid: u64, from: u64, to: u64, origin: u64) -> Value {
    json!({
        "ph": "X", "name": name, "cat": cat, "pid": pid, "tid": tid,
        "ts": us(from, origin), "dur": to.saturating_sub(from) as f64 / 1000.0,
    })
}

/// The rep's phase spans, outer spans first where they start together (as
/// trace viewers nest complete events).
fn phase_events(rep: &RepRecord, pid: u64, origin: u64) -> Vec<Value> {
    let Some(spans) = &rep.phases else {
        return Vec::new();
    };
    let mut sorted: Vec<&Span> = spans
        .iter()
        .filter(|s| (s[0] as usize) < PHASE_NAMES.len() && s[2] >= s[1])
        .collect();
    sorted.sort_by_key(|s| (s[1], std::cmp::Reverse(s[2])));
    sorted
        .into_iter()
        .map(|s| {
            let name = PHASE_NAMES[s[0] as usize].to_string();
            slice("phase", name, pid, PHASES_TID, s[1], s[2], origin)
        })
        .collect()
}

/// The generation, its prefill and every inter-token interval of one rep.
fn rep_events(rep: &RepRecord, pid: u64, origin: u64) -> Vec<Value> {
    let (Some(&first), Some(&last)) = (rep.consumer_ns.first(), rep.consumer_ns.last()) else {
        return Vec::new();
    };
    let start = rep.request_sent_ns;
    let gen = format!("rep {}", rep.index);
    let mut out = vec![
        span(gen, pid, CONSUMER_TID, start, last, origin),
        span("prefill".into(), pid, CONSUMER_TID, start, first, origin),
    ];
    let mut stamps_on = |stamps: &[u64], tid: u64| {
        for (i, w) in stamps.windows(2).enumerate() {
            out.push(span(
                format!("token {}", i + 1),
                pid,
                tid,
                w[0],
                w[1],
                origin,
            ));
        }
    };
    stamps_on(&rep.consumer_ns, CONSUMER_TID);
    if let Some(producer) = &rep.producer_ns {
        stamps_on(producer, WORKER_TID);
    }
    out
}
