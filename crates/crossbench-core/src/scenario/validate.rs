//! The checks behind `parse_scenario`: one method per section, each error
//! naming the file and the key (and the allowed range where there is one).

use std::path::PathBuf;
use std::time::Duration;

use super::{
    GenerationParams, ModelSource, PromptSpec, RawGeneration, RawModel, RawPrompt, RawRun,
    RawScenario, RawSweep, RunParams, ScenarioError, ScenarioKind, ServeParams, SweepRung,
    MAX_NEW_TOKENS, MAX_PROMPT_TOKENS, MAX_REPETITIONS, MAX_TIMEOUT_S, MAX_WARMUP, MIN_TIMEOUT_S,
};

pub(super) struct Validator<'a> {
    pub(super) file: &'a str,
}

impl Validator<'_> {
    /// `[serve]`: required for kind = "serve", refused for the others.
    pub(super) fn serve_section(
        &self,
        raw: &RawScenario,
    ) -> Result<Option<ServeParams>, ScenarioError> {
        match (&raw.serve, raw.kind) {
            (Some(s), ScenarioKind::Serve) => self.serve(s).map(Some),
            (None, ScenarioKind::Serve) => {
                Err(self.invalid("serve", "is required when kind = \"serve\""))
            }
            (Some(_), _) => Err(self.invalid("serve", "applies to kind = \"serve\" only")),
            (None, _) => Ok(None),
        }
    }

    /// What a serve scenario may not have: sampling (the engine is greedy,
    /// and equal ids per request are checked), a `[prompt]` (prompts come
    /// from `serve.prompt_len`), whole warm-up runs (warm-up is
    /// `serve.warmup_requests`), a detokenizing consumer, a model ladder.
    pub(super) fn serve_rules(
        &self,
        raw: &RawScenario,
        g: &GenerationParams,
    ) -> Result<(), ScenarioError> {
        if g.temperature != 0.0 {
            return Err(self.invalid(
                "generation.temperature",
                format!(
                    "= {}: must be 0 for kind = \"serve\" (the engine is greedy)",
                    g.temperature
                ),
            ));
        }
        if raw.prompt.is_some() {
            return Err(self.invalid(
                "prompt",
                "does not apply to kind = \"serve\": prompts are drawn from `serve.prompt_len`",
            ));
        }
        if raw.run.warmup != 0 {
            return Err(self.invalid(
                "run.warmup",
                format!(
                    "= {}: must be 0 for kind = \"serve\": warm-up is `serve.warmup_requests`, served first in every run",
                    raw.run.warmup
                ),
            ));
        }
        if raw.consumer.as_ref().is_some_and(|c| c.detokenize) {
            return Err(self.invalid(
                "consumer.detokenize",
                "is not supported for kind = \"serve\"",
            ));
        }
        if raw.sweep.is_some() {
            return Err(self.invalid(
                "sweep",
                "(a model ladder) does not apply to kind = \"serve\": sweep its load with `serve.sweep_concurrency` or `serve.sweep_rate`",
            ));
        }
        Ok(())
    }

    pub(super) fn invalid(&self, key: &'static str, problem: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_string(),
            key,
            problem: problem.into(),
        }
    }

    pub(super) fn model(&self, m: &RawModel) -> Result<ModelSource, ScenarioError> {
        match (&m.preset, &m.path) {
            (Some(p), None) if !p.trim().is_empty() => Ok(ModelSource::Preset(p.clone())),
            (None, Some(p)) if !p.trim().is_empty() => Ok(ModelSource::Path(PathBuf::from(p))),
            (Some(_), Some(_)) => Err(self.invalid(
                "model.preset",
                "and `model.path` are both set; give exactly one",
            )),
            (None, None) => Err(self.invalid(
                "model.preset",
                "or `model.path` is required; give exactly one",
            )),
            _ => Err(self.invalid("model", "preset/path must not be empty")),
        }
    }

    pub(super) fn prompt(&self, p: &RawPrompt) -> Result<PromptSpec, ScenarioError> {
        match (&p.text, p.length) {
            (Some(_), Some(_)) => Err(self.invalid(
                "prompt.text",
                "and `prompt.length` are both set; give exactly one",
            )),
            (None, None) => Err(self.invalid(
                "prompt.text",
                "or `prompt.length` is required; give exactly one",
            )),
            (Some(t), None) if t.trim().is_empty() => {
                Err(self.invalid("prompt.text", "must not be empty"))
            }
            (Some(t), None) => Ok(PromptSpec::Text(t.clone())),
            (None, Some(n)) => Ok(PromptSpec::Length(self.int_in(
                "prompt.length",
                n,
                1,
                i64::from(MAX_PROMPT_TOKENS),
            )? as u32)),
        }
    }

    pub(super) fn generation(&self, g: &RawGeneration) -> Result<GenerationParams, ScenarioError> {
        let max_new = self.int_in(
            "generation.max_new_tokens",
            g.max_new_tokens,
            1,
            i64::from(MAX_NEW_TOKENS),
        )?;
        // Checked as the f32 every worker receives: 1e300 would become inf
        // and 1e-50 would become 0, which the workers refuse (found by fuzzing).
        let temperature = g.temperature.unwrap_or(0.0);
        if !(temperature >= 0.0 && (temperature as f32).is_finite()) {
            return Err(self.invalid(
                "generation.temperature",
                format!(
                    "= {temperature}: must be >= 0 (0 = greedy) and at most {}",
                    f32::MAX
                ),
            ));
        }
        let top_p = g.top_p.unwrap_or(1.0);
        if !(top_p as f32 > 0.0 && top_p <= 1.0) {
            return Err(self.invalid(
                "generation.top_p",
                format!(
                    "= {top_p}: must be in (0, 1] (and at least {:e})",
                    f32::from_bits(1)
                ),
            ));
        }
        let seed = self.int_in("generation.seed", g.seed.unwrap_or(0), 0, i64::MAX)?;
        Ok(GenerationParams {
            max_new_tokens: max_new as u32,
            temperature: temperature as f32,
            top_p: top_p as f32,
            seed: seed as u64,
        })
    }

    pub(super) fn sweep(&self, s: &RawSweep) -> Result<Vec<SweepRung>, ScenarioError> {
        if s.rungs.is_empty() {
            return Err(self.invalid("sweep.rungs", "must list at least one rung"));
        }
        let mut rungs = Vec::new();
        for r in &s.rungs {
            if r.preset.trim().is_empty() {
                return Err(self.invalid("sweep.rungs.preset", "must not be empty"));
            }
            let layers = match r.layers {
                Some(n) => Some(self.int_in("sweep.rungs.layers", n, 1, 1024)? as u32),
                None => None,
            };
            rungs.push(SweepRung {
                preset: r.preset.clone(),
                layers,
                dtype: r.dtype,
            });
        }
        Ok(rungs)
    }

    pub(super) fn run(&self, r: &RawRun) -> Result<RunParams, ScenarioError> {
        let warmup = self.int_in("run.warmup", r.warmup, 0, i64::from(MAX_WARMUP))?;
        let repetitions = self.int_in(
            "run.repetitions",
            r.repetitions,
            1,
            i64::from(MAX_REPETITIONS),
        )?;
        // NaN fails both comparisons.
        if !(MIN_TIMEOUT_S..=MAX_TIMEOUT_S).contains(&r.timeout_s) {
            return Err(self.invalid(
                "run.timeout_s",
                format!(
                    "= {:?}: must be in [{MIN_TIMEOUT_S:e}, {MAX_TIMEOUT_S}] seconds (at most 7 days)",
                    r.timeout_s
                ),
            ));
        }
        if r.backends.is_empty() {
            return Err(self.invalid("run.backends", "must list at least one backend"));
        }
        for (i, name) in r.backends.iter().enumerate() {
            if r.backends[..i].contains(name) {
                return Err(self.invalid("run.backends", format!("lists `{name}` twice")));
            }
        }
        Ok(RunParams {
            warmup: warmup as u32,
            repetitions: repetitions as u32,
            timeout: Duration::from_secs_f64(r.timeout_s),
            backends: r.backends.clone(),
            token_progress: r.token_progress,
            blas_threads: match r.blas_threads {
                Some(n) => Some(self.int_in("run.blas_threads", n, 1, 1024)? as u32),
                None => None,
            },
        })
    }

    pub(super) fn int_in(
        &self,
        key: &'static str,
        value: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ScenarioError> {
        if value < min || value > max {
            return Err(self.invalid(key, format!("= {value}: must be in {min}..={max}")));
        }
        Ok(value)
    }
}
