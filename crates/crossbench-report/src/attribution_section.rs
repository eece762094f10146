//! "Where the time goes" (`bench --phases`): each backend's typical decode
//! token split into its phases, as a stacked bar chart and a table, beside
//! the design note's attribution (model computation 99.9%, memory bandwidth
//! 0.09%, cgo overhead 0.01%).

use crossbench_core::analysis::claims::phase_share;
use crossbench_core::attribution::PhaseSplit;
use crossbench_core::results::BenchResults;
use crossbench_core::stats::Interval;
use plotters::prelude::*;

use crate::charts::{stacked_percent_bars, StackPart};
use crate::claim_row::verdict;
use crate::html::{self, fmt_ns, swatch, Cell};
use crate::ReportError;

/// The note's categories, each a sum of phases (crossbench_core::phases).
pub const CATEGORIES: [(&str, &[&str], RGBColor); 4] = [
    (
        "MLX (dispatch + wait)",
        &["dispatch", "wait"],
        RGBColor(0x1b, 0x9e, 0x77),
    ),
    (
        "host (build, loop, consumer)",
        &["build", "host", "consumer"],
        RGBColor(0x75, 0x70, 0xb3),
    ),
    ("crossing", &["crossing"], RGBColor(0xd9, 0x5f, 0x02)),
    ("IPC (pipe)", &["pipe"], RGBColor(0xe7, 0x29, 0x8a)),
];
const UNATTRIBUTED: RGBColor = RGBColor(0xbb, 0xbb, 0xbb);

/// Nanoseconds of each category in the typical token, then unattributed.
pub fn category_ns(s: &PhaseSplit) -> [f64; 5] {
    let mut out = [0.0; 5];
    for (i, (_, phases, _)) in CATEGORIES.iter().enumerate() {
        out[i] = phases.iter().filter_map(|p| s.phases_ns.get(*p)).sum();
    }
    out[4] = s.unattributed_ns;
    out
}

fn splits(r: &BenchResults) -> Vec<(&str, &PhaseSplit)> {
    r.backends
        .iter()
        .filter_map(|b| b.phase_split.as_ref().map(|s| (b.name.as_str(), s)))
        .collect()
}

/// The section; empty when the run recorded no phases.
pub fn section(r: &BenchResults) -> Result<String, ReportError> {
    let rows = splits(r);
    if rows.is_empty() {
        return Ok(String::new());
    }
    let chart = crate::charts::svg_or_note(stacked_bars(&rows))?;
    let caption = "<b>The typical decode token, split into phases</b> (mean of the middle half of tokens by ITL, \
        as a share of their ITL). The shares of crossing and IPC are far too small to see here: the table has them.";
    let mut out = String::from("<h2>Where the time goes</h2>\n");
    out.push_str(&format!(
        "<figure data-chart=\"phase-split\" data-series=\"{}\">\n<figcaption>{caption}</figcaption>\n{chart}\n</figure>\n",
        rows.len()
    ));
    out.push_str(&table(&rows));
    out.push_str(&note_comparison(&rows, r));
    out.push_str(&flame_graph_links(r));
    Ok(out)
}

/// Links to the flame graphs `crossbench profile` wrote beside the report.
fn flame_graph_links(r: &BenchResults) -> String {
    let Some(p) = r.profiling.as_ref().filter(|p| !p.flame_graphs.is_empty()) else {
        return String::new();
    };
    let links: Vec<String> = p
        .flame_graphs
        .iter()
        .map(|(backend, file)| match relative_href(file) {
            Some(href) => format!(
                "<a href=\"{}\">{}</a>",
                html::escape(href),
                html::escape(backend)
            ),
            None => format!(
                "{} (<code>{}</code>: not a file beside this report, no link)",
                html::escape(backend),
                html::escape(file)
            ),
        })
        .collect();
    let event = p.perf_event.as_deref().unwrap_or("perf");
    format!(
        "<p class=\"note\">Flame graphs of each worker's CPU time (crossbench profile, perf record on {}): {}. \
         Files beside this report; they open in a browser, and a click zooms.</p>\n",
        html::escape(event),
        links.join(" · ")
    )
}

/// `file` when it is a plain relative path (what `crossbench profile`
/// writes): no scheme (`javascript:`, `http:`), no absolute or
/// protocol-relative path, no control characters. A link in the page must
/// not lead anywhere the results file says.
fn relative_href(file: &str) -> Option<&str> {
    let path_end = file.find(['?', '#']).unwrap_or(file.len());
    let has_scheme = file[..path_end]
        .split('/')
        .next()
        .is_some_and(|first| first.contains(':'));
    let ok = !file.is_empty()
        && !has_scheme
        && !file.starts_with(['/', '\\'])
        && !file.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(file)
}

