//! Per-token series of one backend for the report's charts: the ITL's
//! empirical CDF, each token's median latency, and for receipt-stamped
//! backends each token split into generation and transit.

use crate::results::{BackendResult, RepRecord};
use crate::stats::{decode_histogram, diffs, histogram, median};

/// Empirical CDF of inter-token latency in ms from the stored HdrHistogram
/// (falling back to the raw reps when it is missing or unreadable).
pub fn itl_cdf_ms(b: &BackendResult) -> Vec<(f64, f64)> {
    let hist = b
        .histograms
        .get("itl_ns")
        .and_then(|h| decode_histogram(h))
        .or_else(|| {
            let raw: Vec<u64> = b.reps.iter().flat_map(|r| diffs(&r.consumer_ns)).collect();
            histogram(&raw)
        });
    let Some(hist) = hist else { return Vec::new() };
    let total = hist.len() as f64;
    let mut seen = 0u64;
    let mut points = Vec::new();
    for v in hist.iter_recorded() {
        seen += v.count_at_value();
        points.push((
            hist.highest_equivalent(v.value_iterated_to()) as f64 / 1e6,
            seen as f64 / total,
        ));
    }
    points
}

/// Per token index (1..): the median over reps of that token's latency (ms).
/// Token 0's latency is the TTFT, shown in the table instead: it includes
/// the prefill and would flatten the rest of the line.
pub fn timeline_ms(b: &BackendResult) -> Vec<(f64, f64)> {
    per_token_median(b, |rep, i| {
        Some(rep.consumer_ns[i].saturating_sub(rep.consumer_ns[i - 1]))
    })
}

/// For backends with producer stamps: per token index, the medians over reps
/// of (worker-side generation, transit to the consumer), in ms. Generation is
/// producer stamp minus the previous token's receipt; transit is receipt
/// minus producer stamp; together they are the token's latency.
pub fn ipc_split_ms(b: &BackendResult) -> Option<Vec<(f64, f64, f64)>> {
    b.reps
        .iter()
        .any(|r| r.producer_ns.is_some())
        .then_some(())?;
    let producer =
        |rep: &RepRecord, i: usize| rep.producer_ns.as_ref().and_then(|p| p.get(i).copied());
    let generation = per_token_median(b, |rep, i| {
        Some(producer(rep, i)?.saturating_sub(rep.consumer_ns[i - 1]))
    });
    let transit = per_token_median(b, |rep, i| {
        Some(rep.consumer_ns[i].saturating_sub(producer(rep, i)?))
    });
    let split = generation
        .iter()
        .zip(&transit)
        .map(|(&(x, g), &(_, t))| (x, g, t))
        .collect();
    Some(split)
}

fn per_token_median(
    b: &BackendResult,
    f: impl Fn(&RepRecord, usize) -> Option<u64>,
) -> Vec<(f64, f64)> {
    let longest = b
        .reps
        .iter()
        .map(|r| r.consumer_ns.len())
        .max()
        .unwrap_or(0);
    (1..longest)
        .filter_map(|i| {
            let values: Vec<f64> = b
                .reps
                .iter()
                .filter(|r| r.consumer_ns.len() > i)
                .filter_map(|r| f(r, i))
                .map(|ns| ns as f64 / 1e6)
                .collect();
            median(&values).map(|m| (i as f64, m))
        })
        .collect()
}

/// The typical token of an `ipc_split_ms` series: (median generation ms,
/// median transit ms, transit's percent of their sum, 0 when both are 0).
pub fn typical_transit(split: &[(f64, f64, f64)]) -> (f64, f64, f64) {
    let median_of = |f: fn(&(f64, f64, f64)) -> f64| {
        median(&split.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    };
    let (g, t) = (median_of(|s| s.1), median_of(|s| s.2));
    let share = if g + t > 0.0 {
        t / (g + t) * 100.0
    } else {
        0.0
    };
    (g, t, share)
}
