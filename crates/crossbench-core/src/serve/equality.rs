//! Equal work under load: every design on the shim's engine serves the same
//! trace, so in a closed loop (admission in id order, independent of
//! timing) each run's step schedule must be the same, and in any loop each
//! request's greedy token ids must be the same. A design on another engine
//! (mlx-lm-batch) is left out. Every run is compared with one reference
//! run: the floor's first ok run, else the first ok run in design order.

use crate::results::serve::{DesignServe, EqualityCheck, ServeRun};
use crate::results::BackendStatus;

/// The comparable runs: (label, run) of every ok run on the shim's engine,
/// the reference first.
fn comparable<'a>(designs: &'a [DesignServe], floor: &str) -> Vec<(String, &'a ServeRun)> {
    let mut runs: Vec<(String, &ServeRun)> = Vec::new();
    let mut ordered: Vec<&DesignServe> = designs.iter().filter(|d| d.shim_engine).collect();
    // A stable sort: the floor first, the others in design order.
    ordered.sort_by_key(|d| d.name != floor);
    for d in ordered {
        for run in d.runs.iter().filter(|r| r.status == BackendStatus::Ok) {
            runs.push((format!("{} rep {}", d.name, run.rep + 1), run));
        }
    }
    runs
}

fn check_with(
    designs: &[DesignServe],
    floor: &str,
    differ: impl Fn(&ServeRun, &ServeRun) -> Option<String>,
) -> EqualityCheck {
    let runs = comparable(designs, floor);
    let Some(((reference, first), rest)) = runs.split_first() else {
        return EqualityCheck {
            note: "no completed run on the shim's engine".into(),
            ..EqualityCheck::default()
        };
    };
    if rest.is_empty() {
        return EqualityCheck {
            reference: Some(reference.clone()),
            note: "only one completed run: nothing to compare".into(),
            ..EqualityCheck::default()
        };
    }
    let mismatches: Vec<String> = rest
        .iter()
        .filter_map(|(label, run)| {
            differ(first, run).map(|d| format!("{label} vs {reference}: {d}"))
        })
        .collect();
    EqualityCheck {
        applicable: true,
        all_equal: mismatches.is_empty(),
        reference: Some(reference.clone()),
        compared: rest.len(),
        note: String::new(),
        mismatches,
    }
}

/// The step schedules, times ignored.
pub fn schedule_check(designs: &[DesignServe], floor: &str, closed_loop: bool) -> EqualityCheck {
    if !closed_loop {
        return EqualityCheck {
            note: "open loop: which requests a step admits depends on arrival timing".into(),
            ..EqualityCheck::default()
        };
    }
    check_with(designs, floor, schedule_difference)
}

/// The token ids of every request both runs completed without error.
pub fn ids_check(designs: &[DesignServe], floor: &str) -> EqualityCheck {
    check_with(designs, floor, ids_difference)
}

/// The first step at which `b`'s schedule differs from `a`'s.
pub fn schedule_difference(a: &ServeRun, b: &ServeRun) -> Option<String> {
    for (i, (x, y)) in a.schedule.iter().zip(&b.schedule).enumerate() {
        if x.prefilled() != y.prefilled() || x.decoded() != y.decoded() {
            return Some(format!(
                "step {i} prefilled {:?} decoded {:?}, reference prefilled {:?} decoded {:?}",
                y.prefilled(),
                y.decoded(),
                x.prefilled(),
                x.decoded()
            ));
        }
    }
    (a.schedule.len() != b.schedule.len()).then(|| {
        format!(
            "{} steps, reference {} steps (the first {} equal)",
            b.schedule.len(),
            a.schedule.len(),
            a.schedule.len().min(b.schedule.len())
        )
    })
}

/// The first request whose ids differ, and where.
pub fn ids_difference(a: &ServeRun, b: &ServeRun) -> Option<String> {
    for rb in b.requests.iter().filter(|r| r.error.is_none()) {
        let Some(ra) = a
            .requests
            .iter()
            .find(|r| r.id == rb.id && r.error.is_none())
        else {
            continue;
        };
        if ra.ids != rb.ids {
            let at = ra.ids.iter().zip(&rb.ids).position(|(x, y)| x != y);
            return Some(match at {
                Some(k) => format!(
                    "request {} token {k}: id {} vs {}",
                    rb.id, rb.ids[k], ra.ids[k]
                ),
                None => format!(
                    "request {}: {} tokens vs {}",
                    rb.id,
                    rb.ids.len(),
                    ra.ids.len()
                ),
            });
        }
    }
    None
}
