//! Every overhead a run's report shows: each backend's ratio to native-cpp
//! for decode time, median ITL and end-to-end time.

use std::collections::BTreeMap;

use crate::overhead::{self, REPORT_CONFIDENCE};
use crate::results::{BackendResult, RepRecord};
use crate::stats::order::median_ci;
use crate::stats::Interval;

/// Request sent to last token held, per rep.
pub fn rep_e2e_ns(rep: &RepRecord) -> Option<f64> {
    rep.consumer_ns
        .last()
        .map(|last| last.saturating_sub(rep.request_sent_ns) as f64)
}

/// Request sent to first token held, per rep.
pub fn rep_ttft_ns(rep: &RepRecord) -> Option<f64> {
    rep.consumer_ns
        .first()
        .map(|f| f.saturating_sub(rep.request_sent_ns) as f64)
}

/// Series (`e2e_ns`, `decode_ns`, `itl_median_ns`) -> median of the per-round
/// ratio `b` / `reference` with its distribution-free interval. Decode and
/// ITL are the intervals results.json carries, computed here the same way
/// when an older file lacks them; end-to-end time results.json does not carry.
pub fn backend_overheads(
    b: &BackendResult,
    reference: &BackendResult,
) -> BTreeMap<&'static str, Interval> {
    let mut out = BTreeMap::new();
    for series in overhead::SERIES {
        let ci = b.overhead_vs_native.get(series).copied().or_else(|| {
            let ratios = overhead::paired_series(b, reference, series);
            median_ci(&ratios, REPORT_CONFIDENCE)
        });
        if let Some(ci) = ci {
            out.insert(series, ci);
        }
    }
    let ratios = overhead::paired_by_round(b, reference, rep_e2e_ns);
    if let Some(ci) = median_ci(&ratios, REPORT_CONFIDENCE) {
        out.insert("e2e_ns", ci);
    }
    out
}
