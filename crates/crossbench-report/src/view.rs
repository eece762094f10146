//! What the report shows of one run's results: per-backend figures, their
//! overhead intervals (computed by core's `analysis`) and warnings. Kept
//! apart from HTML so it can be tested on plain data.

use std::collections::BTreeMap;

use crossbench_core::analysis::overheads::backend_overheads;
use crossbench_core::backend::FLOOR;
use crossbench_core::results::{BackendResult, BackendStatus, BenchResults};
use crossbench_core::stats::{Interval, Summary};

/// The real backends of the design note's table. A run that has any of them
/// is expected to have all; those it lacks are shown as absent.
/// (The backend table's `canonical` entries, in display order.)
pub fn canonical() -> impl Iterator<Item = &'static str> {
    crossbench_core::backend::canonical_names()
}

/// Fewer measured reps than this and an interval says little.
pub const MIN_REPS_FOR_CI: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Ok,
    /// Ran but did not complete (status, error message).
    NotOk(String, Option<String>),
    /// Not in this run at all.
    Absent,
}

/// Crossings per generation, by kind (means over reps).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrossingCounts {
    /// The consumer's language ("Rust", "Go", "C++"): the caller side of the counts.
    pub caller: &'static str,
    pub rust_to_c: Option<f64>,
    pub c_to_rust: Option<f64>,
    /// Pipe messages carrying tokens while generating (only for backends
    /// whose tokens cross a process boundary one by one).
    pub pipe_per_token: Option<f64>,
}

impl CrossingCounts {
    pub fn total(&self) -> Option<f64> {
        let parts = [self.rust_to_c, self.c_to_rust, self.pipe_per_token];
        parts
            .iter()
            .any(Option::is_some)
            .then(|| parts.iter().flatten().sum())
    }
}

#[derive(Debug, Clone)]
pub struct BackendView<'a> {
    pub name: String,
    pub result: Option<&'a BackendResult>,
    pub state: State,
    pub reps: usize,
    pub e2e: Option<Summary>,
    pub ttft: Option<Summary>,
    pub itl: Option<Summary>,
    pub load_ns: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub crossings: CrossingCounts,
    /// Series (`e2e_ns`, `decode_ns`, `itl_median_ns`) -> ratio to native-cpp.
    pub overhead: BTreeMap<&'static str, Interval>,
}

/// Everything one run's report shows, computed once.
pub struct RunView<'a> {
    pub results: &'a BenchResults,
    pub backends: Vec<BackendView<'a>>,
    pub warnings: Vec<String>,
}

impl<'a> RunView<'a> {
    pub fn new(results: &'a BenchResults) -> Self {
        let reference = results
            .backends
            .iter()
            .find(|b| b.name == FLOOR && b.status == BackendStatus::Ok);
        let mut backends: Vec<BackendView> = results
            .backends
            .iter()
            .map(|b| backend_view(b, reference))
            .collect();
        if results.backends.iter().any(|b| b.descriptor().canonical) {
            for name in canonical().filter(|n| !results.backends.iter().any(|b| b.name == *n)) {
                backends.push(absent(name));
            }
        }
        let warnings = warnings(results, &backends);
        RunView {
            results,
            backends,
            warnings,
        }
    }

    pub fn ok_backends(&self) -> impl Iterator<Item = &BackendView<'a>> {
        self.backends.iter().filter(|b| b.state == State::Ok)
    }

    pub fn backend(&self, name: &str) -> Option<&BackendView<'a>> {
        self.backends
            .iter()
            .find(|b| b.name == name && b.state == State::Ok)
    }
}

fn absent(name: &str) -> BackendView<'static> {
    BackendView {
        name: name.to_string(),
        result: None,
        state: State::Absent,
        reps: 0,
        e2e: None,
        ttft: None,
        itl: None,
        load_ns: None,
        peak_rss_bytes: None,
        crossings: CrossingCounts::default(),
        overhead: BTreeMap::new(),
    }
}

