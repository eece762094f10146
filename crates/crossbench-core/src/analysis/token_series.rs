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

#[cfg(test)]
mod tests {
    use super::*;

    /// One receipt-stamped backend: `reps` reps of `tokens` tokens, 10 ms
    /// apart (rep i slower by i%), each stamped by the worker 0.5 ms before
    /// the driver received it.
    fn backend(reps: u32, tokens: usize) -> BackendResult {
        let mut b = BackendResult::new("python-subprocess", "synthetic");
        for index in 0..reps {
            let step = 10e6 * (1.0 + index as f64 / 100.0);
            let start = 1_000_000_000 * (index as u64 + 1);
            let consumer: Vec<u64> = (0..tokens)
                .map(|t| start + (step * (t + 5) as f64) as u64)
                .collect();
            b.reps.push(RepRecord {
                index,
                request_sent_ns: start,
                token_ids: vec![7; tokens],
                producer_ns: Some(consumer.iter().map(|c| c - 500_000).collect()),
                consumer_ns: consumer,
                ..RepRecord::default()
            });
        }
        b.recompute(21);
        b
    }

    #[test]
    fn cdf_from_the_histogram_ends_at_one_and_split_adds_up() {
        let b = backend(3, 20);
        assert!(
            b.histograms.contains_key("itl_ns"),
            "the CDF reads the stored histogram"
        );
        let cdf = itl_cdf_ms(&b);
        assert!((cdf.last().unwrap().1 - 1.0).abs() < 1e-12);
        assert!(
            cdf.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
            "monotone"
        );
        let split = ipc_split_ms(&b).unwrap();
        let line = timeline_ms(&b);
        assert_eq!(split.len(), 19);
        for ((_, g, t), (_, total)) in split.iter().zip(&line) {
            assert!(
                (g + t - total).abs() < 1e-6,
                "generation + transit = the token's latency"
            );
        }
        let (g, t, share) = typical_transit(&split);
        assert!(
            (t - 0.5).abs() < 1e-9 && (g + t - 10.1).abs() < 1e-6,
            "{g} {t}"
        );
        assert!((share - 0.5 / 10.1 * 100.0).abs() < 1e-6, "{share}");
    }

    #[test]
    fn a_backend_without_producer_stamps_has_no_split() {
        let mut b = backend(2, 5);
        b.reps.iter_mut().for_each(|r| r.producer_ns = None);
        assert_eq!(ipc_split_ms(&b), None);
        assert_eq!(timeline_ms(&b).len(), 4);
    }
}
