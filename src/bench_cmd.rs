//! `crossbench bench`: resolves the scenario, model, prompt and backends, then hands
//! the plan to the core driver, which writes results/<run-id>/ after every round.

use crate::blas_choice::{blas_choice, BlasIdle};
use crate::{backends, bootstrap};
use anyhow::{bail, Context, Result};
use clap::Args;
use crossbench_core::results::ModelRun;
use crossbench_core::scenario::ModelSource;
use crossbench_core::{
    install_interrupt_handler, list_scenarios, load_scenario, run_bench, BackendStatus, BenchPlan,
    Environment, LaunchContext, LoadedScenario,
};
use std::path::{Path, PathBuf};

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
}

/// How a run is carried out, shared by `bench` and `sweep` (flattened into both).
#[derive(Args, Clone)]
pub struct RunOptions {
    /// Comma-separated backends (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    /// Measured repetitions (1 to 100000; default: the scenario's). Read wider
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
    /// cpu | gpu (Metal on macOS, CUDA where the mlx[cuda] wheel is installed).
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
    #[arg(long)]
    pub no_progress: bool,
    /// Workers kept loaded: one (default: a fresh worker per rep, loaded, warmed up,
    /// measured, quit, so reps are independent) | all (loaded once; faster, but its
    /// intervals are too narrow, README "Run design") | auto (all when the models fit
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
    /// After the planned reps (the pilot), plan once how many rounds make every
    /// decode-overhead interval's half-width at most PCT percent, and run them.
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

pub fn run(args: BenchArgs) -> Result<i32> {
    let scenarios_dir = bootstrap::project_root().join("scenarios");
    let registry = backends::registry();
    if args.list {
        print_list(&scenarios_dir, &registry)?;
        return Ok(0);
    }
    let outcome = execute(&args)?;
    println!("{}", outcome.summary_markdown);
    eprintln!("results: {}", outcome.out_dir.display());
    crate::report_cmd::write_after_bench(&outcome.out_dir);
    exit_code(&outcome)
}

/// Resolves and runs one bench (no printing); `crossbench sweep` calls it once
/// per rung.
pub fn execute(args: &BenchArgs) -> Result<crossbench_core::RunOutcome> {
    execute_with(args, |_| Ok(()))
}

/// `execute`, with `customize` applied to the plan last (`crossbench profile`).
pub fn execute_with(
    args: &BenchArgs,
    customize: impl FnOnce(&mut BenchPlan) -> Result<()>,
) -> Result<crossbench_core::RunOutcome> {
    // Every flag first: a bad one fails in milliseconds, before a model is
    // made or a run directory created.
    crate::run_flags::check(&args.run, args.layers)?;
    let scenarios_dir = bootstrap::project_root().join("scenarios");
    let registry = backends::registry();
    let name = args.scenario.as_deref().context("--scenario is required")?;
    let loaded = load_scenario(name, &scenarios_dir)?;
    let names = args
        .run
        .backends
        .clone()
        .unwrap_or_else(|| loaded.scenario.run.backends.clone());
    let chosen = backends::resolve(&registry, &names)?;
    let needs_model = chosen.iter().any(|b| !b.descriptor().is_mock());
    let model_dir = if needs_model || args.model.is_some() {
        Some(resolve_model(args, &loaded)?)
    } else {
        None
    };
    let prompt_ids = crate::run_flags::prompt_ids(&loaded, model_dir.as_deref())?;
    let exe = std::env::current_exe().context("cannot find the crossbench executable")?;
    let (blas_env, blas_name) = blas_choice(&args.run.blas, args.run.blas_idle)?;
    let mut extra_env = blas_env;
    if loaded.scenario.detokenize {
        extra_env.push(("CROSSBENCH_DETOKENIZE".into(), "1".into()));
    }
    if args.run.phases {
        extra_env.push((crossbench_core::phases::ENV.into(), "1".into()));
    }
    if loaded.scenario.run.token_progress {
        extra_env.push((
            crossbench_core::worker::TOKEN_PROGRESS_ENV.into(),
            "1".into(),
        ));
    }
    let launch = LaunchContext {
        exe,
        model_dir: model_dir.clone(),
        device: args.run.device.clone(),
        extra_env,
    };
    let model = model_dir
        .as_deref()
        .map(|dir| model_asked(args, &loaded, dir));
    let mut metadata = environment(model.as_ref(), &args.run.device);
    metadata.blas = Some(blas_name);
    if chosen
        .iter()
        .any(|b| b.descriptor().caller == crossbench_core::backend::CallerLanguage::Go)
    {
        // The toolchain that built the Go worker (its launch builds or reports it).
        if let Ok((_, tc)) = crate::go_build::worker() {
            metadata.extra.insert("go_version".into(), tc.version);
        }
    }
    let mut plan = BenchPlan::from_scenario(
        loaded,
        chosen,
        launch,
        prompt_ids,
        args.run.out.clone(),
        metadata,
    );
    plan.model = model;
    if args.run.phases {
        plan.profiling.get_or_insert_with(Default::default).phases = true;
    }
    apply_overrides(&mut plan, args)?;
    customize(&mut plan)?;
    install_interrupt_handler().context("installing the SIGINT handler")?;
    Ok(run_bench(plan)?)
}

pub fn exit_code(outcome: &crossbench_core::RunOutcome) -> Result<i32> {
    if outcome.interrupted {
        use crossbench_core::interrupt::{interrupt_cause, interrupt_exit_code};
        eprintln!(
            "interrupted ({}): the completed measurements are in {}",
            interrupt_cause().unwrap_or("interrupt"),
            outcome.out_dir.display()
        );
        return Ok(interrupt_exit_code());
    }
    let failed: Vec<&str> = outcome
        .results
        .backends
        .iter()
        .filter(|b| b.status != BackendStatus::Ok)
        .map(|b| b.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "backends did not complete: {} (see {})",
            failed.join(", "),
            outcome.out_dir.display()
        );
    }
    let agreement = &outcome.results.agreement;
    if agreement.applicable && !agreement.all_match {
        bail!("greedy token ids differ between backends (see summary.md)");
    }
    Ok(0)
}

