//! Several runs of one scenario side by side (different commits, machines or
//! model sizes): per backend and metric, each run's median and its change
//! against the first run with its interval, and the metadata.
//!
//! The change is core's `analysis::change`, the regression gate's estimator
//! (Hodges–Lehmann shift with its rank-sum interval), so compare and the gate
//! give one answer to one question.

use crossbench_core::analysis::change::metric_across_runs;
use crossbench_core::analysis::overheads::{rep_e2e_ns, rep_ttft_ns};
use crossbench_core::overhead::{rep_decode_ns, rep_itl_median_ns, REPORT_CONFIDENCE};
use crossbench_core::results::{BackendResult, BenchResults, RepRecord};
use crossbench_core::stats::Interval;

use crossbench_core::export::md_text;

use crate::html::{self, escape, fmt_bytes, fmt_ns, fmt_ratio, swatch, Cell};
use crate::run_metadata::model_label;
use crate::view::RunView;
use crate::ReportError;

pub struct Comparison {
    pub html: String,
    pub markdown: String,
}

/// A per-rep metric: name, how to read it from a rep, how to print a value.
struct Metric {
    name: &'static str,
    of_rep: fn(&RepRecord) -> Option<f64>,
}

const METRICS: [Metric; 4] = [
    Metric {
        name: "end-to-end time",
        of_rep: rep_e2e_ns,
    },
    Metric {
        name: "TTFT",
        of_rep: rep_ttft_ns,
    },
    Metric {
        name: "ITL (median per rep)",
        of_rep: rep_itl_median_ns,
    },
    Metric {
        name: "decode time",
        of_rep: rep_decode_ns,
    },
];

/// One table row: backend, metric, each run's value, each later run's change.
struct Row {
    backend: String,
    metric: String,
    values: Vec<String>,
    changes: Vec<String>,
}

/// Compares `runs` (label, results), the first being the baseline.
pub fn compare_runs(runs: &[(String, BenchResults)]) -> Result<Comparison, ReportError> {
    if runs.len() < 2 {
        return Err(ReportError::Compare(
            "compare needs at least two runs".into(),
        ));
    }
    let base = &runs[0].1.scenario.name;
    if let Some((label, other)) = runs.iter().find(|(_, r)| &r.scenario.name != base) {
        return Err(ReportError::Compare(format!(
            "{label} is scenario `{}` but {} is `{base}`: compare runs of one scenario",
            other.scenario.name, runs[0].0
        )));
    }
    let rows = rows(runs);
    let letters: Vec<String> = (0..runs.len()).map(letter).collect();
    Ok(Comparison {
        html: render_html(runs, &letters, &rows),
        markdown: render_markdown(runs, &letters, &rows),
    })
}

fn letter(i: usize) -> String {
    char::from(b'A' + (i % 26) as u8).to_string()
}

fn backend_names(runs: &[(String, BenchResults)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, r) in runs {
        for b in &r.backends {
            if !names.contains(&b.name) {
                names.push(b.name.clone());
            }
        }
    }
    names
}

fn rows(runs: &[(String, BenchResults)]) -> Vec<Row> {
    let mut out = Vec::new();
    for name in backend_names(runs) {
        let found: Vec<Option<&BackendResult>> = runs
            .iter()
            .map(|(_, r)| {
                r.backends
                    .iter()
                    .find(|b| b.name == name && b.status == crossbench_core::BackendStatus::Ok)
            })
            .collect();
        for m in &METRICS {
            let across = metric_across_runs(&found, m.of_rep, REPORT_CONFIDENCE);
            let values = across
                .medians
                .iter()
                .map(|v| v.map(fmt_ns).unwrap_or_else(|| "absent".into()))
                .collect();
            let changes = across
                .changes
                .iter()
                .map(|ci| ci.map(|ci| fmt_ratio(&ci)).unwrap_or_else(|| "—".into()))
                .collect();
            out.push(Row {
                backend: name.clone(),
                metric: m.name.into(),
                values,
                changes,
            });
        }
        out.push(memory_row(&name, &found));
        out.push(overhead_row(&name, runs));
    }
    out
}

