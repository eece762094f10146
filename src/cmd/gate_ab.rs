//! `crossbench gate --against REF`: the same-job A/B regression gate. The
//! base revision is built in its own worktree (`ab_base`), its runs and the
//! head's alternate on this machine (`ab_runs`), and crossbench-core's
//! `gate::ab` judges head ÷ base per backend; the verdict is printed and
//! exits like the baseline gate's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use crossbench_core::design::{williams_cycle, RoundOrder};
use crossbench_core::gate::ab::{compare_ab, AbOptions, AbPair, AbUnit};
use crossbench_core::gate::ab_rounds::pairs_from_rounds;
use crossbench_core::gate::{GateConfig, GateReport, Verdict, EXIT_INCONCLUSIVE};
use crossbench_core::load_scenario;
use crossbench_core::units::fmt_ratio_ci;
use crossbench_core::ForeignWorkerBackend;

use crate::cmd::ab_base::{self, head_label};
use crate::cmd::ab_compat;
use crate::cmd::ab_interleave;
use crate::cmd::ab_runs::{self, Plan};
use crate::cmd::ab_sequential::Looks;
use crate::cmd::gate::{emit, GateArgs};
use crate::cmd::inject;
use crate::setup::first_use;

/// Fewest reps in one run: a Williams cycle of one or two backends is
/// shorter than that, and every run costs a process start.
const MIN_REPS_PER_RUN: u32 = 4;

#[derive(Args)]
pub struct AbArgs {
    /// Same-job A/B against git REF (a commit, branch or tag, e.g. HEAD~1): build
    /// REF in its own worktree (cached by commit under --build-dir), alternate
    /// base and head `bench` runs (base, head, head, base, ...) with fresh
    /// workers and identical flags, and judge head / base per backend,
    /// native-cpp included. Replaces --baseline/--current.
    #[arg(long, value_name = "REF", conflicts_with_all = ["baseline", "current"])]
    pub against: Option<String>,
    /// A/B: the scenario both revisions run (the head's file is given to both).
    #[arg(long, default_value = "ci")]
    pub scenario: String,
    /// A/B: comma-separated backends (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    /// A/B, --interleave run (and its fallback): pairs of runs (each one base run and one head run); even, so that
    /// each side leads equally often. Each pair is one sample of head / base:
    /// 6 give a 95% interval at all (their range), 12 its 3rd to 10th.
    #[arg(long, default_value_t = 12)]
    pub pairs: u32,
    /// A/B: reps in each run (default: whole balanced cycles of the run's
    /// backends, at least 4).
    #[arg(long)]
    pub reps_per_run: Option<u32>,
    /// A/B: how base and head share the machine: rep (one bench run holds the
    /// base build's workers beside the head's, each head worker back to back
    /// with its base twin in a balanced order, --rounds; whole runs when the
    /// base cannot) | run (whole bench runs alternated base, head, head, base,
    /// ...: --pairs, --reps-per-run). rep resolved better in A/As of one binary
    /// (docs/measurements/gate-experiment.md).
    #[arg(long, value_enum, default_value = "rep")]
    pub interleave: Interleave,
    /// A/B, --interleave rep: rounds, each one rep of every base and head worker
    /// and one sample of head / base (rounded up to whole balanced cycles).
    #[arg(long, default_value_t = 48)]
    pub rounds: u32,
    /// A/B, --interleave rep: batches of --rounds at most. All rounds so far
    /// are judged after each batch, and another runs only while a check
    /// straddles the threshold; each look's intervals are at
    /// 1 - (1 - confidence) / LOOKS, so that the looks together keep
    /// --confidence (src/cmd/ab_sequential.rs). 1: one batch, judged once.
    /// 5: enough for a noisy 2-core VM (docs/measurements/gate-experiment.md).
    #[arg(long, default_value_t = 5)]
    pub looks: u32,
    /// A/B: run the driver and every worker of both builds on one CPU: auto (the
    /// highest CPU this process may use, when it may use two or more) | none | a
    /// CPU number. Each vCPU's speed wanders on its own on the 2-core VMs, so a
    /// head worker and its base twin are alike only on the same CPU
    /// (docs/measurements/gate-experiment.md, "Where the noise comes from").
    #[arg(long, default_value = "auto", value_name = "CPU")]
    pub pin_cpu: String,
    /// A/B: a built crossbench to use as the base instead of building REF
    /// (tests; a base built elsewhere).
    #[arg(long)]
    pub base_bin: Option<PathBuf>,
    /// A/B: where base worktrees are built and kept (default: target/ab under the project).
    #[arg(long)]
    pub build_dir: Option<PathBuf>,
    /// A/B: where every run's results go (default: results/ab/<base>-vs-<head>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A/B: slow BACKEND by PCT percent per token in the head's runs only
    /// (repeatable; BACKEND=PCT): the gate's sensitivity to a backend-only regression.
    #[arg(long = "inject-slowdown", value_name = "BACKEND=PCT")]
    pub inject_slowdown: Vec<String>,
    /// A/B: slow every backend of the head's runs by PCT percent per token
    /// (native-cpp included; the shim's Session, the Python worker and the
    /// mock engine read it): a shared-code regression.
    #[arg(long, value_name = "PCT")]
    pub inject_shared_slowdown: Option<f64>,
    /// A/B: greedy ids, token counts or crossings that differ head vs base are
    /// a NOTE, not a regression (an intended behaviour change).
    #[arg(long)]
    pub allow_behaviour_change: bool,
}

