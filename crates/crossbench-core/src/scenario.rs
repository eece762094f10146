//! Scenario files: what to run, with which model, prompt and repetitions.
//!
//! Parsed with `deny_unknown_fields`, then validated; every error names the
//! file and the key, and the allowed values where there is a fixed set.
//! Integers are read signed so that negative values get our own message
//! (naming the key) instead of a type error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod serve;
mod validate;
pub use serve::{
    Arrival, LengthRange, LoadPoint, ServeParams, Slo, MAX_BATCH, MAX_CONCURRENCY,
    MAX_SERVE_REQUESTS,
};
use validate::Validator;

/// Upper bounds shared by the scenario keys and the flags that override
/// them (`bench --timeout/--warmup/--reps`). They keep every later sum and
/// deadline in range: `Instant::now() + timeout` panics on overflow, and a
/// `warmup + repetitions` that wraps would run nothing and call it complete.
/// A week per load or generation, 1000 warm-ups, 100 000 reps and 2^20
/// prompt or new tokens are far beyond any run this tool is for.
pub const MAX_TIMEOUT_S: f64 = 7.0 * 86_400.0;
/// Below 1 ns a timeout's Duration rounds to zero, a deadline already
/// passed (found by fuzzing: 1.2e-47).
pub const MIN_TIMEOUT_S: f64 = 1e-9;
pub const MAX_WARMUP: u32 = 1000;
pub const MAX_REPETITIONS: u32 = 100_000;
pub const MAX_PROMPT_TOKENS: u32 = 1 << 20;
pub const MAX_NEW_TOKENS: u32 = 1 << 20;
/// `bench --gap`: idle seconds before each generation (a flag only).
pub const MAX_GAP_S: f64 = 600.0;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: `{key}` {problem}")]
    Invalid {
        file: String,
        key: &'static str,
        problem: String,
    },
    #[error("no scenario `{name}` in {dir} (available: {})", available.join(", "))]
    NotFound {
        name: String,
        dir: String,
        available: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    Generate,
    Load,
    /// A seeded request stream through the shim's serving engine
    /// (docs/protocol.md, "Serving"); the `[serve]` section says what.
    Serve,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Float32,
    Float16,
    Bfloat16,
    Q4,
    Q8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    Preset(String),
    /// As written in the file; the caller resolves relative paths.
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptSpec {
    Text(String),
    /// This many synthetic token ids (see `synthetic_prompt_ids`).
    Length(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationParams {
    pub max_new_tokens: u32,
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunParams {
    pub warmup: u32,
    pub repetitions: u32,
    pub timeout: Duration,
    pub backends: Vec<String>,
    /// `[run] token_progress = true`: every worker reports each token on
    /// stderr as it comes (one line, a few µs), so a progress bar can count
    /// seconds-long full-size tokens. Off by default: it is per-token I/O.
    pub token_progress: bool,
    /// `[run] blas_threads = N`: OpenBLAS threads per worker
    /// (OPENBLAS_NUM_THREADS), for every backend alike; None = OpenBLAS's
    /// default (one per core). `bench --blas-threads` overrides it.
    pub blas_threads: Option<u32>,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub kind: ScenarioKind,
    pub model: ModelSource,
    pub dtype: Dtype,
    /// None for `kind = "load"` without a prompt section, and for `serve`
    /// (whose prompts come from `[serve] prompt_len`).
    pub prompt: Option<PromptSpec>,
    pub generation: GenerationParams,
    pub run: RunParams,
    pub detokenize: bool,
    /// Model ladder of `crossbench sweep` (`[[sweep.rungs]]`); empty when the
    /// file has no `[sweep]` section. `bench` ignores it.
    pub sweep: Vec<SweepRung>,
    /// `kind = "serve"` only: the request stream and its load points.
    pub serve: Option<ServeParams>,
}

/// One model size of a sweep: a preset of the same architecture, with an
/// optional layer count and dtype overriding the preset's and the
/// scenario's (a ladder up to 7B needs 4-bit at its top rung).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRung {
    pub preset: String,
    pub layers: Option<u32>,
    pub dtype: Option<Dtype>,
}

/// A scenario with where it came from and the sha256 of the file's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: String,
    kind: ScenarioKind,
    model: RawModel,
    prompt: Option<RawPrompt>,
    generation: Option<RawGeneration>,
    run: RawRun,
    consumer: Option<RawConsumer>,
    sweep: Option<RawSweep>,
    serve: Option<serve::RawServe>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    rungs: Vec<RawRung>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRung {
    preset: String,
    layers: Option<i64>,
    dtype: Option<Dtype>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    preset: Option<String>,
    path: Option<String>,
    dtype: Dtype,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrompt {
    text: Option<String>,
    length: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGeneration {
    max_new_tokens: i64,
    temperature: Option<f64>,
    top_p: Option<f64>,
    seed: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    warmup: i64,
    repetitions: i64,
    timeout_s: f64,
    backends: Vec<String>,
    #[serde(default)]
    token_progress: bool,
    blas_threads: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsumer {
    detokenize: bool,
}

/// Parses and validates scenario text; `file` names it in errors and its
/// stem becomes the scenario name.
pub fn parse_scenario(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let file_name = file.display().to_string();
    let raw: RawScenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
        file: file_name.clone(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let v = Validator { file: &file_name };
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let model = v.model(&raw.model)?;
    let prompt = raw.prompt.as_ref().map(|p| v.prompt(p)).transpose()?;
    let serve = v.serve_section(&raw)?;
    let generation = match (&raw.generation, raw.kind) {
        (Some(g), _) => v.generation(g)?,
        (None, ScenarioKind::Load) => GenerationParams {
            max_new_tokens: 1,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        },
        (None, ScenarioKind::Serve) => GenerationParams {
            max_new_tokens: serve.as_ref().map_or(1, |s| s.output_len.max),
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        },
        (None, ScenarioKind::Generate) => {
            return Err(v.invalid("generation", "is required when kind = \"generate\""))
        }
    };
    if raw.kind == ScenarioKind::Generate && prompt.is_none() {
        return Err(v.invalid("prompt", "is required when kind = \"generate\""));
    }
    if raw.kind == ScenarioKind::Serve {
        v.serve_rules(&raw, &generation)?;
    }
    Ok(Scenario {
        name,
        description: raw.description,
        kind: raw.kind,
        model,
        dtype: raw.model.dtype,
        prompt,
        generation,
        run: v.run(&raw.run)?,
        detokenize: raw.consumer.is_some_and(|c| c.detokenize),
        sweep: raw
            .sweep
            .as_ref()
            .map(|s| v.sweep(s))
            .transpose()?
            .unwrap_or_default(),
        serve,
    })
}

/// Loads `name_or_path`: a path when it contains a `/` or ends in `.toml`,
/// otherwise `<scenarios_dir>/<name>.toml`.
pub fn load_scenario(
    name_or_path: &str,
    scenarios_dir: &Path,
) -> Result<LoadedScenario, ScenarioError> {
    let looks_like_path = name_or_path.contains('/') || name_or_path.ends_with(".toml");
    let path = if looks_like_path {
        PathBuf::from(name_or_path)
    } else {
        let candidate = scenarios_dir.join(format!("{name_or_path}.toml"));
        if !candidate.is_file() {
            return Err(ScenarioError::NotFound {
                name: name_or_path.to_string(),
                dir: scenarios_dir.display().to_string(),
                available: scenario_names(scenarios_dir),
            });
        }
        candidate
    };
    let bytes = std::fs::read(&path).map_err(|source| ScenarioError::Read {
        file: path.display().to_string(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let scenario = parse_scenario(&text, &path)?;
    Ok(LoadedScenario {
        scenario,
        sha256: sha256_hex(&bytes),
        path,
    })
}

/// (name, description) of every `*.toml` in `dir`, sorted by name; a file
/// that does not validate is listed with its error as the description.
pub fn list_scenarios(dir: &Path) -> Result<Vec<(String, String)>, ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Read {
        file: dir.display().to_string(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    Ok(paths
        .iter()
        .map(|p| {
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let description = match load_scenario(&p.display().to_string(), dir) {
                Ok(l) => l.scenario.description,
                Err(e) => format!("(invalid: {e})"),
            };
            (name, description)
        })
        .collect())
}

fn scenario_names(dir: &Path) -> Vec<String> {
    list_scenarios(dir)
        .map(|v| v.into_iter().map(|(n, _)| n).collect())
        .unwrap_or_default()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic synthetic prompt ids for `prompt.length`: a fixed
/// pseudo-random sequence over ids 1000..9000, away from the special tokens
/// that tokenizers put at low ids; the caller must use a vocabulary larger
/// than 9000.
pub fn synthetic_prompt_ids(length: u32) -> Vec<u32> {
    let mut state: u32 = 0x2545_f491;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            1000 + state % 8000
        })
        .collect()
}