/// Peak RSS is one value per run (a maximum): its change has no interval.
fn memory_row(name: &str, found: &[Option<&BackendResult>]) -> Row {
    let rss: Vec<Option<f64>> = found
        .iter()
        .map(|b| b.and_then(|b| b.memory.peak_rss_bytes).map(|v| v as f64))
        .collect();
    let changes = rss[1..]
        .iter()
        .map(|v| match (v, rss[0]) {
            (Some(v), Some(b)) if b > 0.0 => {
                format!(
                    "{} (one value each, no CI)",
                    crossbench_core::units::fmt_pct_change(v / b)
                )
            }
            _ => "—".into(),
        })
        .collect();
    Row {
        backend: name.into(),
        metric: "peak RSS".into(),
        values: rss
            .iter()
            .map(|v| v.map(fmt_bytes).unwrap_or_else(|| "absent".into()))
            .collect(),
        changes,
    }
}

/// Overhead vs native-cpp within each run; the change is the difference in
/// percentage points (each run's own interval is in its column).
fn overhead_row(name: &str, runs: &[(String, BenchResults)]) -> Row {
    let cis: Vec<Option<Interval>> = runs
        .iter()
        .map(|(_, r)| {
            RunView::new(r)
                .backend(name)
                .and_then(|b| b.overhead.get("e2e_ns").copied())
        })
        .collect();
    let changes = cis[1..]
        .iter()
        .map(|c| match (c, cis[0]) {
            (Some(c), Some(b)) => format!("{:+.1} points", (c.estimate - b.estimate) * 100.0),
            _ => "—".into(),
        })
        .collect();
    Row {
        backend: name.into(),
        metric: "end-to-end vs native-cpp".into(),
        values: cis
            .iter()
            .map(|c| c.map(|c| fmt_ratio(&c)).unwrap_or_else(|| "—".into()))
            .collect(),
        changes,
    }
}

fn is_gpu_run(r: &BenchResults) -> bool {
    r.environment.device.as_deref() == Some("gpu")
}

/// The GPU's identity, "none" for a GPU run without one, "–" for a CPU run.
fn gpu_cell(r: &BenchResults) -> String {
    match (&r.environment.gpu, is_gpu_run(r)) {
        (Some(g), _) => g.describe(),
        (None, true) => "none".into(),
        (None, false) => "–".into(),
    }
}

fn metadata(r: &BenchResults) -> Vec<(&'static str, String)> {
    let e = &r.environment;
    let opt = |x: &Option<String>| x.clone().unwrap_or_else(|| "unknown".into());
    vec![
        ("run", r.run_id.clone()),
        ("started", r.started_at.clone()),
        ("status", r.status.as_str().into()),
        ("commit", opt(&e.git_commit)),
        ("model", model_label(r)),
        (
            "machine",
            format!(
                "{} ({}; {} cores)",
                opt(&e.cpu_model),
                e.cpu
                    .as_ref()
                    .map_or("identity not recorded".into(), |c| c.describe()),
                e.cores.map_or("?".into(), |c| c.to_string())
            ),
        ),
        ("device", opt(&e.device)),
        ("MLX", opt(&e.mlx_version)),
        ("BLAS", opt(&e.blas)),
        (
            "reps",
            format!("{} (+{} warm-up)", r.ran().repetitions, r.ran().warmup),
        ),
        ("noisy", r.noisy.to_string()),
        ("warnings", RunView::new(r).warnings.len().to_string()),
    ]
}

/// What differs between run A and another run besides the code: the
/// machine (as the gate tells machines apart), MLX, BLAS, device, Go, model.
/// Figures from runs that differ here are not the same measurement.
pub fn differences(a: &BenchResults, b: &BenchResults) -> Vec<String> {
    let (ea, eb) = (&a.environment, &b.environment);
    let mut out = crossbench_core::gate::machine::differences(ea, eb);
    let opt = |s: Option<&String>| s.cloned().unwrap_or_else(|| "unknown".into());
    let facts = [
        (
            "MLX",
            opt(ea.mlx_version.as_ref()),
            opt(eb.mlx_version.as_ref()),
        ),
        ("BLAS", opt(ea.blas.as_ref()), opt(eb.blas.as_ref())),
        ("device", opt(ea.device.as_ref()), opt(eb.device.as_ref())),
        (
            "Go",
            opt(ea.extra.get("go_version")),
            opt(eb.extra.get("go_version")),
        ),
        ("model", model_label(a), model_label(b)),
    ];
    for (what, x, y) in facts {
        if x != y {
            out.push(format!("{what}: {x} vs {y}"));
        }
    }
    out
}

