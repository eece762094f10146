//! One run's report page: headline table, latency table, charts, claims,
//! metadata and warnings.

use crossbench_core::analysis::token_series::{
    ipc_split_ms, itl_cdf_ms, timeline_ms, typical_transit,
};
use crossbench_core::backend::FLOOR;
use crossbench_core::results::BenchResults;
use crossbench_core::scenario::ScenarioKind;

use crate::backend_cells::{row_class, status_cell};
use crate::chart_guard::figure;
use crate::charts::{self, Bar, Series};
use crate::claims;
use crate::html::{
    self, escape, fmt_bytes, fmt_count, fmt_ns, fmt_opt_ns, fmt_ratio, swatch, Cell,
};
use crate::load::Microbench;
use crate::run_metadata::model_label;
use crate::view::{self, BackendView, CrossingCounts, RunView, State};
use crate::ReportError;

/// The complete HTML document for one run.
pub fn render_run(
    results: &BenchResults,
    micro: Option<&Microbench>,
) -> Result<String, ReportError> {
    let view = RunView::new(results);
    let mut body = header(&view);
    if results.serve.is_some() {
        // A serve run has its own tables; the single-stream sections would be empty rows.
        body.push_str(&crate::serve_section::section(results)?);
        body.push_str(&crate::run_metadata::metadata(&view));
        let title = format!("crossbench {} — {}", results.scenario.name, results.run_id);
        return Ok(html::page(&title, &body));
    }
    body.push_str(&warnings(&view));
    body.push_str(&headline(&view));
    body.push_str(&crate::run_design::resolution_html(results));
    body.push_str(&latency(&view));
    body.push_str(&charts_section(&view)?);
    body.push_str(&crate::attribution_section::section(results)?);
    body.push_str(&claims_section(&view, micro));
    body.push_str(&crate::run_metadata::metadata(&view));
    let title = format!("crossbench {} — {}", results.scenario.name, results.run_id);
    Ok(html::page(&title, &body))
}

fn header(v: &RunView) -> String {
    let r = v.results;
    format!(
        "<h1>crossbench: {} </h1>\n<p class=\"sub\">run <code>{}</code> · {} · model {} · {} · {} · status {}</p>\n<p>{}</p>\n",
        escape(&r.scenario.name),
        escape(&r.run_id),
        escape(&r.started_at),
        escape(&model_label(r)),
        escape(r.environment.cpu_model.as_deref().unwrap_or("unknown CPU")),
        escape(r.environment.device.as_deref().unwrap_or("unknown device")),
        r.status.as_str(),
        escape(&r.scenario.description),
    )
}

fn warnings(v: &RunView) -> String {
    if v.warnings.is_empty() {
        return "<p class=\"ok\">No warnings: every backend completed, greedy tokens agree, no backend is noisy.</p>\n".into();
    }
    let items: String = v
        .warnings
        .iter()
        .map(|w| format!("<li>{}</li>", escape(w)))
        .collect();
    format!(
        "<div class=\"warnings\"><b>Warnings ({})</b><ul>{items}</ul></div>\n",
        v.warnings.len()
    )
}

pub(crate) fn crossings_text(c: &CrossingCounts) -> String {
    let lang = c.caller;
    let parts: Vec<String> = [
        (c.rust_to_c, format!("{lang}→C calls")),
        (c.c_to_rust, format!("C→{lang} callbacks")),
        (c.pipe_per_token, "pipe messages".to_string()),
    ]
    .iter()
    .filter_map(|(v, what)| v.map(|v| format!("{} {what}", fmt_count(v))))
    .collect();
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(", ")
    }
}

/// "103 calls + 0 callbacks", "101 pipe msgs": bar labels.
fn crossings_short(c: &CrossingCounts) -> String {
    let parts: Vec<String> = [
        (c.rust_to_c, "calls"),
        (c.c_to_rust, "callbacks"),
        (c.pipe_per_token, "pipe msgs"),
    ]
    .iter()
    .filter_map(|(v, what)| v.map(|v| format!("{} {what}", fmt_count(v))))
    .collect();
    parts.join(" + ")
}