/// How base and head are interleaved (`--interleave`).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Interleave {
    Rep,
    Run,
}

pub fn run(g: &GateArgs, cfg: GateConfig) -> Result<i32> {
    let a = &g.ab;
    let looks = Looks::plan(a.looks, cfg.confidence)?;
    let p = prepare(a)?;
    eprintln!(
        "gate --against: base {} vs head {}; scenario {} ({}), results under {}",
        p.base_label,
        p.head_label,
        p.scenario_name,
        p.backends.join(", "),
        p.plan.out.display()
    );
    let measured = measure(a, &p.plan, &p.root, &p.commit, &p.backends)?;
    let report = judge_looks(a, &p, measured, cfg, looks)?;
    let text_file = p.plan.out.join("gate.txt");
    std::fs::write(&text_file, report.render_text())
        .with_context(|| format!("writing {}", text_file.display()))?;
    emit(&report, g)
}

/// Judges after the first batch and, rep by rep, after each further batch
/// run while the verdict is inconclusive (`--looks`).
fn judge_looks(
    a: &AbArgs,
    p: &Prepared,
    mut measured: Measured,
    cfg: GateConfig,
    looks: Looks,
) -> Result<GateReport> {
    // Whole runs alternated are judged once, at the asked confidence.
    let looks = match measured.unit {
        AbUnit::Rounds => looks,
        AbUnit::RunPairs => Looks::single(cfg.confidence),
    };
    let cfg = GateConfig {
        confidence: looks.per_look,
        ..cfg
    };
    let mut taken = 1;
    loop {
        let report = judge(p, &measured, &cfg, a, &looks, taken)?;
        if report.exit_code() != EXIT_INCONCLUSIVE || taken == looks.planned {
            return Ok(report);
        }
        taken += 1;
        eprintln!(
            "gate --against: inconclusive after {} rounds ({}): batch {taken} of at most {}",
            measured.pairs.len(),
            straddling(&report),
            looks.planned
        );
        // A batch that cannot finish loses nothing measured: the verdict
        // stays the previous look's (inconclusive), and the report says why.
        if let Err(e) = another_batch(&p.plan, &mut measured, taken) {
            eprintln!("gate --against: batch {taken} failed: {e:#}");
            let mut report = report;
            report.notes.push(format!(
                "batch {taken} failed ({e:#}): the verdict is look {}'s, over the {} rounds before it",
                taken - 1,
                measured.pairs.len()
            ));
            return Ok(report);
        }
    }
}

/// The checks that left a look inconclusive, with their intervals, for the
/// progress line ("ffi-token decode_ns +1.2% [-0.4%, +3.5%]").
fn straddling(report: &GateReport) -> String {
    let open: Vec<String> = (report.checks.iter())
        .filter(|c| c.verdict == Verdict::Inconclusive)
        .map(|c| {
            let ci = c.ratio.as_ref().map(fmt_ratio_ci).unwrap_or_default();
            format!("{} {} {ci}", c.backend, c.metric)
        })
        .collect();
    open.join("; ")
}

/// Head ÷ base over every sample so far, the look's note among the notes.
fn judge(
    p: &Prepared,
    m: &Measured,
    cfg: &GateConfig,
    a: &AbArgs,
    looks: &Looks,
    taken: u32,
) -> Result<GateReport> {
    let look = (m.unit == AbUnit::Rounds).then(|| looks.note(taken, m.pairs.len()));
    let pinned = (p.plan.pin_cpu)
        .map(|c| format!("driver and every worker of both builds pinned to CPU {c} (--pin-cpu)"));
    let opts = AbOptions {
        unit: m.unit,
        base_label: p.base_label.clone(),
        head_label: p.head_label.clone(),
        allow_behaviour_change: a.allow_behaviour_change,
        notes: (m.notes.iter().cloned())
            .chain(look)
            .chain(p.plan.base_compat.note.clone())
            .chain(pinned)
            .collect(),
    };
    compare_ab(&m.pairs, cfg, &opts)
        .with_context(|| format!("gate: head {} against base {}", p.head_label, p.base_label))
}

