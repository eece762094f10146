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

/// Where a ratio's whole interval lies relative to a band 1 ± margin: the
/// one rule behind "negligible" / "within 5%" verdicts. Only an interval
/// wholly inside the band shows equivalence; one crossing an edge cannot
/// tell, whatever its estimate says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Inside,
    Above,
    Below,
    Straddles,
}

impl Interval {
    pub fn band(&self, margin: f64) -> Band {
        if self.low >= 1.0 - margin && self.high <= 1.0 + margin {
            Band::Inside
        } else if self.low > 1.0 + margin {
            Band::Above
        } else if self.high < 1.0 - margin {
            Band::Below
        } else {
            Band::Straddles
        }
    }
}

#[cfg(test)]
mod band_tests {
    use super::*;

    fn ci(low: f64, high: f64) -> Interval {
        let estimate = (low + high) / 2.0;
        Interval {
            estimate,
            low,
            high,
            confidence: 0.95,
            samples: 9,
        }
    }

    #[test]
    fn band_needs_the_whole_interval() {
        assert_eq!(ci(0.97, 1.04).band(0.05), Band::Inside);
        assert_eq!(ci(1.06, 1.20).band(0.05), Band::Above);
        assert_eq!(ci(0.80, 0.94).band(0.05), Band::Below);
        assert_eq!(ci(0.99, 1.06).band(0.05), Band::Straddles);
        assert_eq!(ci(0.90, 1.10).band(0.05), Band::Straddles);
    }
}
