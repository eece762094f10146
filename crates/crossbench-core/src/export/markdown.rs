//! summary.md. Every string from the results (names, paths, error text,
//! notes) goes through `escape::md_text` or `md_code`: a results.json is
//! input like any other file.

use std::fmt::Write as _;

pub use self::escape::{md_cells, md_code, md_text};
use super::{ExportError, Exporter};
use crate::backend::FLOOR;
use crate::results::{BackendResult, BackendStatus, BenchResults, RunStatus};
use crate::scenario::ScenarioKind;

mod escape;
mod serve;

/// summary.md: the design note's table (Implementation | Time | Memory |
/// Crossings), a latency table, failures and token agreement.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn render(&self, results: &BenchResults) -> Result<Vec<u8>, ExportError> {
        Ok(render_summary(results).into_bytes())
    }
}

/// The summary as markdown text (also what the caller prints).
pub fn render_summary(r: &BenchResults) -> String {
    let mut md = String::new();
    let s = &r.scenario;
    let _ = writeln!(md, "# crossbench: {}\n", md_text(&s.name));
    let _ = writeln!(md, "{}\n", md_text(&s.description));
    if s.kind == ScenarioKind::Serve {
        // Prompt and output lengths vary per request: the serve section says them.
        let _ = writeln!(
            md,
            "run {} · status {} · {} reps · scenario sha256 {}\n",
            md_code(&r.run_id),
            r.status.as_str(),
            r.ran().repetitions,
            md_code(short(&s.sha256))
        );
    } else {
        let _ = writeln!(
        md,
        "run {} · status {} · {} prompt tokens · {} new tokens · {} warmup + {} reps · scenario sha256 {}\n",
        md_code(&r.run_id),
        r.status.as_str(),
        s.prompt_tokens,
        s.max_new_tokens,
        r.ran().warmup,
        r.ran().repetitions,
        md_code(short(&s.sha256))
    );
    }
    design_lines(&mut md, r);
    if r.status != RunStatus::Complete {
        let _ = writeln!(
            md,
            "**Run not complete ({}): figures cover the reps measured so far.**\n",
            r.status.as_str()
        );
    }
    if !r.injected_slowdowns.is_empty() {
        let _ = writeln!(
            md,
            "**INJECTED SLOWDOWN ({}): not a clean measurement.**\n",
            md_text(&crate::results::describe_slowdowns(&r.injected_slowdowns))
        );
    }
    if let Some(serve) = r.serve.as_ref().filter(|_| s.kind == ScenarioKind::Serve) {
        serve::serve_section(&mut md, serve);
        failures(&mut md, r);
        return md;
    }
    main_table(&mut md, r);
    if s.kind == ScenarioKind::Generate {
        latency_table(&mut md, r);
        overhead_table(&mut md, r);
    }
    failures(&mut md, r);
    agreement(&mut md, r);
    md
}

/// How the run was laid out and what ran: order, residency, gap, model, CPU.
fn design_lines(md: &mut String, r: &BenchResults) {
    if !r.design.order.is_empty() {
        let _ = writeln!(
            md,
            "design: {}\n",
            md_text(&r.design.describe(&r.backend_names()))
        );
    }
    if let Some(m) = &r.model {
        let _ = writeln!(md, "model: {}\n", md_text(&m.describe()));
    }
    let e = &r.environment;
    let cpu = e
        .cpu
        .as_ref()
        .map_or("identity not recorded".to_string(), |c| c.describe());
    let _ = writeln!(
        md,
        "machine: {} ({}) · {} cores · BLAS {}\n",
        md_text(e.cpu_model.as_deref().unwrap_or("unknown CPU")),
        md_text(&cpu),
        e.cores.map_or("?".to_string(), |c| c.to_string()),
        md_text(e.blas.as_deref().unwrap_or("unknown"))
    );
    if let Some(gpu) = crate::gpu_run::report_line(e, crate::gpu_run::mlx_peak_bytes(r)) {
        let _ = writeln!(md, "GPU: {}\n", md_text(&gpu));
    }
    if let Some(h) = &r.harness {
        let _ = writeln!(md, "harness: {}\n", md_text(&h.describe()));
    }
}

fn time_metric(r: &BenchResults) -> (&'static str, &'static str) {
    match r.scenario.kind {
        ScenarioKind::Generate | ScenarioKind::Serve => ("e2e_ns", "end-to-end p50"),
        ScenarioKind::Load => ("load_ns", "load p50"),
    }
}

