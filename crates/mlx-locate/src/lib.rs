//! Finds the MLX C++ library (headers + `libmlx`) that crossbench builds against.
//!
//! Order, first match wins:
//! 1. `MLX_DIR`: a directory holding `include/mlx/mlx.h` and `lib/libmlx.{so,dylib}`
//!    (e.g. a source build, or `site-packages/mlx` of any Python environment);
//! 2. the project's own Python environment (`CROSSBENCH_VENV`, default `<root>/.venv`),
//!    whose `site-packages/mlx` comes from the pinned wheel;
//! 3. otherwise that environment is created from `scripts/requirements.lock`
//!    (hash-checked; see `pip`), or `scripts/requirements.txt` where the lock
//!    does not serve the platform.
//!
//! The wheel differs per platform (Metal on macOS, `mlx[cuda]` on Linux with CUDA,
//! `mlx[cpu]` otherwise): `CROSSBENCH_MLX_VARIANT=cpu|cuda` picks the Linux extra.
//! No external crates: this runs inside build scripts.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod pip;

/// Where MLX was found.
#[derive(Debug, Clone)]
pub struct MlxInstall {
    /// Directory holding `include/` and `lib/`.
    pub prefix: PathBuf,
    pub include_dir: PathBuf,
    pub lib_dir: PathBuf,
    /// Python interpreter of the environment, when MLX came from one.
    pub python: Option<PathBuf>,
    pub source: MlxSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlxSource {
    EnvVar,
    ProjectVenv,
    Bootstrapped,
}

#[derive(Debug)]
pub struct LocateError(pub String);

impl fmt::Display for LocateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for LocateError {}

/// Name of the shared library on this platform.
pub fn mlx_lib_file() -> &'static str {
    if cfg!(target_os = "macos") {
        "libmlx.dylib"
    } else {
        "libmlx.so"
    }
}

/// The project's Python environment directory.
pub fn venv_dir(project_root: &Path) -> PathBuf {
    match std::env::var_os("CROSSBENCH_VENV") {
        Some(v) => PathBuf::from(v),
        None => project_root.join(".venv"),
    }
}

/// The Python interpreter inside a virtual environment.
pub fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Locates MLX without creating anything.
pub fn find(project_root: &Path) -> Result<Option<MlxInstall>, LocateError> {
    if let Some(dir) = std::env::var_os("MLX_DIR") {
        let prefix = PathBuf::from(dir);
        return check_prefix(&prefix, MlxSource::EnvVar, None)
            .map(Some)
            .map_err(|e| LocateError(format!("MLX_DIR={}: {}", prefix.display(), e.0)));
    }
    let venv = venv_dir(project_root);
    match site_packages_mlx(&venv) {
        Some(prefix) => {
            let python = Some(venv_python(&venv));
            check_prefix(&prefix, MlxSource::ProjectVenv, python).map(Some)
        }
        None => Ok(None),
    }
}

/// Locates MLX, creating the pinned Python environment when none is found.
/// `log` receives one line per step (build scripts print it as a cargo warning).
pub fn find_or_bootstrap(
    project_root: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<MlxInstall, LocateError> {
    if let Some(found) = find(project_root)? {
        return Ok(found);
    }
    let venv = venv_dir(project_root);
    bootstrap_venv(project_root, &venv, log)?;
    let prefix = site_packages_mlx(&venv).ok_or_else(|| {
        LocateError(format!(
            "created {} but it holds no site-packages/mlx; check scripts/requirements.txt",
            venv.display()
        ))
    })?;
    let mut install = check_prefix(&prefix, MlxSource::Bootstrapped, Some(venv_python(&venv)))?;
    install.source = MlxSource::Bootstrapped;
    Ok(install)
}

fn check_prefix(
    prefix: &Path,
    source: MlxSource,
    python: Option<PathBuf>,
) -> Result<MlxInstall, LocateError> {
    let include_dir = prefix.join("include");
    let lib_dir = prefix.join("lib");
    if !include_dir.join("mlx").join("mlx.h").is_file() {
        return Err(LocateError(format!(
            "no include/mlx/mlx.h under {}",
            prefix.display()
        )));
    }
    if !lib_dir.join(mlx_lib_file()).is_file() {
        return Err(LocateError(format!(
            "no lib/{} under {}",
            mlx_lib_file(),
            prefix.display()
        )));
    }
    Ok(MlxInstall {
        prefix: prefix.to_path_buf(),
        include_dir,
        lib_dir,
        python,
        source,
    })
}

/// `<venv>/lib/python3.X/site-packages/mlx`, if present.
pub fn site_packages_mlx(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut candidates: Vec<PathBuf> = fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages").join("mlx"))
        .filter(|p| p.join("include").join("mlx").join("mlx.h").is_file())
        .collect();
    candidates.sort();
    candidates.pop()
}

/// The `NAME==VERSION` pin of a package in `scripts/requirements.txt`,
/// without its environment marker (`; sys_platform == ...`).
pub fn pinned_requirement(project_root: &Path, name: &str) -> Option<String> {
    let req = fs::read_to_string(project_root.join("scripts").join("requirements.txt")).ok()?;
    let prefix = format!("{name}==");
    req.lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.split(';').next())
        .map(|l| l.trim().to_string())
}

