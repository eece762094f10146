//! Runs a scenario: one worker per backend, warmups, then repetitions in
//! interleaved order, writing every result file after each round.

mod exec;
mod faults;
mod generate;
mod records;
mod serve;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;

use crate::agreement::compute_agreement;
use crate::backend::{Backend, BackendError, LaunchContext, WorkerSpec};
use crate::clock::utc_now;
use crate::design::{Residency, ResolutionTarget, RoundOrder, DEFAULT_ORDER_SEED};
use crate::environment::Environment;
use crate::export::{ensure_writable_dir, render_summary, write_results, ExportError};
use crate::interrupt::interrupt_requested;
use crate::protocol::GenRequest;
use crate::results::{
    new_run_id, BackendResult, BackendStatus, BenchResults, ModelRun, Profiling, RepRecord,
    RunStatus,
};
use crate::scenario::{LoadedScenario, ScenarioKind};
use crate::worker::WorkerProcess;
use exec::{start_worker, RepFailure};
use records::{initial_results, make_progress};

/// How long a worker may take to exit after `quit` before it is killed.
const QUIT_GRACE: Duration = Duration::from_secs(10);

pub struct BenchPlan {
    pub scenario: LoadedScenario,
    /// In the order given; the first ok one is the token-agreement reference.
    pub backends: Vec<Arc<dyn Backend>>,
    pub launch: LaunchContext,
    /// The tokenized prompt (may be empty for kind = "load").
    pub prompt_ids: Vec<u32>,
    pub warmup: u32,
    pub repetitions: u32,
    /// Per load and per generation.
    pub timeout: Duration,
    /// Results go to `<out_root>/<run_id>/`.
    pub out_root: PathBuf,
    /// The caller's part of the environment (MLX versions, git commit, ...).
    pub metadata: Environment,
    /// Show a progress bar (never shown when stderr is not a terminal).
    pub progress: bool,
    /// Backend name -> variables for that backend's worker only (after the
    /// backend's own), e.g. a slowdown injected into one backend.
    pub backend_env: BTreeMap<String, Vec<(String, String)>>,
    /// Backend name -> percent slowdown injected; recorded in results.json.
    pub injected_slowdowns: BTreeMap<String, f64>,
    /// Which workers stay loaded, and why (recorded in results.json).
    pub residency: Residency,
    pub residency_reason: String,
    /// Idle time before every generation (lets the other core's leftovers
    /// settle); zero by default.
    pub gap: Duration,
    /// (original, twin) when `backends` holds an A/A twin of one backend.
    pub aa: Option<(String, String)>,
    /// Seed of the per-cycle assignment of backends to positions in the
    /// balanced order (`design::balanced_order`), recorded in results.json.
    pub order_seed: u64,
    /// Add rounds after the planned reps until this resolution (see `design`).
    pub until_resolution: Option<ResolutionTarget>,
    /// What model actually runs, for results.json.
    pub model: Option<ModelRun>,
    /// Set for a profiling run (`--phases`, `crossbench profile`), recorded in results.json.
    pub profiling: Option<Profiling>,
    /// Rewrites each backend's worker command (backend name, spec), e.g. to run
    /// it under `perf record` (`crossbench profile`).
    pub wrap_worker: Option<WorkerWrapper>,
}

/// See [`BenchPlan::wrap_worker`].
pub type WorkerWrapper = Arc<dyn Fn(&str, WorkerSpec) -> WorkerSpec + Send + Sync>;

impl BenchPlan {
    /// A plan with warmup, repetitions and timeout from the scenario.
    pub fn from_scenario(
        scenario: LoadedScenario,
        backends: Vec<Arc<dyn Backend>>,
        launch: LaunchContext,
        prompt_ids: Vec<u32>,
        out_root: PathBuf,
        metadata: Environment,
    ) -> Self {
        let run = &scenario.scenario.run;
        BenchPlan {
            warmup: run.warmup,
            repetitions: run.repetitions,
            timeout: run.timeout,
            scenario,
            backends,
            launch,
            prompt_ids,
            out_root,
            metadata,
            progress: true,
            backend_env: BTreeMap::new(),
            injected_slowdowns: BTreeMap::new(),
            residency: Residency::All,
            residency_reason: "default".into(),
            gap: Duration::ZERO,
            aa: None,
            order_seed: DEFAULT_ORDER_SEED,
            until_resolution: None,
            model: None,
            profiling: None,
            wrap_worker: None,
        }
    }
}

