//! The C++ native runner (no Rust in its loop): same tokens as mlx-lm, its JSON
//! lines, its serve mode and its errors.

mod common;

use common::{make_tiny, mlx_lm_greedy};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const PROMPT: &[u32] = &[1, 1183, 1117, 1032, 3405, 1070, 1040, 6658, 29491, 1066];

fn runner() -> Command {
    Command::new(crossbench_shim::native_runner_path())
}

fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn token_ids(events: &[Value]) -> Vec<u32> {
    events
        .iter()
        .filter(|e| e["ev"] == "token")
        .map(|e| e["id"].as_u64().unwrap() as u32)
        .collect()
}

fn one_shot(dir: &std::path::Path, n: usize) -> Vec<Value> {
    let ids: Vec<String> = PROMPT.iter().map(|i| i.to_string()).collect();
    let out = runner()
        .args([
            "--model",
            dir.to_str().unwrap(),
            "--prompt-ids",
            &ids.join(","),
            "--max-new",
            &n.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "runner failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    events(&out.stdout)
}

#[test]
fn native_runner_greedy_matches_mlx_lm_fp32_and_q4() {
    for dtype in ["float32", "q4"] {
        let dir = make_tiny(dtype, 0);
        let ev = one_shot(dir.path(), 64);
        assert_eq!(
            token_ids(&ev),
            mlx_lm_greedy(dir.path(), PROMPT, 64),
            "{dtype}"
        );
    }
}

#[test]
fn native_runner_prints_monotonic_token_stamps_and_a_summary() {
    let dir = make_tiny("float32", 0);
    let ev = one_shot(dir.path(), 16);
    assert_eq!(ev[0]["ev"], "loaded");
    let stamps: Vec<u64> = ev
        .iter()
        .filter(|e| e["ev"] == "token")
        .map(|e| e["t_ns"].as_u64().unwrap())
        .collect();
    assert_eq!(stamps.len(), 16);
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]));
    let done = ev.last().unwrap();
    assert_eq!(done["ev"], "done");
    assert_eq!(done["tokens"], 16);
    for key in [
        "prefill_ns",
        "decode_ns",
        "load_ns",
        "peak_rss_bytes",
        "mlx_peak_bytes",
        "evals",
        "syncs",
    ] {
        assert!(done[key].as_u64().is_some_and(|v| v > 0), "{key} in {done}");
    }
}

#[test]
fn serve_mode_answers_requests_and_survives_bad_ones() {
    let dir = make_tiny("float32", 0);
    let mut child = runner()
        .args(["--serve", "--model", dir.path().to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        "generate max_new=4 temperature=0 top_p=1 seed=0 prompt=1,2,3"
    )
    .unwrap();
    writeln!(stdin, "generate max_new=banana prompt=1").unwrap();
    writeln!(
        stdin,
        "generate max_new=4 temperature=0 top_p=1 seed=0 prompt=1,2,3"
    )
    .unwrap();
    writeln!(stdin, "quit").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let ev = events(&out.stdout);
    let kinds: Vec<&str> = ev.iter().map(|e| e["ev"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "done").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "error").count(),
        1,
        "{kinds:?}"
    );
    let ids = token_ids(&ev);
    assert_eq!(ids[..4], ids[4..], "same request, same tokens");
}

#[test]
fn runner_errors_are_json_lines_naming_the_file() {
    let out = runner()
        .args([
            "--model",
            "/nonexistent/m",
            "--prompt-ids",
            "1",
            "--max-new",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let ev = events(&out.stdout);
    assert_eq!(ev.last().unwrap()["ev"], "error");
    assert!(ev.last().unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/m"));
    let out = runner().arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage error");
}

/// shims/tests/api_smoke.cpp: the C ABI from C++ alone (per-token == batched,
/// counters, error mapping, the throw hook); exit 0 is a pass.
#[test]
fn the_cpp_api_smoke_test_passes() {
    let dir = make_tiny("float32", 0);
    let out = Command::new(crossbench_shim::api_smoke_path())
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "api_smoke failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
