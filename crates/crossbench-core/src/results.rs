//! The versioned results schema (`schema_version: 1`). What analysis derives
//! from the reps is computed elsewhere (`summaries`, `overhead`,
//! `attribution`, `agreement`); only its types live here (`derived`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::backend::StampSource;
use crate::design::RunDesign;
use crate::environment::Environment;
use crate::scenario::{Dtype, ModelSource, ScenarioKind};
use crate::stats::{Interval, Summary};
use crate::worker::IpcCounts;

mod derived;
pub mod serve;

pub use derived::{Agreement, AgreementEntry, PhaseSplit, Resolution};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResults {
    pub schema_version: u32,
    /// `YYYYMMDDTHHMMSSZ-<pid>-<random hex>`: sorts by start time, unique.
    pub run_id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: RunStatus,
    /// The scenario as its file says (warmup, repetitions, timeout unchanged
    /// by flags): `plan` says what ran.
    pub scenario: ScenarioRecord,
    /// What ran: warmup, repetitions and timeout after the flags, and the
    /// repetitions `--until-resolution` settled on. Older results lack it:
    /// their `scenario` held what ran (see `ran`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRecord>,
    pub environment: Environment,
    pub backends: Vec<BackendResult>,
    pub agreement: Agreement,
    /// True when any backend is `noisy` (see `overhead::CV_LIMIT`): its
    /// timings are too variable to pass or fail a regression gate.
    #[serde(default)]
    pub noisy: bool,
    /// The coefficient-of-variation limit `noisy` was judged against.
    #[serde(default)]
    pub cv_limit: f64,
    /// Backend -> percent slowdown injected on purpose (`bench
    /// --inject-slowdown`). Non-empty means this is not a clean measurement.
    #[serde(default)]
    pub injected_slowdowns: BTreeMap<String, f64>,
    /// Set when this is a profiling run: its timings carry the profiler's
    /// cost, so it is never a baseline or a gate input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiling: Option<Profiling>,
    /// The model that actually ran (after --preset/--dtype/--layers/--model),
    /// not the scenario file's default.
    #[serde(default)]
    pub model: Option<ModelRun>,
    /// Order, residency, gap, A/A twin and resolution plan of this run.
    #[serde(default)]
    pub design: RunDesign,
    /// The smallest difference this run can tell apart (see `overhead`).
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// The driver's own peak RSS and CPU time, and the measured cost of
    /// recording one token (see `footprint`).
    #[serde(default)]
    pub harness: Option<crate::footprint::HarnessFootprint>,
    /// Kind `serve`: every run of every design at every load point, its
    /// metrics, the paired ratios vs native-cpp and the equal-work checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<serve::ServeResults>,
}

/// The warmup, repetitions and timeout a run used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub warmup: u32,
    /// Measured repetitions per backend: the plan's, or the total that
    /// `--until-resolution` planned after the pilot.
    pub repetitions: u32,
    pub timeout_s: f64,
}

impl BenchResults {
    /// What ran: `plan`, or for results written before it, the scenario
    /// record (which then held the values after the flags).
    pub fn ran(&self) -> PlanRecord {
        self.plan.unwrap_or(PlanRecord {
            warmup: self.scenario.warmup,
            repetitions: self.scenario.repetitions,
            timeout_s: self.scenario.timeout_s,
        })
    }

    /// The backends' names, in the run's order.
    pub fn backend_names(&self) -> Vec<&str> {
        self.backends.iter().map(|b| b.name.as_str()).collect()
    }
}

/// How a profiling run was profiled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profiling {
    /// Every worker recorded its phase timeline (`--phases`).
    pub phases: bool,
    /// `crossbench profile`: the `perf record` event each worker ran under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perf_event: Option<String>,
    /// Backend -> its flame graph, relative to the run directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flame_graphs: BTreeMap<String, String>,
}

/// What model ran: where it came from and what its config.json says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    /// The preset name, or None for a model directory given by path.
    pub preset: Option<String>,
    /// float32 | float16 | bfloat16 | q4 | q8 as asked, or as the config says.
    pub dtype: Option<String>,
    /// Layers override (--layers), if any.
    pub layers_override: Option<u32>,
    pub dir: String,
    pub config_sha256: Option<String>,
    /// From config.json: num_hidden_layers, hidden_size, vocab_size and the
    /// quantization bits (None: not quantized).
    pub num_hidden_layers: Option<u64>,
    pub hidden_size: Option<u64>,
    pub vocab_size: Option<u64>,
    pub quantization_bits: Option<u64>,
    /// Sum of the safetensors files' sizes.
    pub weight_bytes: Option<u64>,
}

