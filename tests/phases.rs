//! `bench --phases` end to end on the tiny preset: every backend's phases (the
//! Go ones too)
//! account for its measured inter-token latency (within 2% at the median),
//! no span is dropped, each backend shows the phases its design has, and
//! Chromium's own trace importer (DevTools' trace engine) reads trace.json
//! with one process per backend and every phase span on its thread.

mod common;

use common::{bench_cmd, only_run, root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const BACKENDS: [&str; 7] = [
    "python-subprocess",
    "ffi-token",
    "ffi-batched",
    "native-cpp",
    "go-cgo-token",
    "go-cgo-batched",
    "go-cgo-stream",
];

/// One profiled run shared by the tests here (each would repeat the same run).
fn run_dir() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = tempfile::tempdir().unwrap().keep();
        let o = bench_cmd(&out)
            .args(["--scenario", "gen100", "--preset", "tiny"])
            .args(["--warmup", "1", "--reps", "2", "--timeout", "60"])
            .args(["--phases", "--backends", &BACKENDS.join(",")])
            .output()
            .expect("run crossbench");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        only_run(&out)
    })
}

fn results() -> Value {
    common::results(run_dir())
}

fn phase(b: &Value, name: &str) -> f64 {
    b["phase_split"]["phases_ns"][name].as_f64().unwrap()
}

#[test]
fn every_backends_phases_account_for_its_inter_token_latency() {
    let r = results();
    assert_eq!(r["profiling"]["phases"], true, "a --phases run is marked");
    for b in r["backends"].as_array().unwrap() {
        let name = b["name"].as_str().unwrap();
        let split = &b["phase_split"];
        let coverage = split["coverage_median"].as_f64().unwrap();
        assert!(
            (0.98..=1.02).contains(&coverage),
            "{name}: the phases sum to {coverage:.4} of the measured ITL at the median"
        );
        assert_eq!(split["tokens"], 2 * 99, "{name}: every decode token split");
        for rep in b["reps"].as_array().unwrap() {
            assert_eq!(rep["counters"]["phase_spans_dropped"], 0, "{name}");
        }
        for p in ["build", "dispatch", "wait", "host"] {
            assert!(phase(b, p) > 0.0, "{name}: no time in {p}");
        }
        // What each design has, and what it has not.
        let python = name == "python-subprocess";
        assert_eq!(phase(b, "pipe") > 0.0, python, "{name}: pipe");
        assert_eq!(phase(b, "crossing") > 0.0, !python, "{name}: crossing");
        assert_eq!(
            split["pipe_latency_ns"].is_number(),
            python,
            "{name}: pipe latency"
        );
        // go-cgo-stream's consumer is on another thread than the shim's loop: not recorded.
        let consumer = !python && name != "go-cgo-stream";
        assert_eq!(phase(b, "consumer") > 0.0, consumer, "{name}: consumer");
    }
}

/// Chromium's trace importer, installed once into .cache/trace-engine from
/// tests/helpers/trace-engine's lockfile (`npm ci`: exact versions, each checked
/// against its integrity hash; `--ignore-scripts`: no install scripts run), or
/// None (loudly) where node or npm is missing; CI requires it.
fn trace_engine() -> Option<PathBuf> {
    let dir = root().join(".cache/trace-engine");
    let locked = root().join("tests/helpers/trace-engine");
    let entry = dir.join("node_modules/@paulirish/trace_engine/models/trace/trace.js");
    let lock = |d: &Path| std::fs::read(d.join("package-lock.json")).ok();
    if entry.is_file() && lock(&dir).is_some() && lock(&dir) == lock(&locked) {
        return Some(dir);
    }
    let _ = std::fs::create_dir_all(&dir);
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(locked.join(file), dir.join(file)).expect("copy the trace engine's lockfile");
    }
    let installed = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if installed && entry.is_file() {
        return Some(dir);
    }
    let msg = "npm could not install @paulirish/trace_engine (Chromium's trace importer): \
               the trace.json import check did NOT run (needs node and npm; .ci/run has them)";
    if std::env::var_os("CROSSBENCH_REQUIRE_TRACE_ENGINE").is_some_and(|v| v == "1") {
        panic!("{msg}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "\nSKIPPED: {msg}\n");
    None
}

#[test]
fn chromiums_trace_importer_reads_every_backends_phases() {
    let r = results();
    let Some(engine) = trace_engine() else {
        return;
    };
    let o = Command::new("node")
        .arg(root().join("tests/helpers/check_trace.mjs"))
        .arg(&engine)
        .arg(run_dir().join("trace.json"))
        .output()
        .expect("run node");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let imported: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(imported["warnings"], 0, "{imported}");
    let processes = imported["processes"].as_array().unwrap();
    assert_eq!(processes.len(), BACKENDS.len(), "{imported}");
    for b in r["backends"].as_array().unwrap() {
        let name = &b["name"];
        let process = processes.iter().find(|p| &p["name"] == name);
        let process = process.unwrap_or_else(|| panic!("no process named {name}: {imported}"));
        let spans: usize = b["reps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rep| rep["phases"].as_array().unwrap().len())
            .sum();
        let threads = process["threads"].as_array().unwrap();
        let phases = threads.iter().find(|t| t["name"] == "worker phases");
        let phases = phases.unwrap_or_else(|| panic!("{name}: no phase thread: {process}"));
        assert_eq!(phases["slices"], spans, "{name}: every span imported");
        let consumer = threads
            .iter()
            .find(|t| t["name"] == "consumer (token held)");
        // Per rep: the generation, the prefill and 99 inter-token slices.
        assert_eq!(consumer.unwrap()["slices"], 2 * 101, "{name}");
    }
}
