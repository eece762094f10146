//! `crossbench gate` / `baseline save` / `bench --inject-slowdown` end to end
//! on the mock backend (no MLX). Timing verdicts are asserted only where the
//! machine cannot change them: a 3x injected slowdown with the noise limit
//! lifted is a regression on any machine.

mod common;

use common::{bench_cmd, crossbench, only_run, results};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A mock run under `out` (which may hold others): its directory, as the
/// command's `results:` line names it.
fn bench_mock(out: &Path, extra: &[&str]) -> PathBuf {
    let o = bench_cmd(out)
        .args(["--scenario", "mock", "--reps", "4", "--warmup", "0"])
        .args(extra)
        .output()
        .expect("run crossbench");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let dir = stderr
        .lines()
        .find_map(|l| l.strip_prefix("results: "))
        .expect("results line");
    PathBuf::from(dir)
}

#[test]
fn injection_is_recorded_and_refused_as_a_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = bench_mock(tmp.path(), &[]);
    // +200%: every mock delay tripled, far beyond the 10% absolute threshold
    // and any jitter of a loaded machine.
    let slow = bench_mock(tmp.path(), &["--inject-slowdown", "mock=200"]);
    let r = results(&slow);
    assert_eq!(r["injected_slowdowns"]["mock"], 200.0);
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

    // A clean one is; the gate reads the saved file and the run dir alike.
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
        // Same boot, so absolute times are gated; the CV limit lifted so that
        // a parallel build's noise cannot turn the verdict inconclusive.
        "--cv-limit",
        "1000",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(
        text.contains("INJECTED")
            && text.contains("REGRESSION   absolute.decode_ns")
            && text.contains("verdict: REGRESSION"),
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

fn gate(baseline: &Path, current: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "gate",
        "--baseline",
        baseline.to_str().unwrap(),
        "--current",
        current.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    crossbench(&args)
}

fn save(run: &Path, dir: &Path) -> Output {
    let (run, dir) = (run.to_str().unwrap(), dir.to_str().unwrap());
    crossbench(&["baseline", "save", run, "--dir", dir, "--force"])
}

fn fails_saying(o: &Output, what: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for w in what {
        assert!(err.contains(w), "no `{w}` in: {err}");
    }
}

/// Zero checks, an unfinished run, an impossible sample and a non-finite
/// option used to pass (or quietly turn a check into "info"): each is now
/// exit 1 with a message saying which.
#[test]
fn the_gate_refuses_nothing_to_judge_unfinished_runs_and_impossible_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = bench_mock(tmp.path(), &[]);
    let write = |name: &str, r: &Value| {
        let path = tmp.path().join(name);
        std::fs::write(&path, r.to_string()).unwrap();
        path
    };

    let mut r = results(&clean);
    for b in r["backends"].as_array_mut().unwrap() {
        b["status"] = "failed".into();
    }
    let failed = write("failed.json", &r);
    fails_saying(&gate(&failed, &clean, &[]), &["nothing to judge"]);
    fails_saying(&save(&failed, tmp.path()), &["no backend has status ok"]);

    for status in ["running", "incomplete"] {
        let mut r = results(&clean);
        r["status"] = status.into();
        let unfinished = write(&format!("{status}.json"), &r);
        fails_saying(&save(&unfinished, tmp.path()), &[status, "not complete"]);
        fails_saying(&gate(&clean, &unfinished, &[]), &[status, "not complete"]);
    }

    assert!(save(&clean, tmp.path()).status.success());
    let saved = tmp.path().join("mock.json");
    let mut b: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    b["backends"][0]["samples"]["decode_ns"][1] = (-5.0).into();
    let bad = write("bad-sample.json", &b);
    fails_saying(&gate(&bad, &clean, &[]), &["decode_ns rep 1 is -5.0"]);

    for (flag, value) in [
        ("--cv-limit", "nan"),
        ("--memory-tolerance", "nan"),
        ("--threshold", "inf"),
        ("--reps-limit", "0"),
    ] {
        fails_saying(&gate(&saved, &clean, &[flag, value]), &[flag]);
    }
}

