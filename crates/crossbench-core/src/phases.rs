//! The phase timeline's vocabulary and its recorder (`bench --phases`).
//!
//! Each worker records spans of the phases it can see on the CLOCK_MONOTONIC
//! clock it stamps tokens with, into memory preallocated for the generation
//! (no allocation, no I/O inside it), and writes them after the generation as
//! one `phases` event (docs/protocol.md). The ids are the C ABI's `cb_phase`
//! (shims/include/crossbench_shim.h): the shim's spans and a worker's own
//! spans share one list. [`crate::attribution`] turns them into each token's
//! split.

use crate::clock::monotonic_ns;

/// Set (to `1`) in a worker's environment when its phases are recorded.
pub const ENV: &str = "CROSSBENCH_PHASES";

/// The done-event counter of spans that did not fit a worker's buffers
/// (0 when the phases are complete).
pub const DROPPED: &str = "phase_spans_dropped";

/// Phase names by id, as `cb_phase` numbers them.
pub const PHASE_NAMES: [&str; 7] = [
    "build", "dispatch", "wait", "host", "crossing", "consumer", "pipe",
];

/// One phase of a token's time, as `cb_phase` numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Phase {
    /// Building the step's graph (forward pass and sampler).
    Build = 0,
    /// Handing the graph to MLX (`async_eval`).
    Dispatch = 1,
    /// Waiting for the token and reading it back (`item`).
    Wait = 2,
    /// The generation loop's own bookkeeping.
    Host = 3,
    /// The call into the shim, or the callback out of it.
    Crossing = 4,
    /// The consumer's work on the token.
    Consumer = 5,
    /// Formatting and writing the token to a pipe.
    Pipe = 6,
}

/// A recorded span: `[phase id, begin_ns, end_ns]`, the `phases` event's form.
pub type Span = [u64; 3];

/// Whether this worker was asked to record phases (`CROSSBENCH_PHASES=1`).
pub fn requested() -> bool {
    std::env::var(ENV).is_ok_and(|v| v == "1")
}

/// A worker's own spans. Disabled, every call is one branch and no clock read.
#[derive(Debug, Default)]
pub struct PhaseLog {
    spans: Vec<Span>,
    enabled: bool,
    dropped: u64,
}

impl PhaseLog {
    /// A log holding up to `capacity` spans, allocated now (not while recording).
    pub fn new(enabled: bool, capacity: usize) -> PhaseLog {
        PhaseLog {
            spans: Vec::with_capacity(if enabled { capacity } else { 0 }),
            enabled,
            dropped: 0,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The clock when recording, else 0 (no clock read).
    #[inline]
    pub fn mark(&self) -> u64 {
        if self.enabled {
            monotonic_ns()
        } else {
            0
        }
    }

    /// Records `phase` from `begin` (a [`PhaseLog::mark`]) to now.
    #[inline]
    pub fn close(&mut self, phase: Phase, begin: u64) {
        if self.enabled {
            self.push([phase as u64, begin, monotonic_ns()]);
        }
    }

    /// Adds a span; past the preallocated capacity it is counted as dropped
    /// instead, so recording never allocates.
    #[inline]
    pub fn push(&mut self, span: Span) {
        if self.spans.len() < self.spans.capacity() {
            self.spans.push(span);
        } else {
            self.dropped += 1;
        }
    }

    /// Spans that did not fit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The spans, with `more` (another layer's, e.g. the shim's) appended.
    pub fn into_spans(self, more: impl IntoIterator<Item = Span>) -> Vec<Span> {
        let mut spans = self.spans;
        spans.extend(more);
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_log_records_nothing_and_reads_no_clock() {
        let mut log = PhaseLog::new(false, 8);
        assert_eq!(log.mark(), 0);
        log.close(Phase::Build, 0);
        assert!(log.into_spans([]).is_empty());
    }

    #[test]
    fn spans_past_the_capacity_are_counted_not_allocated() {
        let mut log = PhaseLog::new(true, 2);
        for i in 0..5 {
            log.push([Phase::Wait as u64, i, i + 1]);
        }
        assert_eq!(log.dropped(), 3);
        let spans = log.into_spans([[Phase::Build as u64, 9, 10]]);
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[2], [0, 9, 10]);
    }

    #[test]
    fn close_records_the_phase_from_its_mark_to_now() {
        let mut log = PhaseLog::new(true, 1);
        let begin = log.mark();
        log.close(Phase::Consumer, begin);
        let spans = log.into_spans([]);
        assert_eq!(spans[0][0], 5);
        assert_eq!(PHASE_NAMES[spans[0][0] as usize], "consumer");
        assert!(spans[0][2] >= spans[0][1] && spans[0][1] == begin);
    }
}