impl BenchPlan {
    /// The command that starts `backend`'s worker in this plan: the
    /// backend's own, then the plan's variables for that backend only (an
    /// injected slowdown). What `bench --print-worker-specs` writes.
    pub fn worker_spec(&self, backend: &dyn Backend) -> Result<WorkerSpec, BackendError> {
        let mut spec = backend.launch(&self.launch)?;
        if let Some(env) = self.backend_env.get(backend.name()) {
            spec.env.extend(env.iter().cloned());
        }
        Ok(spec)
    }

    /// The order of the backends within each round (`design::RoundOrder`).
    pub fn round_order(&self) -> RoundOrder {
        let names: Vec<&str> = self.backends.iter().map(|b| b.name()).collect();
        RoundOrder::new(&names, self.order_seed)
    }
}

#[derive(Debug)]
pub struct RunOutcome {
    pub results: BenchResults,
    pub out_dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// summary.md's text, for the caller to print.
    pub summary_markdown: String,
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("the plan has no backends")]
    NoBackends,
    #[error("scenario `{0}` generates tokens but the prompt is empty")]
    EmptyPrompt(String),
    /// A plan value beyond the bounds that keep the driver's arithmetic safe.
    #[error("{what} = {value}: must be {allowed}")]
    OutOfRange {
        what: &'static str,
        value: String,
        allowed: String,
    },
    /// A result file could not be written mid-run (e.g. the disk is full):
    /// the run stopped; `status` says what its results.json now holds.
    #[error("{cause}; the run stopped with the reps measured so far in {dir}: {status} (not complete: never a baseline or a gate input)")]
    Stopped {
        cause: ExportError,
        dir: String,
        status: &'static str,
    },
}

/// One backend during a run.
struct Slot {
    backend: Arc<dyn Backend>,
    spec: Option<WorkerSpec>,
    worker: Option<WorkerProcess>,
    result: BackendResult,
    /// (load_ns, spawn_to_loaded_ns, load peak RSS) of the worker's latest start.
    last_load: Option<(u64, u64, Option<u64>)>,
}

impl Slot {
    fn alive(&self) -> bool {
        self.result.status == BackendStatus::Ok && self.spec.is_some()
    }

    fn fail(&mut self, failure: RepFailure, progress: &ProgressBar) {
        progress.suspend(|| {
            eprintln!(
                "crossbench: backend {} {}: {}",
                self.result.name,
                failure.status.as_str(),
                failure.message
            )
        });
        self.result.mark(failure.status, failure.message);
        if let Some(mut worker) = self.worker.take() {
            let report = worker.kill_and_reap();
            self.result.exit_status = Some(report.status);
            self.result.memory.peak_rss_bytes = report.peak_rss_bytes;
        }
    }
}

struct Run {
    plan: BenchPlan,
    slots: Vec<Slot>,
    results: BenchResults,
    out_dir: PathBuf,
    progress: ProgressBar,
    /// When the run began (the resolution budget counts from here).
    began: std::time::Instant,
    /// The whole machine's memory in use, sampled over the run.
    memory: Option<crate::machine_memory::Sampler>,
    /// The GPU's clocks and power, sampled over a `--device gpu` run.
    gpu: Option<crate::gpu::telemetry::Sampler>,
    /// Snapshots written so far (counts for `faults::injected_disk_full`).
    snapshots: usize,
    /// Which backends each round runs, in which order.
    order: RoundOrder,
}

