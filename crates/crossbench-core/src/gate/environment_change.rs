//! What changed in the software and hardware setup between the two runs, and
//! which changes make their timings incomparable.
//!
//! Refused (an error unless the caller allows it): another core count, MLX
//! version, BLAS library, BLAS thread count or device. Each changes the work a token costs on
//! both sides of every overhead ratio differently (MLX's own dispatch, how
//! many threads BLAS splits a product into), so a moved overhead could be
//! the setup, not the code.
//!
//! Noted only: another OpenBLAS core. A DYNAMIC_ARCH OpenBLAS picks its
//! kernels by CPUID, so a CI VM on another CPU model records another core
//! (SkylakeX on the baseline's Xeon, Haswell or Zen on an EPYC) for the very
//! same library; the overhead ratios are measured side by side within one
//! run, on whichever core that run got, so they stay comparable, while
//! absolute times do not. Another CPU model is the machine check's business
//! (`machine::differences`), as before.

use super::{GateConfig, GateError};
use crate::baseline::Baseline;
use crate::environment::Environment;

/// One fact that differs: "cores: 2 (baseline) vs 4 (current)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    pub fact: &'static str,
    pub baseline: String,
    pub current: String,
    /// True when the change makes timings incomparable (refused unless allowed).
    pub refused: bool,
}

impl Change {
    pub fn describe(&self) -> String {
        format!(
            "{}: {} (baseline) vs {} (current)",
            self.fact, self.baseline, self.current
        )
    }
}

/// Every recorded setup fact that differs, refused ones first. A fact one
/// run recorded and the other did not counts as changed: an unrecorded
/// setup cannot be shown to be the same.
pub(super) fn changes(base: &Environment, cur: &Environment) -> Vec<Change> {
    let text = |s: &Option<String>| s.clone().unwrap_or_else(|| "unrecorded".into());
    let cores = |e: &Environment| e.cores.map_or("unrecorded".into(), |c| c.to_string());
    let (bb, cb) = (blas(&base.blas), blas(&cur.blas));
    let facts = [
        ("cores", cores(base), cores(cur), true),
        (
            "MLX version",
            text(&base.mlx_version),
            text(&cur.mlx_version),
            true,
        ),
        ("BLAS library", bb.library, cb.library, true),
        ("BLAS threads", bb.threads, cb.threads, true),
        ("device", text(&base.device), text(&cur.device), true),
        ("OpenBLAS core", bb.core, cb.core, false),
    ];
    facts
        .into_iter()
        .filter(|(_, b, c, _)| b != c)
        .map(|(fact, baseline, current, refused)| Change {
            fact,
            baseline,
            current,
            refused,
        })
        .collect()
}

/// Err naming every refused change, unless the configuration allows them.
pub(super) fn refuse_unless_allowed(
    changes: &[Change],
    cfg: &GateConfig,
    baseline: &Baseline,
    current: &Baseline,
) -> Result<(), GateError> {
    let refused: Vec<String> = changes
        .iter()
        .filter(|c| c.refused)
        .map(Change::describe)
        .collect();
    if refused.is_empty() || cfg.allow_environment_change {
        return Ok(());
    }
    Err(GateError::EnvironmentChanged {
        baseline: baseline.name.clone(),
        current: current.name.clone(),
        changes: refused.join("; "),
    })
}

/// `environment.blas` taken apart. Its format is written by the binary's
/// src/setup/blas_choice.rs: "LD_PRELOAD=PATH (OpenBLAS core NAME)", then
/// optionally ", forwarding to PyPI's ...", a thread-count clause
/// (", OPENBLAS_NUM_THREADS=N (...)") and a thread-wait clause
/// (", OPENBLAS_THREAD_TIMEOUT=4 (...)" or ", OpenBLAS's default thread
/// wait (...)"), or "MLX wheel's bundled BLAS (netlib reference)".
#[derive(Debug, PartialEq, Eq)]
pub(super) struct BlasSetup {
    /// Which library: its path, or the PyPI package our forwarding shim
    /// loads (the shim's own path moves with the checkout).
    pub library: String,
    pub core: String,
    /// Threads per worker: "1", or OpenBLAS's default when none was set.
    pub threads: String,
    /// How idle BLAS threads wait: a run-design choice, noted by `notes`.
    pub thread_wait: String,
}

const CORE_OPEN: &str = " (OpenBLAS core ";
/// The thread count of a run that set none: the bundled BLAS has none, and
/// OpenBLAS starts one per core.
const DEFAULT_THREADS: &str = "BLAS default (one per core)";