/// What an A/B runs, settled before anything is measured.
struct Prepared {
    plan: Plan,
    root: PathBuf,
    commit: String,
    backends: Vec<String>,
    scenario_name: String,
    base_label: String,
    head_label: String,
}

/// Checks the flags, resolves REF, builds (or finds) the base and checks
/// that it can run every backend: every refusal comes before the first run.
fn prepare(a: &AbArgs) -> Result<Prepared> {
    let reference = a.against.as_deref().context("--against is required")?;
    if a.pairs < 2 || a.pairs % 2 == 1 {
        bail!(
            "--pairs {}: must be even and at least 2 (each side leads in half the pairs)",
            a.pairs
        );
    }
    let root = first_use::project_root()?;
    let commit = ab_base::resolve_ref(&root, reference)?;
    let loaded = load_scenario(&a.scenario, &root.join("scenarios"))?;
    let backends = (a.backends.clone()).unwrap_or_else(|| loaded.scenario.run.backends.clone());
    let reps_per_run = (a.reps_per_run).unwrap_or_else(|| whole_cycles(backends.len()));
    if reps_per_run == 0 {
        bail!("--reps-per-run 0: must be at least 1");
    }
    let head_injections = injections(a, &backends)?;
    let pin_cpu = crossbench_core::affinity::resolve_pin(&a.pin_cpu).map_err(anyhow::Error::msg)?;
    let build_dir = (a.build_dir.clone()).unwrap_or_else(|| root.join("target/ab"));
    let base = ab_base::prepare(&root, reference, &commit, a.base_bin.as_deref(), &build_dir)?;
    ab_base::check_backends(&base.bin, &base.label, &backends)?;
    let out = a.out.clone().unwrap_or_else(|| default_out(&root, &commit));
    let scenario_file = loaded.path.canonicalize().unwrap_or(loaded.path.clone());
    let blas_threads = loaded.scenario.run.blas_threads;
    let base_compat =
        ab_compat::prepare(&base.bin, &base.label, &scenario_file, blas_threads, &out)?;
    let plan = Plan {
        base_bin: base.bin.clone(),
        head_bin: std::env::current_exe().context("cannot find the crossbench executable")?,
        scenario_file,
        backends: a.backends.clone(),
        pairs: a.pairs,
        reps_per_run,
        out,
        head_injections,
        base_compat,
        pin_cpu,
    };
    Ok(Prepared {
        plan,
        head_label: head_label(&root),
        root,
        commit,
        backends,
        scenario_name: loaded.scenario.name,
        base_label: base.label,
    })
}

/// The A/B's samples, what each is, and how they were taken.
struct Measured {
    pairs: Vec<AbPair>,
    unit: AbUnit,
    notes: Vec<String>,
    /// Rounds of each rep-interleaved batch (0 for whole runs).
    rounds_per_batch: u32,
}

/// Rep-interleaved when asked and the base can be, else whole runs
/// alternated; the notes say which, and why not the first.
fn measure(
    a: &AbArgs,
    plan: &Plan,
    root: &Path,
    commit: &str,
    backends: &[String],
) -> Result<Measured> {
    let mut notes = Vec::new();
    if a.interleave == Interleave::Rep {
        match interleaved(a, plan, root, commit, backends)? {
            Ok(m) => return Ok(m),
            Err(why) => {
                eprintln!("gate --against: {why}: alternating whole runs instead");
                notes.push(format!(
                    "not interleaved rep by rep: {why}; whole runs alternated instead"
                ));
            }
        }
    }
    eprintln!(
        "gate --against: {} pairs of runs x {} reps, alternated base, head, head, base, ...",
        plan.pairs, plan.reps_per_run
    );
    let pairs = ab_runs::run_all(plan)?;
    notes.insert(0, format!(
        "{} pairs of runs, {} reps each, in the order base, head, head, base, ...; every run's results under {}",
        plan.pairs,
        plan.reps_per_run,
        plan.out.display()
    ));
    Ok(Measured {
        pairs,
        unit: AbUnit::RunPairs,
        notes,
        rounds_per_batch: 0,
    })
}

