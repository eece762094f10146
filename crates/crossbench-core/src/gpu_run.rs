//! The GPU of one run: its line in summary.md and report.html, MLX's GPU
//! memory peak over the backends, and the sampler the driver runs over a
//! `--device gpu` run. Apart from `gpu` because `environment` holds a
//! `gpu::GpuInfo`: `gpu` stays a leaf, this joins it to runs.

use crate::environment::Environment;
use crate::gpu::telemetry::Sampler;
use crate::results::BenchResults;

/// The largest MLX allocator peak any backend reported: on a GPU run, MLX's
/// GPU memory (its CUDA and Metal allocators count device memory).
pub fn mlx_peak_bytes(r: &BenchResults) -> Option<u64> {
    r.backends
        .iter()
        .filter_map(|b| b.memory.mlx_peak_bytes)
        .max()
}

/// The report line for a run's GPU (summary.md, report.html): None for CPU
/// runs (nothing to say); "none (why)" for a GPU run with no GPU described.
pub fn report_line(env: &Environment, mlx_peak: Option<u64>) -> Option<String> {
    if env.device.as_deref() != Some("gpu") {
        return None;
    }
    let Some(g) = &env.gpu else {
        return Some(match &env.gpu_note {
            Some(note) => format!("none ({note})"),
            None => "none".into(),
        });
    };
    let mut line = g.describe();
    if let Some(b) = mlx_peak {
        let peak = crate::units::fmt_bytes(b as f64);
        line.push_str(&format!("; MLX GPU memory peak {peak} (largest backend)"));
    }
    match (&g.telemetry, &g.telemetry_note) {
        (Some(t), _) => line.push_str(&format!("; over the run: {}", t.describe())),
        (None, Some(note)) => line.push_str(&format!("; telemetry: {note}")),
        (None, None) => {}
    }
    Some(line)
}

/// Starts sampling the run's GPU where it is an NVIDIA one (`env.gpu`, with
/// api "cuda"); where nvidia-smi cannot be started the run goes on and
/// `telemetry_note` says why.
pub fn start_for(env: &mut Environment) -> Option<Sampler> {
    let gpu = env.gpu.as_mut().filter(|g| g.api == "cuda")?;
    match Sampler::start(gpu.index.unwrap_or(0)) {
        Ok(s) => Some(s),
        Err(e) => {
            gpu.telemetry_note = Some(format!("not sampled: {e}"));
            None
        }
    }
}

/// Puts what `sampler` has seen into `env.gpu`; at the end of the run a
/// sampler that saw nothing leaves a note instead of numbers.
pub fn record(env: &mut Environment, sampler: Option<&Sampler>, at_end: bool) {
    let (Some(gpu), Some(sampler)) = (env.gpu.as_mut(), sampler) else {
        return;
    };
    gpu.telemetry = sampler.read();
    if at_end && gpu.telemetry.is_none() {
        gpu.telemetry_note = Some("nvidia-smi gave no samples during the run".into());
    }
}

#[cfg(test)]
mod tests;
