//! Reading results.json and the optional microbenchmark file, with errors
//! that name the file and say what is wrong with it.

use std::path::Path;

use crossbench_core::results::{BenchResults, SCHEMA_VERSION};
use serde::Deserialize;

use crate::ReportError;

/// Loads and checks a results.json: JSON syntax, then `schema_version`,
/// then the typed schema (serde names the missing or mistyped field and
/// where it is).
pub fn load_results(path: &Path) -> Result<BenchResults, ReportError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        file: file.clone(),
        source,
    })?;
    parse_results(&text, &file)
}

/// `load_results` on text already read; `file` names it in errors.
pub fn parse_results(text: &str, file: &str) -> Result<BenchResults, ReportError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ReportError::Json {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let schema = |message: String| ReportError::Schema {
        file: file.to_string(),
        message,
    };
    let Some(object) = value.as_object() else {
        return Err(schema(
            "expected a JSON object at the top level (a crossbench results.json)".into(),
        ));
    };
    match object.get("schema_version").map(|v| (v, v.as_u64())) {
        None => {
            return Err(schema(format!(
                "no `schema_version`: not a crossbench results.json, or one written before schema \
                 version {SCHEMA_VERSION}; re-run `crossbench bench` to get a current one"
            )))
        }
        Some((v, None)) => {
            return Err(schema(format!(
                "`schema_version` is {v}, expected the integer {SCHEMA_VERSION}"
            )))
        }
        Some((_, Some(v))) if v != u64::from(SCHEMA_VERSION) => {
            return Err(schema(format!(
                "schema_version {v}, but this crossbench reads schema_version {SCHEMA_VERSION}; \
                 use the crossbench that wrote it, or re-run the benchmark"
            )))
        }
        Some(_) => {}
    }
    // From the text rather than the Value, so the error carries line and column.
    serde_json::from_str::<BenchResults>(text).map_err(|e| {
        schema(format!(
            "does not match results schema {SCHEMA_VERSION}: {e}"
        ))
    })
}

/// The microbenchmark summary `crossbench claims` writes
/// (`results/microbench.json`, schema `crossbench.microbench/1`): criterion's
/// medians with their intervals, and its own claim-by-claim pairs. Only the
/// fields the report shows are read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Microbench {
    pub schema: String,
    #[serde(default)]
    pub generated_at: Option<String>,
    #[serde(default)]
    pub benchmarks: Vec<MicroBenchmark>,
    #[serde(default)]
    pub claims: Vec<MicroClaim>,
    /// Set by `load_microbench`: where it was read from.
    #[serde(skip)]
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MicroBenchmark {
    pub id: String,
    pub median_ns: f64,
    #[serde(default)]
    pub ci_low_ns: Option<f64>,
    #[serde(default)]
    pub ci_high_ns: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MicroClaim {
    pub claim: String,
    #[serde(default)]
    pub measured: String,
    #[serde(default)]
    pub baseline: String,
    pub measured_median_ns: Option<f64>,
    pub baseline_median_ns: Option<f64>,
    pub difference_ns: Option<f64>,
    pub ratio: Option<f64>,
}

/// The schema this report reads.
pub const MICROBENCH_SCHEMA: &str = "crossbench.microbench/1";

impl Microbench {
    pub fn benchmark(&self, id: &str) -> Option<&MicroBenchmark> {
        self.benchmarks.iter().find(|b| b.id == id)
    }
}

impl MicroBenchmark {
    /// (median, low, high); low = high = median without an interval.
    pub fn bounds(&self) -> (f64, f64, f64) {
        (
            self.median_ns,
            self.ci_low_ns.unwrap_or(self.median_ns),
            self.ci_high_ns.unwrap_or(self.median_ns),
        )
    }
}

pub fn load_microbench(path: &Path) -> Result<Microbench, ReportError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        file: file.clone(),
        source,
    })?;
    parse_microbench(&text, &file)
}

pub fn parse_microbench(text: &str, file: &str) -> Result<Microbench, ReportError> {
    let schema = |message: String| ReportError::Schema {
        file: file.to_string(),
        message,
    };
    let mut micro: Microbench = serde_json::from_str(text).map_err(|e| {
        schema(format!(
            "not microbenchmark results (schema {MICROBENCH_SCHEMA}, see `crossbench claims`): {e}"
        ))
    })?;
    if micro.schema != MICROBENCH_SCHEMA {
        return Err(schema(format!(
            "schema `{}`, but this report reads `{MICROBENCH_SCHEMA}`",
            micro.schema
        )));
    }
    micro.file = file.to_string();
    Ok(micro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_the_file_and_position() {
        let err = parse_results("{\"schema_version\": 1,", "runs/x/results.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("runs/x/results.json") && err.contains("not valid JSON"),
            "{err}"
        );
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn older_or_newer_schema_is_named() {
        let err = parse_results("{\"run_id\": \"r\"}", "a.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.json") && err.contains("no `schema_version`"),
            "{err}"
        );
        let err = parse_results("{\"schema_version\": 0}", "a.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("schema_version 0") && err.contains("reads schema_version 1"),
            "{err}"
        );
        let err = parse_results("[1]", "a.json").unwrap_err().to_string();
        assert!(err.contains("top level"), "{err}");
    }

    #[test]
    fn missing_field_is_named() {
        let err = parse_results("{\"schema_version\": 1, \"run_id\": \"r\"}", "b.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b.json") && err.contains("missing field `started_at`"),
            "{err}"
        );
    }

    #[test]
    fn microbench_is_read_and_its_schema_checked() {
        let text = r#"{"schema": "crossbench.microbench/1", "benchmarks": [
            {"id": "rust_to_c/ffi_noop", "median_ns": 1.5, "ci_low_ns": 1.4, "ci_high_ns": 1.7}], "claims": []}"#;
        let m = parse_microbench(text, "m.json").unwrap();
        assert_eq!(
            m.benchmark("rust_to_c/ffi_noop").unwrap().bounds(),
            (1.5, 1.4, 1.7)
        );
        let err = parse_microbench(r#"{"schema": "other/2"}"#, "m.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.json") && err.contains("`other/2`"), "{err}");
        assert!(parse_microbench("{}", "m.json")
            .unwrap_err()
            .to_string()
            .contains("missing field `schema`"));
    }
}
