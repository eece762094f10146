//! `crossbench gate` and `crossbench baseline save`: the CI regression gate
//! over crossbench-core's `gate` and `baseline` modules; `gate --against`
//! (the same-job A/B) is `gate_ab`.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use crossbench_core::baseline::Baseline;
use crossbench_core::gate::{
    compare, GateConfig, GateReport, Method, EXIT_INCONCLUSIVE, EXIT_REGRESSION, GATE_CV_LIMIT,
};
use std::path::PathBuf;

#[derive(Args)]
pub struct GateArgs {
    /// Baseline: a file from `crossbench baseline save`, a run directory or a results.json.
    #[arg(long, required_unless_present = "against")]
    pub baseline: Option<PathBuf>,
    /// The run to judge: a run directory or its results.json.
    #[arg(long, required_unless_present = "against")]
    pub current: Option<PathBuf>,
    /// Slowdown tolerated, percent: of an overhead vs native-cpp (baseline
    /// gate), of every head / base ratio (--against). A regression needs the
    /// whole interval beyond it.
    #[arg(long, default_value_t = 3.0)]
    pub threshold: f64,
    /// Slowdown of an absolute time tolerated, percent (gated on the same machine only).
    #[arg(long, default_value_t = 10.0)]
    pub absolute_threshold: f64,
    /// Whether baseline and current ran on the same machine: auto (same boot,
    /// CPU, cores, RAM) | yes | no. Absolute times and memory are gated only on one.
    #[arg(long, default_value = "auto", value_parser = ["auto", "yes", "no"])]
    pub same_machine: String,
    /// Judge runs whose core count, MLX version, BLAS library or device
    /// differ. Without it such runs are an error (exit 1) naming each change;
    /// with it the overheads are gated, absolute times and memory are
    /// informational, and a NOTE names each change. Another CPU model or
    /// OpenBLAS core (same library) needs no flag: it is noted, absolute
    /// times informational.
    #[arg(long)]
    pub allow_environment_change: bool,
    /// Two-sided confidence of the timing intervals (0.5 to 0.999).
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Peak RSS growth tolerated, percent (same machine only).
    #[arg(long, default_value_t = 10.0)]
    pub memory_tolerance: f64,
    /// Coefficient of variation (percent) above which a timing check is inconclusive.
    #[arg(long, default_value_t = GATE_CV_LIMIT * 100.0)]
    pub cv_limit: f64,
    /// Also write the verdict as markdown (for a CI log or job summary).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Also write the full report (every check, its interval) as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Print only the verdict line.
    #[arg(long)]
    pub quiet: bool,
    /// The interval of current ÷ baseline behind timing verdicts: rank-shift
    /// (Hodges–Lehmann shift of log timings, rank-sum interval) or
    /// median-bootstrap (ratio of medians, percentile bootstrap; the method
    /// before 2026-12-02).
    #[arg(long, default_value = "rank-shift", value_parser = parse_method)]
    pub method: Method,
    /// Use only the first N reps of the current run (scripts/gate_experiment.sh:
    /// sensitivity vs reps); the baseline is used whole, as CI uses it.
    #[arg(long, hide = true)]
    pub reps_limit: Option<usize>,
    #[command(flatten)]
    pub ab: crate::cmd::gate_ab::AbArgs,
}

#[derive(Subcommand)]
pub enum BaselineCommand {
    /// Write a small baseline (summary statistics plus per-rep samples) from a run.
    Save(SaveArgs),
}

#[derive(Args)]
pub struct SaveArgs {
    /// A run directory or its results.json.
    pub run: PathBuf,
    /// Baseline name: written to <dir>/<NAME>.json (default: the scenario's name).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "results/baselines")]
    pub dir: PathBuf,
    /// Save even a run whose decode-time CV is above the gate's limit (its wide
    /// intervals make the gate less sensitive).
    #[arg(long)]
    pub force: bool,
}

/// `--method`: one list of names, `Method::parse`'s.
fn parse_method(s: &str) -> Result<Method, String> {
    Method::parse(s).ok_or_else(|| format!("unknown method '{s}' (rank-shift, median-bootstrap)"))
}

/// Every numeric flag finite and in range, each error naming its flag: a NaN
/// `--cv-limit` would silence the noise check, a NaN threshold every verdict.
fn check_flags(a: &GateArgs) -> Result<()> {
    let flags = [
        ("--threshold", a.threshold, 0.0, 100.0),
        ("--absolute-threshold", a.absolute_threshold, 0.0, 100.0),
        ("--confidence", a.confidence, 0.5, 0.999),
        ("--memory-tolerance", a.memory_tolerance, 0.0, 1000.0),
        ("--cv-limit", a.cv_limit, 0.001, 1000.0),
    ];
    for (flag, value, min, max) in flags {
        // NaN fails both comparisons.
        if !(value >= min && value <= max) {
            bail!("{flag} {value:?}: must be a finite number in [{min}, {max}]");
        }
    }
    if a.reps_limit == Some(0) {
        bail!("--reps-limit 0: must be at least 1");
    }
    Ok(())
}

