//! The run page's account of how the run was laid out and what it can
//! resolve: order, residency, gap, A/A twin, resolution, and what ran.

use crossbench_core::design::williams_cycle;
use crossbench_core::results::BenchResults;

use crate::html::escape;

/// "Resolution" paragraph under the headline; empty when the run has none.
pub fn resolution_html(r: &BenchResults) -> String {
    let mut out = String::new();
    if let Some(res) = &r.resolution {
        out.push_str(&format!(
            "<p class=\"note\"><strong>Resolution:</strong> {}.</p>\n",
            escape(&res.statement)
        ));
    }
    if let Some(plan) = &r.design.resolution_plan {
        out.push_str(&format!(
            "<p class=\"note\">Resolution plan: target ±{:.1}%, budget {:.0} s; the {}-rep pilot reached {}; {}; {} reps run.</p>\n",
            plan.target_half_width * 100.0,
            plan.budget_s,
            plan.pilot_reps,
            plan.pilot_half_width
                .map_or("no interval".into(), |h| format!("±{:.1}%", h * 100.0)),
            escape(&plan.outcome),
            plan.planned_reps
        ));
    }
    out
}

/// Rows for the metadata table: the design and the model that ran.
pub fn metadata_rows(r: &BenchResults) -> Vec<(&'static str, String)> {
    let d = &r.design;
    let mut rows = Vec::new();
    if !d.order.is_empty() {
        let aa =
            d.aa.as_ref()
                .map_or(String::new(), |(o, t)| format!(" · A/A twin {t} of {o}"));
        rows.push((
            "Design",
            format!(
                "{} order (balanced over every {} rounds) · residency {} ({}) · gap {} s{aa}",
                d.order,
                williams_cycle(r.backends.len()),
                d.residency.as_str(),
                d.residency_reason,
                d.gap_s
            ),
        ));
    }
    if let Some(m) = &r.model {
        let num = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
        rows.push((
            "Model that ran",
            format!(
                "preset {} · dtype {} · layers override {} · {} layers, hidden {}, vocab {}, quantization {} · {} weight bytes",
                m.preset.as_deref().unwrap_or("none (directory)"),
                m.dtype.as_deref().unwrap_or("?"),
                m.layers_override.map_or("none".into(), |l| l.to_string()),
                num(m.num_hidden_layers),
                num(m.hidden_size),
                num(m.vocab_size),
                m.quantization_bits.map_or("none".into(), |b| format!("{b}-bit")),
                num(m.weight_bytes)
            ),
        ));
    }
    if let Some(cpu) = &r.environment.cpu {
        rows.push(("CPU identity", cpu.describe()));
    }
    rows
}
