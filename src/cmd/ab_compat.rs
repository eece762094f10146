//! `gate --against REF` with a base built before `[run] blas_threads`
//! existed: such a base refuses the head's scenario file (scenarios are parsed
//! with `deny_unknown_fields`) and would run OpenBLAS's default thread count,
//! so the two sides would not do the same work. The base instead gets a copy
//! of the scenario without the key, the thread count through the environment
//! (OPENBLAS_NUM_THREADS, which its workers inherit), and its recorded BLAS
//! description amended to say so, with a loud note in the report.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use crossbench_core::baseline::Baseline;

use crate::setup::blas_choice::{threads_clause, THREADS_VAR};

/// How the base's runs differ from the head's to do the same work.
#[derive(Debug, Default, Clone)]
pub struct BaseCompat {
    /// The scenario file the base runs (the head's, unless rewritten).
    pub scenario_file: Option<PathBuf>,
    /// Extra environment of the base's `bench`.
    pub env: Vec<(String, String)>,
    /// The thread clause the head records and this base cannot.
    pub blas_clause: Option<String>,
    pub note: Option<String>,
}

/// Nothing to do unless the scenario sets `blas_threads` and the base's
/// `bench` lacks `--blas-threads`.
pub fn prepare(
    base_bin: &Path,
    label: &str,
    scenario_file: &Path,
    blas_threads: Option<u32>,
    out: &Path,
) -> Result<BaseCompat> {
    let Some(n) = blas_threads else {
        return Ok(BaseCompat::default());
    };
    let help = Command::new(base_bin)
        .args(["bench", "--help"])
        .env_remove("CROSSBENCH_ROOT")
        .output()
        .with_context(|| format!("running {} bench --help", base_bin.display()))?;
    if String::from_utf8_lossy(&help.stdout).contains("--blas-threads") {
        return Ok(BaseCompat::default());
    }
    let text = std::fs::read_to_string(scenario_file)
        .with_context(|| format!("reading {}", scenario_file.display()))?;
    let stripped: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("blas_threads"))
        .collect();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let copy = out.join(
        scenario_file
            .file_name()
            .unwrap_or("scenario.toml".as_ref()),
    );
    std::fs::write(&copy, stripped.join("\n") + "\n")
        .with_context(|| format!("writing {}", copy.display()))?;
    Ok(BaseCompat {
        scenario_file: Some(copy),
        env: vec![(THREADS_VAR.into(), n.to_string())],
        blas_clause: Some(threads_clause(n)),
        note: Some(format!(
            "base {label} predates `blas_threads`: its runs got {THREADS_VAR}={n} from the gate's environment and the scenario without that key; its recorded BLAS says so by the gate's hand"
        )),
    })
}

/// Adds the thread clause to a base run's recorded BLAS, where the head's
/// `bench` writes it: before the thread-wait clause.
pub fn amend(run: &mut Baseline, compat: &BaseCompat) {
    if let (Some(clause), Some(blas)) = (&compat.blas_clause, &run.environment.blas) {
        run.environment.blas = Some(with_clause(blas, clause));
    }
}

fn with_clause(blas: &str, clause: &str) -> String {
    let mut parts: Vec<&str> = blas.split(", ").collect();
    let wait = parts
        .iter()
        .position(|p| p.starts_with("OPENBLAS_THREAD_TIMEOUT") || p.contains("thread wait"))
        .unwrap_or(parts.len());
    parts.insert(wait, clause);
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clause_goes_before_the_thread_wait() {
        let blas = "LD_PRELOAD=/x.so (OpenBLAS core Zen), OPENBLAS_THREAD_TIMEOUT=4 (sleep)";
        assert_eq!(
            with_clause(blas, "OPENBLAS_NUM_THREADS=1 (per worker)"),
            "LD_PRELOAD=/x.so (OpenBLAS core Zen), OPENBLAS_NUM_THREADS=1 (per worker), OPENBLAS_THREAD_TIMEOUT=4 (sleep)"
        );
        assert_eq!(with_clause("a (b)", "c"), "a (b), c");
    }
}