fn pct(part: f64, whole: f64) -> String {
    if whole <= 0.0 || part == 0.0 {
        return "–".into();
    }
    let p = part / whole * 100.0;
    if p > 0.0 && p < 0.1 {
        format!("{p:.3}%")
    } else {
        format!("{p:.1}%")
    }
}

fn table(rows: &[(&str, &PhaseSplit)]) -> String {
    let body: Vec<(Option<&str>, Vec<Cell>)> = rows
        .iter()
        .map(|(name, s)| {
            let c = category_ns(s);
            let mut cells = vec![Cell::Raw(swatch(name)), Cell::Num(fmt_ns(s.itl_ns))];
            for ns in c {
                // No span of the phase at all: not part of this backend's design.
                let text = if ns == 0.0 {
                    "–".into()
                } else {
                    format!("{} ({})", fmt_ns(ns), pct(ns, s.itl_ns))
                };
                cells.push(Cell::Num(text));
            }
            cells.push(Cell::Num(format!("{:.2}%", s.coverage_median * 100.0)));
            cells.push(Cell::Num(s.pipe_latency_ns.map_or("–".into(), fmt_ns)));
            (None, cells)
        })
        .collect();
    let headers = [
        "Backend",
        "typical ITL",
        "MLX (dispatch + wait)",
        "host (build, loop, consumer)",
        "crossing",
        "IPC (pipe)",
        "unattributed",
        "phases / ITL (median)",
        "pipe delay",
    ];
    format!(
        "{}<p class=\"note\">Phases as the worker's own thread sees them (docs/protocol.md, <code>phases</code>): MLX = \
         <code>async_eval</code> plus the <code>item()</code> wait (on MLX's CPU stream <code>async_eval</code> returns only \
         once few enough of the step's tasks are queued, so it holds most of the compute); host = building the next step's \
         graph, the loop's bookkeeping and the consumer; crossing = the per-token call into the shim or the callback out of \
         it, with what the shim's entry guard does; IPC = writing the token line. Unattributed = instants no span covered. \
         phases / ITL: the median over all decode tokens of the sum of a token's phases over its measured ITL. \
         Pipe delay: the driver's receipt minus the worker's stamp, which delays tokens but is not part of the ITL.</p>\n",
        html::table(&headers, &body)
    )
}

/// The note's "model computation 99.9%" and "cgo overhead 0.01%" as the
/// ranges their rounding allows, in percent of a token.
const COMPUTE_CLAIM: (f64, f64) = (99.85, 99.95);
const CGO_CLAIM: (f64, f64) = (0.005, 0.015);

/// `phases`' share of `backend`'s decode tokens (core's `phase_share`).
fn share_ci(r: &BenchResults, backend: &str, phases: &[&str]) -> Option<Interval> {
    let b = r.backends.iter().find(|b| b.name == backend)?;
    phase_share(b, phases)
}

/// "98.9% [98.7%, 99.0%] · does not hold" against the claimed range.
fn judged(ci: Option<Interval>, (lo, hi): (f64, f64)) -> Cell {
    let Some(ci) = ci else {
        return Cell::Text("not measured".into());
    };
    let v = verdict(&ci, lo, hi);
    // One precision for the estimate and both bounds.
    let digits = if ci.estimate.abs() < 1.0 { 3 } else { 1 };
    let fmt = |x: f64| format!("{x:.digits$}%");
    Cell::Raw(format!(
        "{} [{}, {}] · <span class=\"{}\">{}</span>",
        fmt(ci.estimate),
        fmt(ci.low),
        fmt(ci.high),
        v.css(),
        v.text()
    ))
}

