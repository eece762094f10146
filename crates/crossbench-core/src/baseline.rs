//! Baselines for the regression gate: the few numbers of a run the gate
//! needs (summary statistics plus the per-rep samples the bootstrap
//! resamples), small enough to commit under `results/baselines/`.
//!
//! The gate reads a baseline file, a results directory or a results.json
//! alike: both become a `Baseline`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::FLOOR;
use crate::environment::Environment;
use crate::overhead::{paired_series, rep_series, SERIES};
use crate::results::{BackendStatus, BenchResults, RunStatus, ScenarioRecord, SCHEMA_VERSION};
use crate::stats::Interval;

/// Version of the baseline file layout (`baseline_format`).
pub const BASELINE_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON for {what}: {message}")]
    Parse {
        path: String,
        what: &'static str,
        message: String,
    },
    #[error("{path}: {what} version {found}, this crossbench reads version {expected}")]
    Version {
        path: String,
        what: &'static str,
        found: u32,
        expected: u32,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub baseline_format: u32,
    pub name: String,
    pub source_run_id: String,
    pub results_schema_version: u32,
    /// The source run's status. None only in baseline files written before
    /// it was recorded (all from finished runs); `baseline save` and the
    /// gate refuse anything but complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    pub scenario: ScenarioRecord,
    pub environment: Environment,
    #[serde(default)]
    pub injected_slowdowns: BTreeMap<String, f64>,
    /// Set when the source run was a profiling run (never a baseline or a
    /// gate input: its timings carry the profiler's cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiling: Option<crate::results::Profiling>,
    pub noisy: bool,
    pub backends: Vec<BaselineBackend>,
    /// The run's design (residency, warm-ups, order); None in baselines saved
    /// before it was recorded. A change of design is noted by the gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<crate::design::RunDesign>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineBackend {
    pub name: String,
    pub status: BackendStatus,
    /// Series name (`decode_ns`, `itl_median_ns`) -> one value per rep.
    pub samples: BTreeMap<String, Vec<f64>>,
    /// Series name -> per-rep ratio to native-cpp of the same round.
    pub overhead_samples: BTreeMap<String, Vec<f64>>,
    /// Copied from results.json for reading; the gate recomputes from samples.
    pub overhead_vs_native: BTreeMap<String, Interval>,
    pub decode_cv: Option<f64>,
    /// Generated tokens of each rep.
    pub tokens_per_rep: Vec<usize>,
    /// Rep 0's token ids (compared exactly when decoding is greedy).
    pub token_ids: Vec<u32>,
    /// Crossing counters per generated token (calls, callbacks, IPC
    /// messages, evals, syncs): exact properties of the code path.
    pub crossings_per_token: BTreeMap<String, f64>,
    pub peak_rss_bytes: Option<u64>,
}

impl Baseline {
    pub fn from_results(r: &BenchResults, name: &str) -> Baseline {
        let reference = r
            .backends
            .iter()
            .find(|b| b.name == FLOOR && b.status == BackendStatus::Ok);
        let backends = r
            .backends
            .iter()
            .map(|b| {
                let series = |f: &dyn Fn(&str) -> Vec<f64>| {
                    SERIES
                        .iter()
                        .map(|s| (s.to_string(), f(s)))
                        .filter(|(_, v)| !v.is_empty())
                        .collect()
                };
                let overhead_samples = match reference.filter(|n| n.name != b.name) {
                    Some(n) => series(&|s| paired_series(b, n, s)),
                    None => BTreeMap::new(),
                };
                BaselineBackend {
                    name: b.name.clone(),
                    status: b.status,
                    samples: series(&|s| rep_series(b, s)),
                    overhead_samples,
                    overhead_vs_native: b.overhead_vs_native.clone(),
                    decode_cv: b.decode_cv,
                    tokens_per_rep: b.reps.iter().map(|r| r.token_ids.len()).collect(),
                    token_ids: b
                        .reps
                        .first()
                        .map(|r| r.token_ids.clone())
                        .unwrap_or_default(),
                    crossings_per_token: crossings_per_token(b),
                    peak_rss_bytes: b
                        .memory
                        .peak_rss_bytes
                        .or(b.memory.worker_reported_peak_rss_bytes),
                }
            })
            .collect();
        Baseline {
            baseline_format: BASELINE_FORMAT,
            name: name.to_string(),
            source_run_id: r.run_id.clone(),
            results_schema_version: r.schema_version,
            status: Some(r.status),
            scenario: r.scenario.clone(),
            environment: r.environment.clone(),
            injected_slowdowns: r.injected_slowdowns.clone(),
            profiling: r.profiling.clone(),
            noisy: r.noisy,
            backends,
            design: Some(r.design.clone()),
        }
    }

