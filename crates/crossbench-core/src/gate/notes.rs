//! The gate's notes: what about the two runs a reader must know before
//! trusting its verdicts (injected slowdowns, another setup, another
//! machine, another run design, noise).

use super::environment_change::{blas, Change};
use super::machine;
use crate::baseline::Baseline;
use crate::results::describe_slowdowns;

pub(super) fn notes(
    baseline: &Baseline,
    current: &Baseline,
    same: bool,
    changes: &[Change],
) -> Vec<String> {
    let mut notes = Vec::new();
    if !current.injected_slowdowns.is_empty() {
        notes.push(format!(
            "current run has INJECTED slowdowns ({}): not a clean measurement",
            describe_slowdowns(&current.injected_slowdowns)
        ));
    }
    notes.extend(setup_notes(changes));
    let differs = machine::differences(&baseline.environment, &current.environment);
    // A setup change alone already says absolute times are informational.
    let only_setup_changed = differs.is_empty() && !changes.is_empty();
    if !same && !only_setup_changed {
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

/// One loud note for the refused changes the caller allowed, one for the
/// rest (another OpenBLAS core): each names every fact that differs.
fn setup_notes(changes: &[Change]) -> Vec<String> {
    let list = |refused: bool| {
        let facts: Vec<String> = changes
            .iter()
            .filter(|c| c.refused == refused)
            .map(Change::describe)
            .collect();
        (!facts.is_empty()).then(|| facts.join("; "))
    };
    let mut out = Vec::new();
    if let Some(facts) = list(true) {
        out.push(format!(
            "ENVIRONMENT CHANGED, judged only because --allow-environment-change was given ({facts}): \
             an overhead that moved may have moved with the setup, not the code; absolute times and memory are informational"
        ));
    }
    if let Some(facts) = list(false) {
        out.push(format!(
            "setup differs ({facts}): the same BLAS library picked other kernels for this CPU; \
             overheads are measured side by side within each run and stay gated, absolute times and memory are informational"
        ));
    }
    out
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
    let wait = |b: &Baseline| blas(&b.environment.blas).thread_wait;
    let (bw, cw) = (wait(baseline), wait(current));
    if bw != cw {
        differs.push(format!(
            "BLAS thread wait `{bw}` (baseline) vs `{cw}` (current)"
        ));
    }
    (!differs.is_empty()).then(|| format!("run design differs: {}", differs.join("; ")))
}
