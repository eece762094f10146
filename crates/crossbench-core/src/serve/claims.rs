//! The design note's claims judged under load, from a serve run's paired
//! throughput ratios vs the floor. A verdict needs a 95% interval: with
//! fewer reps, or an interval that straddles the claim's bound, the answer is
//! "inconclusive", never a pass. The note's scheduling claim is shown with
//! the Go runtime's own readings, not judged.

use crate::overhead::REPORT_CONFIDENCE;
use crate::results::serve::{DesignServe, ServeResults};
use crate::stats::{Band, Interval};
use crate::units::fmt_ratio_ci;

/// "cgo is not the bottleneck" / "within 5% of pure C++": the band a ratio
/// must lie in, whole interval, for the claim to hold.
const WITHIN: f64 = 0.05;
/// "A Python subprocess costs 25%": refuted when the whole interval shows a
/// cost below 20% (25% less a 5-point margin).
const PYTHON_COST: f64 = 0.25;

#[derive(Debug, Clone, PartialEq)]
pub struct ServeClaim {
    pub claim: &'static str,
    pub design: String,
    pub point: String,
    /// What was measured: the ratio and its interval, or the Go readings.
    pub measured: String,
    /// "holds", "consistent", "does not hold", "inconclusive (...)" or "not judged".
    pub verdict: String,
}

/// Every claim row for every load point.
pub fn judge(serve: &ServeResults) -> Vec<ServeClaim> {
    let mut rows = Vec::new();
    for p in &serve.points {
        for d in p
            .designs
            .iter()
            .filter(|d| d.shim_engine && d.name != serve.floor)
        {
            let ratio = d.vs_floor.get("output_tokens_per_s");
            let row = |claim, verdict: String| ServeClaim {
                claim,
                design: d.name.clone(),
                point: p.label.clone(),
                measured: ratio.map_or("no ratio (failed or absent)".into(), |ci| {
                    format!("output tok/s vs {} {}", serve.floor, fmt_ratio_ci(ci))
                }),
                verdict,
            };
            if d.name == "python-subprocess" {
                rows.push(row("a Python subprocess costs 25%", python_verdict(ratio)));
            } else {
                rows.push(row(
                    "the boundary is not the bottleneck (within 5% of C++)",
                    within_verdict(ratio),
                ));
            }
            if let Some(go) = go_readings(d) {
                rows.push(ServeClaim {
                    claim: "cgo holds OS threads and hinders M:N scheduling",
                    design: d.name.clone(),
                    point: p.label.clone(),
                    measured: go,
                    verdict: "not judged (readings only)".into(),
                });
            }
        }
    }
    rows
}

fn usable(ci: Option<&Interval>) -> Result<&Interval, String> {
    match ci {
        None => Err("inconclusive (no ratio)".into()),
        Some(ci) if ci.confidence < REPORT_CONFIDENCE - 1e-9 => Err(format!(
            "inconclusive ({} reps give {:.0}% confidence, not 95%)",
            ci.samples,
            100.0 * ci.confidence
        )),
        Some(ci) => Ok(ci),
    }
}

fn within_verdict(ci: Option<&Interval>) -> String {
    let ci = match usable(ci) {
        Ok(ci) => ci,
        Err(why) => return why,
    };
    // A throughput ratio: below the band is slower than the floor.
    match ci.band(WITHIN) {
        Band::Inside => "holds".into(),
        Band::Below => "does not hold (slower than the floor by more than 5%)".into(),
        Band::Above | Band::Straddles => {
            "inconclusive (the interval is wider than ±5% or straddles it)".into()
        }
    }
}

fn python_verdict(ci: Option<&Interval>) -> String {
    let ci = match usable(ci) {
        Ok(ci) => ci,
        Err(why) => return why,
    };
    let bound = 1.0 - PYTHON_COST;
    if ci.low > bound + WITHIN {
        "does not hold (the whole interval shows a cost below 20%)".into()
    } else if ci.low <= bound && bound <= ci.high || ci.high < bound {
        "consistent (a cost of 25% or more lies within the interval)".into()
    } else {
        "inconclusive".into()
    }
}

/// The Go runtime's readings (median over reps) for a Go design.
fn go_readings(d: &DesignServe) -> Option<String> {
    let read = |key: &str| -> Option<u64> {
        let mut v: Vec<u64> = d
            .runs
            .iter()
            .filter_map(|r| r.served.as_ref()?.0.get("go")?.get(key)?.as_u64())
            .collect();
        v.sort_unstable();
        v.get(v.len().checked_sub(1)? / 2).copied()
    };
    let p99 = read("sched_latency_p99_ns")?;
    Some(format!(
        "goroutine scheduling latency p99 {}, {} OS threads held by Go, {} cgo calls per run (medians over reps)",
        crate::units::fmt_ns(p99 as f64),
        read("threads").map_or("?".into(), |t| t.to_string()),
        median_served(d, "cgo_calls").map_or("?".into(), |c| c.to_string()),
    ))
}

fn median_served(d: &DesignServe, key: &str) -> Option<u64> {
    let mut v: Vec<u64> = d
        .runs
        .iter()
        .filter_map(|r| r.served.as_ref()?.u64(key))
        .collect();
    v.sort_unstable();
    v.get(v.len().checked_sub(1)? / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(low: f64, high: f64, confidence: f64) -> Interval {
        Interval {
            estimate: (low + high) / 2.0,
            low,
            high,
            confidence,
            samples: 6,
        }
    }

    #[test]
    fn within_needs_the_whole_interval_inside_five_percent() {
        assert_eq!(within_verdict(Some(&ci(0.97, 1.04, 0.97))), "holds");
        assert!(within_verdict(Some(&ci(0.90, 1.04, 0.97))).starts_with("inconclusive"));
        assert!(within_verdict(Some(&ci(0.80, 0.90, 0.97))).starts_with("does not hold"));
        assert!(within_verdict(Some(&ci(0.99, 1.01, 0.75))).starts_with("inconclusive (6 reps"));
        assert!(within_verdict(None).starts_with("inconclusive"));
    }

    #[test]
    fn the_python_cost_claim_is_refuted_only_by_a_whole_interval_above_minus_20() {
        assert!(python_verdict(Some(&ci(0.85, 1.10, 0.97))).starts_with("does not hold"));
        assert!(python_verdict(Some(&ci(0.70, 0.90, 0.97))).starts_with("consistent"));
        assert!(python_verdict(Some(&ci(0.60, 0.70, 0.97))).starts_with("consistent"));
        assert_eq!(python_verdict(Some(&ci(0.78, 1.0, 0.97))), "inconclusive");
    }
}
