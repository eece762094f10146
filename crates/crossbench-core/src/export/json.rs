use super::{ExportError, Exporter};
use crate::results::BenchResults;

/// results.json: the whole schema, pretty-printed.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> &'static str {
        "results.json"
    }

    fn render(&self, results: &BenchResults) -> Result<Vec<u8>, ExportError> {
        let mut bytes = serde_json::to_vec_pretty(results).map_err(|e| ExportError::Render {
            file: "results.json",
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
