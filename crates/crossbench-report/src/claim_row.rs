//! One row of the claims table: a claim's range, what was measured and the
//! verdict. Shared by the run's claims (`claims`) and the microbenchmarks'
//! (`claims_go`), so neither needs the other.

use crossbench_core::stats::Interval;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    Inconclusive,
    NotMeasured,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotMeasured => "not measured in this run",
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            Verdict::Holds => "verdict-holds",
            Verdict::DoesNotHold => "verdict-fails",
            Verdict::Inconclusive => "verdict-unclear",
            Verdict::NotMeasured => "verdict-none",
        }
    }
}

/// How the ratio column compares measurement and claim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    /// measured / claimed (midpoint of the range).
    Value,
    /// measured overhead / claimed overhead, for ratios to native-cpp.
    Overhead,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    /// The note's words.
    pub claim: &'static str,
    /// What was measured for it here and the range it was held to.
    pub tested_as: String,
    pub measured: String,
    pub ratio: Option<String>,
    pub verdict: Verdict,
}

/// A claimed range in the unit of its measurement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub lo: f64,
    pub hi: f64,
    /// The note's figure, for the ratio column.
    pub claimed: f64,
}

/// holds / does not hold / inconclusive for an interval against a range.
pub fn verdict(measured: &Interval, lo: f64, hi: f64) -> Verdict {
    if measured.low >= lo && measured.high <= hi {
        Verdict::Holds
    } else if measured.high < lo || measured.low > hi {
        Verdict::DoesNotHold
    } else {
        Verdict::Inconclusive
    }
}

pub(crate) fn point(v: f64) -> Interval {
    Interval {
        estimate: v,
        low: v,
        high: v,
        confidence: 1.0,
        samples: 1,
    }
}

pub(crate) fn row(
    claim: &'static str,
    tested_as: String,
    m: Option<(Interval, String)>,
    r: Range,
    scale: Scale,
) -> ClaimRow {
    let Some((ci, measured)) = m else {
        return ClaimRow {
            claim,
            tested_as,
            measured: "not measured in this run".into(),
            ratio: None,
            verdict: Verdict::NotMeasured,
        };
    };
    // Too few reps for an interval (a point estimate from 1-2 reps, not an
    // exact value; microbenchmarks carry samples 0 and their own interval):
    // nothing can be resolved, so no verdict either way.
    if (1..crate::view::MIN_REPS_FOR_CI).contains(&ci.samples) && ci.confidence < 1.0 {
        return ClaimRow {
            claim,
            tested_as,
            measured,
            ratio: Some(format!(
                "{} rep(s): no interval, so no verdict (need {})",
                ci.samples,
                crate::view::MIN_REPS_FOR_CI
            )),
            verdict: Verdict::Inconclusive,
        };
    }
    let ratio = match scale {
        Scale::Value => times(ci.estimate / r.claimed),
        // Below 1.0 beyond the interval would mean the floor is not a floor;
        // a point estimate below 1.0 inside it is only "no overhead seen".
        Scale::Overhead if ci.high < 1.0 => {
            "faster than native-cpp beyond its interval: the floor did not hold in this run".into()
        }
        Scale::Overhead if ci.estimate <= 1.0 => {
            "no overhead measurable (estimate at or below +0%, interval includes it)".into()
        }
        Scale::Overhead => format!(
            "{} the claimed overhead",
            times((ci.estimate - 1.0) / (r.claimed - 1.0))
        ),
    };
    ClaimRow {
        claim,
        tested_as,
        measured,
        ratio: Some(ratio),
        verdict: verdict(&ci, r.lo, r.hi),
    }
}

/// "0.123×", "12.3×", "4000×": three significant digits, or whole numbers.
fn times(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}×"),
        a if a >= 10.0 => format!("{x:.1}×"),
        a if a >= 1.0 => format!("{x:.2}×"),
        _ => format!("{x:.3}×"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(estimate: f64, low: f64, high: f64) -> Interval {
        Interval {
            estimate,
            low,
            high,
            confidence: 0.95,
            samples: 5,
        }
    }

    #[test]
    fn verdict_compares_the_interval_with_the_range() {
        assert_eq!(verdict(&iv(30.0, 25.0, 35.0), 20.0, 50.0), Verdict::Holds);
        assert_eq!(
            verdict(&iv(5.0, 4.0, 6.0), 20.0, 50.0),
            Verdict::DoesNotHold
        );
        assert_eq!(
            verdict(&iv(1.0, 0.99, 1.01), 0.0, 1.0001),
            Verdict::Inconclusive
        );
        assert_eq!(verdict(&iv(1.3, 1.2, 1.4), 0.0, 1.05), Verdict::DoesNotHold);
    }

    #[test]
    fn a_single_rep_gets_no_verdict() {
        let mut one = iv(1.006, 1.006, 1.006);
        one.samples = 1;
        one.confidence = 0.0;
        let r = Range {
            lo: 0.0,
            hi: 1.05,
            claimed: 1.05,
        };
        let got = row("c", "t".into(), Some((one, "m".into())), r, Scale::Overhead);
        assert_eq!(got.verdict, Verdict::Inconclusive);
        assert!(got.ratio.unwrap().contains("no verdict"));
        // An exact value (a peak, a count) is still judged from one run.
        let exact = point(1.006);
        let got = row(
            "c",
            "t".into(),
            Some((exact, "m".into())),
            r,
            Scale::Overhead,
        );
        assert_eq!(got.verdict, Verdict::Holds);
    }

    #[test]
    fn missing_measurement_is_not_measured_and_overhead_ratio_reads_plainly() {
        let r = Range {
            lo: 0.0,
            hi: 1.0001,
            claimed: 1.0001,
        };
        let none = row("c", "t".into(), None, r, Scale::Overhead);
        assert_eq!(
            (none.verdict, none.measured.as_str()),
            (Verdict::NotMeasured, "not measured in this run")
        );
        let slower = row(
            "c",
            "t".into(),
            Some((iv(1.02, 1.01, 1.03), "m".into())),
            r,
            Scale::Overhead,
        );
        assert_eq!(slower.verdict, Verdict::DoesNotHold);
        assert_eq!(slower.ratio.as_deref(), Some("200× the claimed overhead"));
    }
}
