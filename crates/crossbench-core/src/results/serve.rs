//! The types of the `serve` section of results.json (docs/formats.md): per load point,
//! per design, every run raw (each request's ids and stamps, the step
//! schedule, the worker's `served` readings) with its metrics, the design's
//! medians over reps, its paired ratios vs native-cpp, and the equal-work
//! verdicts. Shaped for the report's throughput–latency chart: one point
//! per (design, load), `summary` holding the medians it plots.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::results::BackendStatus;
use crate::scenario::{Arrival, LoadPoint, Slo};
use crate::stats::Interval;
use crate::worker::IpcCounts;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeResults {
    pub arrival: Arrival,
    /// Requests served first in every run and left out of every metric
    /// (ids 0..warmup_requests).
    pub warmup_requests: u32,
    /// Measured requests per run.
    pub requests: u32,
    pub max_batch: u32,
    pub slo: Slo,
    /// The backend the ratios divide by (native-cpp).
    pub floor: String,
    /// One per offered load, in the order run (a sweep's grid, or one).
    pub points: Vec<ServePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServePoint {
    pub load: LoadPoint,
    /// "C=4" or "λ=2/s".
    pub label: String,
    /// The trace file every design of this point read, in the run directory.
    pub trace_file: String,
    pub trace_requests: usize,
    pub trace_new_tokens: u64,
    pub designs: Vec<DesignServe>,
    /// Steps (prefilled and decoded ids per step) equal across the designs
    /// on the shim's engine: closed loop only, where admission does not
    /// depend on timing.
    pub schedule_check: EqualityCheck,
    /// Token ids per request equal across the designs on the shim's engine.
    pub ids_check: EqualityCheck,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignServe {
    pub name: String,
    /// False for a design running another engine (mlx-lm-batch): its own
    /// row, never in the equal-work checks.
    pub shim_engine: bool,
    /// How the client reached the engine: `in_process` or `pipe`.
    pub client: ClientKind,
    /// Ok until a run fails; the design then sits out this point's other reps.
    pub status: BackendStatus,
    pub error: Option<String>,
    pub runs: Vec<ServeRun>,
    /// Run metric (see `metrics::RUN_SERIES`) -> median over the ok runs.
    pub summary: BTreeMap<String, f64>,
    /// Series -> median of the per-rep ratio this design / the floor in the
    /// same rep, with its distribution-free interval: `output_tokens_per_s`,
    /// `tpot_p50_ns`, `ttft_p99_ns`. Empty for the floor itself.
    pub vs_floor: BTreeMap<String, Interval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// `serve trace=PATH`: the client runs in the worker, in its language.
    InProcess,
    /// `serve_open`/`submit`/`serve_close`: the driver is the client.
    Pipe,
}

/// One design's serve of the whole trace in a fresh worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeRun {
    pub rep: u32,
    pub status: BackendStatus,
    pub error: Option<String>,
    /// The client's start (CLOCK_MONOTONIC): open-loop arrivals count from it.
    pub start_ns: Option<u64>,
    /// Every request that produced anything, id order (warm-up ones too).
    pub requests: Vec<RequestRecord>,
    pub schedule: Vec<Step>,
    pub served: Option<Served>,
    /// Pipe traffic of the serve (submits out, token lines in).
    pub ipc: IpcCounts,
    /// Pipe designs: the driver's CPU time during the serve (the client's side).
    pub client_cpu_ns: Option<u64>,
    /// The worker's peak RSS (wait4) and how it exited.
    pub peak_rss_bytes: Option<u64>,
    pub exit_status: Option<String>,
    pub load_ns: Option<u64>,
    pub metrics: Option<RunMetrics>,
}

/// One request as its consumer saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: u64,
    /// Just before the client's submit call.
    pub submit_ns: u64,
    /// When it arrived: open loop, the client's start + its trace arrival
    /// (a late submit counts against the design); closed loop, `submit_ns`.
    pub arrival_ns: u64,
    pub ids: Vec<u32>,
    /// When the consumer held each token.
    pub t_ns: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An equal-work verdict of one load point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EqualityCheck {
    /// False when fewer than two runs can be compared, or (schedule) in an
    /// open loop; `note` says why.
    pub applicable: bool,
    pub all_equal: bool,
    /// The run every other is compared with ("native-cpp rep 1").
    pub reference: Option<String>,
    /// Runs compared with the reference.
    pub compared: usize,
    pub note: String,
    /// The first difference of each run that differs.
    pub mismatches: Vec<String>,
}

impl EqualityCheck {
    pub fn failed(&self) -> bool {
        self.applicable && !self.all_equal
    }
}

impl ServeResults {
    /// "C=4 schedule: ..." for every failed equal-work check.
    pub fn failed_checks(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.points {
            for (what, check) in [("schedule", &p.schedule_check), ("ids", &p.ids_check)] {
                if check.failed() {
                    out.extend(
                        check
                            .mismatches
                            .iter()
                            .map(|m| format!("{} {what}: {m}", p.label)),
                    );
                }
            }
        }
        out
    }
}

/// One engine step: its start (CLOCK_MONOTONIC ns), the requests it
/// prefilled, the requests in its batched decode pass. On the wire and in
/// results.json: `[t_ns, [prefilled ids], [decode ids]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step(pub u64, pub Vec<u64>, pub Vec<u64>);

impl Step {
    pub fn t_ns(&self) -> u64 {
        self.0
    }
    pub fn prefilled(&self) -> &[u64] {
        &self.1
    }
    pub fn decoded(&self) -> &[u64] {
        &self.2
    }
}

/// The `served` event: the engine's statistics and the worker's readings
/// (`requests`, `tokens`, `steps`, `calls`, `callbacks`, `process_cpu_ns`,
/// `os_threads`, ...). Kept whole, whatever keys a worker adds (Go adds
/// `cgo_calls`, `go_callbacks` and a `go` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Served(pub BTreeMap<String, serde_json::Value>);

impl Served {
    /// A non-negative integer field, if present.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(serde_json::Value::as_u64)
    }
}

/// Percentiles of one latency over a run's measured requests, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// What one run measured over its measured requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Requests after the warm-up ones, and how many of them completed
    /// (every token, no error) or failed.
    pub measured_requests: usize,
    pub completed_requests: usize,
    pub failed_requests: usize,
    pub output_tokens: u64,
    /// First measured arrival to last measured token.
    pub window_ns: u64,
    pub output_tokens_per_s: f64,
    pub requests_per_s: f64,
    /// Completed requests meeting the SLO, per second of the window.
    pub goodput_requests_per_s: f64,
    /// Fraction of measured requests meeting the SLO.
    pub slo_attainment: f64,
    pub ttft_ns: Option<Percentiles>,
    pub tpot_ns: Option<Percentiles>,
    pub itl_ns: Option<Percentiles>,
    pub e2e_ns: Option<Percentiles>,
    pub queue_ns: Option<Percentiles>,
    /// (shim calls + callbacks) / tokens of the whole serve, from `served`.
    pub crossings_per_token: Option<f64>,
    /// Pipe messages both ways per token of the whole serve: one per token
    /// for the pipe designs; the in-process ones write their request events
    /// after the serve.
    pub pipe_messages_per_token: Option<f64>,
    /// The worker's CPU during the serve (`served.process_cpu_ns`).
    pub process_cpu_ns: Option<u64>,
    /// Pipe designs: the driver's (the client's) CPU during the serve.
    pub client_cpu_ns: Option<u64>,
    pub os_threads: Option<u64>,
    pub steps: Option<u64>,
    pub max_active: Option<u64>,
}
