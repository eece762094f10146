//! The run page's account of how the run was laid out and what it can
//! resolve: order, residency, gap, A/A twin, resolution, and what ran
//! (the sentences themselves come from crossbench-core, shared with summary.md).

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
            "<p class=\"note\">Resolution plan: {}.</p>\n",
            escape(&plan.describe())
        ));
    }
    out
}

/// Rows for the metadata table: the design, the model that ran, the CPU.
pub fn metadata_rows(r: &BenchResults) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    if !r.design.order.is_empty() {
        rows.push(("Design", r.design.describe(&r.backend_names())));
    }
    if let Some(m) = &r.model {
        rows.push(("Model that ran", m.describe()));
    }
    if let Some(cpu) = &r.environment.cpu {
        rows.push(("CPU identity", cpu.describe()));
    }
    if let Some(h) = &r.harness {
        rows.push(("Harness footprint", h.describe()));
    }
    rows
}
