//! Human-readable and markdown forms of a gate report.

use std::fmt::Write as _;

use super::{Check, GateReport, Verdict};

fn ratio_text(c: &Check) -> String {
    match &c.ratio {
        Some(ci) if ci.samples > 1 => crate::overhead::fmt_ratio_ci(ci),
        Some(ci) => crate::units::fmt_pct_change(ci.estimate),
        None => String::new(),
    }
}

fn headline(r: &GateReport) -> &'static str {
    match r.exit_code() {
        super::EXIT_REGRESSION => "REGRESSION",
        super::EXIT_INCONCLUSIVE => {
            "INCONCLUSIVE (too noisy, or intervals too wide for the threshold; not a pass)"
        }
        _ => "pass",
    }
}

fn method(r: &GateReport) -> String {
    let interval = match r.method {
        super::Method::RankShift => {
            "rank-shift (Hodges–Lehmann) interval of the ratio current / baseline"
        }
        super::Method::MedianBootstrap => {
            "bootstrap interval of the ratio of medians (current / baseline)"
        }
    };
    let absolute = if r.same_machine {
        format!(
            "+{:.1}% (absolute times, same machine)",
            r.absolute_threshold * 100.0
        )
    } else {
        "absolute times informational (not the same machine)".to_string()
    };
    format!(
        "method: {:.0}% {interval}; regression only when the whole interval is beyond +{:.1}% (overheads) / {absolute}",
        r.confidence * 100.0,
        r.threshold * 100.0,
    )
}

pub(super) fn text(r: &GateReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "gate: baseline {} vs current {}",
        r.baseline, r.current
    );
    let _ = writeln!(out, "{}", method(r));
    for n in &r.notes {
        let _ = writeln!(out, "NOTE: {n}");
    }
    let mut backend = "";
    for c in &r.checks {
        if c.backend != backend {
            backend = &c.backend;
            let _ = writeln!(out, "{backend}:");
        }
        let _ = writeln!(
            out,
            "  {:<12} {:<32} {:<28} {}",
            c.verdict.as_str(),
            c.metric,
            ratio_text(c),
            c.detail
        );
    }
    let _ = writeln!(out, "verdict: {}", headline(r));
    out
}

pub(super) fn markdown(r: &GateReport) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## crossbench regression gate: {}\n", headline(r));
    let _ = writeln!(
        md,
        "Baseline `{}` vs current `{}`. {}.\n",
        r.baseline,
        r.current,
        method(r)
    );
    for n in &r.notes {
        let _ = writeln!(md, "- **{n}**");
    }
    if !r.notes.is_empty() {
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "| Backend | Metric | Verdict | Change [interval] | Detail |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---|");
    for c in &r.checks {
        // Exact checks that pass are many and dull: keep the table readable.
        if c.verdict == Verdict::Pass && c.ratio.is_none() {
            continue;
        }
        let v = match c.verdict {
            Verdict::Regression | Verdict::Inconclusive => format!("**{}**", c.verdict.as_str()),
            _ => c.verdict.as_str().to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            c.backend,
            c.metric,
            v,
            ratio_text(c),
            c.detail
        );
    }
    let exact = r
        .checks
        .iter()
        .filter(|c| c.ratio.is_none() && c.verdict == Verdict::Pass)
        .count();
    let _ = writeln!(md, "\n{exact} exact checks (token counts, greedy ids, crossings per token) passed and are not listed.");
    md
}
