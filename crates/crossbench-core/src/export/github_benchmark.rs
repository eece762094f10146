//! github-action-benchmark's custom formats: `gab-smaller.json`
//! (`tool: customSmallerIsBetter`: times, memory, the overhead ratio) and
//! `gab-bigger.json` (`tool: customBiggerIsBetter`: decode throughput). Each
//! entry is `{name, unit, value, range, extra}`; `range` is the half-width of
//! the 95% interval, `extra` the interval itself and where it was measured.

use super::tracked::{tracked, Tracked};
use super::{ExportError, Exporter};
use crate::results::BenchResults;
use serde_json::{json, Value};

pub struct GithubBenchmarkExporter {
    pub bigger_is_better: bool,
}

impl Exporter for GithubBenchmarkExporter {
    fn file_name(&self) -> &'static str {
        if self.bigger_is_better {
            "gab-bigger.json"
        } else {
            "gab-smaller.json"
        }
    }

    fn render(&self, results: &BenchResults) -> Result<Vec<u8>, ExportError> {
        let machine = machine(results);
        let entries: Vec<Value> = tracked(results)
            .into_iter()
            .filter(|t| t.bigger_is_better == self.bigger_is_better)
            .map(|t| entry(results, &t, &machine))
            .collect();
        serde_json::to_vec_pretty(&entries).map_err(|e| ExportError::Render {
            file: self.file_name(),
            message: e.to_string(),
        })
    }
}

fn entry(results: &BenchResults, t: &Tracked, machine: &str) -> Value {
    let mut e = json!({
        "name": format!("{}/{}/{}", results.scenario.name, t.backend, t.measure),
        "unit": t.unit,
        "value": t.value,
    });
    let mut extra = format!("run {}; {machine}", results.run_id);
    if let Some((low, high)) = t.bounds {
        e["range"] = json!(format!("± {}", (high - low) / 2.0));
        extra = format!("95% interval [{low}, {high}]; {extra}");
    }
    e["extra"] = json!(extra);
    e
}

/// CPU, BLAS and MLX version: what a chart over months must not pool silently.
fn machine(results: &BenchResults) -> String {
    let env = &results.environment;
    let cpu = env.cpu_model.as_deref().unwrap_or("unknown CPU");
    let identity = env
        .cpu
        .as_ref()
        .map_or("identity not recorded".to_string(), |c| c.describe());
    let blas = env.blas.as_deref().unwrap_or("unknown BLAS");
    let mlx = env.mlx_version.as_deref().unwrap_or("?");
    format!("{cpu} ({identity}); BLAS {blas}; MLX {mlx}")
}
