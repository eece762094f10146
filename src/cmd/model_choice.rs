//! Which model a run uses: `--model`, else `--preset` (or the scenario's
//! preset or path), made on first use; and the record of what was asked.

use crate::cmd::bench_args::BenchArgs;
use anyhow::{bail, Result};
use crossbench_core::results::ModelRun;
use crossbench_core::scenario::ModelSource;
use crossbench_core::LoadedScenario;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// --model, else --preset (or the scenario's preset / path), made on first use.
pub fn resolve_model(args: &BenchArgs, loaded: &LoadedScenario) -> Result<PathBuf> {
    if let Some(dir) = &args.model {
        if !dir.join("config.json").is_file() {
            bail!(
                "--model {}: no config.json there (expected an mlx-community model directory)",
                dir.display()
            );
        }
        return Ok(dir.clone());
    }
    let s = &loaded.scenario;
    let dtype = args
        .dtype
        .clone()
        .unwrap_or_else(|| dtype_name(s.dtype).to_string());
    let preset = match (&args.preset, &s.model) {
        (Some(p), _) => p.clone(),
        (None, ModelSource::Preset(p)) => p.clone(),
        (None, ModelSource::Path(p)) => {
            let base = loaded.path.parent().unwrap_or(Path::new("."));
            let dir = if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            };
            if !dir.join("config.json").is_file() {
                bail!(
                    "{}: model.path = {}: no config.json there",
                    loaded.path.display(),
                    dir.display()
                );
            }
            return Ok(dir);
        }
    };
    crate::model::make::ensure_preset_model(&preset, args.layers, &dtype, 0)
}

/// The model as asked (preset, dtype, layers; None for a directory given by
/// path) and as its directory says.
pub fn model_asked(args: &BenchArgs, loaded: &LoadedScenario, dir: &Path) -> ModelRun {
    let s = &loaded.scenario;
    let preset = match (&args.model, &args.preset, &s.model) {
        (Some(_), _, _) | (None, None, ModelSource::Path(_)) => None,
        (None, Some(p), _) | (None, None, ModelSource::Preset(p)) => Some(p.clone()),
    };
    let dtype = preset.as_ref().map(|_| {
        args.dtype
            .clone()
            .unwrap_or_else(|| dtype_name(s.dtype).to_string())
    });
    let layers = preset.as_ref().and(args.layers);
    model_run(dir, preset, dtype, layers)
}

pub fn dtype_name(d: crossbench_core::scenario::Dtype) -> &'static str {
    use crossbench_core::scenario::Dtype::*;
    match d {
        Float32 => "float32",
        Float16 => "float16",
        Bfloat16 => "bfloat16",
        Q4 => "q4",
        Q8 => "q8",
    }
}

/// What model ran, read from its directory: the ask (preset, dtype, layers)
/// and what config.json and the weight files say.
pub fn model_run(
    dir: &Path,
    preset: Option<String>,
    dtype: Option<String>,
    layers: Option<u32>,
) -> ModelRun {
    let config_bytes = std::fs::read(dir.join("config.json")).ok();
    let config: serde_json::Value = config_bytes
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let num = |key: &str| config.get(key).and_then(|v| v.as_u64());
    let bits = config
        .get("quantization")
        .and_then(|q| q.get("bits"))
        .and_then(|v| v.as_u64());
    let weight_bytes = std::fs::read_dir(dir).ok().map(|entries| {
        entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
            // Follow symlinks: Hugging Face cache snapshots link to ../../blobs/.
            .filter_map(|e| std::fs::metadata(e.path()).ok())
            .map(|m| m.len())
            .sum()
    });
    ModelRun {
        preset,
        dtype: dtype.or_else(|| {
            config
                .get("torch_dtype")
                .and_then(|v| v.as_str())
                .map(String::from)
        }),
        layers_override: layers,
        dir: dir.display().to_string(),
        config_sha256: config_bytes.map(|b| format!("{:x}", Sha256::digest(b))),
        num_hidden_layers: num("num_hidden_layers"),
        hidden_size: num("hidden_size"),
        vocab_size: num("vocab_size"),
        quantization_bits: bits,
        weight_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_bytes_follow_symlinked_shards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blob"), vec![0u8; 4096]).unwrap();
        std::os::unix::fs::symlink("blob", dir.path().join("model.safetensors")).unwrap();
        let run = model_run(dir.path(), None, None, None);
        assert_eq!(
            run.weight_bytes,
            Some(4096),
            "the target's size, not the link's"
        );
    }
}