/// Runs the plan; see the module docs. Returns Err only for problems that
/// stop the whole run (bad plan, unwritable output); backend failures are
/// recorded in the results.
pub fn run_bench(plan: BenchPlan) -> Result<RunOutcome, DriverError> {
    let scenario = &plan.scenario.scenario;
    if plan.backends.is_empty() {
        return Err(DriverError::NoBackends);
    }
    faults::check_plan(&plan)?;
    if scenario.kind == ScenarioKind::Generate && plan.prompt_ids.is_empty() {
        return Err(DriverError::EmptyPrompt(scenario.name.clone()));
    }
    let run_id = new_run_id();
    let out_dir = plan.out_root.join(&run_id);
    ensure_writable_dir(&out_dir)?;
    let mut run = Run::new(plan, run_id, out_dir);
    run.prepare_backends();
    let measured = match run.plan.scenario.scenario.kind {
        ScenarioKind::Generate => run.generate_rounds(),
        ScenarioKind::Load => run.load_rounds(),
        ScenarioKind::Serve => run.serve_rounds(),
    };
    match measured {
        Ok(()) => run.finish(),
        Err(DriverError::Export(cause)) => Err(run.abandon(cause)),
        Err(other) => Err(other),
    }
}

impl Run {
    fn new(plan: BenchPlan, run_id: String, out_dir: PathBuf) -> Run {
        let slots = plan
            .backends
            .iter()
            .map(|b| Slot {
                backend: Arc::clone(b),
                spec: None,
                worker: None,
                result: BackendResult {
                    descriptor: Some(b.descriptor()),
                    ..BackendResult::new(b.name(), b.summary())
                },
                last_load: None,
            })
            .collect();
        let order = plan.round_order();
        let mut results = initial_results(&plan, run_id, order.name());
        let progress = make_progress(&plan);
        let gpu = crate::gpu_run::start_for(&mut results.environment);
        Run {
            order,
            plan,
            slots,
            results,
            out_dir,
            progress,
            began: std::time::Instant::now(),
            memory: crate::machine_memory::Sampler::start(),
            gpu,
            snapshots: 0,
        }
    }

    /// Asks every backend for its worker command; unavailable ones are
    /// recorded as such and skipped.
    fn prepare_backends(&mut self) {
        for slot in &mut self.slots {
            match self.plan.worker_spec(slot.backend.as_ref()) {
                Ok(mut spec) => {
                    if let Some(wrap) = &self.plan.wrap_worker {
                        spec = wrap(slot.backend.name(), spec);
                    }
                    slot.result.stamp_source = Some(spec.stamp);
                    slot.result.ipc_per_token = spec.ipc_per_token;
                    slot.spec = Some(spec);
                }
                Err(e) => {
                    let status = match e {
                        BackendError::Unavailable { .. } => BackendStatus::Unavailable,
                        _ => BackendStatus::Failed,
                    };
                    let failure = RepFailure {
                        status,
                        message: e.to_string(),
                    };
                    slot.fail(failure, &self.progress);
                }
            }
        }
    }

    /// In usize: a u32 sum could wrap to a run of no rounds (`check_plan`
    /// bounds both, this keeps the sum safe whatever the plan).
    fn rounds(&self) -> usize {
        self.plan.warmup as usize + self.plan.repetitions as usize
    }

    /// Load kind: a fresh worker per rep, measuring its load.
    fn load_rounds(&mut self) -> Result<(), DriverError> {
        let warmup = self.plan.warmup as usize;
        for round in 0..self.rounds() {
            for idx in self.order.order(round) {
                if interrupt_requested() {
                    return Ok(());
                }
                self.load_once(idx, round.checked_sub(warmup));
            }
            if round >= warmup {
                self.write_snapshot()?;
            }
        }
        Ok(())
    }

    fn load_once(&mut self, idx: usize, measured: Option<usize>) {
        let slot = &mut self.slots[idx];
        if !slot.alive() {
            return;
        }
        let spec = slot.spec.as_ref().expect("alive slots have a spec");
        match start_worker(spec, self.plan.timeout) {
            Ok(mut started) => {
                let report = started.worker.finish(QUIT_GRACE);
                let Some(i) = measured else {
                    slot.result.warmups_done += 1;
                    return;
                };
                slot.result.reps.push(RepRecord {
                    index: i as u32,
                    request_sent_ns: started.spawn_ns,
                    load_ns: Some(started.load_ns),
                    spawn_to_loaded_ns: Some(started.spawn_to_loaded_ns),
                    peak_rss_bytes: report.peak_rss_bytes,
                    load_peak_rss_bytes: started.load_peak_rss_bytes,
                    ipc: started.worker.ipc(),
                    ..RepRecord::default()
                });
                slot.result.exit_status = Some(report.status);
                self.progress.inc(1);
                self.progress
                    .set_message(format!("{} load {}", slot.result.name, i + 1));
            }
            Err(failure) => slot.fail(failure, &self.progress),
        }
    }

