//! The one way crossbench pip-installs its pinned Python environment.
//!
//! Where `scripts/requirements.lock` serves this platform and Python (its
//! `# lock-for:` line), every install goes through it with
//! `pip install --require-hashes`: each package pinned with `==` and the
//! sha256 of its wheels, every dependency listed, so a file that changed on
//! the registry under the same version is refused. Elsewhere (macOS, another
//! Python, MLX's CUDA variant, which the lock does not hold) the install uses
//! `scripts/requirements.txt` and says loudly that it is not hash-checked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::LocateError;

/// What an install of the pinned environment reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// `scripts/requirements.lock`, hash-checked.
    Lock(PathBuf),
    /// `scripts/requirements.txt`, not hash-checked; the reason why.
    Unlocked(PathBuf, String),
}

pub fn lock_path(project_root: &Path) -> PathBuf {
    project_root.join("scripts").join("requirements.lock")
}

pub fn requirements_path(project_root: &Path) -> PathBuf {
    project_root.join("scripts").join("requirements.txt")
}

/// `X.Y` of a Python interpreter.
pub fn python_version(python: &Path) -> Result<String, LocateError> {
    let out = Command::new(python)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .map_err(|e| LocateError(format!("cannot run {}: {e}", python.display())))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The platform and Python versions a lock's `# lock-for:` line names.
fn lock_targets(lock: &str) -> Option<(&str, Vec<&str>)> {
    let line = lock.lines().find_map(|l| l.strip_prefix("# lock-for:"))?;
    let mut words = line.split_whitespace();
    let platform = words.next()?;
    (words.next()? == "python").then(|| (platform, words.collect()))
}

fn this_platform() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// Which file an install for `python_version` reads, and why.
pub fn pin_source(project_root: &Path, python_version: &str) -> PinSource {
    let unlocked = |why: String| PinSource::Unlocked(requirements_path(project_root), why);
    let lock = lock_path(project_root);
    let Ok(text) = fs::read_to_string(&lock) else {
        return unlocked(format!("{} is missing", lock.display()));
    };
    match lock_targets(&text) {
        Some((platform, pythons))
            if platform == this_platform() && pythons.contains(&python_version) =>
        {
            if !cuda_variant() {
                return PinSource::Lock(lock);
            }
            cuda_env_lock(project_root, &text).map_or_else(unlocked, PinSource::Lock)
        }
        Some((platform, pythons)) => unlocked(format!(
            "the lock serves {platform} with Python {}, this is {} with Python {python_version}",
            pythons.join("/"),
            this_platform()
        )),
        None => unlocked(format!("{} has no `# lock-for:` line", lock.display())),
    }
}

/// `scripts/requirements-cuda.lock`: mlx-cuda-13 and the NVIDIA wheels it
/// links, hash-pinned (py3-none wheels: one hash serves every Python).
pub fn cuda_lock_path(project_root: &Path) -> PathBuf {
    project_root.join("scripts").join("requirements-cuda.lock")
}

/// The CUDA environment's lock: the CPU lock without `mlx-cpu` (whose
/// libmlx.so would overwrite, or be overwritten by, mlx-cuda-13's) plus the
/// CUDA lock's entries.
pub fn cuda_env_text(cpu_lock: &str, cuda_lock: &str) -> String {
    let cpu = lock_entry(cpu_lock, "mlx-cpu").unwrap_or_default();
    let mut text = cpu_lock.replacen(&cpu, "", 1);
    text.extend(
        cuda_lock
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n")),
    );
    text
}

/// Writes the CUDA environment's lock into `.cache/`; Err(why) sends the
/// install to the unlocked path, which says so.
fn cuda_env_lock(project_root: &Path, cpu_lock: &str) -> Result<PathBuf, String> {
    let cuda = cuda_lock_path(project_root);
    let cuda_text =
        fs::read_to_string(&cuda).map_err(|e| format!("cannot read {}: {e}", cuda.display()))?;
    let out = project_root
        .join(".cache")
        .join("requirements-cuda-env.txt");
    fs::create_dir_all(project_root.join(".cache"))
        .and_then(|()| fs::write(&out, cuda_env_text(cpu_lock, &cuda_text)))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

pub(crate) fn cuda_variant() -> bool {
    cfg!(target_os = "linux") && std::env::var("CROSSBENCH_MLX_VARIANT").as_deref() == Ok("cuda")
}

/// The arguments after `python -m pip` that install the whole environment.
pub fn install_all_args(source: &PinSource, mlx_version: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["install".into(), "--disable-pip-version-check".into()];
    match source {
        PinSource::Lock(lock) => {
            args.extend(["--require-hashes".into(), "-r".into()]);
            args.push(lock.display().to_string());
        }
        PinSource::Unlocked(req, _) => {
            args.push("-r".into());
            args.push(req.display().to_string());
            if cuda_variant() {
                // Unlocked, requirements.txt still asks for mlx[cpu]: pip may
                // install both builds (see docs/troubleshooting.md, GPU runs).
                args.push(format!("mlx[cuda13]=={mlx_version}"));
            }
        }
    }
    args
}

/// The lines of `name`'s entry in a lock (its `==` pin and `--hash` lines).
pub fn lock_entry(lock: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}==");
    let mut lines = lock.lines().skip_while(|l| !l.starts_with(&prefix));
    let first = lines.next()?;
    let mut entry = vec![first];
    if first.ends_with('\\') {
        for l in lines.by_ref() {
            entry.push(l);
            if !l.ends_with('\\') {
                break;
            }
        }
    }
    Some(entry.join("\n") + "\n")
}

/// Installs one pinned package (no dependencies) into the environment of
/// `python`: from the lock with its hashes where the lock applies, else by its
/// pin in requirements.txt. For environments made before the package joined.
pub fn install_pinned(python: &Path, project_root: &Path, name: &str) -> Result<(), LocateError> {
    let version = python_version(python)?;
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "-q"]);
    match pin_source(project_root, &version) {
        PinSource::Lock(lock) => {
            let text = fs::read_to_string(&lock)
                .map_err(|e| LocateError(format!("cannot read {}: {e}", lock.display())))?;
            let entry = lock_entry(&text, name).ok_or_else(|| {
                LocateError(format!("{} has no entry for {name}", lock.display()))
            })?;
            let cache = project_root.join(".cache");
            fs::create_dir_all(&cache)
                .map_err(|e| LocateError(format!("cannot create {}: {e}", cache.display())))?;
            let one = cache.join(format!("lock-{name}.txt"));
            fs::write(&one, entry)
                .map_err(|e| LocateError(format!("cannot write {}: {e}", one.display())))?;
            cmd.args(["--require-hashes", "--no-deps", "-r"]).arg(&one);
        }
        PinSource::Unlocked(_, why) => {
            eprintln!("crossbench: installing {name} without hash checks ({why})");
            let pin = crate::pinned_requirement(project_root, name)
                .ok_or_else(|| LocateError(format!("scripts/requirements.txt pins no {name}")))?;
            cmd.arg(pin);
        }
    }
    let status = cmd
        .status()
        .map_err(|e| LocateError(format!("cannot run pip: {e}")))?;
    if !status.success() {
        return Err(LocateError(format!("pip install {name} failed ({status})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Every direct pin of requirements.txt that applies on Linux is in the
    /// lock at the same version: a pin changed without re-locking fails here.
    #[test]
    fn the_lock_holds_every_linux_pin_at_its_version() {
        let req = fs::read_to_string(requirements_path(&root())).unwrap();
        let lock = fs::read_to_string(lock_path(&root())).unwrap();
        let mut checked = 0;
        for line in req.lines().map(str::trim) {
            if line.starts_with('#') || line.is_empty() || line.contains("darwin") {
                continue;
            }
            let pin = line.split(';').next().unwrap().trim();
            let (name, version) = pin.split_once("==").unwrap();
            let name = name
                .split('[')
                .next()
                .unwrap()
                .to_lowercase()
                .replace('_', "-");
            let entry = lock_entry(&lock, &name).unwrap_or_else(|| panic!("{name} not locked"));
            assert!(entry.starts_with(&format!("{name}=={version} ")), "{entry}");
            assert!(entry.contains("--hash=sha256:"), "{entry}");
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} pins read");
    }

    #[test]
    fn every_lock_entry_is_pinned_and_hashed() {
        let lock = fs::read_to_string(lock_path(&root())).unwrap();
        let names: Vec<&str> = lock
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
            .collect();
        assert!(names.len() > 20, "{} entries", names.len());
        for first in names {
            let name = first.split("==").next().unwrap();
            let entry = lock_entry(&lock, name).unwrap();
            assert!(first.contains("=="), "{first}");
            assert!(entry.contains("--hash=sha256:"), "{name} has no hash");
        }
    }

    #[test]
    fn the_lock_is_used_only_where_it_applies() {
        let lock = "# lock-for: linux-x86_64 python 3.11 3.12\nx==1 \\\n    --hash=sha256:ab\n";
        assert_eq!(
            lock_targets(lock),
            Some(("linux-x86_64", vec!["3.11", "3.12"]))
        );
        assert_eq!(lock_targets("x==1\n"), None);
        let here = pin_source(&root(), "3.11");
        let on_x86_linux = cfg!(all(target_os = "linux", target_arch = "x86_64"));
        assert_eq!(matches!(here, PinSource::Lock(_)), on_x86_linux);
        match pin_source(&root(), "2.7") {
            PinSource::Unlocked(_, why) => assert!(why.contains("Python 2.7"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_cuda_environment_swaps_mlx_cpu_for_the_hashed_cuda_wheels() {
        let cpu = fs::read_to_string(lock_path(&root())).unwrap();
        let cuda = fs::read_to_string(cuda_lock_path(&root())).unwrap();
        assert!(cuda.contains("# lock-for: linux-x86_64 python 3.11 3.12"));
        let env = cuda_env_text(&cpu, &cuda);
        assert_eq!(lock_entry(&env, "mlx-cpu"), None);
        assert_eq!(lock_entry(&env, "mlx"), lock_entry(&cpu, "mlx"));
        assert_eq!(lock_targets(&env), lock_targets(&cpu));
        let version = |e: &str| {
            e.split("==")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        };
        let mlx = version(&lock_entry(&cpu, "mlx").unwrap());
        let cuda_mlx = lock_entry(&env, "mlx-cuda-13").expect("mlx-cuda-13 locked");
        assert_eq!(version(&cuda_mlx), mlx, "mlx-cuda-13 at MLX's version");
        for name in [
            "nvidia-cublas",
            "nvidia-cudnn-cu13",
            "nvidia-cuda-nvrtc",
            "nvidia-nccl-cu13",
            "nvidia-cuda-runtime",
        ] {
            let e = lock_entry(&env, name).unwrap_or_else(|| panic!("{name} not locked"));
            assert!(e.contains("--hash=sha256:"), "{e}");
        }
    }

    #[test]
    fn one_entry_is_cut_with_all_its_hashes() {
        let lock = "a==1 \\\n    --hash=sha256:11 \\\n    --hash=sha256:12\nb==2 \\\n    --hash=sha256:21\n";
        assert_eq!(
            lock_entry(lock, "a").unwrap(),
            "a==1 \\\n    --hash=sha256:11 \\\n    --hash=sha256:12\n"
        );
        assert_eq!(
            lock_entry(lock, "b").unwrap(),
            "b==2 \\\n    --hash=sha256:21\n"
        );
        assert_eq!(lock_entry(lock, "c"), None);
    }
}
