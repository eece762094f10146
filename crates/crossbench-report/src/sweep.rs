//! The sweep's results (`sweep.json`, schema `crossbench.sweep/1`) and its
//! page: per rung of a model-size ladder, each backend's per-token overhead
//! relative to native-cpp against native-cpp's own per-token time. The chart
//! answers the design question "below what per-token compute does the
//! boundary strategy matter, and by how much?".
//!
//! `crossbench sweep` fills [`SweepReport`] from the rungs' bench runs and
//! writes it with [`write_sweep`]; the types live here so the page renders
//! from the same structure the JSON holds.

use std::path::{Path, PathBuf};

use crossbench_core::export::{md_code, md_text};
use crossbench_core::overhead::{fmt_ratio_ci, REPORT_CONFIDENCE};
use crossbench_core::stats::{Band, Interval};
use serde::{Deserialize, Serialize};

use crate::charts::{self, ErrorSeries};
use crate::html::{self, escape, fmt_opt_ns, fmt_ratio, swatch, Cell};
use crate::ReportError;

pub const SWEEP_SCHEMA: &str = "crossbench.sweep/1";

/// sweep.json. Ratios are paired per-rep ratios (backend / native-cpp in the
/// same round) with their 95% interval, from the rung's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepReport {
    pub schema: String,
    pub sweep_id: String,
    pub scenario: String,
    pub scenario_file: String,
    pub max_new_tokens: u32,
    pub reference_backend: String,
    /// What `per_token_ns` is: "itl_median_ns".
    pub series: String,
    pub reproduce: String,
    /// `--device` of every rung ("cpu" for sweeps written before it was recorded).
    #[serde(default = "cpu")]
    pub device: String,
    /// The CPU and BLAS (or GPU) the rungs ran on, from the last rung's run.
    #[serde(default)]
    pub machine: String,
    pub rungs: Vec<Rung>,
}

fn cpu() -> String {
    "cpu".into()
}

/// The design note's "negligible": a boundary whose whole overhead interval
/// lies within ±5% of the floor's per-token time.
pub const NEGLIGIBLE_MARGIN: f64 = 0.05;

