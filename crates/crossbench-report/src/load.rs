//! Reading results.json and the optional microbenchmark file, with errors
//! that name the file and say what is wrong with it.

use std::path::Path;

use crossbench_core::microbench::MICROBENCH_SCHEMA;
use crossbench_core::results::{BenchResults, SCHEMA_VERSION};

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

/// microbench.json as the report read it (core's `microbench` defines the
/// schema), and where it was read from: the page names the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Microbench {
    pub data: crossbench_core::microbench::Microbench,
    pub file: String,
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
    let data: crossbench_core::microbench::Microbench =
        serde_json::from_str(text).map_err(|e| {
            schema(format!(
            "not microbenchmark results (schema {MICROBENCH_SCHEMA}, see `crossbench claims`): {e}"
        ))
        })?;
    if data.schema != MICROBENCH_SCHEMA {
        return Err(schema(format!(
            "schema `{}`, but this report reads `{MICROBENCH_SCHEMA}`",
            data.schema
        )));
    }
    Ok(Microbench {
        data,
        file: file.to_string(),
    })
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
            m.data.benchmark("rust_to_c/ffi_noop").unwrap().bounds(),
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
