//! `--device gpu` from the command line: on a machine without an NVIDIA GPU
//! (CI, this project's machines) `bench` stops before anything is made or
//! run, naming what is missing; it never runs on the CPU instead.

mod common;

use common::{bench_cmd, crossbench};
use std::path::Path;

fn no_nvidia_driver() -> bool {
    !Path::new("/proc/driver/nvidia/version").exists()
}

#[test]
fn bench_device_gpu_without_a_gpu_names_what_is_missing() {
    if !cfg!(target_os = "linux") || !no_nvidia_driver() {
        eprintln!("skipped: this machine has an NVIDIA driver");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = bench_cmd(tmp.path())
        .args(["--scenario", "ci", "--backends", "ffi-token,native-cpp"])
        .args(["--device", "gpu"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--device gpu: this machine cannot run MLX on a GPU; missing:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  - NVIDIA driver: /proc/driver/nvidia/version does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("docs/troubleshooting.md#gpu-runs-device-gpu"),
        "{stderr}"
    );
    assert!(stderr.contains("never falls back to the CPU"), "{stderr}");
    // Stopped before any run directory was made.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn an_unknown_device_is_refused_and_mock_only_gpu_runs_say_no_gpu_ran() {
    let out = crossbench(&[
        "bench",
        "--scenario",
        "ci",
        "--backends",
        "mock",
        "--device",
        "tpu",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--device tpu: expected cpu or gpu"),
        "{stderr}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = bench_cmd(tmp.path())
        .args([
            "--scenario",
            "ci",
            "--backends",
            "mock",
            "--reps",
            "2",
            "--device",
            "gpu",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("GPU: none (mock backends only: nothing ran on a GPU)"),
        "{stdout}"
    );
    let run = std::fs::read_dir(tmp.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["environment"]["gpu"], serde_json::Value::Null);
    assert_eq!(results["environment"]["device"], "gpu");
}
