//! The mlx-rs loader's checks on hostile model directories, the same as the
//! shim's (crates/crossbench-shim/tests/hostile_*.rs): weight files outside
//! the directory, the Hugging Face cache layout, crafted headers, config
//! numbers out of range, and tensors whose shape or dtype disagree with
//! config.json. All but the last test run without the `mlx-rs` feature.

use crossbench_mlx_rs::{checkpoint, Error};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

fn micro_config(patch: &[(&str, &str)]) -> String {
    let mut c = r#"{"model_type":"mistral","hidden_size":64,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":32,"intermediate_size":128,"vocab_size":256,"rms_norm_eps":1e-5,"rope_theta":10000.0,"tie_word_embeddings":false}"#.to_string();
    for (from, to) in patch {
        assert!(c.contains(from), "{from} not in the micro config");
        c = c.replace(from, to);
    }
    c
}

/// The micro model's tensors, (name, dtype, shape); affine q4 when `q4`.
fn micro_tensors(q4: bool) -> Vec<(String, &'static str, Vec<u64>)> {
    let mut linears = vec![
        ("model.embed_tokens".to_string(), 256, 64),
        ("lm_head".into(), 256, 64),
    ];
    for (name, out, inp) in [
        ("self_attn.q_proj", 64, 64),
        ("self_attn.k_proj", 32, 64),
        ("self_attn.v_proj", 32, 64),
        ("self_attn.o_proj", 64, 64),
        ("mlp.gate_proj", 128, 64),
        ("mlp.up_proj", 128, 64),
        ("mlp.down_proj", 64, 128),
    ] {
        linears.push((format!("model.layers.0.{name}"), out, inp));
    }
    let mut t = Vec::new();
    for (p, out, inp) in linears {
        if q4 {
            t.push((format!("{p}.weight"), "U32", vec![out, inp * 4 / 32]));
            t.push((format!("{p}.scales"), "F32", vec![out, inp / 64]));
            t.push((format!("{p}.biases"), "F32", vec![out, inp / 64]));
        } else {
            t.push((format!("{p}.weight"), "F32", vec![out, inp]));
        }
    }
    for n in [
        "model.norm",
        "model.layers.0.input_layernorm",
        "model.layers.0.post_attention_layernorm",
    ] {
        t.push((format!("{n}.weight"), "F32", vec![64]));
    }
    t
}

/// A safetensors file of zeros holding `tensors` (all 4-byte dtypes here).
fn write_safetensors(path: &Path, tensors: &[(String, &str, Vec<u64>)]) {
    let (mut header, mut off) = (serde_json::Map::new(), 0u64);
    for (name, dtype, shape) in tensors {
        let bytes = 4 * shape.iter().product::<u64>();
        let entry =
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [off, off + bytes]});
        header.insert(name.clone(), entry);
        off += bytes;
    }
    let h = serde_json::Value::Object(header).to_string();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(h.as_bytes());
    out.resize(out.len() + off as usize, 0);
    std::fs::write(path, out).unwrap();
}

/// A micro model in `<tmp>/model` (the parent is free for files outside it):
/// one model.safetensors, or two shards and an index.
fn micro(sharded: bool) -> (tempfile::TempDir, PathBuf) {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("model");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), micro_config(&[])).unwrap();
    let tensors = micro_tensors(false);
    if !sharded {
        write_safetensors(&dir.join("model.safetensors"), &tensors);
        return (outer, dir);
    }
    let (a, b) = tensors.split_at(tensors.len() / 2);
    let mut map = serde_json::Map::new();
    for (part, name) in [
        (a, "model-00001-of-00002.safetensors"),
        (b, "model-00002-of-00002.safetensors"),
    ] {
        write_safetensors(&dir.join(name), part);
        for (t, _, _) in part {
            map.insert(t.clone(), name.into());
        }
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(index_path(&dir), index.to_string()).unwrap();
    (outer, dir)
}

fn open_err(dir: &Path) -> Error {
    match checkpoint::open(dir) {
        Ok(_) => panic!("opening {} should fail", dir.display()),
        Err(e) => e,
    }
}

fn assert_refused(dir: &Path, code: &str, words: &[&str]) {
    let e = open_err(dir);
    assert_eq!(e.code(), code, "{e}");
    for w in words {
        assert!(e.to_string().contains(w), "message lacks {w:?}: {e}");
    }
}

fn index_path(dir: &Path) -> PathBuf {
    dir.join("model.safetensors.index.json")
}

fn read_index(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(index_path(dir)).unwrap()).unwrap()
}

