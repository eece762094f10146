//! `crossbench model make`: a complete mlx-community model directory with
//! deterministic random weights (written by the shim) and the real Mistral v3 tokenizer.

use crate::model::presets::{self, Preset};
use crate::model::write_progress;
use crate::setup::first_use;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Shards larger than this are split, like mlx-community's 5 GB shards.
const SHARD_BYTES: u64 = 5 << 30;

/// Writes into a temporary sibling and renames at the end, so an interrupted
/// `model make` never leaves a half-written model that later runs would trust.
pub fn make_model(preset: &Preset, dtype: &str, seed: u64, out: &Path, force: bool) -> Result<()> {
    let dtype = presets::normalize_dtype(dtype)?;
    if out.exists() && first_use::is_dir_nonempty(out) && !force {
        bail!(
            "{} already exists and is not empty (use --force to replace it)",
            out.display()
        );
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = out
        .file_name()
        .context("--out has no directory name")?
        .to_string_lossy();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let result = fill_model_dir(preset, dtype, seed, &tmp);
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("cannot replace {}", out.display()))?;
    }
    if let Err(e) = fs::rename(&tmp, out) {
        let _ = fs::remove_dir_all(&tmp);
        // Another process (a parallel test, a second run) generated the same
        // deterministic model into `out` between our remove and rename.
        if out.join("config.json").is_file() {
            return Ok(());
        }
        return Err(e).with_context(|| format!("cannot move model into {}", out.display()));
    }
    Ok(())
}

fn fill_model_dir(preset: &Preset, dtype: &str, seed: u64, dir: &Path) -> Result<()> {
    let config = preset.config_json(dtype, seed);
    let text = serde_json::to_string_pretty(&config)? + "\n";
    fs::write(dir.join("config.json"), text).context("cannot write config.json")?;
    let expected = (preset.parameters() as f64 * write_progress::bytes_per_parameter(dtype)) as u64;
    let watcher = write_progress::Watcher::start(dir, expected, Duration::from_secs(10));
    crossbench_shim::make_weights(dir, seed, dtype, None, SHARD_BYTES)
        .with_context(|| format!("writing weights into {}", dir.display()))?;
    drop(watcher);
    let tokenizer = first_use::tokenizer_dir()?;
    for entry in fs::read_dir(&tokenizer)? {
        let path = entry?.path();
        if path.is_file() {
            fs::copy(&path, dir.join(path.file_name().unwrap()))
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

/// Where a preset model lives in the cache.
pub fn preset_model_dir(preset: &Preset, dtype: &str, seed: u64) -> Result<PathBuf> {
    Ok(first_use::cache_dir()?.join("models").join(format!(
        "{}-L{}-{}-s{}",
        preset.name, preset.layers, dtype, seed
    )))
}

/// The preset model directory, generated on first use.
pub fn ensure_preset_model(
    name: &str,
    layers: Option<u32>,
    dtype: &str,
    seed: u64,
) -> Result<PathBuf> {
    let preset = presets::find(name)?.with_layers(layers)?;
    let dtype = presets::normalize_dtype(dtype)?;
    let dir = preset_model_dir(&preset, dtype, seed)?;
    if dir.join("config.json").is_file() {
        return Ok(dir);
    }
    eprintln!(
        "crossbench: generating the {} model ({} layers, {dtype}, seed {seed}, {:.0} M params) in {}",
        preset.name,
        preset.layers,
        preset.parameters() as f64 / 1e6,
        dir.display()
    );
    make_model(&preset, dtype, seed, &dir, false)?;
    Ok(dir)
}