fn main_table(md: &mut String, r: &BenchResults) {
    let (metric, label) = time_metric(r);
    let baseline = r
        .backends
        .iter()
        .find(|b| b.name == FLOOR)
        .and_then(|b| b.summary_of(metric))
        .map(|s| s.p50)
        .filter(|&p| p > 0.0);
    let _ = write!(
        md,
        "Time = {label} (± coefficient of variation); Memory = worker peak RSS over the run (its peak once loaded; MLX allocator peak)."
    );
    // The ratio of two medians over different reps is unpaired: it keeps the
    // round-to-round drift that the paired per-round ratios cancel, and has
    // no interval. Say so, and where the paired one is.
    if baseline.is_some() {
        let _ = write!(
            md,
            " {label} / {FLOOR} p50 = ratio of the two medians (unpaired, no interval); the paired per-round decode ratio with its interval is in \"Overhead vs {FLOOR}\" below."
        );
    }
    md.push_str("\n\n");
    let extra = if baseline.is_some() {
        format!(" {label} / {FLOOR} p50 |")
    } else {
        String::new()
    };
    let _ = writeln!(md, "| Implementation | Time | Memory | Crossings |{extra}");
    let _ = writeln!(
        md,
        "|---|---:|---:|---|{}",
        if baseline.is_some() { "---:|" } else { "" }
    );
    for b in &r.backends {
        let summary = b.summary_of(metric);
        let time = summary.map_or("–".to_string(), |s| {
            format!("{} (±{:.1}%)", fmt_ns(s.p50), s.cv * 100.0)
        });
        let _ = write!(
            md,
            "| {} | {} | {} | {} |",
            name_with_status(b),
            time,
            memory(b),
            crossings(b)
        );
        if let Some(base) = baseline {
            let overhead = summary.map_or("–".to_string(), |s| {
                crate::units::fmt_pct_change(s.p50 / base)
            });
            let _ = write!(md, " {overhead} |");
        }
        md.push('\n');
    }
    md.push('\n');
}

fn latency_table(md: &mut String, r: &BenchResults) {
    let _ = writeln!(md, "| Implementation | TTFT p50 | ITL p50 | ITL p90 | ITL p99 | decode tok/s p50 | IPC/token p50 |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for b in &r.backends {
        let p = |m: &str, f: fn(&crate::stats::Summary) -> f64| {
            b.summary_of(m).map_or("–".to_string(), |s| fmt_ns(f(s)))
        };
        let tps = b
            .summary_of("decode_tokens_per_s")
            .map_or("–".to_string(), |s| format!("{:.1}", s.p50));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            name_with_status(b),
            p("ttft_ns", |s| s.p50),
            p("itl_ns", |s| s.p50),
            p("itl_ns", |s| s.p90),
            p("itl_ns", |s| s.p99),
            tps,
            p("ipc_ns", |s| s.p50),
        );
    }
    md.push('\n');
}

/// Each backend's overhead vs native-cpp from per-rep paired ratios, with
/// 95% intervals (order statistics), so a reader can check claims such as "ffi-batched
/// within 1% of native-cpp" against the noise of this run.
fn overhead_table(md: &mut String, r: &BenchResults) {
    let with_ratio: Vec<&BackendResult> = r
        .backends
        .iter()
        .filter(|b| !b.overhead_vs_native.is_empty())
        .collect();
    let any_noisy = r.backends.iter().any(|b| b.noisy);
    if with_ratio.is_empty() && !any_noisy {
        return;
    }
    let _ = writeln!(
        md,
        "## Overhead vs native-cpp (same run, per-rep paired ratio)\n"
    );
    let _ = writeln!(md, "Median of backend / native-cpp per round, [95% distribution-free interval of the median]. Decode = last − first token; a ratio above +0% is slower than native-cpp.\n");
    let _ = writeln!(
        md,
        "| Implementation | decode time | ITL median | decode CV |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|");
    for b in &r.backends {
        // Under 3 paired rounds the "interval" is a point or a range of two
        // values: shown as no interval, as the Resolution line says.
        let cell = |k: &str| match b.overhead_vs_native.get(k) {
            None => "–".to_string(),
            Some(ci) if ci.samples < crate::overhead::MIN_ROUNDS_FOR_RESOLUTION => format!(
                "{} (n={}, no interval)",
                crate::units::fmt_pct_change(ci.estimate),
                ci.samples
            ),
            Some(ci) => crate::overhead::fmt_ratio_ci(ci),
        };
        let cv = b
            .decode_cv
            .map_or("–".to_string(), |c| format!("{:.1}%", c * 100.0));
        let flag = if b.noisy { " **noisy**" } else { "" };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {cv}{flag} |",
            name_with_status(b),
            cell("decode_ns"),
            cell("itl_median_ns")
        );
    }
    if let Some(res) = &r.resolution {
        let _ = writeln!(md, "\n**Resolution:** {}.", md_text(&res.statement));
    }
    if let Some(plan) = &r.design.resolution_plan {
        let _ = writeln!(md, "\nResolution plan: {}.", md_text(&plan.describe()));
    }
    if any_noisy {
        // The gate's limit is named, not formatted in: the gate renders with
        // export's helpers, so export cannot import the gate's constant.
        let _ = writeln!(
            md,
            "\n**NOISY RUN: a backend's per-rep decode time varies by more than {:.0}% (CV): its medians are unreliable.** A reporting flag: `crossbench gate` does not read it, but judges each check's own per-rep CV against its own limit (`--cv-limit`, default `gate::GATE_CV_LIMIT`) and calls a check above that inconclusive.",
            r.cv_limit * 100.0
        );
    }
    md.push('\n');
}

