//! bencher.json: the run in Bencher Metric Format (BMF), for
//! `bencher run --file bencher.json --adapter json`. One benchmark per
//! backend (`<scenario>/<backend>`), one measure per tracked figure, the 95%
//! interval as `lower_value` / `upper_value` where the run has one.

use super::tracked::tracked;
use super::{ExportError, Exporter};
use crate::results::BenchResults;
use serde_json::{json, Map, Value};

pub struct BencherExporter;

impl Exporter for BencherExporter {
    fn file_name(&self) -> &'static str {
        "bencher.json"
    }

    fn render(&self, results: &BenchResults) -> Result<Vec<u8>, ExportError> {
        let mut doc: Map<String, Value> = Map::new();
        for t in tracked(results) {
            let name = format!("{}/{}", results.scenario.name, t.backend);
            let mut metric = json!({ "value": t.value });
            if let Some((low, high)) = t.bounds {
                metric["lower_value"] = json!(low);
                metric["upper_value"] = json!(high);
            }
            let entry = doc.entry(name).or_insert_with(|| json!({}));
            entry[t.measure] = metric;
        }
        serde_json::to_vec_pretty(&Value::Object(doc)).map_err(|e| ExportError::Render {
            file: "bencher.json",
            message: e.to_string(),
        })
    }
}
