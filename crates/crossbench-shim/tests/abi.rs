//! The C ABI end to end on tiny synthetic models: token equality with mlx-lm,
//! determinism, counters, and every error path (no exception or panic crosses).

mod common;

use common::{make_tiny, mlx_lm_greedy};
use crossbench_shim::{ErrorKind, Flow, Model, Sampling, ShimError};
use sha2::{Digest, Sha256};
use std::path::Path;

const PROMPT: &[u32] = &[1, 1183, 1117, 1032, 3405, 1070, 1040, 6658, 29491, 1066];

fn per_token_ids(model: &mut Model, prompt: &[u32], n: usize, sampling: Sampling) -> Vec<u32> {
    let mut s = model.session(sampling).unwrap();
    let mut ids = vec![s.prefill(prompt).unwrap()];
    while ids.len() < n {
        ids.push(s.decode_step().unwrap());
    }
    ids
}

fn batched_ids(model: &mut Model, prompt: &[u32], n: usize, sampling: Sampling) -> Vec<u32> {
    let mut ids = Vec::new();
    model
        .generate(prompt, n, sampling, |t, _| {
            ids.push(t);
            Flow::Continue
        })
        .unwrap();
    ids
}

fn check_against_mlx_lm(dtype: &str) {
    let dir = make_tiny(dtype, 0);
    let mut model = Model::load(dir.path()).unwrap();
    for prompt in [PROMPT, &[1u32][..]] {
        let ours = per_token_ids(&mut model, prompt, 64, Sampling::default());
        let reference = mlx_lm_greedy(dir.path(), prompt, 64);
        assert_eq!(
            ours, reference,
            "{dtype}: shim vs mlx-lm, prompt {prompt:?}"
        );
        assert_eq!(
            batched_ids(&mut model, prompt, 64, Sampling::default()),
            ours
        );
    }
}

#[test]
fn greedy_fp32_matches_mlx_lm_token_for_token() {
    check_against_mlx_lm("float32");
}

#[test]
fn greedy_q4_matches_mlx_lm_token_for_token() {
    check_against_mlx_lm("q4");
}

fn digest_dir(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let hash = Sha256::digest(std::fs::read(&p).unwrap());
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                format!("{hash:x}"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn make_weights_is_byte_identical_for_a_seed() {
    for dtype in ["float32", "q4"] {
        let (a, b, c) = (
            make_tiny(dtype, 3),
            make_tiny(dtype, 3),
            make_tiny(dtype, 4),
        );
        assert_eq!(
            digest_dir(a.path()),
            digest_dir(b.path()),
            "{dtype}: same seed"
        );
        assert_ne!(
            digest_dir(a.path()),
            digest_dir(c.path()),
            "{dtype}: other seed"
        );
    }
}

#[test]
fn generation_is_not_degenerate_and_sampling_is_seeded() {
    let dir = make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let greedy = batched_ids(&mut model, PROMPT, 128, Sampling::default());
    let mut distinct = greedy.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.len() >= 8,
        "greedy output collapsed to {} distinct ids",
        distinct.len()
    );
    let hot = Sampling {
        temperature: 0.8,
        top_p: 0.9,
        seed: 7,
    };
    let a = per_token_ids(&mut model, PROMPT, 32, hot);
    assert_eq!(
        a,
        batched_ids(&mut model, PROMPT, 32, hot),
        "same seed, both API shapes"
    );
    let other = per_token_ids(&mut model, PROMPT, 32, Sampling { seed: 8, ..hot });
    assert_ne!(a, other, "another seed should sample differently");
}

#[test]
fn counters_count_each_crossing() {
    let dir = make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let c = model
        .generate(PROMPT, 20, Sampling::default(), |_, _| Flow::Continue)
        .unwrap();
    assert_eq!(c.generated_tokens, 20);
    assert_eq!(c.callbacks, 20);
    assert_eq!(c.prompt_tokens, PROMPT.len() as u64);
    assert_eq!(c.bytes_out, 80);
    assert!(
        c.syncs >= 20,
        "at least one host sync per token: {}",
        c.syncs
    );
    let mut s = model.session(Sampling::default()).unwrap();
    s.prefill(PROMPT).unwrap();
    for _ in 1..20 {
        s.decode_step().unwrap();
    }
    let c = s.counters().unwrap();
    assert_eq!((c.generated_tokens, c.callbacks), (20, 0));
}

#[test]
fn embed_returns_the_hidden_state() {
    let dir = make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let v = model.embed(PROMPT).unwrap();
    assert_eq!(v.len(), 256);
    assert!(v.iter().all(|x| x.is_finite()) && v.iter().any(|x| *x != 0.0));
}

fn load_err(dir: &Path) -> ShimError {
    match Model::load(dir) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn missing_directory_names_the_path() {
    let e = load_err(Path::new("/nonexistent/crossbench-model"));
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(
        e.to_string().contains("/nonexistent/crossbench-model"),
        "{e}"
    );
}

#[test]
fn missing_and_truncated_safetensors_name_the_file() {
    let dir = make_tiny("float32", 0);
    let file = dir.path().join("model.safetensors");
    let len = std::fs::metadata(&file).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(len / 2).unwrap();
    let e = load_err(dir.path());
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.to_string().contains("model.safetensors"), "{e}");
    std::fs::remove_file(&file).unwrap();
    let e = load_err(dir.path());
    assert!(e.to_string().contains("safetensors"), "{e}");
}

#[test]
fn config_disagreeing_with_weights_names_the_tensor() {
    let dir = make_tiny("float32", 0);
    let config =
        common::tiny_config(None).replace("\"intermediate_size\":768", "\"intermediate_size\":512");
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let e = load_err(dir.path());
    assert_eq!(e.kind(), ErrorKind::Shape, "{e}");
    assert!(e.to_string().contains("mlp"), "names the tensor: {e}");
}

#[test]
fn unsupported_quantization_is_refused() {
    let dir = make_tiny("q4", 0);
    let config = common::tiny_config(Some(7));
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let e = load_err(dir.path());
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("bits"), "{e}");
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("config.json"), common::tiny_config(None)).unwrap();
    let e = crossbench_shim::make_weights(bad.path(), 0, "q3", None, 1 << 30).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::Argument),
        "{e}"
    );
}

