//! Statistics over raw nanosecond samples, kept apart from measurement and
//! reporting.
//!
//! Mean and standard deviation are exact (f64 over the raw samples);
//! percentiles come from an HdrHistogram with 3 significant digits, so they
//! are within 0.1% of the true sample value. Histograms are serialized in the
//! standard HdrHistogram V2 + DEFLATE format, base64-encoded (the encoding of
//! HdrHistogram log files), so any HdrHistogram implementation can read them.
//!
//! Where each estimator lives: `Interval`, `median`, `cv` and `paired_ratios`
//! (used by every method) are re-exported here; `order` is the median's
//! distribution-free interval (overheads, claims); `rank` the Hodges–Lehmann
//! shift between two runs (gate and compare, through `analysis::change`);
//! `signed_rank` the one-sample Hodges–Lehmann interval of the same-job
//! A/B's per-round ratios (`gate --against`); `bootstrap` the ratio-of-medians bootstrap kept for `gate --method
//! median-bootstrap`.

pub mod bootstrap;
mod interval;
pub mod order;
pub mod rank;
mod sample;
pub mod signed_rank;

pub use interval::{Band, Interval};
pub(crate) use sample::median_sorted;
pub use sample::{cv, median, paired_ratios};

use base64::Engine as _;
use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

const SIGNIFICANT_DIGITS: u8 = 3;

/// Summary of one metric's samples. Values are in the unit of the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single sample.
    pub stddev: f64,
    /// Coefficient of variation: stddev / mean (0 when the mean is 0).
    pub cv: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
}

/// Summarizes integer samples (nanoseconds, bytes); None when empty.
pub fn summarize(samples: &[u64]) -> Option<Summary> {
    let hist = histogram(samples)?;
    let as_f64: Vec<f64> = samples.iter().map(|&s| s as f64).collect();
    let (mean, stddev) = mean_stddev(&as_f64);
    Some(Summary {
        count: samples.len() as u64,
        min: samples.iter().copied().min().unwrap_or(0) as f64,
        max: samples.iter().copied().max().unwrap_or(0) as f64,
        mean,
        stddev,
        cv: if mean == 0.0 { 0.0 } else { stddev / mean },
        p50: hist.value_at_quantile(0.50) as f64,
        p90: hist.value_at_quantile(0.90) as f64,
        p99: hist.value_at_quantile(0.99) as f64,
        p999: hist.value_at_quantile(0.999) as f64,
    })
}

/// Summarizes real-valued samples (rates such as tokens/s). Percentiles are
/// exact order statistics (nearest rank) since rates are few and not integers.
pub fn summarize_f64(samples: &[f64]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (mean, stddev) = mean_stddev(&sorted);
    let rank =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some(Summary {
        count: sorted.len() as u64,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        mean,
        stddev,
        cv: if mean == 0.0 { 0.0 } else { stddev / mean },
        p50: rank(0.50),
        p90: rank(0.90),
        p99: rank(0.99),
        p999: rank(0.999),
    })
}

fn mean_stddev(samples: &[f64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    if samples.len() < 2 {
        return (mean, 0.0);
    }
    let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// A 3-significant-digit histogram of the samples; None when empty.
pub fn histogram(samples: &[u64]) -> Option<Histogram<u64>> {
    if samples.is_empty() {
        return None;
    }
    let mut hist = Histogram::<u64>::new(SIGNIFICANT_DIGITS).expect("3 digits is valid");
    for &s in samples {
        // Auto-resizing histograms only fail for values beyond u64 range.
        let _ = hist.record(s);
    }
    Some(hist)
}

/// V2 + DEFLATE, base64: the HdrHistogram log encoding, or why it failed.
pub fn encode_histogram(hist: &Histogram<u64>) -> Result<String, String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(hist, &mut bytes)
        .map(|_| base64::engine::general_purpose::STANDARD.encode(bytes))
        .map_err(|e| format!("{e:?}"))
}

/// Decodes `encode_histogram` output (for tools and tests).
pub fn decode_histogram(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .ok()
}

/// Differences of consecutive stamps (inter-token latencies).
pub fn diffs(stamps: &[u64]) -> Vec<u64> {
    stamps
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect()
}

/// What one generation rep measured, derived from its stamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepMetrics {
    /// First token's consumer stamp minus the request-sent stamp.
    pub ttft_ns: u64,
    /// Last token's consumer stamp minus the request-sent stamp.
    pub e2e_ns: u64,
    /// Consumer inter-token latencies.
    pub itl_ns: Vec<u64>,
    /// (last - first consumer stamp) / (tokens - 1); None for one token.
    pub tpot_ns: Option<f64>,
    /// Decode rate seen by the consumer: (tokens - 1) / (last - first).
    pub decode_tokens_per_s: Option<f64>,
    /// prompt tokens / worker-reported prefill time.
    pub prefill_tokens_per_s: Option<f64>,
    /// Receipt minus producer stamp per token (receipt-stamped backends).
    pub ipc_ns: Vec<u64>,
}

/// Derives per-rep metrics; None when no token was produced.
pub fn rep_metrics(
    request_sent_ns: u64,
    consumer_ns: &[u64],
    producer_ns: Option<&[u64]>,
    prompt_tokens: usize,
    prefill_ns: u64,
) -> Option<RepMetrics> {
    let (&first, &last) = (consumer_ns.first()?, consumer_ns.last()?);
    let decode_span = last.saturating_sub(first);
    let steps = consumer_ns.len() - 1;
    let (tpot_ns, decode_tokens_per_s) = if steps > 0 && decode_span > 0 {
        let tpot = decode_span as f64 / steps as f64;
        (Some(tpot), Some(1e9 / tpot))
    } else {
        (None, None)
    };
    let ipc_ns = producer_ns
        .map(|p| {
            consumer_ns
                .iter()
                .zip(p)
                .map(|(c, p)| c.saturating_sub(*p))
                .collect()
        })
        .unwrap_or_default();
    Some(RepMetrics {
        ttft_ns: first.saturating_sub(request_sent_ns),
        e2e_ns: last.saturating_sub(request_sent_ns),
        itl_ns: diffs(consumer_ns),
        tpot_ns,
        decode_tokens_per_s,
        prefill_tokens_per_s: (prefill_ns > 0 && prompt_tokens > 0)
            .then(|| prompt_tokens as f64 * 1e9 / prefill_ns as f64),
        ipc_ns,
    })
}

#[cfg(test)]
mod tests;