impl ModelRun {
    /// "preset small float32, 8 layers, hidden 1024, vocab 32768, 672.1 MiB
    /// of weights, DIR (config sha256 d05aebd7a707)".
    pub fn describe(&self) -> String {
        let num = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
        let what = match (&self.preset, &self.dtype) {
            (Some(p), Some(t)) => format!("preset {p} {t}"),
            (Some(p), None) => format!("preset {p}"),
            (None, _) => "model directory".to_string(),
        };
        let hash = self.config_sha256.as_deref().unwrap_or("?");
        format!(
            "{what}{}, {} layers, hidden {}, vocab {}{}, {} of weights, {} (config sha256 {})",
            self.layers_override
                .map_or(String::new(), |l| format!(" (--layers {l})")),
            num(self.num_hidden_layers),
            num(self.hidden_size),
            num(self.vocab_size),
            self.quantization_bits
                .map_or(String::new(), |b| format!(", {b}-bit")),
            self.weight_bytes.map_or("?".to_string(), |b| format!(
                "{:.1} MiB",
                b as f64 / 1048576.0
            )),
            self.dir,
            // Characters, not bytes: a hostile results.json may hold any text.
            hash.chars().take(12).collect::<String>()
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still measuring (files written after each round say so).
    Running,
    Complete,
    /// Interrupted: what was measured is kept.
    Incomplete,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRecord {
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub description: String,
    pub kind: ScenarioKind,
    pub model: ModelSource,
    pub dtype: Dtype,
    pub prompt_tokens: usize,
    pub max_new_tokens: u32,
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
    pub warmup: u32,
    pub repetitions: u32,
    pub timeout_s: f64,
    pub detokenize: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendStatus {
    Ok,
    Failed,
    TimedOut,
    Incomplete,
    Unavailable,
}

impl BackendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendStatus::Ok => "ok",
            BackendStatus::Failed => "failed",
            BackendStatus::TimedOut => "timed_out",
            BackendStatus::Incomplete => "incomplete",
            BackendStatus::Unavailable => "unavailable",
        }
    }
}

/// One measured repetition, raw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepRecord {
    pub index: u32,
    /// Driver stamp taken just before writing the request (generate), or
    /// just before spawning the worker (load).
    pub request_sent_ns: u64,
    pub done_receipt_ns: Option<u64>,
    pub token_ids: Vec<u32>,
    /// When the consumer held each token (see `StampSource`).
    pub consumer_ns: Vec<u64>,
    /// The worker's stamps, for receipt-stamped backends.
    pub producer_ns: Option<Vec<u64>>,
    pub prefill_ns: u64,
    pub decode_ns: u64,
    /// Counters of the done event (calls, callbacks, evals, ...).
    pub counters: BTreeMap<String, u64>,
    pub ipc: IpcCounts,
    /// Load kind: the worker's own load time.
    pub load_ns: Option<u64>,
    /// Load kind: spawn to `loaded` receipt, as the driver saw it.
    pub spawn_to_loaded_ns: Option<u64>,
    /// Load kind: the fresh worker's peak RSS from wait4.
    pub peak_rss_bytes: Option<u64>,
    /// The worker's peak RSS when its model was loaded (rep that started it).
    #[serde(default)]
    pub load_peak_rss_bytes: Option<u64>,
    /// Token lines the driver received before the worker stamped the last
    /// token (see driver::exec): per-token IPC inside the generation.
    #[serde(default)]
    pub messages_in_generation: Option<u32>,
    /// `bench --phases`: the worker's phase spans `[phase id, begin_ns,
    /// end_ns]` (crate::phases), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<Vec<crate::phases::Span>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// ru_maxrss of the worker from wait4 (max over workers for load kind).
    pub peak_rss_bytes: Option<u64>,
    /// Largest `peak_rss_bytes` a done event reported.
    pub worker_reported_peak_rss_bytes: Option<u64>,
    /// Largest `mlx_peak_bytes` a done event reported.
    pub mlx_peak_bytes: Option<u64>,
    /// Largest peak RSS a worker reported once loaded: the load's peak. The
    /// run's peak above it is what generating added.
    #[serde(default)]
    pub load_peak_rss_bytes: Option<u64>,
}

