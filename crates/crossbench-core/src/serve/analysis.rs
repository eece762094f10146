//! Reps-level figures of a serve, recomputed after every run: each design's
//! medians over its reps, its paired per-rep ratios vs the floor with their
//! distribution-free intervals (the same pairing and `stats::order` interval
//! as the single-stream overheads: rep i of both ran in the same round,
//! seconds apart), and the equal-work verdicts.

use std::collections::BTreeMap;

use super::equality::{ids_check, schedule_check};
use super::metrics::{series, RunMetrics, COMPARED_SERIES, RUN_SERIES};
use crate::overhead::REPORT_CONFIDENCE;
use crate::results::serve::{DesignServe, ServePoint, ServeResults};
use crate::results::BackendStatus;
use crate::scenario::Arrival;
use crate::stats::order::median_ci;
use crate::stats::{median, paired_ratios};

/// Recomputes every point's summaries, comparisons and checks.
pub fn refresh(results: &mut ServeResults) {
    let closed = results.arrival == Arrival::Closed;
    let floor = results.floor.clone();
    for point in &mut results.points {
        refresh_point(point, &floor, closed);
    }
}

fn refresh_point(point: &mut ServePoint, floor: &str, closed: bool) {
    let floor_runs: BTreeMap<u32, RunMetrics> = point
        .designs
        .iter()
        .find(|d| d.name == floor)
        .map(ok_metrics)
        .unwrap_or_default();
    for design in &mut point.designs {
        let mine = ok_metrics(design);
        design.summary = RUN_SERIES
            .iter()
            .filter_map(|(name, f)| {
                let values: Vec<f64> = mine.values().filter_map(f).collect();
                median(&values).map(|m| (name.to_string(), m))
            })
            .collect();
        design.vs_floor.clear();
        if design.name == floor {
            continue;
        }
        for name in COMPARED_SERIES {
            let f = series(name).expect("compared series are run series");
            let (mut num, mut den) = (Vec::new(), Vec::new());
            for (rep, m) in &mine {
                if let (Some(v), Some(d)) = (f(m), floor_runs.get(rep).and_then(f)) {
                    num.push(v);
                    den.push(d);
                }
            }
            if let Some(ci) = median_ci(&paired_ratios(&num, &den), REPORT_CONFIDENCE) {
                design.vs_floor.insert(name.to_string(), ci);
            }
        }
    }
    point.schedule_check = schedule_check(&point.designs, floor, closed);
    point.ids_check = ids_check(&point.designs, floor);
}

/// Rep -> metrics of the design's ok runs.
fn ok_metrics(design: &DesignServe) -> BTreeMap<u32, RunMetrics> {
    design
        .runs
        .iter()
        .filter(|r| r.status == BackendStatus::Ok)
        .filter_map(|r| r.metrics.clone().map(|m| (r.rep, m)))
        .collect()
}
