//! The gate's notes: what about the two runs a reader must know before
//! trusting its verdicts (injected slowdowns, another machine, another run
//! design, noise).

use super::{machine, opt};
use crate::baseline::Baseline;
use crate::results::describe_slowdowns;

pub(super) fn notes(baseline: &Baseline, current: &Baseline, same: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if !current.injected_slowdowns.is_empty() {
        notes.push(format!(
            "current run has INJECTED slowdowns ({}): not a clean measurement",
            describe_slowdowns(&current.injected_slowdowns)
        ));
    }
    if !same {
        let differs = machine::differences(&baseline.environment, &current.environment);
        let why = if differs.is_empty() {
            "not identified as the same machine: boot id, CPU or cores unrecorded, or --same-machine no".to_string()
        } else {
            differs.join("; ")
        };
        notes.push(format!(
            "different machine ({why}): absolute times and memory are informational only"
        ));
    }
    if let Some(change) = design_change(baseline, current) {
        notes.push(change);
    }
    if current.noisy {
        notes.push("current run is flagged NOISY in its results (a backend's decode-time CV is above the limit)".into());
    }
    if baseline.noisy {
        notes.push(
            "baseline is flagged noisy: its intervals are wide, the gate is less sensitive".into(),
        );
    }
    notes
}

/// "run design differs: residency all (baseline) vs one (current); ...", when
/// the residency, warm-up length or BLAS setup changed. Not an error: the
/// overheads stay comparable, but a resident worker's reps are not independent
/// and the OpenBLAS thread wait changes the per-token work (docs/methodology.md, "Run design").
fn design_change(baseline: &Baseline, current: &Baseline) -> Option<String> {
    let residency = |b: &Baseline| {
        b.design.as_ref().map_or("unrecorded".to_string(), |d| {
            let warm = d
                .warmup_tokens
                .map_or(String::new(), |n| format!(", warm-ups of {n} tokens"));
            format!("residency {}{warm}", d.residency.as_str())
        })
    };
    let mut differs = Vec::new();
    let (b, c) = (residency(baseline), residency(current));
    if b != c {
        differs.push(format!("{b} (baseline) vs {c} (current)"));
    }
    let (bb, cb) = (
        opt(&baseline.environment.blas),
        opt(&current.environment.blas),
    );
    if bb != cb {
        differs.push(format!("BLAS {bb} (baseline) vs {cb} (current)"));
    }
    (!differs.is_empty()).then(|| format!("run design differs: {}", differs.join("; ")))
}
