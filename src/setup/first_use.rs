//! Everything a fresh clone lacks at run time, made on first use with progress on
//! stderr: the pinned Python environment, the converted tokenizer, preset models.

use crate::setup::locate;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The project's home (scenarios/, workers/, .cache/, .venv/): a checkout or
/// a bundle, found by the one rule of `setup::locate`.
pub fn project_root() -> Result<PathBuf> {
    Ok(locate::home().map_err(anyhow::Error::msg)?.root.clone())
}

/// Whether the home is a bundle (no registry, nothing built on the spot).
pub fn in_bundle() -> bool {
    locate::home().is_ok_and(|h| h.kind == locate::HomeKind::Bundle)
}

/// CROSSBENCH_CACHE, else `<home>/.cache`.
pub fn cache_dir() -> Result<PathBuf> {
    match std::env::var_os("CROSSBENCH_CACHE") {
        Some(p) => Ok(PathBuf::from(p)),
        None => Ok(project_root()?.join(".cache")),
    }
}

/// MLX keeps compiled CPU kernels under $TMPDIR/mlx (shared machine-wide by default):
/// give crossbench's processes their own directory so runs are reproducible.
pub fn private_tmpdir() -> Result<PathBuf> {
    let dir = cache_dir()?.join("tmp");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The pinned environment's Python, creating the environment when missing
/// (in a checkout; a bundle's comes from its offline install.sh).
pub fn python() -> Result<PathBuf> {
    let root = project_root()?;
    let install = if in_bundle() {
        bundle_mlx(&root)?
    } else {
        mlx_locate::find_or_bootstrap(&root, &mut |line| eprintln!("{line}"))
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let venv = mlx_locate::venv_dir(&root);
    let python = install
        .python
        .unwrap_or_else(|| mlx_locate::venv_python(&venv));
    if !python.is_file() {
        bail!(
            "no Python environment at {} (MLX came from MLX_DIR); create it with \
             `python3 -m venv {0} && {0}/bin/pip install --require-hashes -r scripts/requirements.lock`",
            venv.display()
        );
    }
    Ok(python)
}

/// A bundle's environment: never bootstrapped from a registry here.
fn bundle_mlx(root: &Path) -> Result<mlx_locate::MlxInstall> {
    let venv = mlx_locate::venv_dir(root);
    mlx_locate::find(root)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_context(|| {
            format!(
                "no Python environment with MLX at {} (looked for lib/python3.*/site-packages/mlx): \
                 run {}/install.sh, which installs the bundled wheels offline",
                venv.display(),
                root.display()
            )
        })
}

/// Runs a script of scripts/ with the pinned Python.
pub fn run_script(script: &str, args: &[&str]) -> Result<()> {
    let path = project_root()?.join("scripts").join(script);
    let status = Command::new(python()?)
        .arg(&path)
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .env("TMPDIR", private_tmpdir()?)
        .status()
        .with_context(|| format!("cannot run {}", path.display()))?;
    if !status.success() {
        bail!("{} {} failed ({status})", path.display(), args.join(" "));
    }
    Ok(())
}

/// tokenizer.json (+ config) converted once from mistral-common's v3 sentencepiece model.
pub fn tokenizer_dir() -> Result<PathBuf> {
    let dir = cache_dir()?.join("tokenizer-mistral-v3");
    if dir.join("tokenizer.json").is_file() {
        return Ok(dir);
    }
    eprintln!(
        "crossbench: converting the Mistral v3 tokenizer (once) into {}",
        dir.display()
    );
    if in_bundle() {
        bail!(
            "the bundle's tokenizer {} is missing (a bundle cannot convert it: \
             no registry, no conversion tools); rebuild the bundle",
            dir.join("tokenizer.json").display()
        );
    }
    let tmp = cache_dir()?.join(format!("tokenizer.tmp-{}", std::process::id()));
    run_script(
        "convert_tokenizer.py",
        &["--out", tmp.to_str().context("non-UTF-8 cache path")?],
    )?;
    std::fs::rename(&tmp, &dir).or_else(|e| {
        // Another process may have finished first: keep its copy.
        if dir.join("tokenizer.json").is_file() {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        } else {
            Err(e)
        }
    })?;
    Ok(dir)
}

pub fn is_dir_nonempty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}
