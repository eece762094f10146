//! The flags of `bench` (and, flattened, of `sweep` and `profile`): what a
//! user may ask of one run. `plan_builder` turns them into a plan.

use crate::setup::blas_choice::BlasIdle;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct BenchArgs {
    /// Scenario name (scenarios/NAME.toml) or path to a scenario file.
    #[arg(long, required_unless_present = "list")]
    pub scenario: Option<String>,
    /// List the scenarios and backends, one line each.
    #[arg(long)]
    pub list: bool,
    /// Model directory in the mlx-community layout (e.g. a real Mistral-7B checkpoint).
    #[arg(long, conflicts_with = "preset")]
    pub model: Option<PathBuf>,
    /// Synthetic preset to use (made on first use): tiny | small | medium | mistral-7b.
    #[arg(long)]
    pub preset: Option<String>,
    /// Weight dtype of the preset: float32 | float16 | bfloat16 | q4 | q8.
    #[arg(long)]
    pub dtype: Option<String>,
    /// Override the preset's number of layers.
    #[arg(long)]
    pub layers: Option<u32>,
    #[command(flatten)]
    pub run: RunOptions,
    /// Make one backend slower per token by PCT percent (repeatable), to test
    /// the regression gate: BACKEND=PCT, e.g. ffi-token=5. Recorded in results.json.
    #[arg(long = "inject-slowdown", value_name = "BACKEND=PCT")]
    pub inject_slowdown: Vec<String>,
    /// Write the worker command of every backend of the plan to FILE and run
    /// nothing (gate --against's rep-interleaved A/B asks the base build).
    #[arg(long, value_name = "FILE", hide = true)]
    pub print_worker_specs: Option<PathBuf>,
    /// Also run another build's workers, named BACKEND@base, from FILE (written
    /// by that build's --print-worker-specs), in the same interleaving.
    #[arg(long, value_name = "FILE", hide = true)]
    pub base_workers: Option<PathBuf>,
}

/// How a run is carried out, shared by `bench` and `sweep` (flattened into both).
#[derive(Args, Clone)]
pub struct RunOptions {
    /// Comma-separated backends (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    /// Measured repetitions (1 to 100000; default: the scenario's, rounded up
    /// to whole balanced cycles of the run's backends). Read wider
    /// than the plan's u32 so that a too-large value gets our error naming the flag.
    #[arg(long)]
    pub reps: Option<u64>,
    /// Warm-up generations (0 to 1000; default: the scenario's).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Per load / per generation timeout in seconds (at most 7 days).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Results root; each run writes <out>/<run-id>/.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// cpu | gpu (Metal on macOS; CUDA where MLX's CUDA build, mlx-cuda-13, is installed:
    /// docs/troubleshooting.md, "GPU runs"). gpu never falls back to the CPU.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// BLAS for every backend's worker: auto (Debian's OpenBLAS when installed, else
    /// PyPI's scipy-openblas32 from .venv, else the wheel's bundled reference BLAS) |
    /// openblas-pypi | bundled | a path to a BLAS to LD_PRELOAD.
    #[arg(long, default_value = "auto")]
    pub blas: String,
    /// How OpenBLAS's idle threads wait: sleep (at once; OPENBLAS_THREAD_TIMEOUT=4) |
    /// spin (OpenBLAS's default, which on 2 cores competes with the worker's threads).
    #[arg(long, value_enum, default_value = "sleep")]
    pub blas_idle: BlasIdle,
    /// OpenBLAS threads per worker (OPENBLAS_NUM_THREADS), every backend alike; default:
    /// the scenario's `[run] blas_threads`, else OpenBLAS's own (one per core). On 2 cores
    /// one thread leaves a core to the worker's other threads and the driver
    /// (docs/methodology.md, "Run design").
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub blas_threads: Option<u32>,
    #[arg(long)]
    pub no_progress: bool,
    /// Workers kept loaded: one (default: a fresh worker per rep, loaded, warmed up,
    /// measured, quit, so reps are independent) | all (loaded once; faster, but its
    /// intervals are too narrow, docs/methodology.md "Run design") | auto (all when the models fit
    /// in 60% of the available memory, else one).
    #[arg(long)]
    pub residency: Option<String>,
    /// Idle seconds before every generation, so nothing of the previous one lingers.
    #[arg(long, default_value_t = 0.0)]
    pub gap: f64,
    /// Also run a twin of BACKEND (named BACKEND~aa) in the same interleaving: the
    /// A/A interval twin/original shows how small a difference this run resolves.
    #[arg(long, value_name = "BACKEND")]
    pub aa: Option<String>,
    /// Seed of the balanced order's per-cycle assignment of backends to
    /// positions (default: a fixed seed, so reruns take the same orders);
    /// recorded in results.json.
    #[arg(long, value_name = "N")]
    pub order_seed: Option<u64>,
    /// After the planned reps (the pilot), plan once how many rounds should make
    /// every decode-overhead interval's half-width at most PCT percent, run them,
    /// and report the half-width achieved against PCT (a plan, not a guarantee).
    #[arg(long, value_name = "PCT")]
    pub until_resolution: Option<f64>,
    /// Wall-time budget of the whole run for --until-resolution (e.g. 90s, 10m; default 10m).
    #[arg(long)]
    pub budget: Option<String>,
    /// Record every token's phase timeline (build, dispatch, wait, host, crossing,
    /// consumer, pipe) in every worker: attribution in the report, phase slices in
    /// trace.json. Marks the run as a profiling run (never a baseline or gate input).
    #[arg(long)]
    pub phases: bool,
}