fn differences_lines(runs: &[(String, BenchResults)], letters: &[String]) -> Vec<String> {
    letters
        .iter()
        .zip(runs)
        .skip(1)
        .map(|(l, (_, r))| {
            let d = differences(&runs[0].1, r);
            if d.is_empty() {
                format!("{l} vs A: same machine, MLX, BLAS, device and model")
            } else {
                format!("{l} vs A differs in more than the code: {}", d.join("; "))
            }
        })
        .collect()
}

fn headers(letters: &[String]) -> Vec<String> {
    let mut h = vec!["Backend".to_string(), "Metric".to_string()];
    h.extend(letters.iter().cloned());
    h.extend(letters[1..].iter().map(|l| format!("{l} vs A (95% CI)")));
    h
}

fn render_markdown(runs: &[(String, BenchResults)], letters: &[String], rows: &[Row]) -> String {
    // Names, paths and labels come from the results files: escaped.
    let mut md = format!(
        "# crossbench compare: {}\n\n",
        md_text(&runs[0].1.scenario.name)
    );
    for (l, (label, r)) in letters.iter().zip(runs) {
        md.push_str(&format!(
            "- {l}: {} (commit {}, model {})\n",
            md_text(label),
            md_text(r.environment.git_commit.as_deref().unwrap_or("unknown")),
            md_text(&model_label(r))
        ));
    }
    for line in differences_lines(runs, letters) {
        md.push_str(&format!("\n**{}.**\n", md_text(&line)));
    }
    let h = headers(letters);
    md.push_str(&format!(
        "\n| {} |\n|{}\n",
        h.join(" | "),
        "---|".repeat(h.len())
    ));
    for row in rows {
        let cells: Vec<String> = [md_text(&row.backend), row.metric.clone()]
            .into_iter()
            .chain(row.values.iter().cloned())
            .chain(row.changes.iter().cloned())
            .collect();
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    md
}

fn render_html(runs: &[(String, BenchResults)], letters: &[String], rows: &[Row]) -> String {
    let mut body = format!(
        "<h1>crossbench compare: {}</h1>\n",
        escape(&runs[0].1.scenario.name)
    );
    let mut meta: Vec<Vec<(&str, String)>> = runs.iter().map(|(_, r)| metadata(r)).collect();
    // A GPU row only where some run is a GPU run: CPU-only comparisons stay as they were.
    if runs.iter().any(|(_, r)| is_gpu_run(r)) {
        for (m, (_, r)) in meta.iter_mut().zip(runs) {
            m.insert(7, ("GPU", gpu_cell(r)));
        }
    }
    let mut meta_headers = vec![""];
    meta_headers.extend(letters.iter().map(String::as_str));
    let meta_rows: Vec<(Option<&str>, Vec<Cell>)> = (0..meta[0].len())
        .map(|i| {
            let mut cells = vec![Cell::Text(meta[0][i].0.into())];
            cells.extend(meta.iter().map(|m| Cell::Text(m[i].1.clone())));
            (None, cells)
        })
        .collect();
    body.push_str(&format!(
        "<h2>Runs</h2>\n{}",
        html::table(&meta_headers, &meta_rows)
    ));
    for line in differences_lines(runs, letters) {
        body.push_str(&format!(
            "<p class=\"warning\"><strong>{}.</strong></p>\n",
            escape(&line)
        ));
    }
    let h = headers(letters);
    let h: Vec<&str> = h.iter().map(String::as_str).collect();
    let table_rows: Vec<(Option<&str>, Vec<Cell>)> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![Cell::Raw(swatch(&r.backend)), Cell::Text(r.metric.clone())];
            cells.extend(r.values.iter().map(|v| Cell::Num(v.clone())));
            cells.extend(r.changes.iter().map(|v| Cell::Num(v.clone())));
            (None, cells)
        })
        .collect();
    body.push_str(&format!(
        "<h2>Changes against A</h2>\n<p class=\"note\">Values are medians over each run's reps. A change is the ratio run / A \
         estimated as the regression gate does (Hodges–Lehmann shift of log values with its rank-sum 95% interval); an interval \
         that contains +0% means no change this data can show. Runs on different machines or models differ in more than the code.</p>\n{}",
        html::table(&h, &table_rows)
    ));
    html::page(
        &format!("crossbench compare {}", runs[0].1.scenario.name),
        &body,
    )
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
