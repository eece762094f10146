//! `gate --against REF`, the measuring: base and head `bench` runs
//! alternated base, head, head, base, base, head, ... (each pair of runs in
//! the opposite order to the last, so a linear drift of the machine cancels
//! between the sides), every run with fresh workers in bench's own balanced
//! order and identical flags; the head's runs alone get the injections.
//! Every run writes its own results under the out directory before the next
//! starts, so nothing measured is lost to an interrupted job.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crossbench_core::affinity;
use crossbench_core::baseline::Baseline;
use crossbench_core::gate::ab::AbPair;

use super::ab_compat::{self, BaseCompat};

/// Lines of a failed run's log shown in the error.
const LOG_TAIL: usize = 30;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Base,
    Head,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Head => "head",
        }
    }
}

/// What every run of the job is given.
pub struct Plan {
    pub base_bin: PathBuf,
    pub head_bin: PathBuf,
    /// The head's scenario file: both sides run the same work.
    pub scenario_file: PathBuf,
    pub backends: Option<Vec<String>>,
    pub pairs: u32,
    pub reps_per_run: u32,
    pub out: PathBuf,
    /// `--inject-slowdown BACKEND=PCT` flags for the head's runs only.
    pub head_injections: Vec<String>,
    /// What a base older than the scenario needs to do the same work.
    pub base_compat: BaseCompat,
    /// `--pin-cpu`: the one CPU every `bench` of the A/B runs on.
    pub pin_cpu: Option<usize>,
}

/// The order of the runs: pair k is (base, head) for even k, (head, base)
/// for odd k.
pub fn schedule(pairs: u32) -> Vec<(u32, Side)> {
    (0..pairs)
        .flat_map(|k| {
            let (a, b) = if k % 2 == 0 {
                (Side::Base, Side::Head)
            } else {
                (Side::Head, Side::Base)
            };
            [(k, a), (k, b)]
        })
        .collect()
}

/// Runs the whole schedule; the pairs of loaded results, in pair order.
pub fn run_all(plan: &Plan) -> Result<Vec<AbPair>> {
    std::fs::create_dir_all(&plan.out)
        .with_context(|| format!("creating {}", plan.out.display()))?;
    let order = schedule(plan.pairs);
    let started = Instant::now();
    let mut base_runs: Vec<Option<Baseline>> = vec![None; plan.pairs as usize];
    let mut head_runs = base_runs.clone();
    for (i, &(k, side)) in order.iter().enumerate() {
        eprintln!(
            "gate --against: run {}/{} ({} of pair {}/{}){}",
            i + 1,
            order.len(),
            side.name(),
            k + 1,
            plan.pairs,
            eta(started.elapsed(), i, order.len())
        );
        let run = run_one(plan, k, side)?;
        match side {
            Side::Base => base_runs[k as usize] = Some(run),
            Side::Head => head_runs[k as usize] = Some(run),
        }
    }
    Ok(base_runs
        .into_iter()
        .zip(head_runs)
        .filter_map(|(b, h)| Some(AbPair { base: b?, head: h? }))
        .collect())
}

/// ", ETA 3m10s" from the mean time of the runs so far.
fn eta(elapsed: Duration, done: usize, total: usize) -> String {
    if done == 0 {
        return String::new();
    }
    let left = elapsed.as_secs_f64() / done as f64 * (total - done) as f64;
    format!(", ETA {}m{:02}s", left as u64 / 60, left as u64 % 60)
}

/// One `bench` of one side into `<out>/<pair>-<side>/`, its output in a log
/// beside it; its results loaded. A run that exits non-zero but wrote a
/// results.json is judged (a failed backend is the gate's to report).
fn run_one(plan: &Plan, k: u32, side: Side) -> Result<Baseline> {
    let name = format!("{:02}-{}", k + 1, side.name());
    let dir = plan.out.join(&name);
    let log_path = plan.out.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut cmd = bench_command(plan, side, &dir);
    let status = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| {
            // Linux names a replaced executable "<path> (deleted)".
            format!(
                "running {} (a binary rebuilt during the A/B cannot be measured against its earlier runs: rerun)",
                bin_of(plan, side).display()
            )
        })?;
    let results = run_dir(&dir).map(|d| d.join("results.json"));
    match results.filter(|f| f.is_file()) {
        Some(file) => {
            if !status.success() {
                eprintln!(
                    "gate --against: {} run {} exited {status}; judging what it wrote (log {})",
                    side.name(),
                    k + 1,
                    log_path.display()
                );
            }
            let (mut run, _) = Baseline::load(&file)?;
            if side == Side::Base {
                ab_compat::amend(&mut run, &plan.base_compat);
            }
            run.name = format!("{name} {}", run.source_run_id);
            Ok(run)
        }
        None => bail!(
            "the {} run {} wrote no results ({status}; {} {}); last {LOG_TAIL} lines of {}:\n{}",
            side.name(),
            k + 1,
            bin_of(plan, side).display(),
            match side {
                Side::Base => "may not know this scenario or a backend of it",
                Side::Head => "failed",
            },
            log_path.display(),
            tail(&log_path)
        ),
    }
}

fn bin_of(plan: &Plan, side: Side) -> &Path {
    match side {
        Side::Base => &plan.base_bin,
        Side::Head => &plan.head_bin,
    }
}

fn bench_command(plan: &Plan, side: Side, dir: &Path) -> Command {
    let mut cmd = Command::new(bin_of(plan, side));
    let scenario = match (side, &plan.base_compat.scenario_file) {
        (Side::Base, Some(copy)) => copy,
        _ => &plan.scenario_file,
    };
    cmd.arg("bench")
        .arg("--scenario")
        .arg(scenario)
        .args(["--reps", &plan.reps_per_run.to_string()])
        .arg("--no-progress")
        .arg("--out")
        .arg(dir);
    if let Some(b) = &plan.backends {
        cmd.args(["--backends", &b.join(",")]);
    }
    if let Some(cpu) = plan.pin_cpu {
        affinity::pin_command(&mut cmd, cpu);
    }
    if side == Side::Head {
        for spec in &plan.head_injections {
            cmd.args(["--inject-slowdown", spec]);
        }
    } else {
        // The base finds its own scenarios, workers and shim from its build.
        cmd.env_remove("CROSSBENCH_ROOT");
        cmd.envs(plan.base_compat.env.iter().map(|(k, v)| (k, v)));
    }
    cmd
}

/// The one run directory `bench` made under `dir`.
pub(super) fn run_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
}

/// The last `LOG_TAIL` lines of a run's log.
pub(super) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_alternates_abba_so_each_side_leads_equally() {
        let s = schedule(4);
        let sides: Vec<Side> = s.iter().map(|&(_, side)| side).collect();
        use Side::{Base as B, Head as H};
        assert_eq!(sides, [B, H, H, B, B, H, H, B]);
        // Mean position of each side is equal: a linear drift cancels.
        let mean = |want: Side| -> f64 {
            let p: Vec<usize> = (0..s.len()).filter(|&i| s[i].1 == want).collect();
            p.iter().sum::<usize>() as f64 / p.len() as f64
        };
        assert_eq!(mean(B), mean(H));
        assert_eq!(s[2..4], [(1, H), (1, B)]);
    }
}
