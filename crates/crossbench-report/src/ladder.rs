//! The ladder: sweeps run on different devices (a CPU ladder, a GPU ladder)
//! drawn on one chart of overhead vs native-cpp against the floor's
//! per-token time on a log axis, with the design note's "the boundary is
//! negligible" judged per regime (device × rung). It answers where each
//! boundary stops being negligible: the x axis is what matters, not the
//! device, so rungs of both devices read on one scale.

use std::path::Path;

use crossbench_core::export::md_text;
use crossbench_core::overhead::fmt_ratio_ci;

use crate::charts::{self, ErrorSeries, DEVICE_SEP};
use crate::html::{self, escape, Cell};
use crate::sweep::{negligible_verdict, overhead_series, SweepReport, SWEEP_SCHEMA};
use crate::ReportError;

/// Reads a sweep directory's `sweep.json` (or the file itself), checking its schema.
pub fn load_sweep(path: &Path) -> Result<SweepReport, ReportError> {
    let file = if path.is_dir() {
        path.join("sweep.json")
    } else {
        path.to_path_buf()
    };
    let name = file.display().to_string();
    let text = std::fs::read_to_string(&file).map_err(|source| ReportError::Read {
        file: name.clone(),
        source,
    })?;
    let report: SweepReport = serde_json::from_str(&text).map_err(|e| ReportError::Json {
        file: name.clone(),
        message: e.to_string(),
    })?;
    if report.schema != SWEEP_SCHEMA {
        return Err(ReportError::Schema {
            file: name,
            message: format!("schema `{}`, expected `{SWEEP_SCHEMA}`", report.schema),
        });
    }
    Ok(report)
}

/// One series per backend and sweep, named "backend · device".
pub fn ladder_series(sweeps: &[SweepReport]) -> Vec<ErrorSeries> {
    sweeps
        .iter()
        .flat_map(|sweep| {
            overhead_series(sweep).into_iter().map(|s| ErrorSeries {
                name: format!("{}{DEVICE_SEP}{}", s.name, sweep.device),
                device: Some(sweep.device.clone()),
                points: s.points,
            })
        })
        .collect()
}

const COLUMNS: [&str; 7] = [
    "device",
    "model",
    "floor per token",
    "backend",
    "overhead vs floor [95%]",
    "negligible (±5%)?",
    "sweep",
];

/// The regime table's rows, in order of the floor's per-token time: the one
/// definition both the page and the markdown render.
pub fn regime_rows(sweeps: &[SweepReport]) -> Vec<[String; 7]> {
    let mut rows: Vec<(f64, [String; 7])> = Vec::new();
    for sweep in sweeps {
        for rung in &sweep.rungs {
            let floor_ns = rung.native_per_token_ns.unwrap_or(f64::INFINITY);
            for b in rung
                .backends
                .iter()
                .filter(|b| b.name != sweep.reference_backend)
            {
                let overhead = b
                    .overhead_ratio
                    .as_ref()
                    .map_or_else(|| b.status.clone(), fmt_ratio_ci);
                let noisy = if b.noisy { " (noisy)" } else { "" };
                rows.push((
                    floor_ns,
                    [
                        sweep.device.clone(),
                        format!("{}-L{} {}", rung.preset, rung.layers, rung.dtype),
                        rung.native_per_token_ns
                            .map_or("—".into(), |ns| format!("{:.2} ms", ns / 1e6)),
                        format!("{}{noisy}", b.name),
                        overhead,
                        negligible_verdict(b.overhead_ratio.as_ref()),
                        sweep.sweep_id.clone(),
                    ],
                ));
            }
        }
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The ladder's HTML page: the chart, then the regime table.
pub fn render_ladder(sweeps: &[SweepReport]) -> Result<String, ReportError> {
    let mut body = String::from(
        "<h1>crossbench ladder</h1>\n<p class=\"sub\">Each boundary design's overhead vs \
         native-cpp (paired per-round ratio of per-token time, 95% interval) against the \
         floor's per-token time, for every sweep given: where a boundary stops being \
         negligible. A verdict of <i>negligible</i> needs the whole interval within ±5%.</p>\n",
    );
    let series = ladder_series(sweeps);
    if series.is_empty() {
        body.push_str(
            "<p>No rung has both native-cpp and another backend measured: no chart.</p>\n",
        );
    } else {
        body.push_str(&format!(
            "<figure><figcaption><b>Overhead vs native-cpp</b> (%, 95% interval as bars) \
             against native-cpp's per-token time (ms, log scale); filled marks: GPU, \
             hollow: CPU.</figcaption>\n{}</figure>\n",
            charts::svg_or_note(charts::overhead_vs_size(&series))?
        ));
    }
    let rows: Vec<_> = regime_rows(sweeps)
        .into_iter()
        .map(|r| (None, r.into_iter().map(Cell::Text).collect()))
        .collect();
    body.push_str("<h2>The note's \"negligible\", per regime</h2>\n");
    body.push_str(&html::table(&COLUMNS, &rows));
    for s in sweeps {
        body.push_str(&format!(
            "<p class=\"sub\">{}: <code>{}</code> on {} ({})</p>\n",
            escape(&s.sweep_id),
            escape(&s.reproduce),
            escape(&s.device),
            escape(&s.machine)
        ));
    }
    Ok(html::page("crossbench ladder", &body))
}

/// The regime table as markdown, then what each sweep ran on.
pub fn ladder_markdown(sweeps: &[SweepReport]) -> String {
    let mut s = format!(
        "| {} |\n|{}\n",
        COLUMNS.join(" | "),
        "---|".repeat(COLUMNS.len())
    );
    for row in regime_rows(sweeps) {
        let cells: Vec<String> = row.iter().map(|c| md_text(c)).collect();
        s += &format!("| {} |\n", cells.join(" | "));
    }
    for sweep in sweeps {
        s += &format!(
            "\n{}: `{}` on {} ({})\n",
            md_text(&sweep.sweep_id),
            sweep.reproduce,
            md_text(&sweep.device),
            md_text(&sweep.machine)
        );
    }
    s
}

#[cfg(test)]
#[path = "ladder_tests.rs"]
mod tests;
