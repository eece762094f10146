//! The measurements the design note's claims are judged against: per-rep
//! MLX operation times of the floor backend and the share of a decode
//! token's time that given phases take. Each is a median with its
//! distribution-free interval (`stats::order`).

use crate::attribution::token_splits;
use crate::overhead::{self, REPORT_CONFIDENCE};
use crate::phases::PHASE_NAMES;
use crate::results::{BackendResult, RepRecord};
use crate::stats::order::median_ci;
use crate::stats::Interval;

/// One backend's MLX operation times (ns), each the median over reps.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationTimes {
    /// Median inter-token latency (median of per-rep medians).
    pub token: Option<Interval>,
    /// Worker-side prefill of the prompt.
    pub prompt: Option<Interval>,
    /// Worker-side decode time per step.
    pub step: Option<Interval>,
}

pub fn operation_times(b: &BackendResult) -> OperationTimes {
    let per_rep = |f: &dyn Fn(&RepRecord) -> Option<f64>| -> Option<Interval> {
        let values: Vec<f64> = b.reps.iter().filter_map(f).collect();
        median_ci(&values, REPORT_CONFIDENCE)
    };
    OperationTimes {
        token: per_rep(&overhead::rep_itl_median_ns),
        prompt: per_rep(&|r| (r.prefill_ns > 0).then_some(r.prefill_ns as f64)),
        step: per_rep(&|r| {
            (r.token_ids.len() > 1 && r.decode_ns > 0)
                .then(|| r.decode_ns as f64 / (r.token_ids.len() - 1) as f64)
        }),
    }
}

/// The median over decode tokens of `phases`' share of the token's ITL (in
/// percent), with its 95% distribution-free interval.
pub fn phase_share(b: &BackendResult, phases: &[&str]) -> Option<Interval> {
    let ids: Vec<usize> = phases
        .iter()
        .filter_map(|p| PHASE_NAMES.iter().position(|n| n == p))
        .collect();
    let shares: Vec<f64> = b
        .reps
        .iter()
        .flat_map(token_splits)
        .filter(|t| t.itl_ns > 0)
        .map(|t| ids.iter().map(|&i| t.phases_ns[i]).sum::<u64>() as f64 / t.itl_ns as f64 * 100.0)
        .collect();
    median_ci(&shares, 0.95)
}
