//! Faults on the real backends (tiny preset): each is provoked through the worker,
//! the shim or a signal, and no measured result of another backend is lost.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bench(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crossbench"));
    cmd.args([
        "bench",
        "--preset",
        "tiny",
        "--warmup",
        "0",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    cmd.args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run crossbench")
}

fn only_run(out: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

fn results(run: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap()
}

fn backend<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap()
}

fn assert_no_temp_files(run: &Path) {
    for e in std::fs::read_dir(run).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(".tmp") && !name.starts_with('.'),
            "half-written file left: {name}"
        );
    }
}

/// Runs gen100 on `victim` + ffi-batched with a fault in the victim; the victim is
/// marked with `status`, ffi-batched keeps all its reps.
fn fault_case(victim: &str, fault: &str, status: &str, cause: &str) {
    let out = tempfile::tempdir().unwrap();
    let spec = format!("{victim}:{fault}");
    let backends = format!("{victim},ffi-batched");
    let o = bench(
        out.path(),
        &[
            "--scenario",
            "gen100",
            "--backends",
            &backends,
            "--reps",
            "2",
            "--timeout",
            "20",
        ],
        &[("CROSSBENCH_FAULT", &spec)],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed backend fails the command: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let run = only_run(out.path());
    let r = results(&run);
    let v = backend(&r, victim);
    assert_eq!(v["status"], status, "{victim}: {}", v["error"]);
    let err = v["error"].as_str().unwrap_or_default();
    assert!(
        err.contains(cause),
        "{victim} error should mention {cause:?}: {err}"
    );
    let ok = backend(&r, "ffi-batched");
    assert_eq!(ok["status"], "ok");
    assert_eq!(
        ok["reps"].as_array().unwrap().len(),
        2,
        "other backend's results kept"
    );
    assert!(std::fs::read_to_string(run.join("summary.md"))
        .unwrap()
        .contains("ffi-batched"));
    assert_no_temp_files(&run);
}

#[test]
fn python_worker_killed_mid_generation_is_marked_failed() {
    fault_case("python-subprocess", "kill@10", "failed", "signal 9");
}

#[test]
fn hung_native_runner_is_timed_out_and_the_run_goes_on() {
    fault_case("native-cpp", "hang@5", "timed_out", "timed out");
}

#[test]
fn cpp_exception_in_the_shim_is_a_typed_error() {
    fault_case("ffi-token", "throw@3", "failed", "CB_ERR_RUNTIME");
}

#[test]
fn panic_in_the_streaming_callback_never_unwinds_into_cpp() {
    let out = tempfile::tempdir().unwrap();
    let o = bench(
        out.path(),
        &[
            "--scenario",
            "gen100",
            "--backends",
            "ffi-batched,native-cpp",
            "--reps",
            "1",
        ],
        &[("CROSSBENCH_FAULT", "ffi-batched:panic@4")],
    );
    assert_eq!(o.status.code(), Some(1));
    let r = results(&only_run(out.path()));
    let b = backend(&r, "ffi-batched");
    assert_eq!(b["status"], "failed");
    let err = b["error"].as_str().unwrap();
    assert!(
        err.contains("CB_ERR_CALLBACK_PANIC") && err.contains("token 4"),
        "{err}"
    );
    assert_eq!(backend(&r, "native-cpp")["status"], "ok");
}

#[test]
fn malformed_scenario_is_rejected_before_anything_runs() {
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/gen100.toml"
    ))
    .unwrap();
    std::fs::write(
        &file,
        text.replace("max_new_tokens = 100", "max_new_tokens = 0"),
    )
    .unwrap();
    let o = bench(out.path(), &["--scenario", file.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("bad.toml") && err.contains("max_new_tokens"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(out.path())
            .map(|mut d| d.next().is_none())
            .unwrap_or(true),
        "nothing written"
    );
}

#[test]
fn missing_mlx_says_what_is_missing() {
    let out = tempfile::tempdir().unwrap();
    let o = bench(
        out.path(),
        &[
            "--scenario",
            "gen100",
            "--backends",
            "python-subprocess",
            "--reps",
            "1",
        ],
        &[("MLX_DIR", "/nonexistent/mlx")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        err.contains("MLX_DIR=/nonexistent/mlx") && err.contains("mlx.h"),
        "{err}"
    );
}

#[test]
fn sigint_stops_promptly_and_keeps_completed_results() {
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crossbench"))
        .args([
            "bench",
            "--scenario",
            "mock",
            "--reps",
            "50",
            "--no-progress",
            "--out",
            out.path().to_str().unwrap(),
        ])
        .env("CROSSBENCH_MOCK_TOKEN_US", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first round's results, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        let found = std::fs::read_dir(out.path())
            .unwrap()
            .next()
            .map(|e| e.unwrap().path());
        if let Some(run) = found.filter(|r| r.join("results.json").is_file()) {
            let r = results(&run);
            if !backend(&r, "mock")["reps"].as_array().unwrap().is_empty() {
                break run;
            }
        }
        assert!(Instant::now() < deadline, "no results written");
        std::thread::sleep(Duration::from_millis(100));
    };
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(5), "stops promptly");
    assert_eq!(status.code(), Some(130));
    let r = results(&run);
    assert_eq!(r["status"], "incomplete");
    assert!(
        !backend(&r, "mock")["reps"].as_array().unwrap().is_empty(),
        "completed reps kept"
    );
    assert_no_temp_files(&run);
}

#[test]
fn two_runs_at_once_do_not_clobber_each_other() {
    let out = tempfile::tempdir().unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_crossbench"))
            .args([
                "bench",
                "--scenario",
                "mock",
                "--no-progress",
                "--out",
                out.path().to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let runs: Vec<PathBuf> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 2, "two distinct run directories: {runs:?}");
    for run in runs {
        assert_eq!(results(&run)["status"], "complete");
        assert_no_temp_files(&run);
    }
}

/// A driver killed (SIGKILL, no chance to clean up) halfway through a run
/// whose workers load one at a time keeps, on disk, every generation that
/// finished before: results.json is written after each of them.
#[test]
fn a_run_killed_halfway_keeps_the_generations_already_measured() {
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crossbench"))
        .args([
            "bench",
            "--scenario",
            "mock",
            "--aa",
            "mock",
            "--residency",
            "one",
        ])
        .args(["--reps", "1", "--warmup", "0", "--no-progress", "--out"])
        .arg(out.path())
        .env("CROSSBENCH_MOCK_TOKEN_US", "100000") // 20 tokens: ~2 s a generation
        .env("CROSSBENCH_MOCK_WAIT", "sleep")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let measured = |r: &serde_json::Value| {
        r["backends"].as_array().map_or(0, |b| {
            b.iter()
                .filter(|b| b["reps"].as_array().is_some_and(|r| !r.is_empty()))
                .count()
        })
    };
    let results = loop {
        assert!(
            Instant::now() < deadline,
            "no generation was written in 60 s"
        );
        let file = std::fs::read_dir(out.path())
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("results.json"));
        let parsed = file
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        if let Some(r) = parsed.filter(|r| measured(r) >= 1) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().unwrap(); // SIGKILL while the second backend generates
    child.wait().unwrap();
    assert_eq!(
        measured(&results),
        1,
        "one backend measured, the other not yet"
    );
    assert_eq!(results["status"], "running");
    let run = std::fs::read_dir(out.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    assert!(
        measured(&after) >= 1,
        "the measured generation is still on disk after the kill"
    );
}
