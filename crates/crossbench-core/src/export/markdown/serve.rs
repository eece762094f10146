//! summary.md of a serve run: per load point a throughput–latency table
//! (one row per design), or for a sweep one table per design over the grid,
//! each row with the paired per-rep ratios vs native-cpp and their
//! distribution-free intervals (with their confidence where below 95%); then the equal-work verdicts, loudly when one fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::md_text;
use crate::serve::{DesignServe, EqualityCheck, ServeResults};
use crate::stats::Interval;
use crate::units::{fmt_ns, fmt_pct_change};

const HEADER: &str = "out tok/s | req/s | TTFT p50 | TTFT p99 | TPOT p50 | TPOT p99 | ITL p99 | e2e p99 | queue p99 | goodput req/s (SLO met) | crossings/tok | CPU | threads | tok/s vs floor | TPOT p50 vs floor | TTFT p99 vs floor |";
const ALIGN: &str =
    "---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

pub(super) fn serve_section(md: &mut String, s: &ServeResults) {
    let _ = writeln!(
        md,
        "## Serving under load ({} loop, {} measured + {} warm-up requests per run, max batch {})\n",
        if s.arrival == crate::scenario::Arrival::Closed { "closed" } else { "open" },
        s.requests,
        s.warmup_requests,
        s.max_batch
    );
    let _ = writeln!(
        md,
        "Medians over reps (each rep: every design once, fresh worker, Williams order). SLO: TTFT ≤ {} ms and TPOT ≤ {} ms. Ratios vs {}: median of the per-rep paired ratio [distribution-free interval, 95% where the reps allow; its confidence follows when lower]; warm-up requests excluded. CPU = worker process CPU during the serve (pipe designs: + the driver as client).\n",
        s.slo.ttft_ms,
        s.slo.tpot_ms,
        md_text(&s.floor)
    );
    if s.points.len() > 1 {
        per_design_tables(md, s);
    } else {
        for p in &s.points {
            let _ = writeln!(md, "### {}\n", md_text(&p.label));
            let _ = writeln!(md, "| Design | {HEADER}\n|---|{ALIGN}");
            for d in &p.designs {
                let _ = writeln!(md, "| {} | {}", design_name(d), cells(d));
            }
            md.push('\n');
        }
    }
    for p in &s.points {
        verdict(md, &p.label, "step schedule", &p.schedule_check);
        verdict(md, &p.label, "token ids per request", &p.ids_check);
    }
    md.push('\n');
    claims_table(md, s);
}

/// The design note's claims under load (crate::serve::claims).
fn claims_table(md: &mut String, s: &ServeResults) {
    let rows = crate::serve::claims::judge(s);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(md, "### The design note's claims under load\n");
    let _ = writeln!(
        md,
        "| claim | design | load | measured | verdict |\n|---|---|---|---|---|"
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            md_text(r.claim),
            md_text(&r.design),
            md_text(&r.point),
            md_text(&r.measured),
            md_text(&r.verdict)
        );
    }
    md.push('\n');
}

/// A sweep: one table per design, one row per load point.
fn per_design_tables(md: &mut String, s: &ServeResults) {
    let names: Vec<&str> = s.points[0]
        .designs
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    for name in names {
        let _ = writeln!(md, "### {}\n", md_text(name));
        let _ = writeln!(md, "| Load | {HEADER}\n|---|{ALIGN}");
        for p in &s.points {
            if let Some(d) = p.designs.iter().find(|d| d.name == name) {
                let status = if d.error.is_some() {
                    format!(" ({})", d.status.as_str())
                } else {
                    String::new()
                };
                let _ = writeln!(md, "| {}{status} | {}", md_text(&p.label), cells(d));
            }
        }
        md.push('\n');
    }
}

fn design_name(d: &DesignServe) -> String {
    let mut name = md_text(&d.name);
    if !d.shim_engine {
        name.push_str(" (other engine)");
    }
    if d.error.is_some() {
        let _ = write!(name, " ({})", d.status.as_str());
    }
    name
}

/// The row's cells after its first column.
fn cells(d: &DesignServe) -> String {
    let m = &d.summary;
    let num = |k: &str, digits: usize| m.get(k).map_or("–".into(), |v| format!("{v:.digits$}"));
    let ns = |k: &str| m.get(k).map_or("–".into(), |v| fmt_ns(*v));
    let goodput = match (m.get("goodput_requests_per_s"), m.get("slo_attainment")) {
        (Some(g), Some(a)) => format!("{g:.2} ({:.0}%)", a * 100.0),
        _ => "–".into(),
    };
    let cpu = match (m.get("process_cpu_ns"), m.get("client_cpu_ns")) {
        (Some(w), Some(c)) => format!("{} + {}", fmt_ns(*w), fmt_ns(*c)),
        (Some(w), None) => fmt_ns(*w),
        (None, Some(c)) => format!("client {}", fmt_ns(*c)),
        (None, None) => "–".into(),
    };
    let ratio = |k: &str| ratio_cell(&d.vs_floor, k);
    format!(
        "{} | {} | {} | {} | {} | {} | {} | {} | {} | {goodput} | {} | {cpu} | {} | {} | {} | {} |",
        num("output_tokens_per_s", 1),
        num("requests_per_s", 2),
        ns("ttft_p50_ns"),
        ns("ttft_p99_ns"),
        ns("tpot_p50_ns"),
        ns("tpot_p99_ns"),
        ns("itl_p99_ns"),
        ns("e2e_p99_ns"),
        ns("queue_p99_ns"),
        num("crossings_per_token", 2),
        num("os_threads", 0),
        ratio("output_tokens_per_s"),
        ratio("tpot_p50_ns"),
        ratio("ttft_p99_ns"),
    )
}

fn ratio_cell(map: &BTreeMap<String, Interval>, key: &str) -> String {
    match map.get(key) {
        None => "–".into(),
        Some(ci) if ci.samples < crate::overhead::MIN_ROUNDS_FOR_RESOLUTION => {
            format!(
                "{} (n={}, no interval)",
                fmt_pct_change(ci.estimate),
                ci.samples
            )
        }
        Some(ci) => crate::overhead::fmt_ratio_ci_conf(ci),
    }
}

fn verdict(md: &mut String, label: &str, what: &str, c: &EqualityCheck) {
    let label = md_text(label);
    if !c.applicable {
        let _ = writeln!(md, "- {label}, {what}: not checked ({}).", md_text(&c.note));
    } else if c.all_equal {
        let _ = writeln!(
            md,
            "- {label}, {what}: equal in all {} runs compared with {}.",
            c.compared,
            md_text(c.reference.as_deref().unwrap_or("?"))
        );
    } else {
        let _ = writeln!(
            md,
            "- **{label}, {what}: EQUAL-WORK CHECK FAILED** (compared with {}):",
            md_text(c.reference.as_deref().unwrap_or("?"))
        );
        for m in &c.mismatches {
            let _ = writeln!(md, "  - **{}**", md_text(m));
        }
    }
}
