//! Helpers for the hostile-checkpoint tests: a micro model (fast to write and
//! load) and hand-made safetensors files.

#![allow(dead_code)]

use crossbench_shim::{ErrorKind, Model, ShimError};
use std::path::{Path, PathBuf};

/// A valid micro Mistral config; `patch` replaces `"key":value` pairs in it.
pub fn micro_config(patch: &[(&str, &str)]) -> String {
    let mut c = r#"{"model_type":"mistral","hidden_size":64,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":32,"intermediate_size":128,"vocab_size":256,"rms_norm_eps":1e-5,"rope_theta":10000.0,"tie_word_embeddings":false}"#.to_string();
    for (from, to) in patch {
        assert!(c.contains(from), "{from} not in the micro config");
        c = c.replace(from, to);
    }
    c
}

/// Writes a micro model into `dir`: one file, or shards of at most
/// `shard_bytes` with an index.
pub fn write_micro(dir: &Path, shard_bytes: u64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), micro_config(&[])).unwrap();
    crossbench_shim::make_weights(dir, 0, "float32", None, shard_bytes).unwrap();
}

/// A micro model in its own directory `<tmp>/model` (the parent is free for
/// files that lie outside the model directory).
pub fn micro(shard_bytes: u64) -> (tempfile::TempDir, PathBuf) {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("model");
    write_micro(&dir, shard_bytes);
    (outer, dir)
}

/// Shard size that splits the micro model (~200 KiB in float32) in several files.
pub const SMALL_SHARDS: u64 = 64 << 10;

pub fn index(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("model.safetensors.index.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn write_index(dir: &Path, v: &serde_json::Value) {
    std::fs::write(dir.join("model.safetensors.index.json"), v.to_string()).unwrap();
}

/// The shard files the index names, sorted and distinct.
pub fn shards(dir: &Path) -> Vec<String> {
    let v = index(dir);
    let mut s: Vec<String> = v["weight_map"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    s.sort();
    s.dedup();
    s
}

pub fn load_err(dir: &Path) -> ShimError {
    match Model::load(dir) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e,
    }
}

/// Asserts a load error of `kind` whose message holds every one of `words`.
pub fn assert_refused(dir: &Path, kind: ErrorKind, words: &[&str]) {
    let e = load_err(dir);
    assert_eq!(e.kind(), kind, "{e}");
    for w in words {
        assert!(e.to_string().contains(w), "message lacks {w:?}: {e}");
    }
}

/// A safetensors file: length prefix `hlen` (None: the header's own length),
/// the header text, then `data` zero bytes.
pub fn write_safetensors(path: &Path, header: &str, hlen: Option<u64>, data: usize) {
    let mut bytes = hlen.unwrap_or(header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data, 0);
    std::fs::write(path, bytes).unwrap();
}
