//! The run's GPU line and the sampler over a fake nvidia-smi replaying the
//! H200 fixtures (fixtures/nvidia-smi/README.md).

use super::*;
use crate::gpu::nvidia_smi::{self, parse_sample};
use crate::gpu::tests::h200;
use crate::gpu::{telemetry, GpuTelemetry};

const SAMPLES: &str = include_str!("../../fixtures/nvidia-smi/h200-samples.csv");

#[test]
fn the_report_line_says_none_only_for_gpu_runs() {
    let cpu = Environment {
        device: Some("cpu".into()),
        ..Environment::default()
    };
    assert_eq!(report_line(&cpu, None), None);
    let mut gpu = Environment {
        device: Some("gpu".into()),
        gpu_note: Some("nvidia-smi not found".into()),
        ..Environment::default()
    };
    assert_eq!(
        report_line(&gpu, None).unwrap(),
        "none (nvidia-smi not found)"
    );
    let mut g = h200();
    g.telemetry_note = Some("nvidia-smi gave no samples".into());
    gpu.gpu = Some(g.clone());
    let line = report_line(&gpu, None).unwrap();
    assert!(
        line.ends_with("; telemetry: nvidia-smi gave no samples"),
        "{line}"
    );
    let samples: Vec<_> = SAMPLES.lines().filter_map(parse_sample).collect();
    g.telemetry = Some(GpuTelemetry::from_samples(&samples, 250));
    gpu.gpu = Some(g);
    let line = report_line(&gpu, Some(4_748_000_000)).unwrap();
    assert!(line.contains("NVIDIA H200 · driver 580.159.04"), "{line}");
    assert!(
        line.contains("; MLX GPU memory peak 4.42 GiB (largest backend); over the run: SM clock"),
        "{line}"
    );
}

/// A stand-in nvidia-smi replaying the fixtures: the identity query, the
/// banner, and the sampled query (then it keeps running, as `-lms` does).
fn fake_smi(dir: &std::path::Path) -> std::path::PathBuf {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/nvidia-smi");
    let script = dir.join("nvidia-smi");
    let body = format!(
        "#!/bin/sh\ncase \"$*\" in\n*clocks.max.sm*) cat {fixtures}/h200-identity.csv ;;\n*-lms*) cat {fixtures}/h200-samples.csv; exec sleep 30 ;;\n*) cat {fixtures}/h200-header.txt ;;\nesac\n"
    );
    std::fs::write(&script, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The only test that sets CROSSBENCH_NVIDIA_SMI: identity, then a sampler
/// over a run, through the same code paths a GPU run takes.
#[cfg(unix)]
#[test]
fn identity_and_sampler_run_nvidia_smi_and_a_missing_one_is_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    std::env::set_var(nvidia_smi::PROGRAM_ENV, fake_smi(tmp.path()));
    let g = nvidia_smi::identity(0).unwrap();
    assert_eq!(g, h200());
    let mut env = Environment {
        device: Some("gpu".into()),
        gpu: Some(g),
        ..Environment::default()
    };
    let sampler = start_for(&mut env).expect("sampler started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sampler.read().map_or(0, |t| t.samples) < 7 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    record(&mut env, Some(&sampler), true);
    drop(sampler); // kills the fake's `sleep 30`: must not wait for it
    let t = env.gpu.as_ref().unwrap().telemetry.as_ref().unwrap();
    assert_eq!(t.samples, 7);
    assert_eq!(t.every_ms, telemetry::EVERY_MS);

    std::env::set_var(nvidia_smi::PROGRAM_ENV, tmp.path().join("absent"));
    let e = nvidia_smi::identity(0).unwrap_err().to_string();
    assert!(
        e.contains("absent") && e.contains(nvidia_smi::PROGRAM_ENV),
        "{e}"
    );
    env.gpu.as_mut().unwrap().telemetry = None;
    assert!(start_for(&mut env).is_none());
    let note = env.gpu.as_ref().unwrap().telemetry_note.clone().unwrap();
    assert!(note.starts_with("not sampled: cannot run"), "{note}");
    std::env::remove_var(nvidia_smi::PROGRAM_ENV);
}

#[test]
fn environment_gpu_round_trips_and_old_results_read_as_none() {
    let mut env = Environment {
        device: Some("gpu".into()),
        ..Environment::default()
    };
    env.gpu = Some(h200());
    let json = serde_json::to_value(&env).unwrap();
    assert_eq!(json["gpu"]["name"], "NVIDIA H200");
    assert_eq!(json["gpu"]["driver_version"], "580.159.04");
    assert_eq!(json["gpu"]["memory_total_bytes"], 143771u64 << 20);
    let back: Environment = serde_json::from_value(json).unwrap();
    assert_eq!(back, env);
    let old: Environment = serde_json::from_str(r#"{"device":"cpu"}"#).unwrap();
    assert_eq!((old.gpu, old.gpu_note), (None, None));
}
