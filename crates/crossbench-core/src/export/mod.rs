//! Result files, one module per format behind one small trait.
//!
//! Every file is written atomically (temp file in the same directory, fsync,
//! rename), so a reader or an interrupted run never sees half a file.

mod atomic;
mod bencher;
mod csv;
mod github_benchmark;
mod json;
mod markdown;
mod trace;
pub mod tracked;

use std::path::{Path, PathBuf};

use crate::results::BenchResults;

pub use self::atomic::{ensure_writable_dir, write_atomic};
pub use self::bencher::BencherExporter;
pub use self::csv::CsvExporter;
pub use self::github_benchmark::GithubBenchmarkExporter;
pub use self::json::JsonExporter;
pub use self::markdown::{md_cells, md_code, md_text, render_summary, MarkdownExporter};
pub use self::trace::TraceExporter;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("output directory {dir} is not writable: {source}")]
    NotWritable { dir: String, source: std::io::Error },
    #[error("cannot write {file}: {source}")]
    Write {
        file: String,
        source: std::io::Error,
    },
    #[error("cannot render {file}: {message}")]
    Render { file: &'static str, message: String },
}

pub trait Exporter {
    fn file_name(&self) -> &'static str;
    fn render(&self, results: &BenchResults) -> Result<Vec<u8>, ExportError>;
}

pub fn all_exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(JsonExporter),
        Box::new(CsvExporter),
        Box::new(MarkdownExporter),
        Box::new(BencherExporter),
        Box::new(GithubBenchmarkExporter {
            bigger_is_better: false,
        }),
        Box::new(GithubBenchmarkExporter {
            bigger_is_better: true,
        }),
        Box::new(TraceExporter),
    ]
}

/// Writes every format into `dir`; returns the paths written.
///
/// results.json goes last: when a write fails (a full disk), the results.json
/// left is the previous snapshot's, whose status says the run had not
/// finished, never a `complete` one beside missing or stale other files.
pub fn write_results(dir: &Path, results: &BenchResults) -> Result<Vec<PathBuf>, ExportError> {
    let mut exporters = all_exporters();
    exporters.sort_by_key(|e| e.file_name() == "results.json");
    exporters
        .iter()
        .map(|exporter| {
            let path = dir.join(exporter.file_name());
            write_atomic(&path, &exporter.render(results)?)?;
            Ok(path)
        })
        .collect()
}
