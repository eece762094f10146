//! HTML reports of crossbench runs, for design reviews.
//!
//! One self-contained HTML file per run (`report.html` beside
//! `results.json`): tables, inline SVG charts drawn with plotters' SVG
//! backend, the design note's quantitative claims beside what the run
//! measured, metadata and every warning. No scripts, fonts or other external
//! resources: a strict Content-Security-Policy forbids fetching anything, so
//! the page renders the same offline, in a mail attachment or printed.
//!
//! `compare` puts several runs of one scenario side by side (commits,
//! machines, model sizes) with the change of each metric and its interval.

pub mod attribution_section;
mod backend_cells;
pub mod chart_guard;
pub mod charts;
mod claim_row;
pub mod claims;
mod claims_go;
pub mod compare;
pub mod embed_page;
mod escape;
mod html;
pub mod ladder;
pub mod load;
mod run_design;
mod run_metadata;
mod run_page;
mod serve_section;
pub mod sweep;
pub mod view;

#[cfg(test)]
mod test_support;

use std::path::{Path, PathBuf};

pub use compare::{compare_runs, Comparison};
pub use load::{load_microbench, load_results, Microbench};
pub use run_page::render_run;
pub use sweep::{write_sweep, SweepReport};

/// File name of a run's report inside its run directory.
pub const REPORT_FILE: &str = "report.html";
/// Default microbenchmark results, looked for in the results root (the
/// parent of a run directory).
pub const MICROBENCH_FILE: &str = "microbench.json";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} is not valid JSON: {message}")]
    Json { file: String, message: String },
    #[error("{file}: {message}")]
    Schema { file: String, message: String },
    #[error("cannot write {file}: {message}")]
    Write { file: String, message: String },
    #[error("cannot draw chart `{chart}`: {message}")]
    Chart {
        chart: &'static str,
        message: String,
    },
    /// The data holds a value no chart can show (not finite, or absurdly
    /// large): the page shows a note in the chart's place.
    #[error("chart `{chart}` left out: {message}")]
    Unplottable {
        chart: &'static str,
        message: String,
    },
    #[error("{0}")]
    Compare(String),
}

/// Reads `RUN_DIR/results.json` (or a results.json path), renders the report
/// and writes `RUN_DIR/report.html`. Microbenchmark results are taken from
/// `microbench` when given, else from `<results root>/microbench.json` when
/// that exists. Returns the path written.
pub fn write_run_report(run: &Path, microbench: Option<&Path>) -> Result<PathBuf, ReportError> {
    let (dir, json) = run_paths(run);
    let results = load_results(&json)?;
    let default_micro = dir.parent().map(|p| p.join(MICROBENCH_FILE));
    let micro_path = microbench
        .map(Path::to_path_buf)
        .or(default_micro.filter(|p| p.is_file()));
    let micro = micro_path.as_deref().map(load_microbench).transpose()?;
    let page = render_run(&results, micro.as_ref())?;
    let out = dir.join(REPORT_FILE);
    crossbench_core::export::write_atomic(&out, page.as_bytes()).map_err(|e| {
        ReportError::Write {
            file: out.display().to_string(),
            message: e.to_string(),
        }
    })?;
    Ok(out)
}

/// A run directory or a results.json inside one -> (directory, json path).
pub fn run_paths(run: &Path) -> (PathBuf, PathBuf) {
    if run.is_dir() {
        (run.to_path_buf(), run.join("results.json"))
    } else {
        let dir = run
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (dir, run.to_path_buf())
    }
}
