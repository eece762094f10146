//! One place that turns `bench`'s options into a validated plan: the flags
//! are checked once (`run_flags::check`), then the scenario, backends,
//! model, prompt and environment are resolved and every option is put into
//! the plan here, in one pass. `bench`, `sweep` and `profile` all build
//! their plans through `build`.

use std::sync::Arc;

use anyhow::{Context, Result};
use crossbench_core::backend::CallerLanguage;
use crossbench_core::driver::WorkerWrapper;
use crossbench_core::results::ModelRun;
use crossbench_core::{
    load_scenario, Backend, BenchPlan, Environment, LaunchContext, LoadedScenario, Residency,
    TwinBackend,
};

use crate::backends;
use crate::cmd::bench_args::BenchArgs;
use crate::cmd::run_flags::{self, CheckedFlags};
use crate::cmd::{design_opts, inject, model_choice};
use crate::setup::blas_choice::blas_choice;
use crate::setup::{first_use, gpu_device};

/// What `crossbench profile` asks of a plan: every worker loaded once and
/// run under a profiler.
pub struct ProfilerRequest {
    /// The profiler's event, recorded in results.json.
    pub perf_event: String,
    /// Rewrites each worker's command to run under the profiler.
    pub wrap_worker: WorkerWrapper,
}

/// The plan `args` ask for, every option applied and checked.
pub fn build(args: &BenchArgs, profiler: Option<ProfilerRequest>) -> Result<BenchPlan> {
    // Every flag first: a bad one fails in milliseconds, before a model is
    // made or a run directory created.
    let flags = run_flags::check(&args.run, args.layers)?;
    let injections = args
        .inject_slowdown
        .iter()
        .map(|spec| inject::parse(spec))
        .collect::<Result<Vec<_>>>()?;
    let mut plan = scenario_plan(args)?;
    plan.progress = !args.run.no_progress;
    apply_flags(&mut plan, &flags);
    if let Some(name) = &args.run.aa {
        add_twin(&mut plan, name)?;
    }
    if let Some(file) = &args.base_workers {
        crate::cmd::ab_interleave::add_base_workers(&mut plan, file)?;
    }
    whole_cycles(&mut plan, flags.repetitions.is_some());
    if let Some(seed) = args.run.order_seed {
        plan.order_seed = seed;
    }
    let weights = plan.model.as_ref().and_then(|m| m.weight_bytes);
    (plan.residency, plan.residency_reason) =
        design_opts::residency(args.run.residency.as_deref(), plan.backends.len(), weights)?;
    for (backend, pct) in injections {
        inject_slowdown(&mut plan, &backend, pct)?;
    }
    if args.run.phases {
        plan.profiling.get_or_insert_with(Default::default).phases = true;
    }
    if let Some(profiler) = profiler {
        under_profiler(&mut plan, profiler);
    }
    Ok(plan)
}

/// The scenario's plan over the chosen backends, model, prompt and
/// environment, before the run flags.
fn scenario_plan(args: &BenchArgs) -> Result<BenchPlan> {
    let scenarios_dir = first_use::project_root()?.join("scenarios");
    let name = args.scenario.as_deref().context("--scenario is required")?;
    let loaded = load_scenario(name, &scenarios_dir)?;
    let names = args
        .run
        .backends
        .clone()
        .unwrap_or_else(|| loaded.scenario.run.backends.clone());
    let chosen = backends::resolve(&backends::registry(), &names)?;
    let needs_model = chosen.iter().any(|b| !b.descriptor().is_mock());
    // Before a model is made: a GPU run on a machine without one fails now,
    // naming what is missing, not inside every worker.
    let gpu = gpu_device::check(&args.run.device, needs_model)?;
    let model_dir = if needs_model || args.model.is_some() {
        Some(model_choice::resolve_model(args, &loaded)?)
    } else {
        None
    };
    run_flags::check_serve_flags(&args.run, &loaded)?;
    if let Some(dir) = model_dir.as_deref() {
        run_flags::serve_fits(&loaded, dir)?;
    }
    let prompt_ids = run_flags::prompt_ids(&loaded, model_dir.as_deref())?;
    let (blas_env, blas_name) = match (&gpu, args.run.blas.as_str()) {
        // MLX's GPU backends do their matrix products on the GPU: no
        // OpenBLAS to find or preload (an explicit --blas is still honoured).
        (Some(_), "auto") => (Vec::new(), "not used (GPU)".to_string()),
        _ => blas_choice(
            &args.run.blas,
            args.run.blas_idle,
            args.run.blas_threads.or(loaded.scenario.run.blas_threads),
        )?,
    };
    let launch = launch_context(args, &loaded, model_dir.clone(), blas_env)?;
    let model = model_dir
        .as_deref()
        .map(|dir| model_choice::model_asked(args, &loaded, dir));
    let mut metadata = environment(model.as_ref(), &args.run.device);
    metadata.blas = Some(blas_name);
    match &gpu {
        Some(ready) => gpu_device::describe(ready, &mut metadata),
        None if args.run.device == "gpu" => {
            metadata.gpu_note = Some("mock backends only: nothing ran on a GPU".into())
        }
        None => {}
    }
    if chosen
        .iter()
        .any(|b| b.descriptor().caller == CallerLanguage::Go)
    {
        // The toolchain that built the Go worker (its launch builds or reports it).
        if let Ok(w) = crate::setup::go_build::worker() {
            metadata.extra.insert("go_version".into(), w.go_version);
        }
    }
    let out_root = args.run.out.clone();
    let mut plan = BenchPlan::from_scenario(loaded, chosen, launch, prompt_ids, out_root, metadata);
    plan.model = model;
    Ok(plan)
}

