//! `gate --against`'s rep-interleaved A/B. The base build writes the worker
//! commands its own `bench` would start (`bench --print-worker-specs FILE`:
//! its programs, model, BLAS and environment, nothing of the head's), and
//! one `bench` of the head runs those workers as `X@base` beside its own
//! (`bench --base-workers FILE`), all in one balanced order with a fresh
//! worker per rep. `ab_rounds` then makes each round one base/head pair.
//!
//! A base that predates `--print-worker-specs`, or whose worker protocol
//! (docs/protocol.md) differs from the head's, cannot share the head's
//! driver: the caller falls back to alternating whole runs (`ab_runs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crossbench_core::affinity;
use crossbench_core::environment::Environment;
use crossbench_core::results::{BackendStatus, BenchResults};
use crossbench_core::{BenchPlan, ForeignWorkerBackend, WorkerSpec};
use serde::{Deserialize, Serialize};

use super::ab_compat::BaseCompat;
use super::ab_runs::{run_dir, tail};

/// How often a long interleaved run reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Version of the specs file; a reader refuses any other.
const SPECS_FORMAT: u32 = 1;

/// What `bench --print-worker-specs` writes.
#[derive(Serialize, Deserialize)]
pub struct WorkerSpecs {
    pub format: u32,
    /// The writing build's setup, as its results.json would record it (git
    /// commit, MLX, BLAS, CPU): the A/B's comparability checks read it.
    pub environment: Environment,
    /// Every backend of the plan, in the plan's order.
    pub specs: Vec<NamedSpec>,
}

#[derive(Serialize, Deserialize)]
pub struct NamedSpec {
    pub backend: String,
    pub spec: WorkerSpec,
}

/// `bench --print-worker-specs FILE`: the plan's worker commands, run nowhere.
/// Each names this build's project root, so a worker started by another
/// build's driver finds this build's files.
pub fn write_specs(plan: &BenchPlan, path: &Path) -> Result<()> {
    let root = crate::setup::first_use::project_root()?;
    let mut specs = Vec::new();
    for b in &plan.backends {
        let mut spec = plan
            .worker_spec(b.as_ref())
            .with_context(|| format!("--print-worker-specs: backend {}", b.name()))?;
        spec.env
            .push(("CROSSBENCH_ROOT".into(), root.display().to_string()));
        specs.push(NamedSpec {
            backend: b.name().to_string(),
            spec,
        });
    }
    let file = WorkerSpecs {
        format: SPECS_FORMAT,
        environment: plan.metadata.clone(),
        specs,
    };
    let text = serde_json::to_string_pretty(&file)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Reads a specs file written by `write_specs`.
pub fn read_specs(path: &Path) -> Result<WorkerSpecs> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let specs: WorkerSpecs = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a worker specs file", path.display()))?;
    if specs.format != SPECS_FORMAT {
        bail!(
            "{}: worker specs format {}, this build reads {SPECS_FORMAT}",
            path.display(),
            specs.format
        );
    }
    Ok(specs)
}

/// `bench --base-workers FILE`: every backend of FILE joins the plan as
/// `X@base`, with the command the base build made for it.
pub fn add_base_workers(plan: &mut BenchPlan, path: &Path) -> Result<()> {
    for named in read_specs(path)?.specs {
        if !plan.backends.iter().any(|b| b.name() == named.backend) {
            bail!(
                "--base-workers {}: backend {} is not in this run",
                path.display(),
                named.backend
            );
        }
        let base = ForeignWorkerBackend::base(&named.backend, named.spec);
        plan.backends.push(Arc::new(base));
    }
    Ok(())
}

/// Why the base cannot share the head's driver, or None when it can: the
/// worker protocol's one specification is the same in both trees.
pub fn protocol_differs(root: &Path, commit: &str) -> Option<String> {
    let same = Command::new("git")
        .args(["diff", "--quiet", commit, "--", "docs/protocol.md"])
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    (!same).then(|| format!("docs/protocol.md differs between base {commit} and the head"))
}