    fn gen_request(&self) -> GenRequest {
        let g = &self.plan.scenario.scenario.generation;
        GenRequest {
            max_new: g.max_new_tokens,
            temperature: g.temperature,
            top_p: g.top_p,
            seed: g.seed,
            prompt: self.plan.prompt_ids.clone(),
        }
    }

    /// Recomputes summaries and agreement and writes every file.
    fn write_snapshot(&mut self) -> Result<Vec<PathBuf>, DriverError> {
        self.refresh();
        faults::injected_disk_full(&mut self.snapshots, &self.out_dir)?;
        Ok(write_results(&self.out_dir, &self.results)?)
    }

    /// Recomputes every backend's summaries, the agreement and the noise flags.
    fn refresh(&mut self) {
        if let (Some(h), Some(m)) = (self.results.harness.as_mut(), &self.memory) {
            h.machine_memory = Some(m.read());
        }
        let at_end = self.results.finished_at.is_some();
        crate::gpu_run::record(&mut self.results.environment, self.gpu.as_ref(), at_end);
        let prompt_tokens = self.plan.prompt_ids.len();
        for slot in &mut self.slots {
            slot.result.recompute(prompt_tokens);
        }
        self.results.backends = self.slots.iter().map(|s| s.result.clone()).collect();
        let greedy = self.plan.scenario.scenario.generation.temperature == 0.0
            && self.plan.scenario.scenario.kind == ScenarioKind::Generate;
        self.results.agreement = compute_agreement(&self.results.backends, greedy);
        crate::overhead::annotate(&mut self.results);
        serve::refresh(&mut self.results);
    }

    /// Quits (or, when `kill`, kills) and reaps every worker; with `why`, a
    /// backend short of its reps is marked incomplete, saying why.
    fn stop_workers(&mut self, kill: bool, why: Option<&str>) {
        for slot in &mut self.slots {
            if let Some(mut worker) = slot.worker.take() {
                let report = if kill {
                    worker.kill_and_reap()
                } else {
                    worker.finish(QUIT_GRACE)
                };
                slot.result.exit_status = Some(report.status);
                slot.result.memory.peak_rss_bytes = report.peak_rss_bytes;
            }
            let (done, wanted) = (slot.result.reps.len(), self.plan.repetitions as usize);
            if let Some(why) = why.filter(|_| done < wanted) {
                let message = format!("{why} after {done} of {wanted} reps");
                slot.result.mark(BackendStatus::Incomplete, message);
            }
        }
    }

    /// Quits and reaps every worker, settles statuses, writes final files.
    fn finish(mut self) -> Result<RunOutcome, DriverError> {
        let interrupted = interrupt_requested();
        self.stop_workers(interrupted, interrupted.then_some("interrupted"));
        self.progress.finish_and_clear();
        self.results.status = if interrupted {
            RunStatus::Incomplete
        } else {
            RunStatus::Complete
        };
        self.results.finished_at = Some(utc_now().1);
        if let Some(h) = self.results.harness.as_mut() {
            crate::footprint::driver_usage(h);
        }
        self.refresh();
        self.record_achieved_resolution();
        let files = self.write_snapshot()?;
        if let Some(m) = self
            .results
            .harness
            .as_ref()
            .and_then(|h| h.machine_memory.as_ref())
        {
            eprintln!(
                "crossbench: machine memory in use peaked at {} ({} samples)",
                m.describe(),
                m.samples
            );
        }
        for line in self.results.agreement.mismatch_lines() {
            eprintln!("crossbench: {line}");
        }
        for line in self.results.serve.iter().flat_map(|s| s.failed_checks()) {
            eprintln!("crossbench: serve equal-work check FAILED: {line}");
        }
        Ok(RunOutcome {
            summary_markdown: render_summary(&self.results),
            results: self.results,
            out_dir: self.out_dir,
            files,
            interrupted,
        })
    }
}
