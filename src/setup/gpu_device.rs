//! `--device` at the start of `bench` (and `sweep`, `profile`): the value
//! checked, the GPU preflight run on this machine (`gpu_preflight`), and the
//! GPU described into the run's environment (`environment.gpu`).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};
use crossbench_core::gpu::{nvidia_smi, GpuInfo};
use crossbench_core::Environment;

use crate::setup::first_use;
use crate::setup::gpu_preflight::{self, Diagnosis, Probe};

/// What a GPU run found at its start: what the preflight saw, and where MLX's
/// Python environment is (for the CUDA runtime's version).
pub struct GpuReady {
    pub diagnosis: Diagnosis,
    site_packages: Option<PathBuf>,
}

/// `--device DEVICE` checked: Ok(None) for cpu; for gpu, Ok(Some) when the
/// preflight finds everything, else an error naming every missing piece.
/// `needs_mlx` false (mock backends only): nothing runs on a device.
pub fn check(device: &str, needs_mlx: bool) -> Result<Option<GpuReady>> {
    match device {
        "cpu" => return Ok(None),
        "gpu" => {}
        other => bail!("--device {other}: expected cpu or gpu"),
    }
    if !needs_mlx {
        return Ok(None);
    }
    let probe = system_probe();
    let diagnosis = gpu_preflight::diagnose(&probe);
    if !diagnosis.missing.is_empty() {
        bail!("{}", gpu_preflight::explain(&diagnosis));
    }
    Ok(Some(GpuReady {
        diagnosis,
        site_packages: probe.site_packages,
    }))
}

/// This machine: MLX as the build found it, the real /proc, dlopen and ldd.
fn system_probe() -> Probe {
    let found = first_use::project_root()
        .ok()
        .and_then(|root| mlx_locate::find(&root).ok().flatten());
    let libmlx = found
        .as_ref()
        .map(|m| m.lib_dir.join(mlx_locate::mlx_lib_file()))
        .filter(|l| l.is_file());
    let site_packages = found
        .as_ref()
        .filter(|m| m.source != mlx_locate::MlxSource::EnvVar)
        .and_then(|m| m.prefix.parent().map(Path::to_path_buf));
    Probe {
        os: std::env::consts::OS.to_string(),
        proc_version: PathBuf::from("/proc/driver/nvidia/version"),
        site_packages,
        libmlx,
        load_libcuda: Box::new(|| dlopen_check("libcuda.so.1")),
        ldd: Box::new(|lib| {
            let out = Command::new("ldd").arg(lib).output().ok()?;
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }),
    }
}

/// Whether the dynamic loader can load `name` (then unloaded): the driver's
/// library is found through the loader's path, not at a fixed place.
fn dlopen_check(name: &str) -> Result<(), String> {
    let c = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: dlopen/dlclose/dlerror with a valid C string; RTLD_LAZY runs no
    // code of the library beyond its initialisers, which the driver's allow.
    unsafe {
        let handle = libc::dlopen(c.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
        if handle.is_null() {
            let err = libc::dlerror();
            if err.is_null() {
                return Err(format!("{name}: not found by the dynamic loader"));
            }
            return Err(std::ffi::CStr::from_ptr(err).to_string_lossy().into_owned());
        }
        libc::dlclose(handle);
    }
    Ok(())
}

/// The GPU into `env`: nvidia-smi's identity plus the CUDA runtime wheel's
/// version on Linux, the chip on macOS; where nothing can be read the run
/// goes on with `gpu_note` saying why (the telemetry is not the measurement).
pub fn describe(ready: &GpuReady, env: &mut Environment) {
    let found = match std::env::consts::OS {
        "macos" => metal_identity(),
        _ => nvidia_identity(ready),
    };
    match found {
        Ok(gpu) => env.gpu = Some(gpu),
        Err(why) => {
            eprintln!("crossbench: GPU not described ({why}); the run goes on");
            env.gpu_note = Some(why);
        }
    }
}

fn nvidia_identity(ready: &GpuReady) -> Result<GpuInfo, String> {
    let mut gpu = nvidia_smi::identity(nvidia_smi::visible_index()).map_err(|e| e.to_string())?;
    if gpu.driver_version.is_none() {
        gpu.driver_version = ready.diagnosis.driver_version.clone();
    }
    gpu.cuda_runtime_version = ready.site_packages.as_deref().and_then(|sp| {
        gpu_preflight::wheel_version(sp, "nvidia_cuda_runtime")
            .map(|v| format!("{v} (nvidia-cuda-runtime wheel)"))
    });
    Ok(gpu)
}

/// Apple's GPU is part of the chip: its name is the chip's, its memory the
/// machine's (unified). No clocks or power: powermetrics needs root.
fn metal_identity() -> Result<GpuInfo, String> {
    let sysctl = |key: &str| {
        let out = Command::new("sysctl").args(["-n", key]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let name =
        sysctl("machdep.cpu.brand_string").ok_or("sysctl machdep.cpu.brand_string failed")?;
    Ok(GpuInfo {
        api: "metal".into(),
        name,
        memory_total_bytes: sysctl("hw.memsize").and_then(|m| m.parse().ok()),
        telemetry_note: Some("not sampled on macOS (powermetrics needs root)".into()),
        ..GpuInfo::default()
    })
}
