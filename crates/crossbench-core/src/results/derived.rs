//! The parts of results.json that analysis derives from the reps (token
//! agreement, the phase split, the run's resolution). Their types live with
//! the schema so the schema needs no analysis module; the modules that
//! compute them (`agreement`, `attribution`, `overhead`) depend on the
//! schema, never the other way round.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::Interval;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// False when sampling is not greedy or nothing generates tokens.
    pub applicable: bool,
    pub note: String,
    pub reference: Option<String>,
    pub all_match: bool,
    pub entries: Vec<AgreementEntry>,
}

/// One rep of one backend compared with the reference's first rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementEntry {
    pub backend: String,
    pub rep: u32,
    pub matches: bool,
    /// Index of the first differing token (or of the shorter end).
    pub first_mismatch: Option<usize>,
    pub reference_len: usize,
    pub backend_len: usize,
}

/// A backend's typical decode token split into phases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSplit {
    /// Decode tokens with phases, over all reps.
    pub tokens: u64,
    /// Mean measured ITL of the typical tokens: the middle half by ITL (their
    /// means add up, phase by phase, to the mean ITL; medians would not).
    pub itl_ns: f64,
    /// Mean nanoseconds per phase over the typical tokens.
    pub phases_ns: BTreeMap<String, f64>,
    /// Mean time of the typical tokens' intervals no span covered.
    pub unattributed_ns: f64,
    /// Median over all decode tokens of (sum of the token's phases) /
    /// (its measured ITL): 1 when the phases account for the whole token.
    pub coverage_median: f64,
    /// Median of (driver receipt - worker stamp) for receipt-stamped
    /// backends: the pipe's delay, which shifts tokens but is not in the ITL.
    #[serde(default)]
    pub pipe_latency_ns: Option<f64>,
}

/// The smallest difference a run can tell apart, in words a reviewer reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// Half-width (fraction of the ratio) of the widest decode-time overhead
    /// interval in the run; with an A/A twin, the wider of that and the A/A
    /// interval's. For a lopsided interval, its larger side
    /// (`Interval::larger_side`; files before that used the mean half-width).
    pub half_width: f64,
    /// The backend whose interval set `half_width`.
    pub widest: String,
    /// twin / original decode time, paired per round, when the run has an
    /// A/A twin: a true 95% interval contains 1.0 in ~95% of runs.
    pub aa: Option<Interval>,
    pub statement: String,
    /// The widest interval itself (ratio vs native-cpp, or twin / original);
    /// absent in files written before it was recorded.
    #[serde(default)]
    pub interval: Option<Interval>,
    /// Smallest true difference (fraction) the widest interval excludes 0 for
    /// with 80% power, normal approximation (`overhead::detectable_difference`):
    /// ~1.43 × `half_width` for a 95% interval.
    #[serde(default)]
    pub detectable_80: Option<f64>,
}
