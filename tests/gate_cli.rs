//! `crossbench gate` / `baseline save` / `bench --inject-slowdown` end to end
//! on the mock backend (no MLX). Verdicts on timing are never asserted here
//! (they depend on the machine); files, metadata and exit codes are.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn crossbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crossbench"))
        .args(args)
        .output()
        .expect("run crossbench")
}

fn bench_mock(out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "bench",
        "--scenario",
        "mock",
        "--reps",
        "4",
        "--warmup",
        "0",
        "--no-progress",
        "--out",
    ];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    let o = crossbench(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let dir = stderr
        .lines()
        .find_map(|l| l.strip_prefix("results: "))
        .expect("results line");
    PathBuf::from(dir)
}

fn results(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn injection_is_recorded_and_refused_as_a_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = bench_mock(tmp.path(), &[]);
    let slow = bench_mock(tmp.path(), &["--inject-slowdown", "mock=20"]);
    let r = results(&slow);
    assert_eq!(r["injected_slowdowns"]["mock"], 20.0);
    assert!(results(&clean)["injected_slowdowns"]
        .as_object()
        .unwrap()
        .is_empty());
    assert!(std::fs::read_to_string(slow.join("summary.md"))
        .unwrap()
        .contains("INJECTED SLOWDOWN"));
    let r = results(&clean);
    assert!(r["cv_limit"].as_f64().unwrap() > 0.0);
    assert!(r["backends"][0]["decode_cv"].is_number());

    // An injected run is never a baseline.
    let o = crossbench(&[
        "baseline",
        "save",
        slow.to_str().unwrap(),
        "--dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = crossbench(&[
        "gate",
        "--baseline",
        slow.to_str().unwrap(),
        "--current",
        clean.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A clean one is; the gate reads the saved file and the run dir alike and
    // always reaches a verdict exit code (which one depends on this machine).
    let o = crossbench(&[
        "baseline",
        "save",
        clean.to_str().unwrap(),
        "--name",
        "m",
        "--dir",
        tmp.path().to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let saved: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("m.json")).unwrap()).unwrap();
    assert_eq!(saved["baseline_format"], 1);
    assert_eq!(
        saved["backends"][0]["samples"]["decode_ns"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let md = tmp.path().join("gate.md");
    let o = crossbench(&[
        "gate",
        "--baseline",
        tmp.path().join("m.json").to_str().unwrap(),
        "--current",
        slow.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 3 | 4)), "{:?}", o.status);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("INJECTED") && text.contains("verdict:"),
        "{text}"
    );
    assert!(std::fs::read_to_string(md)
        .unwrap()
        .contains("regression gate"));
}

#[test]
fn unusable_inputs_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.json");
    let o = crossbench(&[
        "gate",
        "--baseline",
        missing.to_str().unwrap(),
        "--current",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.json"));

    let run = bench_mock(tmp.path(), &[]);
    let mut r = results(&run);
    r["schema_version"] = 99.into();
    let bad = tmp.path().join("v99.json");
    std::fs::write(&bad, r.to_string()).unwrap();
    let o = crossbench(&[
        "gate",
        "--baseline",
        run.to_str().unwrap(),
        "--current",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("v99.json") && err.contains("99"), "{err}");

    let mut r = results(&run);
    r["scenario"]["name"] = "gen100".into();
    let other = tmp.path().join("other.json");
    std::fs::write(&other, r.to_string()).unwrap();
    let o = crossbench(&[
        "gate",
        "--baseline",
        run.to_str().unwrap(),
        "--current",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("scenario"));

    let o = crossbench(&[
        "bench",
        "--scenario",
        "mock",
        "--inject-slowdown",
        "ffi-token=5",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "injecting into a backend not in the run is an error"
    );
}

#[test]
fn a_profiling_run_is_refused_as_a_baseline_and_as_a_gate_input() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = bench_mock(tmp.path(), &[]);
    let profiled = bench_mock(tmp.path(), &["--phases"]);
    let r = results(&profiled);
    assert_eq!(r["profiling"]["phases"], true);
    // The mock records its phases too (wait, consumer): the split exists.
    assert!(r["backends"][0]["phase_split"]["coverage_median"].is_number());
    let o = crossbench(&[
        "baseline",
        "save",
        profiled.to_str().unwrap(),
        "--dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is a profiling run"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = crossbench(&[
        "gate",
        "--baseline",
        clean.to_str().unwrap(),
        "--current",
        profiled.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a profiling run"));
}