/// A full disk mid-run (injected: the third snapshot write fails with
/// ENOSPC): exit 1 naming the error, the reps measured so far kept in a
/// results.json that says `incomplete`, which is never a baseline or judged.
#[test]
fn a_full_disk_mid_run_leaves_an_incomplete_run_that_is_never_a_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = bench_mock(tmp.path(), &[]);
    let out = tmp.path().join("full");
    let o = bench_cmd(&out)
        .args(["--scenario", "mock", "--reps", "4", "--warmup", "0"])
        .env("CROSSBENCH_TEST_DISK_FULL_AFTER", "2")
        .output()
        .unwrap();
    fails_saying(&o, &["No space left on device", "says `incomplete`"]);
    let run = only_run(&out);
    let r = results(&run);
    assert_eq!(r["status"], "incomplete");
    // One snapshot per generation and one per round (a fresh worker per rep):
    // the third write came after the second rep was measured, which is kept.
    let backend = &r["backends"][0];
    assert_eq!(backend["reps"].as_array().unwrap().len(), 2, "{backend}");
    assert_eq!(backend["status"], "incomplete");
    fails_saying(&save(&run, tmp.path()), &["incomplete"]);
    fails_saying(&gate(&clean, &run, &[]), &["incomplete"]);
}

/// Unmounts the test's tmpfs, even when an assertion fails.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A real full disk: a 64 KiB tmpfs fills within a few reps. Needs the right
/// to mount (root in a container that allows it); elsewhere it says so and
/// returns, and the injected test above covers the same path.
#[test]
fn a_real_full_disk_keeps_every_measured_rep_marked_incomplete() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&disk)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
        return;
    }
    let _guard = Mounted(disk.clone());
    let o = crossbench(&[
        "bench",
        "--scenario",
        "mock",
        "--reps",
        "500",
        "--warmup",
        "0",
        "--no-progress",
        "--out",
        disk.to_str().unwrap(),
    ]);
    fails_saying(&o, &["No space left on device", "says `incomplete`"]);
    let run = only_run(&disk);
    let r = results(&run);
    assert_eq!(r["status"], "incomplete");
    let backend = &r["backends"][0];
    let kept = backend["reps"].as_array().unwrap().len();
    let error = backend["error"].as_str().unwrap();
    assert!(kept >= 1, "{backend}");
    assert_eq!(
        error,
        format!("stopped by a failed write after {kept} of 500 reps")
    );
    fails_saying(&save(&run, tmp.path()), &["incomplete"]);
}

/// Another core count, MLX version, BLAS library or device (edited into a
/// copy of a run's results.json) is exit 1 naming the change; allowed, the
/// run is judged with a loud note, absolute times informational.
#[test]
fn a_changed_setup_is_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = bench_mock(tmp.path(), &[]);
    let edits: [(&str, &str, Value); 4] = [
        ("cores", "cores: ", 64.into()),
        ("mlx_version", "MLX version: ", "0.99.0".into()),
        (
            "blas",
            "BLAS library: ",
            "LD_PRELOAD=/other/libblas.so".into(),
        ),
        ("device", "device: ", "gpu".into()),
    ];
    for (field, named, value) in edits {
        let mut r = results(&clean);
        r["environment"][field] = value;
        let edited = tmp.path().join(format!("{field}.json"));
        std::fs::write(&edited, r.to_string()).unwrap();
        fails_saying(
            &gate(&clean, &edited, &[]),
            &[named, "not comparable", "--allow-environment-change"],
        );
        let md = tmp.path().join(format!("{field}.md"));
        let md_flag = md.to_str().unwrap();
        let o = gate(
            &clean,
            &edited,
            &["--allow-environment-change", "--markdown", md_flag],
        );
        let text = String::from_utf8_lossy(&o.stdout);
        // The same reps on both sides: the exact checks pass, timings are info.
        assert_eq!(o.status.code(), Some(0), "{text}");
        assert!(
            text.contains("NOTE: ENVIRONMENT CHANGED") && text.contains(named),
            "{text}"
        );
        assert!(text.contains("absolute times informational"), "{text}");
        let md = std::fs::read_to_string(&md).unwrap();
        assert!(md.contains("**ENVIRONMENT CHANGED"), "{md}");
    }
}