pub(super) fn blas(recorded: &Option<String>) -> BlasSetup {
    let Some(recorded) = recorded else {
        let unrecorded = || "unrecorded".to_string();
        return BlasSetup {
            library: unrecorded(),
            core: unrecorded(),
            threads: unrecorded(),
            thread_wait: unrecorded(),
        };
    };
    let is_wait = |p: &str| p.starts_with("OPENBLAS_THREAD_TIMEOUT") || p.contains("thread wait");
    let parts: Vec<&str> = recorded.split(", ").collect();
    let thread_wait = parts.iter().copied().find(|p| is_wait(p)).unwrap_or("");
    let thread_wait = thread_wait.to_string();
    let threads = parts
        .iter()
        .find_map(|p| p.strip_prefix("OPENBLAS_NUM_THREADS="))
        .map(|n| n.split(' ').next().unwrap_or(n).to_string());
    let threads = threads.unwrap_or_else(|| DEFAULT_THREADS.to_string());
    let first = parts.first().copied().unwrap_or("");
    let (path, core) = match first.split_once(CORE_OPEN) {
        Some((path, rest)) => (path, rest.trim_end_matches(')')),
        None => (first, "none recorded"),
    };
    let library = parts
        .iter()
        .copied()
        .find(|p| p.starts_with("forwarding to "))
        .unwrap_or(path)
        .to_string();
    BlasSetup {
        library,
        core: core.to_string(),
        threads,
        thread_wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XEON: &str = "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 (OpenBLAS core SkylakeX), OPENBLAS_THREAD_TIMEOUT=4 (idle BLAS threads sleep at once)";

    #[test]
    fn blas_description_splits_into_library_core_and_thread_wait() {
        let x = blas(&Some(XEON.into()));
        assert_eq!(
            x.library,
            "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
        );
        assert_eq!(x.core, "SkylakeX");
        assert_eq!(
            x.thread_wait,
            "OPENBLAS_THREAD_TIMEOUT=4 (idle BLAS threads sleep at once)"
        );
        let pypi = blas(&Some("LD_PRELOAD=/a/libcrossbench_blas.so (OpenBLAS core Zen), forwarding to PyPI's scipy-openblas32 (pinned in scripts/requirements.txt), OpenBLAS's default thread wait (idle BLAS threads spin first)".into()));
        assert!(pypi
            .library
            .starts_with("forwarding to PyPI's scipy-openblas32"));
        assert_eq!(pypi.core, "Zen");
        assert!(pypi.thread_wait.contains("spin first"));
        let bundled = blas(&Some("MLX wheel's bundled BLAS (netlib reference)".into()));
        assert_eq!(
            bundled.library,
            "MLX wheel's bundled BLAS (netlib reference)"
        );
        assert_eq!(bundled.thread_wait, "");
        assert_eq!(bundled.threads, DEFAULT_THREADS);
        assert_eq!(x.threads, DEFAULT_THREADS);
    }

    #[test]
    fn a_blas_thread_count_is_parsed_and_another_one_refused() {
        let one = XEON.replace(
            "), OPENBLAS",
            "), OPENBLAS_NUM_THREADS=1 (BLAS threads per worker), OPENBLAS",
        );
        let parsed = blas(&Some(one.clone()));
        assert_eq!(parsed.threads, "1");
        assert_eq!(parsed.core, "SkylakeX");
        assert!(parsed.thread_wait.starts_with("OPENBLAS_THREAD_TIMEOUT=4"));
        let env = |blas: &str| Environment {
            blas: Some(blas.into()),
            ..Environment::default()
        };
        let c = changes(&env(XEON), &env(&one));
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].refused);
        assert_eq!(
            c[0].describe(),
            format!("BLAS threads: {DEFAULT_THREADS} (baseline) vs 1 (current)")
        );
    }

    #[test]
    fn another_openblas_core_is_noted_and_other_facts_refused() {
        let base = Environment {
            cores: Some(2),
            mlx_version: Some("0.32.2".into()),
            blas: Some(XEON.into()),
            device: Some("cpu".into()),
            ..Environment::default()
        };
        assert!(changes(&base, &base.clone()).is_empty());
        let mut cur = base.clone();
        cur.blas = Some(XEON.replace("SkylakeX", "Haswell"));
        let c = changes(&base, &cur);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(!c[0].refused);
        assert_eq!(
            c[0].describe(),
            "OpenBLAS core: SkylakeX (baseline) vs Haswell (current)"
        );
        cur.cores = Some(4);
        cur.mlx_version = None;
        cur.device = Some("gpu".into());
        cur.blas = Some(XEON.replace("pthread", "openmp"));
        let refused: Vec<&str> = changes(&base, &cur)
            .into_iter()
            .filter(|c| c.refused)
            .map(|c| c.fact)
            .collect();
        assert_eq!(refused, ["cores", "MLX version", "BLAS library", "device"]);
    }
}
