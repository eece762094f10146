//! The instruction-count gate: current own-code instructions per token
//! against a baseline's, per backend, with one tight threshold. Counts are
//! deterministic, so there is no interval and no "inconclusive": a backend
//! passes or regresses every time. Exit codes are the timing gate's
//! (`crate::gate::EXIT_*`).

use super::{InstructionsFile, Outcome, FORMAT};
use crate::gate::{EXIT_ERROR, EXIT_PASS, EXIT_REGRESSION};

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// More than the threshold above the baseline.
    Regression,
    /// More than the threshold below: passes, but the baseline is stale.
    Improved,
    /// Counted in the baseline, not now: an error (the check lost its reach).
    Lost(String),
    /// Not counted in either, or only now: informational.
    Informational(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct GateRow {
    pub backend: String,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    pub rows: Vec<GateRow>,
    /// `key: baseline → current` for every toolchain entry that differs.
    pub toolchain_changes: Vec<String>,
    /// True when the toolchain differs and that was allowed: nothing gated.
    pub informational: bool,
    pub threshold: f64,
    pub exit_code: i32,
}

/// Compares `current` with `baseline`. A different toolchain (compiler,
/// MLX, Python, Go or valgrind version) changes counts without any change in
/// the code, so it is an error unless `allow_toolchain_change`, which turns
/// the whole comparison informational (exit 0).
pub fn gate(
    baseline: &InstructionsFile,
    current: &InstructionsFile,
    threshold: f64,
    allow_toolchain_change: bool,
) -> GateOutcome {
    let toolchain_changes = toolchain_changes(baseline, current);
    let informational = !toolchain_changes.is_empty() && allow_toolchain_change;
    let mut rows: Vec<GateRow> = baseline
        .backends
        .iter()
        .map(|b| {
            let base = counted(&b.outcome);
            let now = current.backends.iter().find(|c| c.name == b.name);
            let cur = now.and_then(|c| counted(&c.outcome));
            let verdict = match (base, cur) {
                (Some(bv), Some(cv)) => judge(bv, cv, threshold),
                (Some(_), None) => Verdict::Lost(match now.map(|c| &c.outcome) {
                    Some(Outcome::NotCounted { reason }) => format!("not counted now: {reason}"),
                    _ => "not in the current file (name it in --backends)".into(),
                }),
                (None, _) => Verdict::Informational(not_counted_note(&b.outcome, "baseline")),
            };
            row(&b.name, base, cur, verdict)
        })
        .collect();
    for c in &current.backends {
        if !baseline.backends.iter().any(|b| b.name == c.name) {
            let note = "not in the baseline (record a new one to gate it)".to_string();
            let verdict = match &c.outcome {
                Outcome::NotCounted { reason } => {
                    Verdict::Informational(format!("not counted: {reason}"))
                }
                Outcome::Counted(_) => Verdict::Informational(note),
            };
            rows.push(row(&c.name, None, counted(&c.outcome), verdict));
        }
    }
    let exit_code = exit_code(&rows, &toolchain_changes, informational);
    GateOutcome {
        rows,
        toolchain_changes,
        informational,
        threshold,
        exit_code,
    }
}

fn row(name: &str, baseline: Option<f64>, current: Option<f64>, verdict: Verdict) -> GateRow {
    GateRow {
        backend: name.to_string(),
        baseline,
        current,
        verdict,
    }
}

fn counted(o: &Outcome) -> Option<f64> {
    match o {
        Outcome::Counted(c) => Some(c.per_token),
        Outcome::NotCounted { .. } => None,
    }
}

fn not_counted_note(o: &Outcome, which: &str) -> String {
    match o {
        Outcome::NotCounted { reason } => format!("not counted in the {which}: {reason}"),
        Outcome::Counted(_) => String::new(),
    }
}

fn judge(baseline: f64, current: f64, threshold: f64) -> Verdict {
    let change = current / baseline - 1.0;
    if change > threshold {
        Verdict::Regression
    } else if change < -threshold {
        Verdict::Improved
    } else {
        Verdict::Pass
    }
}

fn toolchain_changes(baseline: &InstructionsFile, current: &InstructionsFile) -> Vec<String> {
    let mut keys: Vec<&String> = baseline.toolchain.keys().collect();
    keys.extend(current.toolchain.keys());
    keys.sort();
    keys.dedup();
    let mut changes: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (b, c) = (baseline.toolchain.get(k), current.toolchain.get(k));
            let show = |v: Option<&String>| v.map_or("(none)".to_string(), |s| s.clone());
            (b != c).then(|| format!("{k}: {} → {}", show(b), show(c)))
        })
        .collect();
    if baseline.format != current.format || current.format != FORMAT {
        changes.push(format!("format: {} → {}", baseline.format, current.format));
    }
    changes
}

fn exit_code(rows: &[GateRow], toolchain_changes: &[String], informational: bool) -> i32 {
    if informational {
        return EXIT_PASS;
    }
    let lost = rows.iter().any(|r| matches!(r.verdict, Verdict::Lost(_)));
    if !toolchain_changes.is_empty() || lost {
        EXIT_ERROR
    } else if rows.iter().any(|r| r.verdict == Verdict::Regression) {
        EXIT_REGRESSION
    } else {
        EXIT_PASS
    }
}

impl GateOutcome {
    /// The verdict as text: one line per backend, then the outcome.
    pub fn render(&self) -> String {
        let mut out = format!(
            "instruction-count gate (own-code instructions per token, threshold +{:.2}%):\n",
            self.threshold * 100.0
        );
        for r in &self.rows {
            let num = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
            let change = match (r.baseline, r.current) {
                (Some(b), Some(c)) => format!("{:+.3}%", (c / b - 1.0) * 100.0),
                _ => "–".into(),
            };
            let verdict = match &r.verdict {
                Verdict::Pass => "pass".to_string(),
                Verdict::Regression => "REGRESSION".to_string(),
                Verdict::Improved => "improved (pass; record a new baseline)".to_string(),
                Verdict::Lost(why) => format!("ERROR: {why}"),
                Verdict::Informational(why) => format!("informational: {why}"),
            };
            out += &format!(
                "  {:<18} baseline {:>12}  current {:>12}  {:>9}  {verdict}\n",
                r.backend,
                num(r.baseline),
                num(r.current),
                change
            );
        }
        if !self.toolchain_changes.is_empty() {
            let what = if self.informational {
                "different toolchain: informational only, nothing gated"
            } else {
                "different toolchain: counts are not comparable (record a new baseline with \
                 this toolchain, or pass --allow-toolchain-change to see them as information)"
            };
            out += &format!("  {what}:\n");
            for c in &self.toolchain_changes {
                out += &format!("    {c}\n");
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "count_gate_tests.rs"]
mod tests;
