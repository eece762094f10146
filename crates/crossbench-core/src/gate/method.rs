//! Which interval stands behind the gate's timing verdicts.

use serde::Serialize;

/// The interval behind a timing verdict. Both resist outliers; the rank
/// shift is the more efficient (narrower at the same coverage), measured on
/// the same recordings in docs/measurements/gate-experiment.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Hodges–Lehmann shift of log timings, Mann–Whitney interval (default).
    RankShift,
    /// Percentile bootstrap of median(current) / median(baseline).
    MedianBootstrap,
    /// Same-job A/B (`ab`): Hodges–Lehmann estimate of the paired head /
    /// base ratios with its signed-rank interval (`stats::signed_rank`).
    /// Not a `--method` choice of a baseline gate.
    PairedAb,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "rank-shift" => Some(Method::RankShift),
            "median-bootstrap" => Some(Method::MedianBootstrap),
            _ => None,
        }
    }
}
