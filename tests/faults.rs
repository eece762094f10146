//! Faults on the real backends (tiny preset): each is provoked through the worker,
//! the shim or a signal, and no measured result of another backend is lost.

mod common;

use common::{backend, bench_cmd, crossbench_cmd, only_results, only_run, results, results_so_far};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bench(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = bench_cmd(out);
    cmd.args(["--preset", "tiny", "--warmup", "0"]);
    cmd.args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run crossbench")
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

/// Sends `signal` to a mock run once its first rep is on disk: the driver
/// stops promptly, writes its final results (incomplete, measured reps kept)
/// and exits with `code` (128 + the signal), naming the signal.
fn stops_on_signal(signal: libc::c_int, name: &str, code: i32) {
    let out = tempfile::tempdir().unwrap();
    let child = bench_cmd(out.path())
        .args(["--scenario", "mock", "--reps", "50"])
        .env("CROSSBENCH_MOCK_TOKEN_US", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first round's results, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(r) = results_so_far(out.path()) {
            if !backend(&r, "mock")["reps"].as_array().unwrap().is_empty() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "no results written");
        std::thread::sleep(Duration::from_millis(100));
    }
    let run = only_run(out.path());
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe { libc::kill(child.id() as i32, signal) };
    let o = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(5), "stops promptly");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.contains(&format!("interrupted ({name})")),
        "{stderr}"
    );
    let r = results(&run);
    assert_eq!(r["status"], "incomplete");
    assert!(
        !backend(&r, "mock")["reps"].as_array().unwrap().is_empty(),
        "completed reps kept"
    );
    assert_no_temp_files(&run);
}

#[test]
fn sigint_stops_promptly_and_keeps_completed_results() {
    stops_on_signal(libc::SIGINT, "SIGINT", 130);
}

#[test]
fn sigterm_stops_promptly_and_keeps_completed_results() {
    stops_on_signal(libc::SIGTERM, "SIGTERM", 143);
}

#[test]
fn sighup_stops_promptly_and_keeps_completed_results() {
    stops_on_signal(libc::SIGHUP, "SIGHUP", 129);
}

/// The pids whose parent is `parent` (from /proc).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            after.split_whitespace().nth(1) == Some(parent.to_string().as_str())
        })
        .collect()
}

/// True once `pid` no longer runs (gone, or a zombie not yet reaped).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, s)| s.trim().starts_with('Z')),
    }
}

/// `pid`'s children, their children, and so on.
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = children_of(pid);
    let mut i = 0;
    while i < all.len() {
        all.extend(children_of(all[i]));
        i += 1;
    }
    all
}

/// A `crossbench worker --backend mock` process (not the `perf record` that
/// starts one, whose command line names it too).
fn is_mock_worker(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.get(1..4) == Some(&[&b"worker"[..], b"--backend", b"mock"][..])
}

/// Runs `crossbench <command>` on a mock whose first generation hangs, kills
/// the driver with SIGKILL (no handler runs) and expects every process it
/// started gone within seconds: the kernel's parent-death signal.
fn killed_driver_takes_its_hung_worker_along(command: &str) {
    let out = tempfile::tempdir().unwrap();
    let mut driver = crossbench_cmd()
        .args([
            command,
            "--scenario",
            "mock",
            "--timeout",
            "120",
            "--no-progress",
            "--out",
        ])
        .arg(out.path())
        .env("CROSSBENCH_MOCK_HANG_AT", "0") // the first generation hangs
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = loop {
        let started = descendants(driver.id());
        if started.iter().any(|&pid| is_mock_worker(pid)) {
            break started;
        }
        assert!(Instant::now() < deadline, "no worker started");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(1000)); // loaded, then hung
    driver.kill().unwrap();
    driver.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Some(&pid) = started.iter().find(|&&pid| !gone(pid)) {
        if Instant::now() >= deadline {
            for &pid in &started {
                // SAFETY: kill(2) touches no memory; leave nothing behind.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            panic!("{pid} outlived the killed driver (all started: {started:?})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_hung_worker_dies_with_a_killed_driver() {
    killed_driver_takes_its_hung_worker_along("bench");
}

/// Under `profile`, perf sits between the driver and the worker.
#[test]
fn a_hung_worker_under_perf_dies_with_a_killed_driver() {
    let probe = tempfile::tempdir().unwrap();
    let perf = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-o"])
        .arg(probe.path().join("probe.perf.data"))
        .args(["--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !perf.is_ok_and(|s| s.success()) {
        eprintln!("perf record does not work here: the profile case did NOT run");
        return;
    }
    killed_driver_takes_its_hung_worker_along("profile");
}

#[test]
fn two_runs_at_once_do_not_clobber_each_other() {
    let out = tempfile::tempdir().unwrap();
    let spawn = || {
        bench_cmd(out.path())
            .args(["--scenario", "mock"])
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
    let mut child = bench_cmd(out.path())
        .args(["--scenario", "mock", "--aa", "mock", "--residency", "one"])
        .args(["--reps", "1", "--warmup", "0"])
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
        if let Some(r) = results_so_far(out.path()).filter(|r| measured(r) >= 1) {
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
    let after = only_results(out.path());
    assert!(
        measured(&after) >= 1,
        "the measured generation is still on disk after the kill"
    );
}
