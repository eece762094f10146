//! End-to-end tests of the crossbench binary over the real backends on the tiny
//! preset: model make, the tokenizer, token agreement and crossing counts.

mod common;

use common::{backend, crossbench, crossbench_cmd, only_run, results, root, venv_python};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};

fn ok(args: &[&str]) -> Output {
    let out = crossbench(args);
    assert!(
        out.status.success(),
        "crossbench {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn digests(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                format!("{:x}", Sha256::digest(std::fs::read(&p).unwrap())),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn model_make_is_deterministic_and_mlx_lm_loads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        ok(&[
            "model",
            "make",
            "--preset",
            "tiny",
            "--dtype",
            "q4",
            "--seed",
            "9",
            "--out",
            dir.to_str().unwrap(),
        ]);
    }
    let (da, db) = (digests(&a), digests(&b));
    assert_eq!(
        da, db,
        "same preset, dtype and seed must give byte-identical files"
    );
    let names: Vec<&str> = da.iter().map(|(n, _)| n.as_str()).collect();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert!(names.contains(&f), "{f} missing from {names:?}");
    }
    let script = "import sys; from mlx_lm import load; m, t = load(sys.argv[1]); \
                  ids = t.encode('Hello world'); assert ids[0] == 1, ids; print(len(ids))";
    let out = Command::new(venv_python())
        .args(["-c", script, a.to_str().unwrap()])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mlx_lm.load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = crossbench(&[
        "model",
        "make",
        "--preset",
        "tiny",
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(
        !again.status.success(),
        "refuses to overwrite without --force"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn rust_tokenizer_matches_sentencepiece_on_the_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    ok(&[
        "model",
        "make",
        "--preset",
        "tiny",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let fixture: Vec<Value> = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/tokenizer_samples.json")).unwrap(),
    )
    .unwrap();
    assert!(fixture.len() >= 100);
    for sample in &fixture {
        let text = sample["text"].as_str().unwrap();
        let want: Vec<u32> = sample["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let got = tok.encode(text, true).unwrap().get_ids().to_vec();
        assert_eq!(got, want, "text {text:?}");
    }
}

#[test]
fn unknown_preset_and_dtype_are_clear_errors() {
    let out = crossbench(&["model", "make", "--preset", "huge", "--out", "/tmp/never"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown preset 'huge'"));
    let out = crossbench(&[
        "model",
        "make",
        "--preset",
        "tiny",
        "--dtype",
        "q3",
        "--out",
        "/tmp/never",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported dtype 'q3'"));
    let out = crossbench(&["bench", "--scenario", "gen100", "--backends", "ffi-tokn"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ffi-tokn") && err.contains("ffi-token"),
        "lists known backends: {err}"
    );
}

/// All four real backends on gen100's prompt, tiny preset: identical greedy ids,
/// and the crossing counts each API shape implies.
#[test]
fn four_backends_agree_and_count_their_crossings() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = ok(&[
        "bench",
        "--scenario",
        "gen100",
        "--preset",
        "tiny",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--no-progress",
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("| Implementation | Time | Memory | Crossings |"));
    let run = only_run(out_dir.path());
    for f in ["results.json", "results.csv", "summary.md"] {
        assert!(run.join(f).is_file(), "{f} written");
    }
    let r = results(&run);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["agreement"]["all_match"], true, "{}", r["agreement"]);
    let names = [
        "python-subprocess",
        "ffi-token",
        "ffi-batched",
        "native-cpp",
    ];
    let ids: Vec<&Value> = names
        .iter()
        .map(|n| &backend(&r, n)["reps"][0]["token_ids"])
        .collect();
    assert_eq!(ids[0].as_array().unwrap().len(), 100);
    assert!(ids.iter().all(|v| *v == ids[0]), "identical greedy ids");
    let c = |n: &str, k: &str| backend(&r, n)["crossings"][k].as_f64();
    // Counted by the shim: session new, prefill, 99 decode steps, finish, free and
    // the peak-memory query; ffi-batched: cb_generate and the peak-memory query.
    assert_eq!(c("ffi-token", "rust_to_c_calls"), Some(104.0));
    assert_eq!(c("ffi-batched", "rust_to_c_calls"), Some(2.0));
    assert_eq!(c("ffi-batched", "c_to_rust_callbacks"), Some(100.0));
    assert_eq!(c("native-cpp", "rust_to_c_calls").unwrap_or(0.0), 0.0);
    assert!(
        c("python-subprocess", "ipc_messages_in").unwrap() >= 101.0,
        "a pipe message per token + done"
    );
    // Equal work: mlx-lm's passes (21-token prompt: one prefill chunk, the last
    // prompt token, 100 steps) and evals in every backend.
    let counter = |n: &str, k: &str| backend(&r, n)["reps"][0]["counters"][k].as_u64();
    for n in names {
        assert_eq!(
            counter(n, "forward_passes"),
            Some(102),
            "{n} forward passes"
        );
        assert_eq!(counter(n, "evals"), Some(103), "{n} evals");
        assert_eq!(counter(n, "syncs"), Some(100), "{n} syncs");
        assert_eq!(backend(&r, n)["device"], "cpu", "{n} reports its device");
        // Only the subprocess design sends tokens over its pipe while generating.
        let in_gen = backend(&r, n)["reps"][0]["messages_in_generation"].as_u64();
        if n == "python-subprocess" {
            assert!(in_gen.unwrap() >= 90, "{n}: {in_gen:?}");
        } else {
            assert_eq!(in_gen, Some(0), "{n} sends nothing during the generation");
        }
    }
    assert_eq!(r["environment"]["mlx_version"], "0.32.2");
}

/// Runs crossbench, killing it after `limit` (the old code ran some of these
/// for days); returns its exit code (None if killed), stderr and wall time.
fn crossbench_within(
    args: &[&str],
    limit: std::time::Duration,
) -> (Option<i32>, String, std::time::Duration) {
    use std::process::Stdio;
    let start = std::time::Instant::now();
    let mut child = crossbench_cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run crossbench");
    while child.try_wait().unwrap().is_none() && start.elapsed() < limit {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stderr, start.elapsed())
}

/// Flag values that parse but overflow later (`Instant + timeout`, a u32 round
/// count), run for days, or duplicate a backend: exit 1 at once, naming the
/// flag, with no run directory created (and no model made).
#[test]
fn out_of_range_bench_flags_fail_at_once_naming_the_flag() {
    let cases: [(&[&str], &str); 9] = [
        (&["--reps", "4294967295"], "--reps 4294967295"),
        (&["--warmup", "4294967295"], "--warmup 4294967295"),
        (&["--timeout", "18446744073709551615"], "--timeout"),
        (&["--timeout", "nan"], "--timeout NaN"),
        (&["--timeout", "604801"], "--timeout"),
        (&["--timeout", "1.2e-47"], "--timeout 1.2e-47"),
        (&["--layers", "4294967295"], "--layers 4294967295"),
        (&["--backends", "mock,mock"], "`mock` is listed twice"),
        (&["--gap", "inf"], "--gap"),
    ];
    for (extra, wanted) in cases {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec!["bench", "--scenario", "mock", "--no-progress", "--out"];
        args.push(out.path().to_str().unwrap());
        args.extend_from_slice(extra);
        let (code, stderr, took) = crossbench_within(&args, std::time::Duration::from_secs(30));
        assert_eq!(code, Some(1), "{extra:?} ({took:?}): {stderr}");
        assert!(stderr.contains(wanted), "{extra:?}: {stderr}");
        assert!(took.as_secs() < 10, "{extra:?} took {took:?}");
        let written: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
        assert!(written.is_empty(), "{extra:?} wrote {written:?}");
    }
}

/// A synthetic prompt longer than the model's context is refused naming the
/// key and config.json's max_position_embeddings, before its ids exist.
#[test]
fn a_prompt_beyond_the_model_context_is_refused_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("long.toml");
    std::fs::write(
        &scenario,
        "description = \"too long\"\nkind = \"generate\"\n[model]\npreset = \"tiny\"\n\
         dtype = \"float32\"\n[prompt]\nlength = 1000000\n[generation]\nmax_new_tokens = 8\n\
         [run]\nwarmup = 0\nrepetitions = 1\ntimeout_s = 30\nbackends = [\"native-cpp\"]\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (code, stderr, _) = crossbench_within(
        &[
            "bench",
            "--scenario",
            scenario.to_str().unwrap(),
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(120),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("long.toml")
            && stderr.contains("prompt.length")
            && stderr.contains("max_position_embeddings = 32768"),
        "{stderr}"
    );
    assert!(!out.exists(), "no run directory");
}