/// The note's attribution beside this run's, per backend, judged like the
/// claims table: holds when the interval lies inside the claimed range.
fn note_comparison(rows: &[(&str, &PhaseSplit)], r: &BenchResults) -> String {
    let span = r.harness.as_ref().and_then(|h| h.record_span_ns);
    let body: Vec<(Option<&str>, Vec<Cell>)> = rows
        .iter()
        .map(|(name, s)| {
            let c = category_ns(s);
            let caller = crossbench_core::backend::descriptor_of(name).caller;
            let cgo = if caller == crossbench_core::backend::CallerLanguage::Go {
                judged(share_ci(r, name, &["crossing"]), CGO_CLAIM)
            } else {
                Cell::Text(format!("no cgo (crossing {})", pct(c[2], s.itl_ns)))
            };
            (
                None,
                vec![
                    Cell::Raw(swatch(name)),
                    judged(share_ci(r, name, &["dispatch", "wait"]), COMPUTE_CLAIM),
                    Cell::Text("not separable on the host's timeline".into()),
                    cgo,
                    Cell::Num(pct(c[1] + c[3], s.itl_ns)),
                ],
            )
        })
        .collect();
    let headers = [
        "Backend",
        "model computation (note: 99.9%)",
        "memory bandwidth (note: 0.09%)",
        "cgo overhead (note: 0.01%)",
        "host + IPC (not in the note)",
    ];
    let cost = span.map_or(String::new(), |ns| {
        format!(" Recording costs {ns:.0} ns a span here (two clock reads), a few spans per token: part of that lands in the phase it bounds.")
    });
    format!(
        "<h3>The note's attribution, measured</h3>\n{}<p class=\"note\">The note's split is for Mistral-7B through cgo on Apple \
         silicon; this run's model and machine are in the metadata below. Model computation is taken as the MLX share (the \
         host blocked in <code>async_eval</code> or <code>item()</code>), cgo overhead as a Go backend's crossing share: \
         each the median over decode tokens with its 95% distribution-free interval (tokens of one generation are not \
         independent, so read it as descriptive), judged against the range the note's rounding allows (99.85-99.95%, \
         0.005-0.015%). Memory bandwidth is inside MLX's kernels and cannot be told apart from compute by timestamps \
         on the host.{cost}</p>\n",
        html::table(&headers, &body)
    )
}

/// One horizontal bar per backend, 0-100% of its typical token.
fn stacked_bars(rows: &[(&str, &PhaseSplit)]) -> Result<String, ReportError> {
    let parts: Vec<StackPart> = CATEGORIES
        .iter()
        .map(|c| StackPart {
            label: c.0,
            color: c.2,
        })
        .chain([StackPart {
            label: "unattributed",
            color: UNATTRIBUTED,
        }])
        .collect();
    let rows: Vec<(&str, Vec<f64>)> = rows
        .iter()
        .map(|(name, s)| (*name, category_ns(s).to_vec()))
        .collect();
    stacked_percent_bars(&parts, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn split(wait: f64, crossing: f64, pipe: f64) -> PhaseSplit {
        let phases_ns: BTreeMap<String, f64> = crossbench_core::phases::PHASE_NAMES
            .iter()
            .map(|p| (p.to_string(), 0.0))
            .chain([
                ("wait".into(), wait),
                ("build".into(), 100.0),
                ("crossing".into(), crossing),
                ("pipe".into(), pipe),
            ])
            .collect();
        PhaseSplit {
            tokens: 10,
            itl_ns: wait + 100.0 + crossing + pipe + 10.0,
            phases_ns,
            unattributed_ns: 10.0,
            coverage_median: 0.99,
            pipe_latency_ns: (pipe > 0.0).then_some(50.0),
        }
    }

    #[test]
    fn only_relative_paths_become_links() {
        for ok in ["flame-ffi-token.svg", "flames/a b.svg", "x.svg#top"] {
            assert_eq!(relative_href(ok), Some(ok));
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:x",
            "https://example.com/x.svg",
            "//example.com/x",
            "/etc/passwd",
            "\\\\host\\x",
            "a\nb",
            "",
        ] {
            assert_eq!(relative_href(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn categories_sum_the_phases_the_note_names() {
        let c = category_ns(&split(9_000.0, 30.0, 0.0));
        assert_eq!(c, [9_000.0, 100.0, 30.0, 0.0, 10.0]);
    }

    #[test]
    fn the_table_gives_shares_and_a_dash_for_a_phase_the_design_lacks() {
        let a = split(1_000_000.0, 0.0, 2_000.0);
        let b = split(1_000_000.0, 300.0, 0.0);
        let html = table(&[("python-subprocess", &a), ("ffi-token", &b)]);
        assert!(html.contains("300 ns (0.030%)"), "{html}");
        assert!(html.contains("<td class=\"num\">–</td>"), "{html}");
        assert!(html.contains("99.00%"), "{html}");
        let svg = stacked_bars(&[("python-subprocess", &a), ("ffi-token", &b)]).unwrap();
        assert!(svg.contains("aria-label=\"The typical decode token split into phases\""));
    }
}