fn overhead_cell(b: &BackendView, series: &str) -> Cell {
    match b.overhead.get(series) {
        Some(ci) => Cell::Num(fmt_ratio(ci)),
        None if b.name == FLOOR && b.state == State::Ok => Cell::Text("reference".into()),
        None => Cell::Text("—".into()),
    }
}

fn headline(v: &RunView) -> String {
    let rows: Vec<(Option<&str>, Vec<Cell>)> = v
        .backends
        .iter()
        .map(|b| {
            let cells = vec![
                Cell::Raw(swatch(&b.name)),
                Cell::Num(fmt_opt_ns(b.e2e.as_ref().map(|s| s.p50))),
                Cell::Num(
                    b.peak_rss_bytes
                        .map(|m| fmt_bytes(m as f64))
                        .unwrap_or_else(|| "—".into()),
                ),
                Cell::Text(crossings_text(&b.crossings)),
                overhead_cell(b, "e2e_ns"),
                status_cell(b),
            ];
            (row_class(b), cells)
        })
        .collect();
    let headers = [
        "Implementation",
        "Time (median end-to-end)",
        "Memory (peak RSS)",
        "Crossings per generation",
        "Time vs native-cpp (95% CI)",
        "Status",
    ];
    format!(
        "<h2>Headline</h2>\n{}<p class=\"note\">The design note's table, measured. Time: request sent to last token held, median over reps. \
         Memory: the worker's peak resident set (wait4). Crossings: means per generation; FFI calls and callbacks are counted by the shim, \
         pipe messages only for backends whose tokens cross a process boundary one at a time (python-subprocess; \
         the other workers print their stamps after the generation, so nothing crosses their pipe inside it). Ratios are medians of per-round paired ratios to native-cpp with a distribution-free 95% interval (order statistics).</p>\n",
        html::table(&headers, &rows)
    )
}

fn latency(v: &RunView) -> String {
    let rows: Vec<(Option<&str>, Vec<Cell>)> = v
        .backends
        .iter()
        .map(|b| {
            let p = |f: fn(&crossbench_core::stats::Summary) -> f64| {
                Cell::Num(fmt_opt_ns(b.itl.as_ref().map(f)))
            };
            let cells = vec![
                Cell::Raw(swatch(&b.name)),
                Cell::Num(fmt_opt_ns(b.ttft.as_ref().map(|s| s.p50))),
                p(|s| s.p50),
                p(|s| s.p90),
                p(|s| s.p99),
                p(|s| s.max),
                overhead_cell(b, "itl_median_ns"),
                overhead_cell(b, "decode_ns"),
                Cell::Num(fmt_opt_ns(b.load_ns)),
            ];
            (row_class(b), cells)
        })
        .collect();
    let headers = [
        "Backend",
        "TTFT p50",
        "ITL p50",
        "ITL p90",
        "ITL p99",
        "ITL max",
        "ITL vs native-cpp",
        "Decode vs native-cpp",
        "Model load",
    ];
    format!(
        "<h2>Latency</h2>\n{}<p class=\"note\">TTFT: request sent to first token held. ITL: inter-token latency at the consumer, \
         pooled over reps (HdrHistogram, 3 significant digits). Decode: first to last token, per rep.</p>\n",
        html::table(&headers, &rows)
    )
}

/// `prefix-name` when the backend name is a plain identifier, else
/// `prefix-N` (its position): an id made from a name in someone else's file
/// must carry no markup or spaces and stay unique.
pub(crate) fn chart_id(prefix: &str, name: &str, index: usize) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        format!("{prefix}-{name}")
    } else {
        format!("{prefix}-{index}")
    }
}

