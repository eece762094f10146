//! The Rust model over mlx-rs must produce the C++ shim's token ids (which match
//! mlx-lm's): greedy on the tiny preset in float32 and q4, across the KV cache's
//! 256-position growth, and seeded sampling. Also checks the call counting.
#![cfg(feature = "mlx-rs")]

use crossbench_mlx_rs::{ops, Sampling, Session};
use std::path::Path;

/// The tiny preset's config (as `crossbench model make --preset tiny`).
fn tiny_config(quant_bits: Option<u32>) -> String {
    let quant = quant_bits.map_or(String::new(), |b| {
        format!(r#","quantization":{{"group_size":64,"bits":{b}}}"#)
    });
    format!(
        r#"{{"model_type":"mistral","hidden_size":256,"num_hidden_layers":4,"num_attention_heads":8,"num_key_value_heads":2,"head_dim":32,"intermediate_size":768,"vocab_size":32768,"rms_norm_eps":1e-5,"rope_theta":1000000.0,"tie_word_embeddings":false{quant}}}"#
    )
}

fn make_tiny(dtype: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bits = match dtype {
        "q4" => Some(4),
        _ => None,
    };
    std::fs::write(dir.path().join("config.json"), tiny_config(bits)).unwrap();
    crossbench_shim::make_weights(dir.path(), 0, dtype, None, 5 << 30).unwrap();
    dir
}

fn prompt(n: usize) -> Vec<u32> {
    (0..n as u32).map(|i| 1 + (i * 7919) % 32000).collect()
}

fn shim_tokens(dir: &Path, prompt: &[u32], n: usize, s: Sampling) -> Vec<u32> {
    let mut model = crossbench_shim::Model::load(dir).unwrap();
    let sampling = crossbench_shim::Sampling {
        temperature: s.temperature,
        top_p: s.top_p,
        seed: s.seed,
    };
    let mut session = model.session(sampling).unwrap();
    let mut out = vec![session.prefill(prompt).unwrap()];
    while out.len() < n {
        out.push(session.decode_step().unwrap());
    }
    out
}

fn rust_tokens(dir: &Path, prompt: &[u32], n: usize, s: Sampling) -> Vec<u32> {
    let model = crossbench_mlx_rs::load(dir).unwrap();
    let mut session = Session::new(&model, s).unwrap();
    let mut out = vec![session.prefill(prompt).unwrap()];
    while out.len() < n {
        out.push(session.step().unwrap());
    }
    out
}

const GREEDY: Sampling = Sampling {
    temperature: 0.0,
    top_p: 1.0,
    seed: 0,
};

#[test]
fn greedy_gen100_matches_the_shim_fp32_and_q4() {
    for dtype in ["float32", "q4"] {
        let dir = make_tiny(dtype);
        let p = prompt(20);
        assert_eq!(
            rust_tokens(dir.path(), &p, 100, GREEDY),
            shim_tokens(dir.path(), &p, 100, GREEDY),
            "{dtype}"
        );
    }
}

#[test]
fn greedy_matches_across_kv_cache_growth() {
    // 250 prompt positions + 40 new ones cross the 256-step boundary mid-decode.
    let dir = make_tiny("float32");
    let p = prompt(250);
    assert_eq!(
        rust_tokens(dir.path(), &p, 40, GREEDY),
        shim_tokens(dir.path(), &p, 40, GREEDY)
    );
}

#[test]
fn seeded_sampling_matches_the_shim() {
    let dir = make_tiny("float32");
    let p = prompt(12);
    for s in [
        Sampling {
            temperature: 0.8,
            top_p: 1.0,
            seed: 7,
        },
        Sampling {
            temperature: 0.7,
            top_p: 0.9,
            seed: 3,
        },
    ] {
        assert_eq!(
            rust_tokens(dir.path(), &p, 30, s),
            shim_tokens(dir.path(), &p, 30, s),
            "{s:?}"
        );
    }
}

#[test]
fn decode_steps_cost_a_constant_number_of_counted_calls() {
    let dir = make_tiny("float32");
    let model = crossbench_mlx_rs::load(dir.path()).unwrap();
    let mut session = Session::new(&model, GREEDY).unwrap();
    session.prefill(&prompt(5)).unwrap();
    let mut per_step = Vec::new();
    for _ in 0..5 {
        let before = ops::calls();
        session.step().unwrap();
        per_step.push(ops::calls() - before);
    }
    assert!(
        per_step.iter().all(|&c| c == per_step[0] && c > 4 * 20),
        "{per_step:?}"
    );
}

#[test]
fn bad_input_is_reported_not_panicked() {
    let dir = make_tiny("float32");
    let model = crossbench_mlx_rs::load(dir.path()).unwrap();
    let mut session = Session::new(&model, GREEDY).unwrap();
    assert_eq!(session.prefill(&[]).unwrap_err().code(), "CB_ERR_ARGUMENT");
    assert_eq!(
        session.prefill(&[40000]).unwrap_err().code(),
        "CB_ERR_ARGUMENT"
    );
    let missing = crossbench_mlx_rs::load(Path::new("/nonexistent/model"))
        .err()
        .unwrap();
    assert_eq!(missing.code(), "CB_ERR_IO");
}