pub fn run_gate(a: GateArgs) -> Result<i32> {
    check_flags(&a)?;
    let cfg = GateConfig {
        threshold: a.threshold / 100.0,
        absolute_threshold: a.absolute_threshold / 100.0,
        same_machine: match a.same_machine.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        allow_environment_change: a.allow_environment_change,
        confidence: a.confidence,
        memory_tolerance: a.memory_tolerance / 100.0,
        cv_limit: a.cv_limit / 100.0,
        method: a.method,
        ..GateConfig::default()
    };
    if a.ab.against.is_some() {
        return crate::cmd::gate_ab::run(&a, cfg);
    }
    // clap requires both unless --against is given.
    let (Some(base_path), Some(cur_path)) = (&a.baseline, &a.current) else {
        bail!("gate needs --baseline and --current, or --against REF");
    };
    let (baseline, base_file) = Baseline::load(base_path)?;
    let (mut current, cur_file) = Baseline::load(cur_path)?;
    for (b, file) in [(&baseline, &base_file), (&current, &cur_file)] {
        refuse_profiling_run(b, file)?;
    }
    if let Some(n) = a.reps_limit {
        current.truncate_reps(n);
    }
    let report = compare(&baseline, &current, &cfg).with_context(|| {
        format!(
            "gate {} against {}",
            cur_file.display(),
            base_path.display()
        )
    })?;
    emit(&report, &a)
}

/// Prints the report (or its verdict line with --quiet), writes --markdown
/// and --json, says a failing verdict on stderr; the exit code.
pub fn emit(report: &GateReport, a: &GateArgs) -> Result<i32> {
    let text = report.render_text();
    if a.quiet {
        print!(
            "{}",
            text.lines()
                .last()
                .map(|l| format!("{l}\n"))
                .unwrap_or_default()
        );
    } else {
        print!("{text}");
    }
    if let Some(path) = &a.markdown {
        std::fs::write(path, report.render_markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.json {
        let json = serde_json::to_string_pretty(report).expect("reports serialize");
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    let code = report.exit_code();
    match code {
        EXIT_REGRESSION => eprintln!("crossbench gate: REGRESSION (exit {code})"),
        EXIT_INCONCLUSIVE => eprintln!(
            "crossbench gate: INCONCLUSIVE (exit {code}): the runs are too noisy, or their intervals too wide for the threshold, to judge; rerun with more reps (with --against: --rounds or --looks, or --pairs for whole runs) or on a quieter machine"
        ),
        _ => {}
    }
    Ok(code)
}

pub fn run_baseline(cmd: BaselineCommand) -> Result<i32> {
    let BaselineCommand::Save(a) = cmd;
    let (loaded, file) = Baseline::load(&a.run)?;
    refuse_unfit_baseline(&loaded, &file, a.force)?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| loaded.scenario.name.clone());
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("--name `{name}`: must be a plain file name");
    }
    let baseline = Baseline {
        name: name.clone(),
        ..loaded
    };
    let path = a.dir.join(format!("{name}.json"));
    baseline.save(&path)?;
    eprintln!(
        "wrote {} (from run {})",
        path.display(),
        baseline.source_run_id
    );
    Ok(0)
}

/// Err naming the file and why, for a run that must not become a
/// baseline: a profiling or unfinished run, one with no usable backend, an
/// injected one, or (unless `force`) one noisier than the gate's CV limit.
fn refuse_unfit_baseline(loaded: &Baseline, file: &std::path::Path, force: bool) -> Result<()> {
    refuse_profiling_run(loaded, file)?;
    if let Some(status) = loaded.unfinished() {
        bail!(
            "{}: the run is `{}`, not complete (interrupted, killed, or stopped by a failed write); a baseline must be a complete run",
            file.display(),
            status.as_str()
        );
    }
    if loaded.usable_backends().next().is_none() {
        let statuses: Vec<String> = loaded
            .backends
            .iter()
            .map(|b| format!("{} {}", b.name, b.status.as_str()))
            .collect();
        bail!(
            "{}: no backend has status ok with measured reps ({}); a baseline needs at least one",
            file.display(),
            statuses.join(", ")
        );
    }
    if !loaded.injected_slowdowns.is_empty() {
        bail!(
            "{}: this run has injected slowdowns; a baseline must be a clean run",
            file.display()
        );
    }
    // Judged by the gate's own CV limit: a baseline the gate would call
    // inconclusive as a current run would only widen every interval.
    let too_noisy: Vec<String> = loaded
        .backends
        .iter()
        .filter_map(|b| {
            let cv = b.decode_cv.filter(|&cv| cv > GATE_CV_LIMIT)?;
            Some(format!("{} {:.0}%", b.name, cv * 100.0))
        })
        .collect();
    if !too_noisy.is_empty() && !force {
        bail!(
            "{}: decode-time CV above the gate's {:.0}% limit ({}); rerun on a quieter machine or pass --force",
            file.display(),
            GATE_CV_LIMIT * 100.0,
            too_noisy.join(", ")
        );
    }
    Ok(())
}

/// A profiling run (`--phases`, `crossbench profile`) carries the profiler's
/// cost in its timings: never a baseline, never a gate input.
fn refuse_profiling_run(b: &Baseline, file: &std::path::Path) -> Result<()> {
    if b.profiling.is_some() {
        bail!(
            "{}: this is a profiling run (bench --phases or crossbench profile); \
             baselines and gate inputs must be runs without profiling",
            file.display()
        );
    }
    Ok(())
}