#[test]
fn cpp_exceptions_become_typed_errors_and_the_process_lives_on() {
    let dir = make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    for kind in ["runtime", "bad_alloc"] {
        crossbench_shim::debug_arm_throw(kind).unwrap();
        let e = model
            .session(Sampling::default())
            .err()
            .expect("armed exception");
        assert_eq!(e.kind(), ErrorKind::Runtime, "{e}");
    }
    let e = model
        .generate(&[], 4, Sampling::default(), |_, _| Flow::Continue)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Argument, "empty prompt: {e}");
    assert_eq!(
        batched_ids(&mut model, PROMPT, 4, Sampling::default()).len(),
        4
    );
}

#[test]
fn a_panicking_callback_stops_generation_without_unwinding_into_cpp() {
    let dir = make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let mut seen = 0;
    let e = model
        .generate(PROMPT, 10, Sampling::default(), |_, i| {
            seen += 1;
            if i == 3 {
                panic!("consumer bug at token {i}");
            }
            Flow::Continue
        })
        .unwrap_err();
    assert!(
        matches!(e, ShimError::CallbackPanic(ref m) if m.contains("token 3")),
        "{e}"
    );
    assert_eq!(seen, 4, "no callback after the panic");
    let mut n = 0;
    let c = model
        .generate(PROMPT, 10, Sampling::default(), |_, _| {
            n += 1;
            if n == 5 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        })
        .unwrap();
    assert_eq!(
        c.callbacks, 5,
        "a consumer stop is honoured and not an error"
    );
    assert_eq!(
        batched_ids(&mut model, PROMPT, 5, Sampling::default()).len(),
        5
    );
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn streaming_on_the_shims_thread_matches_batched_and_leaves_no_thread_behind() {
    let dir = make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let batched = batched_ids(&mut model, PROMPT, 24, Sampling::default());
    let caller = std::thread::current().id();
    let mut on_caller_thread = 0;
    let mut streamed = Vec::new();
    let c = model
        .generate_on_thread(PROMPT, 24, Sampling::default(), |t, _| {
            on_caller_thread += usize::from(std::thread::current().id() == caller);
            streamed.push(t);
            Flow::Continue
        })
        .unwrap();
    assert_eq!(streamed, batched, "same loop, same tokens");
    assert_eq!(
        on_caller_thread, 0,
        "every callback came from the shim's thread"
    );
    assert_eq!(c.callbacks, 24);
    // A generation's thread ends with it, and all share one MLX stream (a
    // stream's worker thread never ends). Other tests of this binary run
    // threads too: 20 leaks would show as +20, a neighbour as a few.
    let before = thread_count();
    for _ in 0..20 {
        model
            .generate_on_thread(PROMPT, 2, Sampling::default(), |_, _| Flow::Continue)
            .unwrap();
    }
    let after = thread_count();
    assert!(after < before + 5, "{after} threads, {before} before");
}

#[test]
fn streaming_errors_and_panics_come_back_typed() {
    let dir = make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let e = model
        .generate_on_thread(PROMPT, 10, Sampling::default(), |_, i| {
            if i == 2 {
                panic!("consumer bug at token {i}");
            }
            Flow::Continue
        })
        .unwrap_err();
    assert!(
        matches!(e, ShimError::CallbackPanic(ref m) if m.contains("token 2")),
        "{e}"
    );
    let vocab = model.info().unwrap().vocab_size as u32;
    let e = model
        .generate_on_thread(&[vocab], 4, Sampling::default(), |_, _| Flow::Continue)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Argument, "{e}");
    assert!(
        e.to_string().contains("vocab"),
        "the thread's message reaches the caller: {e}"
    );
}
