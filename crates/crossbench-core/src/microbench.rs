//! microbench.json, schema `crossbench.microbench/1`: the one definition of
//! the file `crossbench claims` and `crossbench gobench` write and the
//! report reads, so writer and reader cannot drift apart.
//!
//! Fields the report does not need default when absent: the report has
//! always accepted hand-made files with only `id` and `median_ns` per
//! benchmark, and its tests rely on that.

use serde::{Deserialize, Deserializer, Serialize};

use crate::environment::Environment;

/// The schema this crossbench writes and reads.
pub const MICROBENCH_SCHEMA: &str = "crossbench.microbench/1";

/// The family `crossbench gobench` writes (the Go cgo microbenchmarks); `claims`
/// keeps it when it replaces the criterion families.
pub const GO_CGO_FAMILY: &str = "go_cgo";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Microbench {
    pub schema: String,
    #[serde(default)]
    pub generated_at: Option<String>,
    /// The commands that remake the file.
    #[serde(default)]
    pub reproduce: Option<String>,
    #[serde(default)]
    pub environment: Option<Environment>,
    #[serde(default)]
    pub benchmarks: Vec<Benchmark>,
    #[serde(default)]
    pub claims: Vec<Claim>,
}

impl Microbench {
    pub fn benchmark(&self, id: &str) -> Option<&Benchmark> {
        self.benchmarks.iter().find(|b| b.id == id)
    }
}

/// One criterion (or `go test -bench`) estimate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Benchmark {
    /// criterion's full id, "group/function[/param]".
    pub id: String,
    /// The bench target that defines it (what a writer replaces).
    #[serde(default)]
    pub family: String,
    pub median_ns: f64,
    /// The median's interval; a missing or null bound reads as NaN, which
    /// serde_json writes back as null: "no interval".
    #[serde(default = "no_bound", deserialize_with = "bound")]
    pub ci_low_ns: f64,
    #[serde(default = "no_bound", deserialize_with = "bound")]
    pub ci_high_ns: f64,
    #[serde(default)]
    pub confidence: f64,
    #[serde(default)]
    pub mean_ns: f64,
    /// Reruns just this benchmark.
    #[serde(default)]
    pub command: String,
    /// When criterion wrote the estimate (file mtime, Unix seconds).
    #[serde(default)]
    pub measured_unix_s: u64,
}

impl Benchmark {
    /// (median, low, high); low = high = median without an interval.
    pub fn bounds(&self) -> (f64, f64, f64) {
        let or_median = |v: f64| if v.is_finite() { v } else { self.median_ns };
        (
            self.median_ns,
            or_median(self.ci_low_ns),
            or_median(self.ci_high_ns),
        )
    }
}

fn no_bound() -> f64 {
    f64::NAN
}

fn bound<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One of the design note's claims beside the benchmark measuring it and
/// its in-language twin; null figures where a benchmark is missing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claim {
    /// The note's words.
    pub claim: String,
    /// Where in the note.
    #[serde(default)]
    pub source: String,
    /// Benchmark ids.
    #[serde(default)]
    pub measured: String,
    #[serde(default)]
    pub baseline: String,
    pub measured_median_ns: Option<f64>,
    pub baseline_median_ns: Option<f64>,
    /// measured − baseline.
    pub difference_ns: Option<f64>,
    pub ratio: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_that_is_missing_or_null_means_no_interval() {
        let text = r#"{"schema": "crossbench.microbench/1", "benchmarks": [
            {"id": "a", "median_ns": 1.5, "ci_low_ns": 1.4, "ci_high_ns": 1.7},
            {"id": "b", "median_ns": 2.0},
            {"id": "c", "median_ns": 3.0, "ci_low_ns": null, "ci_high_ns": 3.5}]}"#;
        let m: Microbench = serde_json::from_str(text).unwrap();
        assert_eq!(m.benchmark("a").unwrap().bounds(), (1.5, 1.4, 1.7));
        assert_eq!(m.benchmark("b").unwrap().bounds(), (2.0, 2.0, 2.0));
        assert_eq!(m.benchmark("c").unwrap().bounds(), (3.0, 3.0, 3.5));
        assert!(m.benchmark("d").is_none());
    }

    #[test]
    fn what_a_writer_writes_reads_back_the_same() {
        let b = Benchmark {
            id: "rust_to_c/ffi_noop".into(),
            family: "crossing_call".into(),
            median_ns: 1.5,
            ci_low_ns: 1.4,
            ci_high_ns: 1.7,
            confidence: 0.95,
            mean_ns: 1.55,
            command: "cargo bench".into(),
            measured_unix_s: 7,
        };
        let doc = Microbench {
            schema: MICROBENCH_SCHEMA.into(),
            generated_at: Some("2026-12-05T00:00:00Z".into()),
            reproduce: Some("cargo run -- claims".into()),
            environment: Some(Environment::default()),
            benchmarks: vec![b],
            claims: vec![Claim {
                claim: "c".into(),
                source: "s".into(),
                measured: "rust_to_c/ffi_noop".into(),
                baseline: "x".into(),
                measured_median_ns: Some(1.5),
                baseline_median_ns: None,
                difference_ns: None,
                ratio: None,
            }],
        };
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Microbench>(&text).unwrap(), doc);
    }
}