/// The checked flags over the scenario's values.
fn apply_flags(plan: &mut BenchPlan, flags: &CheckedFlags) {
    if let Some(r) = flags.repetitions {
        plan.repetitions = r;
    }
    if let Some(w) = flags.warmup {
        plan.warmup = w;
    }
    if let Some(t) = flags.timeout {
        plan.timeout = t;
    }
    plan.gap = flags.gap;
    plan.until_resolution = flags.until_resolution;
}

/// The scenario's reps rounded up to whole cycles of the balanced order
/// (the balance a Williams design promises holds only over whole cycles);
/// `--reps` is kept as given, with a note when its last cycle is partial.
/// Kept too, with the same note: a single rep (a demonstration such as
/// gen7b, with no interval to balance) and serve scenarios, whose every rep
/// replays every load point through every design (serve-sweep's 2 reps of 6
/// designs would triple).
fn whole_cycles(plan: &mut BenchPlan, explicit: bool) {
    let n = plan.backends.len();
    let order = plan.round_order();
    let whole = order.whole_cycles(plan.repetitions);
    if whole == plan.repetitions {
        return;
    }
    let cycle = order.cycle();
    let serve = plan.scenario.scenario.kind == crossbench_core::scenario::ScenarioKind::Serve;
    if explicit || serve || plan.repetitions == 1 {
        eprintln!(
            "crossbench: {} reps are not a whole number of balanced cycles ({cycle} rounds for {n} backends): the last cycle is partial, so its order is not balanced",
            plan.repetitions
        );
    } else {
        eprintln!(
            "crossbench: reps rounded up from the scenario's {} to {whole}, whole balanced cycles of {cycle} rounds for {n} backends",
            plan.repetitions
        );
        plan.repetitions = whole;
    }
}

/// How every worker starts: this binary, the model, the device, and the
/// environment all workers share (BLAS, detokenizing, phases, progress).
fn launch_context(
    args: &BenchArgs,
    loaded: &LoadedScenario,
    model_dir: Option<std::path::PathBuf>,
    mut extra_env: Vec<(String, String)>,
) -> Result<LaunchContext> {
    let exe = std::env::current_exe().context("cannot find the crossbench executable")?;
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
    Ok(LaunchContext {
        exe,
        model_dir,
        device: args.run.device.clone(),
        extra_env,
    })
}

/// The plan's backend called `name`, or an error naming `flag` and the
/// backends the run has.
fn run_backend<'a>(plan: &'a BenchPlan, flag: &str, name: &str) -> Result<&'a Arc<dyn Backend>> {
    plan.backends
        .iter()
        .find(|b| b.name() == name)
        .with_context(|| {
            let names: Vec<&str> = plan.backends.iter().map(|b| b.name()).collect();
            format!(
                "{flag} {name}: not a backend of this run ({})",
                names.join(", ")
            )
        })
}

/// `--aa NAME`: NAME's twin joins the run, in the same interleaving.
fn add_twin(plan: &mut BenchPlan, name: &str) -> Result<()> {
    let original = Arc::clone(run_backend(plan, "--aa", name)?);
    let twin = TwinBackend::new(original);
    plan.aa = Some((name.to_string(), twin.name().to_string()));
    plan.backends.push(Arc::new(twin));
    Ok(())
}

/// `--inject-slowdown BACKEND=PCT`: the variable for that backend's worker
/// only, and the record of what was injected.
fn inject_slowdown(plan: &mut BenchPlan, backend: &str, pct: f64) -> Result<()> {
    let var = inject::env_var(run_backend(plan, "--inject-slowdown", backend)?.as_ref());
    let env = plan.backend_env.entry(backend.to_string()).or_default();
    env.retain(|(k, _)| k != var);
    env.push((var.to_string(), pct.to_string()));
    plan.injected_slowdowns.insert(backend.to_string(), pct);
    eprintln!("crossbench: INJECTING a {pct}% per-token slowdown into {backend} (recorded in results.json)");
    Ok(())
}

/// `crossbench profile`: every worker stays loaded (one profiler each) and
/// runs under the profiler; the run is marked as a profiling run.
fn under_profiler(plan: &mut BenchPlan, profiler: ProfilerRequest) {
    plan.residency = Residency::All;
    plan.residency_reason = "crossbench profile: one perf record per worker".into();
    let profiling = plan.profiling.get_or_insert_with(Default::default);
    profiling.perf_event = Some(profiler.perf_event);
    plan.wrap_worker = Some(profiler.wrap_worker);
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
    let venv = mlx_locate::venv_dir(&first_use::project_root().ok()?);
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
