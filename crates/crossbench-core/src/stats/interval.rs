//! The interval every estimator in `stats` returns and results.json stores.

use serde::{Deserialize, Serialize};

/// A point estimate with its two-sided confidence interval, whichever method
/// made it (order statistics, rank shift, bootstrap).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// e.g. 0.95 for a 95% interval.
    pub confidence: f64,
    /// Samples behind the estimate (the smaller side for a ratio of two).
    pub samples: usize,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// Half the interval's width: the smallest difference (as a fraction of
    /// a ratio near 1) this interval can tell from none.
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }

    /// The larger of the interval's two sides around its estimate. For a
    /// lopsided interval such as +5.3% [+2.3%, +22.9%] the mean half-width
    /// (10.3%) understates how far the truth may lie on the long side
    /// (17.6%); resolution statements use this one.
    pub fn larger_side(&self) -> f64 {
        (self.estimate - self.low).max(self.high - self.estimate)
    }
}