/// Boundary crossings, as means per measured rep (per token where named).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Crossings {
    pub rust_to_c_calls: Option<f64>,
    pub c_to_rust_callbacks: Option<f64>,
    pub ipc_messages_in: Option<f64>,
    pub ipc_messages_out: Option<f64>,
    pub ipc_bytes_in: Option<f64>,
    pub ipc_bytes_out: Option<f64>,
    pub mlx_evals_per_token: Option<f64>,
    pub mlx_syncs_per_token: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendResult {
    pub name: String,
    pub summary: String,
    /// Caller language, crossing shape, role, display order. Older results
    /// lack it: `descriptor()` then reads the table by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<crate::backend::BackendDescriptor>,
    pub stamp_source: Option<StampSource>,
    pub ipc_per_token: bool,
    pub status: BackendStatus,
    pub error: Option<String>,
    /// The long-lived worker's load time (generate kind).
    pub load_ns: Option<u64>,
    /// The long-lived workers' largest peak RSS once loaded (generate kind).
    #[serde(default)]
    pub load_peak_rss_bytes: Option<u64>,
    /// The MLX device as the worker reported it in its `loaded` event (not as
    /// the driver asked); None for workers without MLX or older results.
    #[serde(default)]
    pub device: Option<String>,
    pub warmups_done: u32,
    pub reps: Vec<RepRecord>,
    /// Metric name -> summary over all reps; `_ns` metrics in nanoseconds.
    pub summaries: BTreeMap<String, Summary>,
    /// Metric name -> HdrHistogram V2+DEFLATE, base64 (see `stats`).
    pub histograms: BTreeMap<String, String>,
    pub memory: Memory,
    pub crossings: Crossings,
    pub exit_status: Option<String>,
    /// Series (`decode_ns`, `itl_median_ns`) -> median of the per-rep ratio
    /// this backend / native-cpp in the same run, with its bootstrap interval
    /// (see `overhead`). Empty for native-cpp itself or without it.
    #[serde(default)]
    pub overhead_vs_native: BTreeMap<String, Interval>,
    /// Coefficient of variation of the per-rep decode time.
    #[serde(default)]
    pub decode_cv: Option<f64>,
    /// decode_cv above the run's `cv_limit`.
    #[serde(default)]
    pub noisy: bool,
    /// `bench --phases`: the typical decode token split into phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_split: Option<PhaseSplit>,
}

impl BackendResult {
    pub fn new(name: &str, summary: &str) -> Self {
        BackendResult {
            name: name.to_string(),
            summary: summary.to_string(),
            descriptor: None,
            stamp_source: None,
            ipc_per_token: false,
            status: BackendStatus::Ok,
            error: None,
            load_ns: None,
            load_peak_rss_bytes: None,
            device: None,
            warmups_done: 0,
            reps: Vec::new(),
            summaries: BTreeMap::new(),
            histograms: BTreeMap::new(),
            memory: Memory::default(),
            crossings: Crossings::default(),
            exit_status: None,
            overhead_vs_native: BTreeMap::new(),
            decode_cv: None,
            noisy: false,
            phase_split: None,
        }
    }

    /// What this backend is: as recorded, else as the table knows its name.
    pub fn descriptor(&self) -> crate::backend::BackendDescriptor {
        self.descriptor
            .unwrap_or_else(|| crate::backend::descriptor_of(&self.name))
    }

    /// Marks the backend failed (or timed out...) unless it already is.
    pub fn mark(&mut self, status: BackendStatus, error: impl Into<String>) {
        if self.status == BackendStatus::Ok {
            self.status = status;
            self.error = Some(error.into());
        }
    }

    pub fn summary_of(&self, metric: &str) -> Option<&Summary> {
        self.summaries.get(metric)
    }
}

/// `YYYYMMDDTHHMMSSZ-<pid>-<8 random hex>`: the time prefix sorts, the pid
/// and random suffix keep two runs in the same second apart.
pub fn new_run_id() -> String {
    let (compact, _) = crate::clock::utc_now();
    format!("{compact}-{}-{:08x}", std::process::id(), random_u32())
}

fn random_u32() -> u32 {
    use std::io::Read;
    let mut bytes = [0u8; 4];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if from_os.is_ok() {
        return u32::from_le_bytes(bytes);
    }
    // No urandom: the clock's low bits still differ between close calls.
    (crate::clock::monotonic_ns() as u32).rotate_left(13) ^ std::process::id()
}

/// "ffi-token +10%, ffi-batched +5%": the injected slowdowns of a run, for
/// summary.md and the gate's notes.
pub fn describe_slowdowns(slowdowns: &BTreeMap<String, f64>) -> String {
    let list: Vec<String> = slowdowns
        .iter()
        .map(|(b, p)| format!("{b} +{p}%"))
        .collect();
    list.join(", ")
}
