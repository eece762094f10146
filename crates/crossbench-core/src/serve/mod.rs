//! Serving under load (scenario kind `serve`, docs/protocol.md "Serving"):
//! the driver's side. `trace` makes the seeded request stream and its file;
//! `inprocess` hands that file to a worker whose client runs inside it
//! (native-cpp, ffi-batched, the Go designs); `pipe_client` is the client
//! itself for the designs behind a pipe (python-subprocess, mlx-lm-batch);
//! `metrics` derives each run's latencies and rates, `analysis` the medians
//! over reps and the paired ratios vs the floor, `equality` the equal-work
//! checks; they fill the results.json section whose types are
//! `crate::results::serve`.

pub mod analysis;
pub mod claims;
pub mod equality;
pub mod events;
pub mod inprocess;
pub mod metrics;
pub mod pipe_client;
pub mod trace;

pub use crate::results::serve::{
    ClientKind, DesignServe, EqualityCheck, RequestRecord, ServePoint, ServeResults, ServeRun,
};
pub use events::{ServeEvent, Served, Step};
pub use trace::{Trace, TraceArrival, TraceRequest};

use crate::worker::WorkerError;

/// What a client collected from one serve, complete or not: a failed serve
/// keeps everything that arrived before it failed.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// The client's start (CLOCK_MONOTONIC ns).
    pub start_ns: Option<u64>,
    /// Id order.
    pub requests: Vec<RequestRecord>,
    pub schedule: Vec<Step>,
    pub served: Option<Served>,
    /// Pipe designs: the driver's CPU during the serve.
    pub client_cpu_ns: Option<u64>,
}

/// Why a serve ended before its `served` event.
#[derive(Debug)]
pub enum ServeStop {
    /// The worker died, timed out, broke a line limit, or the run was interrupted.
    Worker(WorkerError),
    /// The worker wrote something the serve protocol does not allow.
    Protocol(String),
    /// The worker's `error` event (the engine failed).
    Engine { code: String, message: String },
}

impl std::fmt::Display for ServeStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeStop::Worker(e) => write!(f, "{e}"),
            ServeStop::Protocol(m) => write!(f, "protocol error: {m}"),
            ServeStop::Engine { code, message } => write!(f, "serve failed: {code}: {message}"),
        }
    }
}

/// A serve's capture and, if it did not finish, why.
#[derive(Debug)]
pub struct ClientOutcome {
    pub capture: Capture,
    pub stop: Option<ServeStop>,
}

/// User plus system CPU of this process so far (the driver: the client of
/// the pipe designs; a Rust worker: its serve), in ns.
pub fn self_cpu_ns() -> Option<u64> {
    // SAFETY: rusage is plain data; getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage owned by this frame.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    Some(ns(ru.ru_utime) + ns(ru.ru_stime))
}

/// Checks a request record against the trace: a known id, not seen before,
/// one stamp per id, at most `max_new` tokens.
pub(crate) fn check_request(
    trace: &Trace,
    seen: &[RequestRecord],
    r: &RequestRecord,
) -> Result<(), String> {
    let Some(t) = trace.requests.get(r.id as usize) else {
        return Err(format!(
            "request id {} is not in the trace (0..{})",
            r.id,
            trace.requests.len()
        ));
    };
    if seen.iter().any(|s| s.id == r.id) {
        return Err(format!("request {} reported twice", r.id));
    }
    if r.ids.len() != r.t_ns.len() {
        return Err(format!(
            "request {}: {} ids but {} stamps",
            r.id,
            r.ids.len(),
            r.t_ns.len()
        ));
    }
    if r.ids.len() > t.max_new as usize {
        return Err(format!(
            "request {}: {} tokens, more than max_new={}",
            r.id,
            r.ids.len(),
            t.max_new
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
