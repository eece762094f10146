//! The bounds of `bench`'s (and `sweep`'s, `profile`'s) numeric and list
//! flags, checked once before anything is resolved, made or written; and the
//! prompt's length against the model's context before its ids exist.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use crossbench_core::scenario::{
    synthetic_prompt_ids, PromptSpec, MAX_REPETITIONS, MAX_TIMEOUT_S, MAX_WARMUP, MIN_TIMEOUT_S,
};
use crossbench_core::{LoadedScenario, ResolutionTarget};

use crate::cmd::bench_args::RunOptions;
use crate::setup::tokenizer;

/// `--layers` (and a sweep rung's `layers`): beyond any real model.
const MAX_LAYERS: u64 = 1024;

/// The synthetic prompt's ids lie in 1000..9000 (`synthetic_prompt_ids`).
const SYNTHETIC_MAX_ID: u64 = 9000;

/// The run flags' values, each in its range; None: the scenario's value.
#[derive(Debug, Clone)]
pub struct CheckedFlags {
    pub repetitions: Option<u32>,
    pub warmup: Option<u32>,
    pub timeout: Option<Duration>,
    pub gap: Duration,
    pub until_resolution: Option<ResolutionTarget>,
}

/// Every flag in its range, each error naming the flag and its value; the
/// only check of the flags, made before anything is resolved or written.
pub fn check(run: &RunOptions, layers: Option<u32>) -> Result<CheckedFlags> {
    let in_range = |flag: &str, v: u64, min: u64, max: u64| {
        if v < min || v > max {
            bail!("{flag} {v}: must be in {min}..={max}");
        }
        // In range, so within u32 (every maximum here is).
        Ok(v as u32)
    };
    let repetitions = run
        .reps
        .map(|n| in_range("--reps", n, 1, MAX_REPETITIONS.into()))
        .transpose()?;
    let warmup = run
        .warmup
        .map(|n| in_range("--warmup", n, 0, MAX_WARMUP.into()))
        .transpose()?;
    if let Some(n) = layers {
        in_range("--layers", n.into(), 1, MAX_LAYERS)?;
    }
    if let Some(t) = run.timeout {
        // NaN fails both comparisons.
        if !(MIN_TIMEOUT_S..=MAX_TIMEOUT_S).contains(&t) {
            bail!(
                "--timeout {t:?}: seconds in [{MIN_TIMEOUT_S:e}, {MAX_TIMEOUT_S}] (at most 7 days)"
            );
        }
    }
    if let Some(names) = &run.backends {
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                bail!("--backends {}: `{name}` is listed twice", names.join(","));
            }
        }
    }
    let (gap, until_resolution) = crate::cmd::design_opts::gap_and_resolution(run)?;
    Ok(CheckedFlags {
        repetitions,
        warmup,
        timeout: run.timeout.map(Duration::from_secs_f64),
        gap,
        until_resolution,
    })
}

/// The scenario's prompt as token ids. With a model, its length plus the
/// tokens to generate must fit the model's context (config.json's
/// `max_position_embeddings`), checked before a synthetic prompt is allocated.
pub fn prompt_ids(loaded: &LoadedScenario, model_dir: Option<&Path>) -> Result<Vec<u32>> {
    match &loaded.scenario.prompt {
        None => Ok(Vec::new()),
        Some(PromptSpec::Length(n)) => {
            if let Some(dir) = model_dir {
                fits(loaded, dir, "prompt.length", u64::from(*n))?;
                synthetic_ids_fit(loaded, dir)?;
            }
            Ok(synthetic_prompt_ids(*n))
        }
        Some(PromptSpec::Text(text)) => {
            let dir =
                model_dir.context("a text prompt needs a model directory with tokenizer.json")?;
            let ids = tokenizer::encode(&tokenizer::load(dir)?, text)?;
            fits(loaded, dir, "prompt.text", ids.len() as u64)?;
            Ok(ids)
        }
    }
}

/// A number of the model's config.json, if it has it.
fn config_number(dir: &Path, key: &str) -> Option<u64> {
    let bytes = std::fs::read(dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    config.get(key)?.as_u64()
}

fn fits(loaded: &LoadedScenario, dir: &Path, key: &str, prompt: u64) -> Result<()> {
    let Some(context) = config_number(dir, "max_position_embeddings") else {
        return Ok(());
    };
    let new = u64::from(loaded.scenario.generation.max_new_tokens);
    if prompt + new > context {
        bail!(
            "{}: `{key}` ({prompt} tokens) + `generation.max_new_tokens` ({new}) exceed the \
             model's context: max_position_embeddings = {context} in {}",
            loaded.path.display(),
            dir.join("config.json").display()
        );
    }
    Ok(())
}

fn synthetic_ids_fit(loaded: &LoadedScenario, dir: &Path) -> Result<()> {
    match config_number(dir, "vocab_size") {
        Some(vocab) if vocab <= SYNTHETIC_MAX_ID => bail!(
            "{}: `prompt.length` uses synthetic ids up to {SYNTHETIC_MAX_ID}, but the model's \
             vocab_size is {vocab} ({}): use `prompt.text`",
            loaded.path.display(),
            dir.join("config.json").display()
        ),
        _ => Ok(()),
    }
}

/// A serve scenario's requests against the model: synthetic prompt ids
/// (1000..9000, `crossbench_core::serve::trace`) within its vocabulary, and
/// the longest prompt plus the longest output within its context.
pub fn serve_fits(loaded: &LoadedScenario, dir: &Path) -> Result<()> {
    let Some(serve) = &loaded.scenario.serve else {
        return Ok(());
    };
    if let Some(vocab) = config_number(dir, "vocab_size").filter(|&v| v <= SYNTHETIC_MAX_ID) {
        bail!(
            "{}: `serve.prompt_len` draws synthetic ids up to {SYNTHETIC_MAX_ID}, but the model's \
             vocab_size is {vocab} ({})",
            loaded.path.display(),
            dir.join("config.json").display()
        );
    }
    let longest = u64::from(serve.prompt_len.max) + u64::from(serve.output_len.max);
    if let Some(context) = config_number(dir, "max_position_embeddings").filter(|&c| longest > c) {
        bail!(
            "{}: `serve.prompt_len` max ({}) + `serve.output_len` max ({}) exceed the model's \
             context: max_position_embeddings = {context} in {}",
            loaded.path.display(),
            serve.prompt_len.max,
            serve.output_len.max,
            dir.join("config.json").display()
        );
    }
    Ok(())
}

/// Flags that mean nothing for a serve scenario are refused, not ignored:
/// its warm-up is `serve.warmup_requests` and every design run has a fresh
/// worker, so `--warmup`, `--residency` and `--until-resolution` do not apply.
pub fn check_serve_flags(run: &RunOptions, loaded: &LoadedScenario) -> Result<()> {
    if loaded.scenario.serve.is_none() {
        return Ok(());
    }
    let file = loaded.path.display();
    if run.warmup.is_some_and(|w| w > 0) {
        bail!("--warmup: {file} is a serve scenario; its warm-up is `serve.warmup_requests`");
    }
    if run.residency.is_some() {
        bail!("--residency: {file} is a serve scenario; every design run has a fresh worker");
    }
    if run.until_resolution.is_some() {
        bail!("--until-resolution: applies to generate scenarios, and {file} is a serve scenario");
    }
    Ok(())
}