/// The MLX version pinned in `scripts/requirements.txt`.
pub fn pinned_mlx_version(project_root: &Path) -> String {
    let req = fs::read_to_string(project_root.join("scripts").join("requirements.txt"))
        .unwrap_or_default();
    req.lines()
        .filter_map(|l| l.split_once("=="))
        .find(|(name, _)| name.trim().starts_with("mlx[") || name.trim() == "mlx")
        .map(|(_, v)| {
            v.split(|c: char| c == ';' || c.is_whitespace())
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_else(|| "unknown".into())
}

fn bootstrap_venv(
    project_root: &Path,
    venv: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<(), LocateError> {
    // Two builds (or a build and a bench) may bootstrap at once: serialise on a lock file.
    // Inside the (ignored) cache, not beside the sources: nothing untracked is left.
    let cache = project_root.join(".cache");
    fs::create_dir_all(&cache)
        .map_err(|e| LocateError(format!("cannot create {}: {e}", cache.display())))?;
    let lock_path = cache.join("venv.lock");
    let lock = fs::File::create(&lock_path)
        .map_err(|e| LocateError(format!("cannot create {}: {e}", lock_path.display())))?;
    lock.lock()
        .map_err(|e| LocateError(format!("cannot lock {}: {e}", lock_path.display())))?;
    if site_packages_mlx(venv).is_some() {
        return Ok(()); // another process finished it while we waited
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    log(&format!(
        "crossbench: creating Python environment {} with {python}",
        venv.display()
    ));
    run(
        Command::new(&python).arg("-m").arg("venv").arg(venv),
        "python3 -m venv",
    )?;
    let version = pip::python_version(&venv_python(venv))?;
    let source = pip::pin_source(project_root, &version);
    if let pip::PinSource::Unlocked(_, why) = &source {
        log(&format!("crossbench: NOT hash-checked: {why}"));
    }
    let args = pip::install_all_args(&source, &pinned_mlx_version(project_root));
    log(&format!(
        "crossbench: installing pinned requirements (pip {}) — takes a few minutes once",
        args.join(" ")
    ));
    run(
        Command::new(venv_python(venv))
            .arg("-m")
            .arg("pip")
            .args(&args),
        "pip install",
    )?;
    log("crossbench: Python environment ready");
    Ok(())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), LocateError> {
    let out = cmd
        .output()
        .map_err(|e| LocateError(format!("{what}: cannot start: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(LocateError(format!(
            "{what} failed ({}):\n{tail}",
            out.status
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_version_is_read_from_requirements() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        assert_eq!(pinned_mlx_version(&root), "0.32.2");
        // The marker after `;` is not part of the pin.
        let blas = pinned_requirement(&root, "scipy-openblas32").unwrap();
        assert!(
            blas.starts_with("scipy-openblas32==") && !blas.contains(';'),
            "{blas}"
        );
        assert!(pinned_requirement(&root, "no-such-package").is_none());
    }

    #[test]
    fn prefix_without_headers_is_rejected_with_path() {
        let dir = std::env::temp_dir().join(format!("mlx-locate-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let err = check_prefix(&dir, MlxSource::EnvVar, None).unwrap_err();
        assert!(err.0.contains("include/mlx/mlx.h"), "{}", err.0);
        assert!(err.0.contains(&dir.display().to_string()));
        fs::remove_dir_all(&dir).unwrap();
    }
}
