//! The harness's own footprint, recorded in every run so a reader can see it
//! does not perturb what it measures: the driver's peak RSS and CPU time (its
//! own threads, not the workers'), and what recording one token costs in the
//! Rust workers' loop (`serve_in_process`, measured in this run, on this
//! machine, before any backend starts).

use crate::phases::{Phase, PhaseLog};
use crate::protocol::{
    serve_in_process, EngineError, GenRequest, GenStats, InProcessEngine, LoadInfo,
};
use crate::stats::median;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HarnessFootprint {
    /// The driver process's peak RSS (getrusage RUSAGE_SELF at the end).
    pub driver_peak_rss_bytes: Option<u64>,
    pub driver_cpu_user_ns: Option<u64>,
    pub driver_cpu_system_ns: Option<u64>,
    /// Median over 15 timings of 10 000 tokens through `serve_in_process`
    /// with an engine that produces them instantly: stamp + store per token.
    pub record_token_ns: Option<f64>,
    /// Median over 15 timings of 10 000 phase spans recorded by `PhaseLog`
    /// (two clock reads and a store): what `--phases` adds per span.
    #[serde(default)]
    pub record_span_ns: Option<f64>,
    /// The whole machine's memory in use over the run (sampled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_memory: Option<crate::machine_memory::MachineMemory>,
}

impl HarnessFootprint {
    /// "driver peak RSS 21.3 MiB, CPU 1.20 s user + 0.30 s system over the
    /// run; recording one token costs 12 ns in the Rust workers' loop"; the
    /// driver's usage is known once the run has finished.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(b) = self.driver_peak_rss_bytes {
            parts.push(format!(
                "driver peak RSS {:.1} MiB",
                b as f64 / (1024.0 * 1024.0)
            ));
        }
        if let (Some(u), Some(s)) = (self.driver_cpu_user_ns, self.driver_cpu_system_ns) {
            let secs = |ns: u64| ns as f64 / 1e9;
            parts.push(format!(
                "CPU {:.2} s user + {:.2} s system over the run",
                secs(u),
                secs(s)
            ));
        }
        let record = self
            .record_token_ns
            .map_or("not measured".into(), |ns| format!("{ns:.0} ns"));
        parts.push(format!(
            "recording one token costs {record} in the Rust workers' loop"
        ));
        if let Some(m) = &self.machine_memory {
            parts.push(format!("machine memory in use peaked at {}", m.describe()));
        }
        if let Some(ns) = self.record_span_ns {
            parts.push(format!("one phase span (--phases) costs {ns:.0} ns"));
        }
        parts.join("; ")
    }
}

/// The driver's resource use so far.
pub fn driver_usage(footprint: &mut HarnessFootprint) {
    // SAFETY: rusage is plain data; getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage owned by this frame.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    footprint.driver_peak_rss_bytes = Some(crate::protocol::maxrss_to_bytes(ru.ru_maxrss));
    footprint.driver_cpu_user_ns = Some(ns(ru.ru_utime));
    footprint.driver_cpu_system_ns = Some(ns(ru.ru_stime));
}

const TOKENS: u32 = 10_000;

/// Produces tokens instantly and times only its loop of `on_token` calls:
/// what remains is the recorder's own cost (also benches/record_token.rs).
#[derive(Default)]
pub struct InstantEngine {
    /// Total time spent in the `on_token` loops so far.
    pub loop_time: Duration,
}

impl InProcessEngine for InstantEngine {
    fn load(&mut self) -> Result<LoadInfo, EngineError> {
        Ok(LoadInfo::default())
    }

    fn generate(
        &mut self,
        req: &GenRequest,
        on_token: &mut dyn FnMut(u32),
    ) -> Result<GenStats, EngineError> {
        let start = Instant::now();
        for i in 0..req.max_new {
            on_token(std::hint::black_box(i));
        }
        self.loop_time += start.elapsed();
        Ok(GenStats::default())
    }
}

/// What stamping and storing one token costs in `serve_in_process` (~2 ms).
pub fn record_token_cost_ns() -> Option<f64> {
    let request = format!("generate max_new={TOKENS} prompt=1\n");
    let per_token: Vec<f64> = (0..15)
        .filter_map(|_| {
            let mut engine = InstantEngine::default();
            serve_in_process(&mut engine, request.as_bytes(), std::io::sink()).ok()?;
            Some(engine.loop_time.as_nanos() as f64 / f64::from(TOKENS))
        })
        .collect();
    median(&per_token)
}

/// What recording one phase span costs (`PhaseLog::mark` + `close`).
pub fn record_span_cost_ns() -> Option<f64> {
    let per_span: Vec<f64> = (0..15)
        .map(|_| {
            let mut log = PhaseLog::new(true, TOKENS as usize);
            let start = Instant::now();
            for _ in 0..TOKENS {
                let begin = log.mark();
                log.close(Phase::Consumer, std::hint::black_box(begin));
            }
            let elapsed = start.elapsed();
            std::hint::black_box(log.into_spans([]));
            elapsed.as_nanos() as f64 / f64::from(TOKENS)
        })
        .collect();
    median(&per_span)
}