    /// Keeps only the first `n` reps of every per-rep series: how the gate
    /// experiment measures sensitivity against the rep count from one set of runs.
    pub fn truncate_reps(&mut self, n: usize) {
        for b in &mut self.backends {
            for v in b
                .samples
                .values_mut()
                .chain(b.overhead_samples.values_mut())
            {
                v.truncate(n);
            }
            b.tokens_per_rep.truncate(n);
        }
    }

    pub fn backend(&self, name: &str) -> Option<&BaselineBackend> {
        self.backends.iter().find(|b| b.name == name)
    }

    /// The run's status when it is not complete (still `running`: killed or
    /// stopped by a full disk; `incomplete`: interrupted).
    pub fn unfinished(&self) -> Option<RunStatus> {
        self.status.filter(|s| *s != RunStatus::Complete)
    }

    /// Backends the gate can judge: status ok, with measured reps.
    pub fn usable_backends(&self) -> impl Iterator<Item = &BaselineBackend> {
        self.backends
            .iter()
            .filter(|b| b.status == BackendStatus::Ok && !b.tokens_per_rep.is_empty())
    }

    /// Reads a baseline file, a results.json, or a run directory holding
    /// results.json. Returns the baseline and the file actually read.
    pub fn load(path: &Path) -> Result<(Baseline, PathBuf), BaselineError> {
        let file = if path.is_dir() {
            path.join("results.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|source| BaselineError::Read {
            path: file.display().to_string(),
            source,
        })?;
        Ok((Baseline::parse(&text, &file)?, file))
    }

    /// `load` on text already read (a baseline or a results.json); `file`
    /// names it in errors. Split out so the fuzzer can feed it bytes.
    pub fn parse(text: &str, file: &Path) -> Result<Baseline, BaselineError> {
        let shown = file.display().to_string();
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| BaselineError::Parse {
                path: shown.clone(),
                what: "a baseline or results.json",
                message: e.to_string(),
            })?;
        let version = |key: &str| value.get(key).and_then(|v| v.as_u64()).map(|v| v as u32);
        if let Some(found) = version("baseline_format") {
            if found != BASELINE_FORMAT {
                return Err(BaselineError::Version {
                    path: shown,
                    what: "baseline_format",
                    found,
                    expected: BASELINE_FORMAT,
                });
            }
            return serde_json::from_value(value).map_err(|e| BaselineError::Parse {
                path: shown,
                what: "a baseline",
                message: e.to_string(),
            });
        }
        let found = version("schema_version").unwrap_or(0);
        if found != SCHEMA_VERSION {
            return Err(BaselineError::Version {
                path: shown,
                what: "results schema_version",
                found,
                expected: SCHEMA_VERSION,
            });
        }
        let results: BenchResults =
            serde_json::from_value(value).map_err(|e| BaselineError::Parse {
                path: shown,
                what: "results.json",
                message: e.to_string(),
            })?;
        Ok(Baseline::from_results(&results, &results.run_id))
    }

    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let shown = path.display().to_string();
        let mut text = serde_json::to_string_pretty(self).expect("baselines serialize");
        text.push('\n');
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| BaselineError::Write {
                path: shown.clone(),
                source,
            })?;
        }
        crate::export::write_atomic(path, text.as_bytes()).map_err(|e| BaselineError::Write {
            path: shown,
            source: std::io::Error::other(e.to_string()),
        })
    }
}

fn crossings_per_token(b: &crate::results::BackendResult) -> BTreeMap<String, f64> {
    let c = &b.crossings;
    let tokens =
        b.reps.iter().map(|r| r.token_ids.len() as f64).sum::<f64>() / b.reps.len().max(1) as f64;
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<f64>, per_rep: bool| {
        if let Some(v) = v {
            let per_token = if per_rep && tokens > 0.0 {
                v / tokens
            } else {
                v
            };
            out.insert(k.to_string(), per_token);
        }
    };
    // IPC bytes are left out on purpose: they carry timestamps whose digit
    // count varies, so they are not an exact property of the code.
    put("rust_to_c_calls", c.rust_to_c_calls, true);
    put("c_to_rust_callbacks", c.c_to_rust_callbacks, true);
    put("ipc_messages_in", c.ipc_messages_in, true);
    put("ipc_messages_out", c.ipc_messages_out, true);
    put("mlx_evals", c.mlx_evals_per_token, false);
    put("mlx_syncs", c.mlx_syncs_per_token, false);
    out
}
