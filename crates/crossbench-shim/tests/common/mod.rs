//! Small helpers shared by the shim's integration tests: tiny model directories.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tiny preset's config (same shape as `crossbench model make --preset tiny`).
pub fn tiny_config(quant_bits: Option<u32>) -> String {
    let quant = match quant_bits {
        Some(b) => format!(r#","quantization":{{"group_size":64,"bits":{b}}}"#),
        None => String::new(),
    };
    format!(
        r#"{{"model_type":"mistral","architectures":["MistralForCausalLM"],"hidden_size":256,"num_hidden_layers":4,"num_attention_heads":8,"num_key_value_heads":2,"head_dim":32,"intermediate_size":768,"vocab_size":32768,"rms_norm_eps":1e-5,"rope_theta":1000000.0,"max_position_embeddings":32768,"tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2{quant}}}"#
    )
}

/// Writes config.json and deterministic weights into a fresh temp dir.
pub fn make_tiny(dtype: &str, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bits = match dtype {
        "q4" => Some(4),
        "q8" => Some(8),
        _ => None,
    };
    std::fs::write(dir.path().join("config.json"), tiny_config(bits)).unwrap();
    crossbench_shim::make_weights(dir.path(), seed, dtype, None, 5 << 30).unwrap();
    dir
}

/// The pinned Python environment the build found MLX in, if any.
pub fn python() -> Option<PathBuf> {
    option_env!("CROSSBENCH_BUILD_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Greedy ids from mlx-lm's own generate_step (tests/helpers/mlx_lm_reference.py).
pub fn mlx_lm_greedy(model: &Path, prompt: &[u32], max_new: usize) -> Vec<u32> {
    let python = python().expect("the build's Python environment");
    let ids: Vec<String> = prompt.iter().map(|i| i.to_string()).collect();
    let out = Command::new(python)
        .arg(repo_root().join("tests/helpers/mlx_lm_reference.py"))
        .args([
            "--model",
            model.to_str().unwrap(),
            "--prompt-ids",
            &ids.join(","),
            "--max-new",
            &max_new.to_string(),
        ])
        .output()
        .expect("run mlx_lm_reference.py");
    assert!(
        out.status.success(),
        "mlx_lm_reference.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON array of ids")
}