/// One bench run with the base's workers beside the head's; Ok(Err(why))
/// when the base cannot share the head's driver.
fn interleaved(
    a: &AbArgs,
    plan: &Plan,
    root: &Path,
    commit: &str,
    names: &[String],
) -> Result<std::result::Result<Measured, String>> {
    if let Some(why) = ab_interleave::protocol_differs(root, commit) {
        return Ok(Err(why));
    }
    std::fs::create_dir_all(&plan.out)
        .with_context(|| format!("creating {}", plan.out.display()))?;
    let file = ab_interleave::specs_path(&plan.out);
    let backends = plan.backends.as_deref();
    if !ab_interleave::base_specs(
        &plan.base_bin,
        &plan.scenario_file,
        backends,
        &plan.base_compat,
        plan.pin_cpu,
        &file,
    )? {
        return Ok(Err("the base predates `bench --print-worker-specs`".into()));
    }
    // Whole cycles of the order the head's driver will take (each head
    // worker back to back with its base twin).
    let n = names.len();
    let run_names: Vec<String> = names
        .iter()
        .flat_map(|b| [b.clone(), ForeignWorkerBackend::base_name(b)])
        .collect();
    let run_names: Vec<&str> = run_names.iter().map(String::as_str).collect();
    let rounds = RoundOrder::new(&run_names, 0).whole_cycles(a.rounds);
    eprintln!("gate --against: one run of {rounds} rounds, {n} base and {n} head workers interleaved rep by rep");
    let pairs = match one_batch(plan, rounds, 1)? {
        Ok(pairs) => pairs,
        Err(why) => return Ok(Err(why)),
    };
    Ok(Ok(Measured {
        pairs,
        unit: AbUnit::Rounds,
        notes: vec![format!(
            "{rounds} rounds of one bench run: base and head workers interleaved rep by rep, each head worker back to back with its base twin in a balanced order, a fresh worker per rep; results under {}",
            plan.out.join(ab_interleave::batch_name(1)).display()
        )],
        rounds_per_batch: rounds,
    }))
}

/// One rep-interleaved bench run of `rounds` rounds (batch `batch` of the
/// A/B): its head / base samples, or Ok(Err(why)) naming the base workers
/// that failed under the head's driver and the batch's log.
fn one_batch(
    plan: &Plan,
    rounds: u32,
    batch: u32,
) -> Result<std::result::Result<Vec<AbPair>, String>> {
    let file = ab_interleave::specs_path(&plan.out);
    let run = ab_interleave::run(&ab_interleave::Interleaved {
        head_bin: &plan.head_bin,
        scenario: &plan.scenario_file,
        backends: plan.backends.as_deref(),
        specs_file: &file,
        rounds,
        head_injections: &plan.head_injections,
        pin_cpu: plan.pin_cpu,
        out: &plan.out,
        batch,
    })?;
    let failed = ab_interleave::failed_base_workers(&run);
    if !failed.is_empty() {
        let log = format!("{}.log", ab_interleave::batch_name(batch));
        return Ok(Err(format!(
            "the base's workers {} failed under the head's driver (log: {})",
            failed.join(", "),
            plan.out.join(log).display()
        )));
    }
    let base_env = ab_interleave::read_specs(&file)?.environment;
    Ok(Ok(pairs_from_rounds(&run, &base_env)))
}

/// Another batch of as many rounds (`--looks`), its samples added to the
/// A/B's. The base ran under this driver in batch 1, so a base worker
/// failing now is an error, not a reason to alternate whole runs.
fn another_batch(plan: &Plan, m: &mut Measured, batch: u32) -> Result<()> {
    let pairs = one_batch(plan, m.rounds_per_batch, batch)?
        .map_err(|why| anyhow::anyhow!("batch {batch}: {why}"))?;
    m.pairs.extend(pairs);
    m.notes.push(format!(
        "batch {batch}: {} more rounds in another bench run; results under {}",
        m.rounds_per_batch,
        plan.out.join(ab_interleave::batch_name(batch)).display()
    ));
    Ok(())
}

/// Reps per run: whole Williams cycles of `n` backends, at least
/// `MIN_REPS_PER_RUN`, so every run is balanced by itself.
fn whole_cycles(n: usize) -> u32 {
    let cycle = williams_cycle(n.max(1)) as u32;
    cycle * MIN_REPS_PER_RUN.div_ceil(cycle)
}

/// The head's `--inject-slowdown` flags: the given ones, checked, plus one
/// per backend for `--inject-shared-slowdown`.
fn injections(a: &AbArgs, backends: &[String]) -> Result<Vec<String>> {
    let mut specs = a.inject_slowdown.clone();
    for spec in &specs {
        let (name, _) = inject::parse(spec)?;
        if !backends.contains(&name) {
            bail!(
                "--inject-slowdown {spec}: `{name}` is not a backend of this A/B ({})",
                backends.join(", ")
            );
        }
    }
    if let Some(pct) = a.inject_shared_slowdown {
        for b in backends {
            let spec = format!("{b}={pct}");
            inject::parse(&spec).context("--inject-shared-slowdown")?;
            specs.retain(|s| !s.starts_with(&format!("{b}=")));
            specs.push(spec);
        }
    }
    Ok(specs)
}

fn default_out(root: &std::path::Path, commit: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    root.join("results/ab").join(format!(
        "{}-vs-head-{secs}",
        &commit[..commit.len().min(12)]
    ))
}