/// Runs the base's `bench --print-worker-specs` into `file`; Ok(false) when
/// the base predates the flag (its clap error names it).
pub fn base_specs(
    base_bin: &Path,
    scenario: &Path,
    backends: Option<&[String]>,
    compat: &BaseCompat,
    pin_cpu: Option<usize>,
    file: &Path,
) -> Result<bool> {
    let mut cmd = Command::new(base_bin);
    cmd.arg("bench")
        .arg("--scenario")
        .arg(compat.scenario_file.as_deref().unwrap_or(scenario))
        .arg("--no-progress")
        .arg("--print-worker-specs")
        .arg(file)
        .env_remove("CROSSBENCH_ROOT")
        .envs(compat.env.iter().map(|(k, v)| (k, v)));
    if let Some(b) = backends {
        cmd.args(["--backends", &b.join(",")]);
    }
    // The environment the base records here stands for its side of the
    // A/B (CPUs included), so it runs where the measurement will.
    if let Some(cpu) = pin_cpu {
        affinity::pin_command(&mut cmd, cpu);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} bench --print-worker-specs", base_bin.display()))?;
    if out.status.success() {
        return Ok(true);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("--print-worker-specs") && stderr.contains("unexpected argument") {
        return Ok(false);
    }
    bail!(
        "{} bench --print-worker-specs failed ({}): {}",
        base_bin.display(),
        out.status,
        stderr.trim()
    )
}

/// What one interleaved run needs.
pub struct Interleaved<'a> {
    pub head_bin: &'a Path,
    pub scenario: &'a Path,
    pub backends: Option<&'a [String]>,
    pub specs_file: &'a Path,
    pub rounds: u32,
    pub head_injections: &'a [String],
    /// `--pin-cpu`: the driver and every worker of both builds on this CPU.
    pub pin_cpu: Option<usize>,
    pub out: &'a Path,
    /// Which batch of rounds (1, 2, ...: `gate --looks`); names its directory.
    pub batch: u32,
}

/// The directory under the A/B's `--out` of batch `batch` (its log is the
/// same name with `.log`): `interleaved`, then `interleaved-2`, ...
pub fn batch_name(batch: u32) -> String {
    match batch {
        0 | 1 => "interleaved".into(),
        n => format!("interleaved-{n}"),
    }
}

/// Runs the head's `bench` with the base's workers beside its own; its
/// results, or an error with the log's tail.
pub fn run(job: &Interleaved) -> Result<BenchResults> {
    let name = batch_name(job.batch);
    let dir = job.out.join(&name);
    let log_path = job.out.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut cmd = Command::new(job.head_bin);
    cmd.arg("bench")
        .arg("--scenario")
        .arg(job.scenario)
        .args(["--reps", &job.rounds.to_string()])
        .arg("--base-workers")
        .arg(job.specs_file)
        .arg("--out")
        .arg(&dir);
    if let Some(b) = job.backends {
        cmd.args(["--backends", &b.join(",")]);
    }
    for spec in job.head_injections {
        cmd.args(["--inject-slowdown", spec]);
    }
    if let Some(cpu) = job.pin_cpu {
        affinity::pin_command(&mut cmd, cpu);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("running {}", job.head_bin.display()))?;
    let status = wait_with_progress(&mut child, &dir, job.rounds)?;
    let file = run_dir(&dir).map(|d| d.join("results.json"));
    let Some(file) = file.filter(|f| f.is_file()) else {
        bail!(
            "the interleaved run wrote no results ({status}); last lines of {}:\n{}",
            log_path.display(),
            tail(&log_path)
        );
    };
    let text = std::fs::read_to_string(&file)?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))
}

/// Waits for the run, printing every ~30 s how many reps its results
/// snapshot holds (its own bar is hidden: its stderr is the log).
fn wait_with_progress(
    child: &mut std::process::Child,
    dir: &Path,
    rounds: u32,
) -> Result<std::process::ExitStatus> {
    let started = Instant::now();
    let mut shown = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(200));
        if shown.elapsed() < PROGRESS_EVERY {
            continue;
        }
        shown = Instant::now();
        if let Some((done, workers)) = snapshot_reps(dir) {
            let total = u64::from(rounds) * workers;
            eprintln!(
                "gate --against: {done}/{total} reps of the interleaved run, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// (measured reps, workers) in the run's latest results snapshot.
fn snapshot_reps(dir: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(run_dir(dir)?.join("results.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let backends = value.get("backends")?.as_array()?;
    let reps = backends
        .iter()
        .filter_map(|b| b.get("reps")?.as_array().map(|r| r.len() as u64))
        .sum();
    Some((reps, backends.len() as u64))
}

/// Base workers that failed where the head's twin did not: the base's
/// workers do not speak to this driver, so the A/B falls back to whole runs.
pub fn failed_base_workers(run: &BenchResults) -> Vec<String> {
    let ok = |name: &str| {
        run.backends
            .iter()
            .any(|b| b.name == name && b.status == BackendStatus::Ok)
    };
    run.backends
        .iter()
        .filter_map(|b| {
            let original = ForeignWorkerBackend::original_of(&b.name)?;
            (b.status != BackendStatus::Ok && ok(original)).then(|| b.name.clone())
        })
        .collect()
}

/// Where the specs file of an A/B goes.
pub fn specs_path(out: &Path) -> PathBuf {
    out.join("base-worker-specs.json")
}