fn charts_section(v: &RunView) -> Result<String, ReportError> {
    let mut out = String::from("<h2>Charts</h2>\n");
    let with_tokens: Vec<&BackendView> = v
        .ok_backends()
        .filter(|b| {
            b.result
                .is_some_and(|r| r.reps.iter().any(|x| x.consumer_ns.len() > 1))
        })
        .collect();
    if v.results.scenario.kind == ScenarioKind::Load || with_tokens.is_empty() {
        out.push_str("<p class=\"note\">No inter-token data in this run (load scenario or no tokens): latency charts left out.</p>\n");
    } else {
        // One stalled token would squeeze every curve to the left: cut the axis
        // just past the slowest backend's p99 (maxima are in the table).
        let cut_ms = with_tokens
            .iter()
            .filter_map(|b| b.itl.as_ref())
            .map(|s| s.p99)
            .fold(0.0, f64::max)
            * 1.1
            / 1e6;
        // A p99 no axis can hold (an absurd results file): no cut at all.
        let cut_ms = Some(cut_ms).filter(|c| *c > 0.0 && *c <= crate::chart_guard::LIMIT);
        let cut_text = cut_ms.map_or("not cut".into(), |c| {
            format!("cut at {} just past the slowest p99", fmt_ns(c * 1e6))
        });
        let cdf: Vec<Series> = with_tokens
            .iter()
            .map(|b| Series {
                name: b.name.clone(),
                points: view::clip_cdf(itl_cdf_ms(b.result.unwrap()), cut_ms.unwrap_or(0.0)),
            })
            .collect();
        let caption = format!("<b>Inter-token latency distribution</b> (CDF from each backend's HdrHistogram, shared axis, {cut_text}; \
            maxima are in the latency table): further left is faster, a long flat top is a tail of slow tokens.");
        out.push_str(&figure(
            "itl-cdf",
            cdf.len(),
            &caption,
            charts::itl_cdf(&cdf),
        )?);
        let timeline: Vec<Series> = with_tokens
            .iter()
            .map(|b| Series {
                name: b.name.clone(),
                points: timeline_ms(b.result.unwrap()),
            })
            .collect();
        out.push_str(&figure("timeline", timeline.len(), "<b>Per-token latency over the generation</b> (median over reps of each token's latency; \
            token 0, the TTFT, is in the tables): growth along the x axis is the KV cache getting longer, spikes are stalls.", charts::token_timeline(&timeline))?);
    }
    out.push_str(&bar_figures(v)?);
    for (i, b) in with_tokens.iter().enumerate() {
        if let Some(split) = b.result.and_then(ipc_split_ms) {
            out.push_str(&ipc_figure(b, i, &split)?);
        }
    }
    Ok(out)
}

fn bar_figures(v: &RunView) -> Result<String, ReportError> {
    let bar = |b: &BackendView, value: Option<f64>, label: String| Bar {
        name: b.name.clone(),
        value: value.filter(|_| b.state == State::Ok),
        label: match (&b.state, value) {
            (State::Absent, _) => "absent".into(),
            (State::NotOk(status, _), _) => status.clone(),
            (State::Ok, None) => "not measured".into(),
            (State::Ok, Some(_)) => label,
        },
    };
    let time: Vec<Bar> = v
        .backends
        .iter()
        .map(|b| {
            let ns = b.e2e.as_ref().map(|s| s.p50);
            bar(b, ns.map(|n| n / 1e9), fmt_opt_ns(ns))
        })
        .collect();
    let mem: Vec<Bar> = v
        .backends
        .iter()
        .map(|b| {
            let m = b.peak_rss_bytes.map(|m| m as f64);
            bar(b, m.map(|m| m / 1e6), m.map(fmt_bytes).unwrap_or_default())
        })
        .collect();
    let cross: Vec<Bar> = v
        .backends
        .iter()
        .map(|b| bar(b, b.crossings.total(), crossings_short(&b.crossings)))
        .collect();
    let drawn = |bars: &[Bar]| bars.iter().filter(|b| b.value.is_some()).count();
    let mut out = figure(
        "bars-time",
        drawn(&time),
        "<b>End-to-end time</b> per generation (median over reps).",
        charts::bars("end-to-end time (s)", &time),
    )?;
    out.push_str(&figure(
        "bars-memory",
        drawn(&mem),
        "<b>Peak memory</b> of each worker process (RSS).",
        charts::bars("peak RSS (MB)", &mem),
    )?);
    out.push_str(&figure(
        "bars-crossings",
        drawn(&cross),
        "<b>Boundary crossings</b> per generation (see the headline table's note on what counts).",
        charts::bars("crossings per generation", &cross),
    )?);
    Ok(out)
}

