//! The GPU a `--device gpu` run ran on: its identity (name, driver, CUDA
//! versions, memory) and its clocks, power and temperature sampled over the
//! run. Read through `nvidia-smi` (`nvidia_smi`), which ships with every
//! NVIDIA driver, so nothing is linked at build time and a machine without
//! it loses only the telemetry, never the run.
//!
//! Recorded as `environment.gpu`; None on CPU runs and where no GPU could be
//! described, with `environment.gpu_note` saying why for GPU runs. This
//! module knows nothing of runs (`environment` depends on it); a run's GPU
//! line and its sampling are in `crate::gpu_run`.

pub mod nvidia_smi;
pub mod telemetry;

use serde::{Deserialize, Serialize};

pub use telemetry::{GpuTelemetry, Spread};

/// One GPU as the run saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// "cuda" (NVIDIA, read by nvidia-smi) or "metal" (Apple).
    pub api: String,
    /// "NVIDIA H200", "Apple M3 Max".
    pub name: String,
    /// The index nvidia-smi knows the GPU by.
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub pci_bus_id: Option<String>,
    /// The kernel driver's version ("580.159.04").
    #[serde(default)]
    pub driver_version: Option<String>,
    /// The newest CUDA the driver supports (nvidia-smi's "CUDA Version").
    #[serde(default)]
    pub cuda_driver_version: Option<String>,
    /// The CUDA runtime MLX loads: the installed nvidia-cuda-runtime wheel's
    /// version, filled by the caller (core cannot see the Python environment).
    #[serde(default)]
    pub cuda_runtime_version: Option<String>,
    #[serde(default)]
    pub memory_total_bytes: Option<u64>,
    #[serde(default)]
    pub max_sm_clock_mhz: Option<f64>,
    #[serde(default)]
    pub max_mem_clock_mhz: Option<f64>,
    #[serde(default)]
    pub power_limit_w: Option<f64>,
    /// Clocks, power, temperature over the run; None until sampled, or where
    /// sampling failed (`telemetry_note` says why).
    #[serde(default)]
    pub telemetry: Option<GpuTelemetry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_note: Option<String>,
}

impl GpuInfo {
    /// "NVIDIA H200 · driver 580.159.04 · CUDA 13.0 (driver), runtime 13.5.37 · 140.40 GiB".
    pub fn describe(&self) -> String {
        let mut parts = vec![self.name.clone()];
        if let Some(d) = &self.driver_version {
            parts.push(format!("driver {d}"));
        }
        match (&self.cuda_driver_version, &self.cuda_runtime_version) {
            (Some(d), Some(r)) => parts.push(format!("CUDA {d} (driver), runtime {r}")),
            (Some(d), None) => parts.push(format!("CUDA {d} (driver)")),
            (None, Some(r)) => parts.push(format!("CUDA runtime {r}")),
            (None, None) => {}
        }
        if let Some(b) = self.memory_total_bytes {
            parts.push(crate::units::fmt_bytes(b as f64));
        }
        parts.join(" · ")
    }

    /// What tells two GPUs apart for timings (`gate::machine`): the model,
    /// the driver and the memory; clocks and power limit vary by setting,
    /// and are shown, not compared.
    pub fn identity(&self) -> String {
        format!(
            "{} ({}, driver {}, {})",
            self.name,
            self.api,
            self.driver_version.as_deref().unwrap_or("unknown"),
            self.memory_total_bytes
                .map_or("memory unknown".into(), |b| format!("{} MiB", b >> 20))
        )
    }
}

#[cfg(test)]
pub(crate) mod tests;