fn backend_view<'a>(b: &'a BackendResult, reference: Option<&BackendResult>) -> BackendView<'a> {
    let state = match b.status {
        BackendStatus::Ok => State::Ok,
        other => State::NotOk(other.as_str().to_string(), b.error.clone()),
    };
    let load_ns = b
        .load_ns
        .map(|v| v as f64)
        .or_else(|| b.summary_of("load_ns").map(|s| s.p50));
    let peak_rss_bytes = b
        .memory
        .peak_rss_bytes
        .or(b.memory.worker_reported_peak_rss_bytes);
    BackendView {
        name: b.name.clone(),
        result: Some(b),
        state,
        reps: b.reps.len(),
        e2e: b.summary_of("e2e_ns").cloned(),
        ttft: b.summary_of("ttft_ns").cloned(),
        itl: b.summary_of("itl_ns").cloned(),
        load_ns,
        peak_rss_bytes,
        crossings: crossing_counts(b),
        overhead: reference
            .filter(|r| r.name != b.name)
            .map(|r| backend_overheads(b, r))
            .unwrap_or_default(),
    }
}

fn crossing_counts(b: &BackendResult) -> CrossingCounts {
    let c = &b.crossings;
    let descriptor = b.descriptor();
    CrossingCounts {
        caller: descriptor.caller.label(),
        rust_to_c: c.rust_to_c_calls,
        // native-cpp's token callback is C++ calling C++: no boundary.
        c_to_rust: c.c_to_rust_callbacks.filter(|_| !descriptor.is_floor()),
        pipe_per_token: if b.ipc_per_token {
            c.ipc_messages_in
        } else {
            None
        },
    }
}

/// The CDF up to `x_max`, ending with a point at `x_max` so the curve runs
/// to the axis's end; unchanged when `x_max` is not positive.
pub fn clip_cdf(points: Vec<(f64, f64)>, x_max: f64) -> Vec<(f64, f64)> {
    if x_max <= 0.0 || points.last().map_or(true, |p| p.0 <= x_max) {
        return points;
    }
    let mut kept: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .take_while(|p| p.0 <= x_max)
        .collect();
    let y = kept.last().map_or(0.0, |p| p.1);
    kept.push((x_max, y));
    kept
}

fn warnings(r: &BenchResults, backends: &[BackendView]) -> Vec<String> {
    let mut w = Vec::new();
    if r.status != crossbench_core::results::RunStatus::Complete {
        w.push(format!(
            "Run status is `{}`: figures cover only what was measured.",
            r.status.as_str()
        ));
    }
    w.extend(r.agreement.mismatch_lines());
    for b in backends {
        match &b.state {
            State::Ok => {}
            State::Absent => w.push(format!("{}: absent from this run (not measured).", b.name)),
            State::NotOk(status, err) => w.push(format!(
                "{}: {status}{}",
                b.name,
                err.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            )),
        }
        if let Some(res) = b.result.filter(|res| res.noisy) {
            w.push(format!(
                "{}: noisy: per-rep decode time varies by {:.1}% (limit {:.0}%); its medians are unreliable.",
                b.name,
                res.decode_cv.unwrap_or(0.0) * 100.0,
                r.cv_limit * 100.0
            ));
        }
    }
    if !backends
        .iter()
        .any(|b| b.name == FLOOR && b.state == State::Ok)
    {
        w.push(format!(
            "No {FLOOR} results: no overhead ratios in this run."
        ));
    }
    if (r.ran().repetitions as usize) < MIN_REPS_FOR_CI {
        w.push(format!(
            "Only {} measured rep(s) per backend: intervals from so few reps mean little.",
            r.ran().repetitions
        ));
    }
    for (backend, pct) in &r.injected_slowdowns {
        w.push(format!("{backend} was slowed by {pct}% on purpose (--inject-slowdown): not a clean measurement."));
    }
    if r.environment
        .git_commit
        .as_deref()
        .is_some_and(|c| c.ends_with("-dirty"))
    {
        w.push(
            "Built from a working tree with uncommitted changes (commit ends in -dirty).".into(),
        );
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cdf_cuts_the_tail_and_runs_to_the_edge() {
        let pts = vec![(1.0, 0.5), (2.0, 0.9), (50.0, 1.0)];
        assert_eq!(
            clip_cdf(pts.clone(), 3.0),
            vec![(1.0, 0.5), (2.0, 0.9), (3.0, 0.9)]
        );
        assert_eq!(clip_cdf(pts.clone(), 60.0), pts);
        assert_eq!(clip_cdf(pts.clone(), 0.0), pts);
    }
}
