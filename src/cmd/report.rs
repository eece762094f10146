//! `crossbench report RUN_DIR` and `crossbench compare RUN_A RUN_B [...]`:
//! self-contained HTML for design reviews (see crates/crossbench-report).

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ReportArgs {
    /// Run directory (results/<run-id>) or its results.json.
    pub run: PathBuf,
    /// Microbenchmark summary to quote in the claims table (default:
    /// microbench.json beside the run directories, when present).
    #[arg(long)]
    pub microbench: Option<PathBuf>,
}

#[derive(Args)]
pub struct CompareArgs {
    /// Two or more run directories (or results.json files) of one scenario; the first is the baseline.
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// HTML file to write (default: compare-<ids>.html beside the first run directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct LadderArgs {
    /// Sweep directories (results/<sweep-id>) or their sweep.json, e.g. one
    /// from `sweep --scenario ladder --device cpu` and one from `--device gpu`.
    #[arg(required = true, num_args = 1..)]
    pub sweeps: Vec<PathBuf>,
    /// HTML file to write (default: ladder.html beside the first sweep directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run_ladder(args: LadderArgs) -> Result<i32> {
    use crossbench_report::ladder;
    let sweeps = args
        .sweeps
        .iter()
        .map(|p| ladder::load_sweep(p))
        .collect::<Result<Vec<_>, _>>()?;
    let out = args.out.clone().unwrap_or_else(|| {
        let first = &args.sweeps[0];
        let dir = if first.is_dir() {
            first.parent()
        } else {
            first.parent().and_then(Path::parent)
        };
        dir.unwrap_or(Path::new(".")).join("ladder.html")
    });
    let page = ladder::render_ladder(&sweeps)?;
    std::fs::write(&out, page).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", ladder::ladder_markdown(&sweeps));
    eprintln!("ladder: {}", out.display());
    Ok(0)
}

pub fn run_report(args: ReportArgs) -> Result<i32> {
    let path = crossbench_report::write_run_report(&args.run, args.microbench.as_deref())?;
    eprintln!("report: {}", path.display());
    Ok(0)
}

pub fn run_compare(args: CompareArgs) -> Result<i32> {
    let mut runs = Vec::new();
    for run in &args.runs {
        let (dir, json) = crossbench_report::run_paths(run);
        let results = crossbench_report::load_results(&json)?;
        runs.push((dir.display().to_string(), results));
    }
    let comparison = crossbench_report::compare_runs(&runs)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.runs[0], &runs));
    std::fs::write(&out, &comparison.html).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", comparison.markdown);
    eprintln!("comparison: {}", out.display());
    Ok(0)
}

/// Beside the first run: compare-<random suffix of each run id>.html.
fn default_out(first: &Path, runs: &[(String, crossbench_core::BenchResults)]) -> PathBuf {
    let (dir, _) = crossbench_report::run_paths(first);
    let root = dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    // The run id comes from the results file: only its letters and digits
    // go into a file name, so no `/` or `..` can move the output elsewhere.
    let ids: Vec<String> = runs
        .iter()
        .map(|(_, r)| {
            let suffix = r.run_id.rsplit('-').next().unwrap_or(&r.run_id);
            let safe: String = suffix
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect();
            if safe.is_empty() {
                "run".to_string()
            } else {
                safe
            }
        })
        .collect();
    root.join(format!("compare-{}.html", ids.join("-")))
}

/// Called at the end of `bench`: a failed report must not hide the run's
/// results, so it is a warning, not an error.
pub fn write_after_bench(out_dir: &Path) {
    match crossbench_report::write_run_report(out_dir, None) {
        Ok(path) => eprintln!("report: {}", path.display()),
        Err(e) => eprintln!("warning: no HTML report for {}: {e}", out_dir.display()),
    }
}
