//! `gate --against REF`, the base side: the ref resolved to a commit, that
//! commit checked out in its own git worktree under the build cache
//! (`target/ab/<commit>/`) and built there with its own `cargo build
//! --release --locked`, so its build.rs builds its own shim and native
//! runner. A built commit is reused: the stamp file is written only after a
//! successful build. Its backends are checked against the head's before
//! anything runs (`check_backends`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::setup::first_use;

/// Written into the worktree after its build succeeded.
const BUILT_STAMP: &str = ".crossbench-ab-built";
/// Lines of a failed base build's log shown in the error.
const LOG_TAIL: usize = 40;

/// The base revision: how the user named it (and its commit), its binary.
pub struct Base {
    pub label: String,
    pub bin: PathBuf,
}

fn git(root: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .with_context(|| format!("running git {} in {}", args.join(" "), root.display()))
}

/// The full commit `reference` names in the repository at `root`; an error
/// naming the ref when git does not know it (e.g. a shallow clone without it).
pub fn resolve_ref(root: &Path, reference: &str) -> Result<String> {
    if reference.starts_with('-') {
        bail!("--against `{reference}`: not a git ref");
    }
    let spec = format!("{reference}^{{commit}}");
    let out = git(root, &["rev-parse", "--verify", "--quiet", &spec])?;
    if !out.status.success() {
        bail!(
            "--against `{reference}`: unknown git ref in {} (not a commit, branch or tag this clone has; a shallow CI clone may lack the base: fetch it)",
            root.display()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// "head = working tree (dirty)" when tracked files differ from HEAD:
/// the head binary then measures uncommitted code.
pub fn head_label(root: &Path) -> String {
    let built = env!("CROSSBENCH_GIT_COMMIT");
    let commit = built.trim_end_matches("-dirty");
    // Dirty when built from a dirty tree, or when the tree changed since.
    let dirty = built.ends_with("-dirty")
        || git(root, &["status", "--porcelain", "--untracked-files=no"])
            .map(|o| o.status.success() && !o.stdout.is_empty())
            .unwrap_or(false);
    match (commit.is_empty(), dirty) {
        (true, _) => "this binary (commit unknown)".into(),
        (false, true) => format!("working tree (dirty) on {commit}"),
        (false, false) => commit.to_string(),
    }
}

/// The base binary: `base_bin` as given, or `commit` built (or reused) under `build_dir`.
pub fn prepare(
    root: &Path,
    reference: &str,
    commit: &str,
    base_bin: Option<&Path>,
    build_dir: &Path,
) -> Result<Base> {
    let short = &commit[..commit.len().min(12)];
    let label = format!("{short} ({reference})");
    if let Some(bin) = base_bin {
        if !bin.is_file() {
            bail!("--base-bin {}: no such file", bin.display());
        }
        return Ok(Base {
            label: format!("{label}, prebuilt {}", bin.display()),
            bin: bin.to_path_buf(),
        });
    }
    let tree = build_dir.join(commit);
    let bin = tree.join("target/release/crossbench");
    if tree.join(BUILT_STAMP).is_file() && bin.is_file() {
        eprintln!(
            "gate --against: base {short} already built in {}",
            tree.display()
        );
    } else {
        add_worktree(root, commit, &tree)?;
        share_environment(&tree)?;
        build(&tree, short)?;
        std::fs::write(tree.join(BUILT_STAMP), commit)
            .with_context(|| format!("writing {}", tree.join(BUILT_STAMP).display()))?;
    }
    Ok(Base { label, bin })
}

/// `git worktree add --detach` at `tree`, unless it is already there (an
/// earlier build that failed or was interrupted: cargo resumes it).
fn add_worktree(root: &Path, commit: &str, tree: &Path) -> Result<()> {
    if tree.join(".git").exists() {
        return Ok(());
    }
    // A worktree directory deleted by hand stays registered until pruned.
    git(root, &["worktree", "prune"])?;
    std::fs::create_dir_all(tree.parent().unwrap_or(tree))
        .with_context(|| format!("creating {}", tree.display()))?;
    let path = tree.to_str().context("build directory path is not UTF-8")?;
    let out = git(root, &["worktree", "add", "--detach", path, commit])?;
    if !out.status.success() {
        bail!(
            "git worktree add {} {commit} failed: {}",
            tree.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The base finds MLX, the tokenizer, the models and the Go toolchain under
/// its own root's `.venv` and `.cache`: links to the head's, so both
/// revisions load the same MLX and the same model files, and nothing is
/// downloaded or generated twice.
fn share_environment(tree: &Path) -> Result<()> {
    let root = first_use::project_root()?;
    let links = [
        (mlx_locate::venv_dir(&root), tree.join(".venv")),
        (first_use::cache_dir()?, tree.join(".cache")),
    ];
    for (target, link) in links {
        if link.symlink_metadata().is_ok() {
            continue;
        }
        if !target.exists() {
            continue; // the base's build bootstraps its own, as a fresh clone would
        }
        let target = target.canonicalize().unwrap_or(target);
        std::os::unix::fs::symlink(&target, &link)
            .with_context(|| format!("linking {} -> {}", link.display(), target.display()))?;
    }
    Ok(())
}

/// `cargo build --release --locked` in the worktree, output to build.log;
/// on failure the log's tail in the error.
fn build(tree: &Path, short: &str) -> Result<()> {
    let log_path = tree.join("crossbench-ab-build.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    eprintln!(
        "gate --against: building base {short} in {} (a full release build; log {})",
        tree.display(),
        log_path.display()
    );
    let started = std::time::Instant::now();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--locked"])
        .current_dir(tree)
        // The base builds into its own target/ from its own sources.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CROSSBENCH_ROOT")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo build for the base")?;
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n");
        bail!(
            "building base {short} failed ({status}); last {LOG_TAIL} lines of {}:\n{tail}",
            log_path.display()
        );
    }
    eprintln!(
        "gate --against: base {short} built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every backend of the run must exist in the base (`bench --list`): a
/// backend added by the head cannot be compared with a base that lacks it.
pub fn check_backends(bin: &Path, label: &str, wanted: &[String]) -> Result<()> {
    let out = Command::new(bin)
        .args(["bench", "--list"])
        .env_remove("CROSSBENCH_ROOT")
        .output()
        .with_context(|| format!("running {} bench --list", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{label}: `{} bench --list` failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let known: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("backends:"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|w| !known.contains(w))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{label} has no backend {} (its backends: {}): A/B needs every backend on both sides; choose others with --backends",
            missing.join(", "),
            known.join(", ")
        );
    }
    Ok(())
}