fn ipc_figure(
    b: &BackendView,
    index: usize,
    split: &[(f64, f64, f64)],
) -> Result<String, ReportError> {
    let (g, t, share) = typical_transit(split);
    let caption = format!(
        "<b>{}: each token's latency split</b> into worker-side generation (worker's stamp minus the previous token's receipt) \
         and transit over the pipe (receipt minus the worker's stamp); medians over reps. Typical token: {} generating + {} in transit ({share:.1}% transit).",
        escape(&b.name), fmt_ns(g * 1e6), fmt_ns(t * 1e6)
    );
    figure(
        &chart_id("ipc-split", &b.name, index),
        2,
        &caption,
        charts::ipc_split(&b.name, split),
    )
}

fn claims_section(v: &RunView, micro: Option<&Microbench>) -> String {
    let rows: Vec<(Option<&str>, Vec<Cell>)> = claims::evaluate(v, micro)
        .into_iter()
        .map(|c| {
            let verdict = format!(
                "<span class=\"{}\">{}</span>",
                c.verdict.css(),
                c.verdict.text()
            );
            (
                None,
                vec![
                    Cell::Text(c.claim.into()),
                    Cell::Text(c.tested_as),
                    Cell::Text(c.measured),
                    Cell::Num(c.ratio.unwrap_or_else(|| "—".into())),
                    Cell::Raw(verdict),
                ],
            )
        })
        .collect();
    let micro_note = match micro {
        Some(m) => format!("Microbenchmark figures from <code>{}</code>.", escape(&m.file)),
        None => format!("No microbenchmark results given (<code>{}</code> beside the run directories, or <code>crossbench report --microbench FILE</code>).", crate::MICROBENCH_FILE),
    };
    let micro_table = micro.map(micro_claims).unwrap_or_default();
    format!(
        "<h2>The design note's claims</h2>\n<p class=\"note\">The note's figures are for Mistral-7B on Apple silicon; this run used model {} on {}. \
         A verdict says whether the figure holds here. Holds: the 95% interval lies inside the claimed range; does not hold: outside it; \
         inconclusive: it straddles an edge. Ratio: measured / claimed (for overheads, measured overhead / claimed overhead). {micro_note}</p>\n{}{micro_table}",
        escape(&model_label(v.results)),
        escape(v.results.environment.cpu_model.as_deref().unwrap_or("an unknown CPU")),
        html::table(&["Claim (design note)", "Tested as", "Measured", "Ratio", "Verdict"], &rows)
    )
}

/// The microbenchmark file's own claim-by-claim pairs (`crossbench claims`).
fn micro_claims(m: &Microbench) -> String {
    let rows: Vec<(Option<&str>, Vec<Cell>)> = m
        .data
        .claims
        .iter()
        .map(|c| {
            let ns = |v: Option<f64>| Cell::Num(fmt_opt_ns(v));
            let ratio = Cell::Num(
                c.ratio
                    .map(|r| format!("{r:.2}×"))
                    .unwrap_or_else(|| "—".into()),
            );
            (
                None,
                vec![
                    Cell::Text(c.claim.clone()),
                    Cell::Text(format!("{} vs {}", c.measured, c.baseline)),
                    ns(c.measured_median_ns),
                    ns(c.baseline_median_ns),
                    ns(c.difference_ns),
                    ratio,
                ],
            )
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h3>Microbenchmark pairs</h3>\n<p class=\"note\">From <code>{}</code> ({}): each claim's benchmark beside its twin without the crossing; medians.</p>\n{}",
        escape(&m.file),
        escape(m.data.generated_at.as_deref().unwrap_or("undated")),
        html::table(&["Claim", "Benchmark vs twin", "Measured", "Twin", "Difference", "Ratio"], &rows)
    )
}

#[cfg(test)]
#[path = "run_page_tests.rs"]
mod tests;
