//! Human-readable and markdown forms of a gate report.

use std::fmt::Write as _;

use super::{Check, GateReport, Verdict};
use crate::export::{md_code, md_text};
use crate::units::fmt_confidence;

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
        super::Method::PairedAb => {
            return format!(
                "method: same-job A/B on this machine, base and head interleaved rep by rep in one run \
                 (or whole runs alternated ABBA: the notes say which); {} signed-rank interval \
                 of the Hodges–Lehmann head / base ratio over the rounds (or pairs of runs); \
                 regression when the whole interval is above +{t:.1}%, pass when below it \
                 (improvement when below -{t:.1}%), inconclusive when it straddles; \
                 a backend's ratio to native-cpp fails the gate when wholly above but does not \
                 hold a pass when it straddles (its decode checks bound it)",
                fmt_confidence(r.confidence),
                t = r.threshold * 100.0
            )
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
        "method: {} {interval}; regression only when the whole interval is beyond +{:.1}% (overheads) / {absolute}",
        fmt_confidence(r.confidence),
        r.threshold * 100.0,
    )
}

/// "baseline X vs current Y"; the A/B's "base X vs head Y".
fn sides(r: &GateReport) -> String {
    match r.method {
        super::Method::PairedAb => format!("base {} vs head {}", r.baseline, r.current),
        _ => format!("baseline {} vs current {}", r.baseline, r.current),
    }
}

pub(super) fn text(r: &GateReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "gate: {}", sides(r));
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
    let (base, head) = match r.method {
        super::Method::PairedAb => ("Base", "head"),
        _ => ("Baseline", "current"),
    };
    let _ = writeln!(
        md,
        "{base} {} vs {head} {}. {}.\n",
        md_code(&r.baseline),
        md_code(&r.current),
        method(r)
    );
    // Names, notes and details come from the results files (error text and
    // worker stderr among them): escaped, so they stay in their cell.
    for n in &r.notes {
        let _ = writeln!(md, "- **{}**", md_text(n));
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
            md_text(&c.backend),
            md_text(&c.metric),
            v,
            ratio_text(c),
            md_text(&c.detail)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::md_cells;

    const STDERR: &str = "worker said <img src=x onerror=alert(1)> | x\n`y` [z](javascript:0)";

    #[test]
    fn hostile_names_and_details_stay_in_their_cells() {
        let check = Check {
            backend: format!("b|{STDERR}"),
            metric: "decode_ns".into(),
            verdict: Verdict::Inconclusive,
            ratio: None,
            detail: STDERR.into(),
        };
        let r = GateReport {
            baseline: "base`|x".into(),
            current: "cur".into(),
            same_machine: true,
            threshold: 0.05,
            absolute_threshold: 0.1,
            confidence: 0.95,
            method: super::super::Method::RankShift,
            checks: vec![check],
            notes: vec![STDERR.into()],
        };
        let md = markdown(&r);
        let row = md
            .lines()
            .find(|l| l.starts_with("| b"))
            .unwrap_or_else(|| panic!("no check row in {md}"));
        let cells = md_cells(row);
        assert_eq!(cells.len(), 5, "{row}");
        assert_eq!(cells[1], "decode_ns");
        assert!(cells[4].starts_with("worker said \\<img") && cells[4].contains("x \\`y"));
        // Only escaped forms: no raw tag, no link.
        assert!(!md.contains(" <img") && !md.contains("[z]"), "{md}");
        assert!(md.contains("- **worker said \\<img"), "{md}");
        assert!(md.contains("Baseline ``base`\\|x`` vs"), "{md}");
    }
}