/// The note's "the boundary is negligible", judged for one rung: only a
/// 95% interval wholly inside ±5% says "negligible", one wholly above says
/// "not negligible"; anything else is "inconclusive", never a pass.
pub fn negligible_verdict(ratio: Option<&Interval>) -> String {
    let Some(ci) = ratio else {
        return "—".into();
    };
    if ci.confidence < REPORT_CONFIDENCE - 1e-9 {
        return format!(
            "inconclusive ({} reps: {:.0}% confidence)",
            ci.samples,
            ci.confidence * 100.0
        );
    }
    match ci.band(NEGLIGIBLE_MARGIN) {
        Band::Inside => "negligible".into(),
        Band::Above => "not negligible".into(),
        Band::Below => "faster than the floor".into(),
        Band::Straddles => "inconclusive".into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rung {
    pub preset: String,
    /// The rung's dtype ("" in sweeps written before rungs could set it).
    #[serde(default)]
    pub dtype: String,
    pub layers: u32,
    pub hidden: u32,
    pub parameters: u64,
    pub run_id: String,
    pub run_dir: String,
    /// native-cpp's per-token time: the denominator of every overhead.
    pub native_per_token_ns: Option<f64>,
    pub backends: Vec<RungBackend>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RungBackend {
    pub name: String,
    pub status: String,
    pub per_token_ns: Option<f64>,
    /// backend / native-cpp per-token time (1.0 = no overhead).
    pub overhead_ratio: Option<Interval>,
    /// (ratio - 1) × native per-token time: the overhead in ns per token.
    pub overhead_per_token_ns: Option<f64>,
    pub noisy: bool,
}

impl SweepReport {
    /// Backends other than the reference, in the order the rungs list them.
    fn compared_backends(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for b in self.rungs.iter().flat_map(|r| &r.backends) {
            if b.name != self.reference_backend && !names.contains(&b.name) {
                names.push(b.name.clone());
            }
        }
        names
    }
}

/// Writes `<dir>/sweep.json`, `sweep.md` and `report.html` (each atomically,
/// so an interrupted write never leaves half a file). Returns the page path.
pub fn write_sweep(dir: &Path, report: &SweepReport) -> Result<PathBuf, ReportError> {
    let json = serde_json::to_string_pretty(report).map_err(|e| ReportError::Write {
        file: dir.join("sweep.json").display().to_string(),
        message: e.to_string(),
    })? + "\n";
    write(&dir.join("sweep.json"), json.as_bytes())?;
    write(&dir.join("sweep.md"), markdown(report).as_bytes())?;
    let page_path = dir.join(crate::REPORT_FILE);
    write(&page_path, render_sweep(report)?.as_bytes())?;
    Ok(page_path)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    crossbench_core::export::write_atomic(path, bytes).map_err(|e| ReportError::Write {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The chart's data: per backend, (native per-token ms, overhead % with its
/// interval) for every rung where both were measured.
pub fn overhead_series(report: &SweepReport) -> Vec<ErrorSeries> {
    let pct = |r: f64| (r - 1.0) * 100.0;
    report
        .compared_backends()
        .into_iter()
        .map(|name| {
            let mut points: Vec<(f64, f64, f64, f64)> = report
                .rungs
                .iter()
                .filter_map(|rung| {
                    let native = rung.native_per_token_ns?;
                    let b = rung.backends.iter().find(|b| b.name == name)?;
                    let ci = b.overhead_ratio?;
                    Some((native / 1e6, pct(ci.low), pct(ci.estimate), pct(ci.high)))
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            ErrorSeries {
                name,
                points,
                device: None,
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// The sweep's HTML page: the chart, then one table row per rung and backend.
pub fn render_sweep(report: &SweepReport) -> Result<String, ReportError> {
    let mut body = format!(
        "<h1>crossbench sweep — {}</h1>\n<p class=\"sub\">scenario <code>{}</code>: gen{} on \
         each rung of a model-size ladder; per-token time = median inter-token latency; \
         overhead = paired per-round ratio to {} with its 95% interval (order statistics). \
         Reproduce: <code>{}</code></p>\n",
        escape(&report.sweep_id),
        escape(&report.scenario),
        report.max_new_tokens,
        escape(&report.reference_backend),
        escape(&report.reproduce),
    );
    let noisy = report
        .rungs
        .iter()
        .flat_map(|r| &r.backends)
        .any(|b| b.noisy);
    if noisy {
        body.push_str(
            "<div class=\"warnings\"><p>Some backends were <b>noisy</b> (per-rep CV above the \
             limit): their intervals are wide; read overlaps with zero as \"not resolved\", \
             not as \"no overhead\".</p></div>\n",
        );
    }
    let series = overhead_series(report);
    if series.is_empty() {
        body.push_str(
            "<p>No rung has both native-cpp and another backend measured: no chart.</p>\n",
        );
    } else {
        body.push_str(&format!(
            "<h2>Overhead vs model size</h2>\n<figure><figcaption><b>Overhead relative to \
             {}</b> (%, 95% interval as bars) against {}'s per-token time (ms, log scale): \
             where the line meets zero the boundary strategy stops mattering.</figcaption>\n{}\
             </figure>\n",
            escape(&report.reference_backend),
            escape(&report.reference_backend),
            charts::svg_or_note(charts::overhead_vs_size(&series))?
        ));
    }
    body.push_str("<h2>Per rung</h2>\n");
    body.push_str(&rung_table(report));
    Ok(html::page(
        &format!("crossbench sweep {}", report.sweep_id),
        &body,
    ))
}

fn rung_table(report: &SweepReport) -> String {
    let mut rows = Vec::new();
    for rung in &report.rungs {
        for b in &rung.backends {
            let overhead = match (&b.overhead_ratio, b.name == report.reference_backend) {
                (_, true) => "reference".to_string(),
                (Some(ci), false) => fmt_ratio(ci),
                (None, false) => b.status.clone(),
            };
            rows.push((
                None,
                vec![
                    Cell::Text(format!("{}-L{}", rung.preset, rung.layers)),
                    Cell::Num(format!("{:.0} M", rung.parameters as f64 / 1e6)),
                    Cell::Raw(swatch(&b.name) + if b.noisy { " (noisy)" } else { "" }),
                    Cell::Num(fmt_opt_ns(b.per_token_ns)),
                    Cell::Num(overhead),
                    Cell::Text(if b.name == report.reference_backend {
                        String::new()
                    } else {
                        negligible_verdict(b.overhead_ratio.as_ref())
                    }),
                    Cell::Num(
                        b.overhead_per_token_ns
                            .map(|ns| format!("{:+.1} µs", ns / 1e3))
                            .unwrap_or_else(|| "—".into()),
                    ),
                    Cell::Text(rung.run_id.clone()),
                ],
            ));
        }
    }
    html::table(
        &[
            "model",
            "params",
            "backend",
            "per token",
            "overhead",
            "negligible (±5%)?",
            "per token Δ",
            "run",
        ],
        &rows,
    )
}

/// One row per rung and backend: per-token time, overhead vs native-cpp.
pub fn markdown(r: &SweepReport) -> String {
    let mut s = format!(
        "sweep {}: gen{} per rung; per-token time = median inter-token latency; overhead = paired \
         ratio to {} [95% CI]\n\n| model | params | native per token | backend | per token | overhead | negligible (±5%)? | per token Δ |\n\
         |---|---|---|---|---|---|---|---|\n",
        md_code(&r.scenario),
        r.max_new_tokens,
        md_text(&r.reference_backend)
    );
    let ms = |v: Option<f64>| {
        v.map(|ns| format!("{:.2} ms", ns / 1e6))
            .unwrap_or_else(|| "—".into())
    };
    for rung in &r.rungs {
        for b in rung
            .backends
            .iter()
            .filter(|b| b.name != r.reference_backend)
        {
            let overhead = b.overhead_ratio.as_ref().map(fmt_ratio_ci);
            let delta = b
                .overhead_per_token_ns
                .map(|ns| format!("{:+.1} µs", ns / 1e3));
            s += &format!(
                "| {}-L{} | {:.0} M | {} | {}{} | {} | {} | {} | {} |\n",
                md_text(&rung.preset),
                rung.layers,
                rung.parameters as f64 / 1e6,
                ms(rung.native_per_token_ns),
                md_text(&b.name),
                if b.noisy { " (noisy)" } else { "" },
                ms(b.per_token_ns),
                overhead.unwrap_or_else(|| md_text(&b.status)),
                negligible_verdict(b.overhead_ratio.as_ref()),
                delta.unwrap_or_else(|| "—".into())
            );
        }
    }
    s
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