/// The flags over the scenario's values; `run_flags::check` has bounded them.
fn apply_overrides(plan: &mut BenchPlan, args: &BenchArgs) -> Result<()> {
    if let Some(r) = args.run.reps {
        plan.repetitions = u32::try_from(r).context("--reps")?;
    }
    if let Some(w) = args.run.warmup {
        plan.warmup = u32::try_from(w).context("--warmup")?;
    }
    if let Some(t) = args.run.timeout {
        plan.timeout = std::time::Duration::from_secs_f64(t);
    }
    plan.progress = !args.run.no_progress;
    crate::design_opts::apply(plan, &args.run)?;
    crate::inject::apply(plan, &args.inject_slowdown)?;
    Ok(())
}

fn print_list(scenarios_dir: &Path, registry: &crossbench_core::BackendRegistry) -> Result<()> {
    println!("scenarios ({}):", scenarios_dir.display());
    for (name, description) in list_scenarios(scenarios_dir)? {
        println!("  {name:<12} {description}");
    }
    println!("backends:");
    for (name, summary) in registry.list() {
        println!("  {name:<18} {summary}");
    }
    Ok(())
}

/// --model, else --preset (or the scenario's preset / path), made on first use.
fn resolve_model(args: &BenchArgs, loaded: &LoadedScenario) -> Result<PathBuf> {
    if let Some(dir) = &args.model {
        if !dir.join("config.json").is_file() {
            bail!(
                "--model {}: no config.json there (expected an mlx-community model directory)",
                dir.display()
            );
        }
        return Ok(dir.clone());
    }
    let s = &loaded.scenario;
    let dtype = args
        .dtype
        .clone()
        .unwrap_or_else(|| dtype_name(s.dtype).to_string());
    let preset = match (&args.preset, &s.model) {
        (Some(p), _) => p.clone(),
        (None, ModelSource::Preset(p)) => p.clone(),
        (None, ModelSource::Path(p)) => {
            let base = loaded.path.parent().unwrap_or(Path::new("."));
            let dir = if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            };
            if !dir.join("config.json").is_file() {
                bail!(
                    "{}: model.path = {}: no config.json there",
                    loaded.path.display(),
                    dir.display()
                );
            }
            return Ok(dir);
        }
    };
    bootstrap::ensure_preset_model(&preset, args.layers, &dtype, 0)
}

/// The model as asked (preset, dtype, layers; None for a directory given by
/// path) and as its directory says.
fn model_asked(args: &BenchArgs, loaded: &LoadedScenario, dir: &Path) -> ModelRun {
    let s = &loaded.scenario;
    let preset = match (&args.model, &args.preset, &s.model) {
        (Some(_), _, _) | (None, None, ModelSource::Path(_)) => None,
        (None, Some(p), _) | (None, None, ModelSource::Preset(p)) => Some(p.clone()),
    };
    let dtype = preset.as_ref().map(|_| {
        args.dtype
            .clone()
            .unwrap_or_else(|| dtype_name(s.dtype).to_string())
    });
    let layers = preset.as_ref().and(args.layers);
    crate::design_opts::model_run(dir, preset, dtype, layers)
}

fn dtype_name(d: crossbench_core::scenario::Dtype) -> &'static str {
    use crossbench_core::scenario::Dtype::*;
    match d {
        Float32 => "float32",
        Float16 => "float16",
        Bfloat16 => "bfloat16",
        Q4 => "q4",
        Q8 => "q8",
    }
}

/// What core cannot detect itself: versions, commit, model identity, BLAS.
fn environment(model: Option<&ModelRun>, device: &str) -> Environment {
    let mut env = Environment::detect();
    env.mlx_version = Some(crossbench_shim::mlx_version());
    env.mlx_lm_version = mlx_lm_version();
    env.git_commit = Some(env!("CROSSBENCH_GIT_COMMIT").to_string()).filter(|s| !s.is_empty());
    env.rustc_version = Some(env!("CROSSBENCH_RUSTC_VERSION").to_string());
    env.device = Some(device.to_string());
    if let Some(m) = model {
        env.model_dir = Some(m.dir.clone());
        env.model_config_sha256 = m.config_sha256.clone();
    }
    env
}

fn mlx_lm_version() -> Option<String> {
    let venv = mlx_locate::venv_dir(&bootstrap::project_root());
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    for py in lib.flatten() {
        for entry in std::fs::read_dir(py.path().join("site-packages"))
            .ok()?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(v) = name
                .strip_prefix("mlx_lm-")
                .and_then(|s| s.strip_suffix(".dist-info"))
            {
                return Some(v.to_string());
            }
        }
    }
    None
}
