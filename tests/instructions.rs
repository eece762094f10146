//! `crossbench instructions`: the instruction-count gate catches a +1%
//! increase of host instructions per token in one backend, every time, and a
//! clean rerun passes. Counts are deterministic (callgrind), so this test is
//! not timing-based: it fails or passes the same way on every run.
//!
//! Needs valgrind. Without it the test says so and returns; with
//! CROSSBENCH_REQUIRE_VALGRIND=1 (set by .ci/run) it fails instead.

mod common;

use common::crossbench;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn valgrind_present() -> bool {
    let ok = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !matches!(std::env::var("CROSSBENCH_REQUIRE_VALGRIND").as_deref(), Ok("1")),
            "valgrind is required here (CROSSBENCH_REQUIRE_VALGRIND=1) but `valgrind --version` did not run"
        );
        eprintln!(
            "SKIPPED tests/instructions.rs: valgrind not found (apt-get install valgrind; \
             CI sets CROSSBENCH_REQUIRE_VALGRIND=1 and fails instead)"
        );
    }
    ok
}

/// Counts the mock backend; returns (exit code, stdout+stderr, per-token count).
fn count(out: &Path, extra: &[&str]) -> (i32, String, f64) {
    let mut args = vec!["instructions", "--backends", "mock", "--out"];
    args.push(out.to_str().unwrap());
    args.extend(extra);
    let o = crossbench(&args);
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    let mock = &file["backends"][0];
    assert_eq!(mock["status"], "counted", "{text}");
    (
        o.status.code().unwrap(),
        text,
        mock["per_token"].as_f64().unwrap(),
    )
}

#[test]
fn one_percent_more_host_instructions_in_one_backend_fails_the_gate_and_a_clean_rerun_passes() {
    if !valgrind_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let base_s = base.to_str().unwrap();
    // The baseline, counted twice per length: the repeats must agree, up to
    // what a run prints of its own timing: the number of digits of load_ns,
    // peak_rss_bytes and the like changes a run's count by 16-25 instructions
    // (itoa, LineWriter's memrchr; measured 2026-12-06), once per run, not
    // per token. More than MAX_RUN_JITTER per run is nondeterminism that
    // grows with the work, which this catches.
    const MAX_RUN_JITTER: f64 = 64.0;
    let (code, text, per_token) = count(&base, &["--repeat", "2"]);
    assert_eq!(code, 0, "{text}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let mock = &file["backends"][0];
    let spread = mock["spread_per_token"].as_f64().unwrap();
    let lengths: Vec<f64> = mock["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tokens"].as_f64().unwrap())
        .collect();
    let dn = lengths.iter().cloned().fold(f64::MIN, f64::max)
        - lengths.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread * dn <= MAX_RUN_JITTER && spread <= per_token * 0.002,
        "repeats differ by {spread} of {per_token} per token ({} instructions over the {dn} tokens between the lengths)",
        spread * dn
    );
    assert!(file["toolchain"]["valgrind"]
        .as_str()
        .unwrap()
        .starts_with("valgrind-"));

    // What the injected loop costs, counted, not assumed: two lengths give
    // the cost of one iteration and the fixed cost of entering the loop.
    let probe = |n: u64| {
        let file = dir.path().join(format!("probe-{n}.json"));
        count(&file, &["--inject-host-work", &format!("mock={n}")]).2
    };
    let (p1, p2) = (probe(1000), probe(2000));
    let per_iteration = (p2 - p1) / 1000.0;
    let fixed = p1 - per_token - 1000.0 * per_iteration;
    assert!(
        per_iteration > 0.5,
        "the injected loop costs {per_iteration}"
    );
    // Just over +1%: the smallest whole number of iterations reaching it.
    let iterations = ((0.01 * per_token - fixed) / per_iteration).ceil().max(1.0) as u64;
    let inject = format!("mock={iterations}");

    let worse = dir.path().join("worse.json");
    let args = ["--inject-host-work", &inject, "--baseline", base_s];
    let (code, text, worse_per_token) = count(&worse, &args);
    let change = worse_per_token / per_token - 1.0;
    assert!(
        (0.01..0.015).contains(&change),
        "injected {change:+.4} instead of just over +1% ({iterations} iterations of {per_iteration} \
         instructions, {fixed} to enter the loop, {per_token} per token)"
    );
    assert_eq!(
        code,
        3,
        "a +{:.2}% increase must be a regression:\n{text}",
        change * 100.0
    );
    assert!(text.contains("REGRESSION"), "{text}");

    let clean = dir.path().join("clean.json");
    let (code, text, _) = count(&clean, &["--baseline", base_s]);
    assert_eq!(code, 0, "a clean rerun must pass:\n{text}");
    assert!(text.contains("pass"), "{text}");
}

#[test]
fn gating_a_file_against_a_missing_baseline_names_the_file() {
    let o = crossbench(&[
        "instructions",
        "--current",
        "/nonexistent/current.json",
        "--baseline",
        "/nonexistent/base.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent/current.json"), "{err}");
}

/// `--against`: the base binary counts itself, the head is gated against it
/// in the same job. With this very binary as the base (`--base-bin`), a
/// clean A/B is an A/A and passes; +2% host work in the head fails.
#[test]
fn against_a_base_binary_gates_the_head_on_the_same_machine() {
    if !valgrind_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let me = env!("CARGO_BIN_EXE_crossbench");
    let ab = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name).join("instructions.json");
        let mut args = vec!["instructions", "--backends", "mock", "--against", "HEAD"];
        args.extend(["--base-bin", me, "--out", out.to_str().unwrap()]);
        args.extend(extra);
        let o = crossbench(&args);
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(
            out.parent()
                .unwrap()
                .join("base-instructions.json")
                .is_file(),
            "{text}"
        );
        (o.status.code().unwrap_or(-1), text)
    };
    let (code, text) = ab("clean", &[]);
    assert_eq!(code, 0, "an A/A must pass:\n{text}");
    assert!(text.contains("base: "), "{text}");
    // The mock's loop: ~1,300 instructions per token; 400 iterations of the
    // injected loop are well over +2% of it (tests above measure one).
    let (code, text) = ab("worse", &["--inject-host-work", "mock=400"]);
    assert_eq!(
        code, 3,
        "injected host work in the head must regress:\n{text}"
    );
    assert!(text.contains("REGRESSION"), "{text}");
}