#[test]
fn weight_map_entries_outside_the_directory_are_refused() {
    let (outer, dir) = micro(true);
    let pristine = read_index(&dir);
    let (tensor, shard) = {
        let (k, v) = pristine["weight_map"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .unwrap();
        (k.clone(), v.as_str().unwrap().to_string())
    };
    std::fs::copy(dir.join(&shard), outer.path().join("x.safetensors")).unwrap();
    symlink(
        outer.path().join("x.safetensors"),
        dir.join("link.safetensors"),
    )
    .unwrap();
    for (entry, why) in [
        ("/etc/passwd", "no '..'"),
        ("../x.safetensors", "no '..'"),
        ("link.safetensors", "outside the model directory"),
    ] {
        let mut v = pristine.clone();
        v["weight_map"][&tensor] = entry.into();
        std::fs::write(index_path(&dir), v.to_string()).unwrap();
        assert_refused(&dir, "CB_ERR_FORMAT", &["index.json", &tensor, entry, why]);
    }
    std::fs::write(index_path(&dir), pristine.to_string()).unwrap();
    checkpoint::open(&dir).unwrap();
}

#[test]
fn the_hugging_face_cache_layout_opens_and_links_out_of_it_do_not() {
    for sharded in [false, true] {
        let (outer, dir) = micro(sharded);
        let repo = outer.path().join("hub/models--org--micro");
        let (blobs, snap) = (repo.join("blobs"), repo.join("snapshots/0123abc"));
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::create_dir_all(&snap).unwrap();
        for (i, e) in std::fs::read_dir(&dir).unwrap().enumerate() {
            let e = e.unwrap();
            std::fs::rename(e.path(), blobs.join(format!("{i:040x}"))).unwrap();
            symlink(format!("../../blobs/{i:040x}"), snap.join(e.file_name())).unwrap();
        }
        let ck = checkpoint::open(&snap).unwrap_or_else(|e| panic!("HF cache layout: {e}"));
        assert_eq!(ck.cfg.vocab_size, 256);
        let victim = ck.files[0].clone();
        let away = outer.path().join("away.safetensors");
        std::fs::copy(&victim, &away).unwrap();
        std::fs::remove_file(&victim).unwrap();
        symlink(&away, &victim).unwrap();
        assert_refused(&snap, "CB_ERR_FORMAT", &["away.safetensors", "outside"]);
    }
}

#[test]
fn crafted_headers_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), micro_config(&[])).unwrap();
    let cases = [
        (
            "[65536,65536,65536,65536]",
            "[0,0]",
            0,
            "CB_ERR_FORMAT",
            "overflows",
        ),
        ("[4294967296,0]", "[0,0]", 0, "CB_ERR_FORMAT", "shape entry"),
        ("[4]", "[-16,0]", 32, "CB_ERR_FORMAT", "data_offsets"),
        ("[4]", "[0,16.5]", 32, "CB_ERR_FORMAT", "data_offsets"),
        ("[4]", "[0,16]", 8, "CB_ERR_IO", "truncated"),
    ];
    for (shape, offsets, data, code, word) in cases {
        let h = format!(r#"{{"t":{{"dtype":"F32","shape":{shape},"data_offsets":{offsets}}}}}"#);
        let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(h.as_bytes());
        bytes.resize(bytes.len() + data, 0);
        std::fs::write(dir.path().join("model.safetensors"), bytes).unwrap();
        let e = open_err(dir.path());
        assert_eq!(e.code(), code, "{shape} {offsets}: {e}");
        assert!(e.to_string().contains(word), "{shape} {offsets}: {e}");
    }
}

#[test]
fn config_numbers_out_of_range_are_refused_naming_the_key() {
    let (_outer, dir) = micro(false);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[(
                r#""num_attention_heads":2"#,
                r#""num_attention_heads":1e300"#,
            )],
            "'num_attention_heads'",
        ),
        (
            &[
                (
                    r#""num_attention_heads":2"#,
                    r#""num_attention_heads":65536"#,
                ),
                (
                    r#""num_key_value_heads":1"#,
                    r#""num_key_value_heads":65536"#,
                ),
                (r#""head_dim":32"#, r#""head_dim":65536"#),
            ],
            "4294967296",
        ),
        (
            &[(r#""rms_norm_eps":1e-5"#, r#""rms_norm_eps":1e300"#)],
            "'rms_norm_eps'",
        ),
    ];
    for (patch, word) in cases {
        std::fs::write(dir.join("config.json"), micro_config(patch)).unwrap();
        let e = open_err(&dir);
        assert_eq!(e.code(), "CB_ERR_FORMAT", "{e}");
        assert!(e.to_string().contains(word), "{e}");
    }
}

/// Weights written for one config, read with another: the first tensor that
/// disagrees is named, with the config keys that imply its shape.
fn mismatched() -> (tempfile::TempDir, PathBuf) {
    let (outer, dir) = micro(false);
    let config = micro_config(&[(r#""intermediate_size":128"#, r#""intermediate_size":192"#)]);
    std::fs::write(dir.join("config.json"), config).unwrap();
    (outer, dir)
}

#[test]
fn a_wrong_shaped_or_typed_tensor_is_named() {
    let (_outer, dir) = mismatched();
    assert_refused(
        &dir,
        "CB_ERR_SHAPE",
        &[
            "'model.layers.0.mlp.gate_proj.weight'",
            "[128, 64]",
            "[192, 64]",
            "intermediate_size=192",
        ],
    );
    // Quantized tensors under a float config: refused, naming the tensor.
    let (_outer, dir) = micro(false);
    write_safetensors(&dir.join("model.safetensors"), &micro_tensors(true));
    assert_refused(
        &dir,
        "CB_ERR_FORMAT",
        &["'model.embed_tokens.scales'", "quantizes no"],
    );
    // ... and under the q4 config they check out.
    let quant = r#""tie_word_embeddings":false,"quantization":{"group_size":64,"bits":4}"#;
    let config = micro_config(&[(r#""tie_word_embeddings":false"#, quant)]);
    std::fs::write(dir.join("config.json"), config).unwrap();
    checkpoint::open(&dir).unwrap();
}

#[cfg(feature = "mlx-rs")]
#[test]
fn the_mlx_rs_loader_refuses_a_wrong_shaped_tensor() {
    let (_outer, dir) = mismatched();
    let e = match crossbench_mlx_rs::load(&dir) {
        Ok(_) => panic!("a wrong-shaped tensor must not load"),
        Err(e) => e,
    };
    assert_eq!(e.code(), "CB_ERR_SHAPE", "{e}");
    assert!(e.to_string().contains("mlp.gate_proj.weight"), "{e}");
    let (_outer, dir) = micro(true);
    crossbench_mlx_rs::load(&dir).expect("a sharded micro model loads");
}
