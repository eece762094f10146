//! Which BLAS every backend's worker uses, and how its idle threads wait.
//!
//! MLX's Linux wheel bundles the netlib reference BLAS, ~30x slower than OpenBLAS for
//! fp32 prefill here. A preloaded BLAS replaces it for every backend's worker alike
//! (the driver itself does no math); the choice is recorded in the results.

use anyhow::{bail, Result};
use std::path::Path;

/// The PyPI OpenBLAS behind libcrossbench_blas.so (its pin: scripts/requirements.txt).
const PYPI_OPENBLAS: &str = "scipy-openblas32 (pinned in scripts/requirements.txt)";
/// Debian's multithreaded OpenBLAS (package libopenblas0-pthread).
const DEBIAN_OPENBLAS: &str = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3";

/// How OpenBLAS's worker threads wait between two BLAS calls (`--blas-idle`).
///
/// Why it matters: a decode step calls BLAS many times, and by default each
/// OpenBLAS worker spins for ~2^28 cycles after its share before it sleeps.
/// On a 2-core machine that spinning thread competes with the worker's own
/// threads (MLX's stream, the caller's main thread), and which thread the
/// scheduler puts where persists for many generations: decode times here were
/// bimodal (117 vs 160 ms on `ci`), with per-process states whose paired
/// ratios had lag-1 autocorrelation ~0.45, so rounds were not independent.
/// Sleeping at once removed the bimodality (docs/methodology.md, "Run design").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BlasIdle {
    /// OPENBLAS_THREAD_TIMEOUT=4: idle BLAS threads sleep almost at once.
    Sleep,
    /// OpenBLAS's own default (spin, then sleep).
    Spin,
}

/// OpenBLAS's thread-count variable. Workers inherit the driver's environment,
/// so a value set there applies too, and is recorded as such.
pub(crate) const THREADS_VAR: &str = "OPENBLAS_NUM_THREADS";

/// The thread-count clause of `environment.blas` for `n` threads set by crossbench.
pub(crate) fn threads_clause(n: u32) -> String {
    format!("{THREADS_VAR}={n} (BLAS threads per worker)")
}

/// The environment every worker gets for `--blas ARG --blas-idle IDLE
/// --blas-threads N`, and the description results.json records
/// (`environment.blas`; its format is parsed back by the gate,
/// crates/crossbench-core/src/gate/environment_change.rs).
pub(crate) fn blas_choice(
    arg: &str,
    idle: BlasIdle,
    threads: Option<u32>,
) -> Result<(Vec<(String, String)>, String)> {
    let (mut env, mut name) = blas_library(arg)?;
    if env.is_empty() {
        return Ok((env, name)); // the bundled BLAS has no threads
    }
    // Why it matters: on 2 cores, OpenBLAS's two threads share the cores with
    // MLX's stream thread, the caller's thread and the driver; one thread
    // leaves a core to them and cut the per-rep decode CV of `ci` from
    // 12-15% to 4-7% (docs/methodology.md, "Run design").
    match (threads, std::env::var(THREADS_VAR)) {
        (Some(n), _) => {
            env.push((THREADS_VAR.into(), n.to_string()));
            name.push_str(&format!(", {}", threads_clause(n)));
        }
        (None, Ok(inherited)) => name.push_str(&format!(
            ", {THREADS_VAR}={inherited} (BLAS threads per worker, from the environment)"
        )),
        (None, Err(_)) => {}
    }
    match idle {
        BlasIdle::Sleep => {
            // 4 is OpenBLAS's minimum: a timeout of 2^4 cycles.
            env.push(("OPENBLAS_THREAD_TIMEOUT".into(), "4".into()));
            name.push_str(", OPENBLAS_THREAD_TIMEOUT=4 (idle BLAS threads sleep at once)");
        }
        BlasIdle::Spin => {
            name.push_str(", OpenBLAS's default thread wait (idle BLAS threads spin first)")
        }
    }
    Ok((env, name))
}

fn blas_library(arg: &str) -> Result<(Vec<(String, String)>, String)> {
    let bundled = (
        Vec::new(),
        "MLX wheel's bundled BLAS (netlib reference)".to_string(),
    );
    let preload = |path: &str| {
        let core = crate::setup::blas_probe::core_name(path)
            .map_or(String::new(), |c| format!(" (OpenBLAS core {c})"));
        (
            vec![("LD_PRELOAD".to_string(), path.to_string())],
            format!("LD_PRELOAD={path}{core}"),
        )
    };
    let pypi = crate::setup::locate::pypi_blas();
    let preload_pypi = |p: &Path| {
        let (env, name) = preload(&p.display().to_string());
        (env, format!("{name}, forwarding to PyPI's {PYPI_OPENBLAS}"))
    };
    match arg {
        "bundled" => Ok(bundled),
        "auto" if cfg!(target_os = "linux") && Path::new(DEBIAN_OPENBLAS).is_file() => {
            Ok(preload(DEBIAN_OPENBLAS))
        }
        "auto" | "openblas-pypi" if pypi.is_some() => Ok(preload_pypi(pypi.as_deref().unwrap())),
        "openblas-pypi" => bail!(
            "--blas openblas-pypi: this build has no libcrossbench_blas.so ({PYPI_OPENBLAS} \
             is not in the pinned environment and could not be installed); pip-install that pin \
             into .venv and rebuild"
        ),
        "auto" => {
            if cfg!(target_os = "linux") {
                eprintln!("crossbench: no OpenBLAS ({DEBIAN_OPENBLAS} nor {PYPI_OPENBLAS}); using MLX's slow bundled BLAS");
            }
            Ok(bundled)
        }
        path if Path::new(path).is_file() => Ok(preload(path)),
        other => bail!("--blas {other}: not auto, bundled, or an existing library file"),
    }
}
