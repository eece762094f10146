//! The change of a per-rep metric between two independent runs: one
//! estimator, shared by the regression gate (its default method) and
//! `crossbench compare`, so the two never give two answers to one question.
//!
//! Runs are independent, so their reps are not paired: the change is the
//! Hodges–Lehmann shift of the two runs' log values with its Mann–Whitney
//! interval (`stats::rank`, where the choice over the percentile bootstrap
//! of a ratio of medians is argued).

use crate::results::{BackendResult, RepRecord};
use crate::stats::rank::shift_ratio_ci;
use crate::stats::{median, Interval};

/// Ratio current ÷ baseline with its interval at `confidence`; None when a
/// side is empty or holds a value that is not positive.
pub fn run_change(current: &[f64], baseline: &[f64], confidence: f64) -> Option<Interval> {
    shift_ratio_ci(current, baseline, confidence)
}

/// One metric of one backend across runs: each run's median, and each later
/// run's change against the first.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricAcrossRuns {
    /// Per run; None where the backend is absent or has no value.
    pub medians: Vec<Option<f64>>,
    /// Per run after the first; None where either side has no value.
    pub changes: Vec<Option<Interval>>,
}

/// `of_rep` over every rep of each run's backend (None: absent from that run).
pub fn metric_across_runs(
    backends: &[Option<&BackendResult>],
    of_rep: fn(&RepRecord) -> Option<f64>,
    confidence: f64,
) -> MetricAcrossRuns {
    let samples: Vec<Vec<f64>> = backends
        .iter()
        .map(|b| {
            b.map(|b| b.reps.iter().filter_map(of_rep).collect())
                .unwrap_or_default()
        })
        .collect();
    let Some((first, later)) = samples.split_first() else {
        return MetricAcrossRuns {
            medians: Vec::new(),
            changes: Vec::new(),
        };
    };
    MetricAcrossRuns {
        medians: samples.iter().map(|s| median(s)).collect(),
        changes: later
            .iter()
            .map(|s| run_change(s, first, confidence))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(e2e: &[u64]) -> BackendResult {
        let mut b = BackendResult::new("x", "");
        for (i, &ns) in e2e.iter().enumerate() {
            b.reps.push(RepRecord {
                index: i as u32,
                consumer_ns: vec![ns / 2, ns],
                ..RepRecord::default()
            });
        }
        b
    }

    fn e2e(rep: &RepRecord) -> Option<f64> {
        rep.consumer_ns.last().map(|&v| v as f64)
    }

    #[test]
    fn a_twenty_percent_slowdown_is_seen_with_the_gates_estimator() {
        let base: Vec<u64> = (0..12).map(|i| 1000 + 7 * i).collect();
        let slow: Vec<u64> = base.iter().map(|v| v * 6 / 5).collect();
        let (a, b) = (backend(&base), backend(&slow));
        let m = metric_across_runs(&[Some(&a), Some(&b), None], e2e, 0.95);
        assert_eq!(m.medians.len(), 3);
        assert_eq!(m.medians[2], None);
        let ci = m.changes[0].expect("both runs measured");
        assert!(ci.low > 1.15 && ci.high < 1.25, "{ci:?}");
        // The same numbers the gate computes for the same samples.
        let (cur, bas): (Vec<f64>, Vec<f64>) = (
            slow.iter().map(|&v| v as f64).collect(),
            base.iter().map(|&v| v as f64).collect(),
        );
        assert_eq!(Some(ci), shift_ratio_ci(&cur, &bas, 0.95));
        assert_eq!(m.changes[1], None, "absent run: no change");
    }
}
