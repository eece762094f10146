//! Where a token's time goes: a rep's phase spans (see [`crate::phases`])
//! attributed to its inter-token intervals, and a backend's typical token.
//!
//! Spans of one thread may nest (ffi-token's crossing holds the shim's build,
//! dispatch, wait and host spans; ffi-batched's callback holds the consumer):
//! every instant goes to the innermost span open then, so nested spans count
//! their self time only. Instants no span covers are *unattributed*: the
//! recording's own gaps, reported, never spread over the phases.

use crate::phases::{Span, PHASE_NAMES};
pub use crate::results::PhaseSplit;
use crate::results::RepRecord;
use crate::stats::median;

const N: usize = PHASE_NAMES.len();

/// One inter-token interval split into phases.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSplit {
    /// Nanoseconds per phase id within the interval.
    pub phases_ns: [u64; N],
    /// The interval on the attributing clock (the worker's stamps).
    pub interval_ns: u64,
    /// The measured inter-token latency (the consumer's stamps).
    pub itl_ns: u64,
}

impl TokenSplit {
    pub fn attributed_ns(&self) -> u64 {
        self.phases_ns.iter().sum()
    }
}

/// The spans as non-overlapping `(phase, from, to)` pieces in time order,
/// each instant given to the innermost open span.
fn flatten(spans: &[Span]) -> Vec<(usize, u64, u64)> {
    // (time, 0 = end / 1 = begin, tie-break, span index): at one instant ends
    // go first, and of two begins the longer (outer) one.
    let mut events: Vec<(u64, u8, u64, usize)> = Vec::with_capacity(2 * spans.len());
    for (i, s) in spans.iter().enumerate() {
        if s[2] < s[1] || s[0] as usize >= N {
            continue; // malformed or unknown phase: ignored, not guessed at
        }
        events.push((s[1], 1, u64::MAX - (s[2] - s[1]), i));
        events.push((s[2], 0, 0, i));
    }
    events.sort_unstable();
    let mut open: Vec<usize> = Vec::new();
    let mut pieces = Vec::new();
    let mut prev = 0;
    for (t, kind, _, i) in events {
        if let Some(&top) = open.last() {
            if t > prev {
                pieces.push((spans[top][0] as usize, prev, t));
            }
        }
        if kind == 1 {
            open.push(i);
        } else if let Some(pos) = open.iter().rposition(|&j| j == i) {
            open.remove(pos);
        }
        prev = t;
    }
    pieces
}

/// Each decode token's split of one rep: the interval between the worker's
/// stamps of tokens k-1 and k (the producer's where the driver stamps the
/// consumer side), measured against the consumer's interval. Empty without
/// recorded phases.
pub fn token_splits(rep: &RepRecord) -> Vec<TokenSplit> {
    let Some(spans) = rep.phases.as_deref() else {
        return Vec::new();
    };
    let stamps = rep.producer_ns.as_deref().unwrap_or(&rep.consumer_ns);
    let pieces = flatten(spans);
    let mut out = Vec::with_capacity(stamps.len().saturating_sub(1));
    let mut first = 0; // first piece that may still overlap an interval
    for k in 1..stamps.len().min(rep.consumer_ns.len()) {
        let (lo, hi) = (stamps[k - 1], stamps[k]);
        let mut phases_ns = [0u64; N];
        while first < pieces.len() && pieces[first].2 <= lo {
            first += 1;
        }
        for &(phase, from, to) in pieces[first..].iter().take_while(|p| p.1 < hi) {
            phases_ns[phase] += to.min(hi).saturating_sub(from.max(lo));
        }
        out.push(TokenSplit {
            phases_ns,
            interval_ns: hi.saturating_sub(lo),
            itl_ns: rep.consumer_ns[k].saturating_sub(rep.consumer_ns[k - 1]),
        });
    }
    out
}

/// The typical token of these reps, or None when none recorded phases.
pub fn phase_split(reps: &[RepRecord]) -> Option<PhaseSplit> {
    let splits: Vec<TokenSplit> = reps.iter().flat_map(token_splits).collect();
    if splits.is_empty() {
        return None;
    }
    let coverage: Vec<f64> = splits
        .iter()
        .filter(|s| s.itl_ns > 0)
        .map(|s| s.attributed_ns() as f64 / s.itl_ns as f64)
        .collect();
    let mut by_itl: Vec<&TokenSplit> = splits.iter().collect();
    by_itl.sort_by_key(|s| s.itl_ns);
    let n = by_itl.len();
    let typical = &by_itl[n / 4..((3 * n) / 4).max(n / 4 + 1)];
    let n = typical.len() as f64;
    let mean =
        |f: &dyn Fn(&TokenSplit) -> u64| typical.iter().map(|s| f(s) as f64).sum::<f64>() / n;
    let phases_ns = PHASE_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_string(), mean(&|s| s.phases_ns[i])))
        .collect();
    Some(PhaseSplit {
        tokens: splits.len() as u64,
        itl_ns: mean(&|s| s.itl_ns),
        phases_ns,
        unattributed_ns: mean(&|s| s.interval_ns.saturating_sub(s.attributed_ns())),
        coverage_median: median(&coverage).unwrap_or(0.0),
        pipe_latency_ns: pipe_latency(reps),
    })
}

fn pipe_latency(reps: &[RepRecord]) -> Option<f64> {
    let delays: Vec<f64> = reps
        .iter()
        .filter(|r| r.phases.is_some())
        .filter_map(|r| r.producer_ns.as_ref().map(|p| (p, &r.consumer_ns)))
        .flat_map(|(p, c)| p.iter().zip(c).map(|(&w, &d)| d.saturating_sub(w) as f64))
        .collect();
    median(&delays)
}

#[cfg(test)]
mod tests;
