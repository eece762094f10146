//! Where crossbench's files are at run time: one rule for the project's home
//! (scenarios/, workers/, .cache/, .venv/) and for the built artifacts (the
//! native runner, the shim's shared library, the BLAS forwarder, the Go worker).
//!
//! The home, first match wins:
//! 1. `CROSSBENCH_HOME` (or its older name `CROSSBENCH_ROOT`), which must hold
//!    `scenarios/`;
//! 2. the nearest directory above the running binary that holds `scenarios/`
//!    and either a bundle manifest (`crossbench-bundle.json`, written by
//!    `crossbench bundle`) or a `Cargo.toml` (a checkout);
//! 3. the source directory this binary was compiled from, a fallback for
//!    `cargo run` in a checkout whose target directory lies elsewhere;
//!    `CROSSBENCH_NO_SOURCE_FALLBACK=1` turns it off, so that a bundle's test
//!    fails if anything still points into the checkout.
//!
//! In a bundle the artifacts are in `bin/` and `lib/` beside the binary; in a
//! checkout they are cargo's build outputs (crossbench-shim's OUT_DIR).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The bundle manifest's file name; its presence marks a bundle's root.
pub const BUNDLE_MANIFEST: &str = "crossbench-bundle.json";
/// Turns off the compiled-in source directory as a last resort.
pub const NO_SOURCE_FALLBACK: &str = "CROSSBENCH_NO_SOURCE_FALLBACK";

/// What kind of tree the home is: where its artifacts live follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeKind {
    /// Written by `crossbench bundle`: artifacts in `bin/` and `lib/`.
    Bundle,
    /// A source checkout: artifacts are cargo's build outputs.
    Checkout,
}

/// The project's home and how it was found (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub root: PathBuf,
    pub kind: HomeKind,
    pub found_by: String,
}

/// What the rule reads, gathered once so that the rule itself is a pure function.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `CROSSBENCH_HOME`, else `CROSSBENCH_ROOT`, with the variable's name.
    pub env_home: Option<(&'static str, PathBuf)>,
    /// The running binary.
    pub exe: Option<PathBuf>,
    /// The compiled-in source directory.
    pub source_dir: PathBuf,
    /// Whether the source directory may be used at all.
    pub source_fallback: bool,
}

impl Inputs {
    /// This process's environment and binary.
    pub fn from_process() -> Inputs {
        let env_home = ["CROSSBENCH_HOME", "CROSSBENCH_ROOT"]
            .into_iter()
            .find_map(|name| std::env::var_os(name).map(|v| (name, PathBuf::from(v))));
        Inputs {
            env_home,
            exe: std::env::current_exe().ok(),
            source_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            // A match, not `is_none_or`: that needs Rust 1.82, above the MSRV.
            source_fallback: match std::env::var_os(NO_SOURCE_FALLBACK) {
                None => true,
                Some(v) => v.is_empty() || v == "0",
            },
        }
    }
}

/// The kind of tree `dir` is, if it is one crossbench can run from.
pub fn kind_of(dir: &Path) -> Option<HomeKind> {
    if !dir.join("scenarios").is_dir() {
        return None;
    }
    if dir.join(BUNDLE_MANIFEST).is_file() {
        Some(HomeKind::Bundle)
    } else if dir.join("Cargo.toml").is_file() {
        Some(HomeKind::Checkout)
    } else {
        None
    }
}

/// The resolution rule (see the module's documentation); the error names
/// every place it looked.
pub fn resolve(inputs: &Inputs) -> Result<Home, String> {
    if let Some((name, dir)) = &inputs.env_home {
        // Set on purpose: a wrong value is an error, never silently skipped.
        let kind = kind_of(dir).ok_or_else(|| {
            format!(
                "{name}={} holds no scenarios/ with {BUNDLE_MANIFEST} or Cargo.toml",
                dir.display()
            )
        })?;
        let found_by = format!("{name}={}", dir.display());
        let root = dir.clone();
        return Ok(Home {
            root,
            kind,
            found_by,
        });
    }
    let mut looked = Vec::new();
    if let Some(exe) = &inputs.exe {
        for dir in exe.ancestors().skip(1) {
            if let Some(kind) = kind_of(dir) {
                let found_by = format!("above the binary {}", exe.display());
                let root = dir.to_path_buf();
                return Ok(Home {
                    root,
                    kind,
                    found_by,
                });
            }
            looked.push(dir.display().to_string());
        }
    }
    if inputs.source_fallback && kind_of(&inputs.source_dir).is_some() {
        return Ok(Home {
            root: inputs.source_dir.clone(),
            kind: HomeKind::Checkout,
            found_by: "the source directory this binary was built from".into(),
        });
    }
    Err(not_found(inputs, &looked))
}

/// The error when no rule matched: every directory tried, and why the
/// source directory did not serve.
fn not_found(inputs: &Inputs, looked: &[String]) -> String {
    let source = inputs.source_dir.display();
    let fallback = if inputs.source_fallback {
        format!("nor in the source directory {source}")
    } else {
        format!("and the source directory {source} is not used ({NO_SOURCE_FALLBACK} is set)")
    };
    let looked = if looked.is_empty() {
        "nothing: the binary's path is unknown".to_string()
    } else {
        looked.join(", ")
    };
    format!(
        "cannot find crossbench's home (scenarios/ with {BUNDLE_MANIFEST} or Cargo.toml): \
         CROSSBENCH_HOME is unset, none above the binary (looked in {looked}), {fallback}"
    )
}

/// This process's home, resolved once.
pub fn home() -> Result<&'static Home, String> {
    static HOME: OnceLock<Result<Home, String>> = OnceLock::new();
    HOME.get_or_init(|| resolve(&Inputs::from_process()))
        .as_ref()
        .map_err(Clone::clone)
}

/// An artifact: `bin/NAME` or `lib/NAME` in a bundle, the build output in a checkout.
fn artifact(bundle_rel: &str, built: &Path) -> Result<PathBuf, String> {
    let home = home()?;
    Ok(match home.kind {
        HomeKind::Bundle => home.root.join(bundle_rel),
        HomeKind::Checkout => built.to_path_buf(),
    })
}

/// The C++ native runner (native-cpp).
pub fn native_runner() -> Result<PathBuf, String> {
    artifact(
        "bin/crossbench-native-runner",
        crossbench_shim::native_runner_path(),
    )
}

/// `libcrossbench_shim.so`, for the Python worker's ctypes engine.
pub fn shim_so() -> Result<PathBuf, String> {
    artifact("lib/libcrossbench_shim.so", crossbench_shim::shim_so_path())
}

/// `libcrossbench_blas.so`, where this build or bundle has one.
pub fn pypi_blas() -> Option<PathBuf> {
    let built = crossbench_shim::pypi_blas_path()?;
    artifact("lib/libcrossbench_blas.so", built)
        .ok()
        .filter(|p| p.is_file())
}

/// The Go worker a bundle ships (None in a checkout, which builds its own).
pub fn shipped_go_worker() -> Option<PathBuf> {
    let home = home().ok()?;
    (home.kind == HomeKind::Bundle).then(|| home.root.join("bin/crossbench-go-worker"))
}

#[cfg(test)]
#[path = "locate_tests.rs"]
mod tests;
