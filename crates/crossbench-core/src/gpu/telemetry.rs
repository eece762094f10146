//! Clocks, power, temperature and memory of the GPU over a run, from one
//! `nvidia-smi -lms 250` process read by a thread: a GPU whose SM clock
//! ramps or throttles during the run shows it here (min and median far
//! apart), which a single reading at the start would hide.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use super::nvidia_smi::{self, Sample, SmiError};

/// How often nvidia-smi samples (ms): often enough to see a clock ramp
/// within a 1 s generation, rarely enough to cost nothing measurable.
pub const EVERY_MS: u64 = 250;

/// Min, median and max of one sampled quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// None when no sample read the quantity.
    pub fn of(values: impl Iterator<Item = Option<f64>>) -> Option<Spread> {
        let mut v: Vec<f64> = values.flatten().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Some(Spread {
            min: *v.first()?,
            median: crate::stats::median(&v)?,
            max: *v.last()?,
        })
    }

    fn describe(&self, unit: &str) -> String {
        format!("{:.0}/{:.0}/{:.0} {unit}", self.min, self.median, self.max)
    }
}

/// The run's samples summarised (min/median/max each).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuTelemetry {
    pub samples: u64,
    pub every_ms: u64,
    pub sm_clock_mhz: Option<Spread>,
    pub mem_clock_mhz: Option<Spread>,
    pub power_w: Option<Spread>,
    pub temperature_c: Option<Spread>,
    pub utilization_pct: Option<Spread>,
    /// The most GPU memory in use seen by any sample (every process on the
    /// GPU, not only MLX's allocator).
    pub memory_used_peak_bytes: Option<u64>,
}

impl GpuTelemetry {
    pub fn from_samples(samples: &[Sample], every_ms: u64) -> GpuTelemetry {
        let of = |f: fn(&Sample) -> Option<f64>| Spread::of(samples.iter().map(f));
        GpuTelemetry {
            samples: samples.len() as u64,
            every_ms,
            sm_clock_mhz: of(|s| s.sm_clock_mhz),
            mem_clock_mhz: of(|s| s.mem_clock_mhz),
            power_w: of(|s| s.power_w),
            temperature_c: of(|s| s.temperature_c),
            utilization_pct: of(|s| s.utilization_pct),
            memory_used_peak_bytes: of(|s| s.memory_used_mib).map(|m| (m.max as u64) << 20),
        }
    }

    /// "SM clock 345/1980/1980 MHz (min/median/max), memory clock ..., 7 samples every 250 ms".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |what: &str, s: &Option<Spread>, unit: &str| {
            if let Some(s) = s {
                parts.push(format!("{what} {}", s.describe(unit)));
            }
        };
        push("SM clock", &self.sm_clock_mhz, "MHz");
        push("memory clock", &self.mem_clock_mhz, "MHz");
        push("power", &self.power_w, "W");
        push("temperature", &self.temperature_c, "°C");
        push("utilization", &self.utilization_pct, "%");
        if let Some(b) = self.memory_used_peak_bytes {
            parts.push(format!(
                "memory in use peak {}",
                crate::units::fmt_bytes(b as f64)
            ));
        }
        format!(
            "{} (min/median/max), {} samples every {} ms",
            parts.join(", "),
            self.samples,
            self.every_ms
        )
    }
}

/// Samples until dropped: the nvidia-smi child is killed and reaped then.
pub struct Sampler {
    child: Child,
    samples: Arc<Mutex<Vec<Sample>>>,
    reader: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts `nvidia-smi -i INDEX ... -lms EVERY_MS`.
    pub fn start(index: u32) -> Result<Sampler, SmiError> {
        let mut cmd = nvidia_smi::sampler_command(index, EVERY_MS);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| SmiError::Spawn {
                program: nvidia_smi::program().display().to_string(),
                cause: e.to_string(),
            })?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let samples = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&samples);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(s) = nvidia_smi::parse_sample(&line) {
                    sink.lock().unwrap_or_else(|p| p.into_inner()).push(s);
                }
            }
        });
        Ok(Sampler {
            child,
            samples,
            reader: Some(reader),
        })
    }

    /// The summary so far (the sampler keeps running); None before any sample.
    pub fn read(&self) -> Option<GpuTelemetry> {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        (!samples.is_empty()).then(|| GpuTelemetry::from_samples(&samples, EVERY_MS))
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