fn failures(md: &mut String, r: &BenchResults) {
    let failed: Vec<&BackendResult> = r.backends.iter().filter(|b| b.error.is_some()).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Backends that did not finish\n");
    for b in failed {
        let _ = writeln!(
            md,
            "- **{}** ({}, {} reps kept): {}",
            md_text(&b.name),
            b.status.as_str(),
            b.reps.len(),
            md_text(b.error.as_deref().unwrap_or_default())
        );
    }
    md.push('\n');
}

fn agreement(md: &mut String, r: &BenchResults) {
    let a = &r.agreement;
    let _ = writeln!(md, "## Token agreement\n");
    if !a.applicable {
        let _ = writeln!(md, "Not checked: {}.", md_text(&a.note));
    } else if a.all_match {
        let _ = writeln!(md, "All greedy token ids match ({}).", md_text(&a.note));
    } else {
        let _ = writeln!(
            md,
            "**WARNING: token ids disagree; timings compare different computations.**\n"
        );
        for line in a.mismatch_lines() {
            let _ = writeln!(md, "- **{}**", md_text(&line));
        }
    }
}

fn name_with_status(b: &BackendResult) -> String {
    if b.status == BackendStatus::Ok {
        md_text(&b.name)
    } else {
        format!("{} ({})", md_text(&b.name), b.status.as_str())
    }
}

fn memory(b: &BackendResult) -> String {
    let rss = b
        .memory
        .peak_rss_bytes
        .or(b.memory.worker_reported_peak_rss_bytes);
    let mut text = rss.map_or("–".to_string(), fmt_bytes);
    // The load's peak, then MLX's own: what the model costs before generating.
    let parts: Vec<String> = [
        b.memory
            .load_peak_rss_bytes
            .map(|l| format!("load {}", fmt_bytes(l))),
        b.memory
            .mlx_peak_bytes
            .map(|m| format!("MLX {}", fmt_bytes(m))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !parts.is_empty() {
        let _ = write!(text, " ({})", parts.join(", "));
    }
    text
}

fn crossings(b: &BackendResult) -> String {
    let c = &b.crossings;
    let mut parts = Vec::new();
    let mut add = |v: Option<f64>, what: &str| {
        if let Some(v) = v.filter(|&v| v > 0.0) {
            parts.push(format!("{} {what}", trim_float(v)));
        }
    };
    let descriptor = b.descriptor();
    let lang = descriptor.caller.label();
    add(c.rust_to_c_calls, &format!("{lang}→C calls"));
    if descriptor.is_floor() {
        add(c.c_to_rust_callbacks, "C++→C++ callbacks (no crossing)");
    } else {
        add(c.c_to_rust_callbacks, &format!("C→{lang} callbacks"));
    }
    if b.ipc_per_token {
        add(c.ipc_messages_in, "IPC msgs in");
    }
    add(c.mlx_evals_per_token, "evals/token");
    if parts.is_empty() {
        "–".to_string()
    } else {
        parts.join(", ")
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

pub(crate) use crate::units::fmt_ns;

fn fmt_bytes(bytes: u64) -> String {
    crate::units::fmt_bytes(bytes as f64)
}

/// The first 12 characters (not bytes: a hostile file may hold any text).
fn short(hash: &str) -> &str {
    hash.char_indices()
        .nth(12)
        .map_or(hash, |(i, _)| &hash[..i])
}

#[cfg(test)]
mod tests;
