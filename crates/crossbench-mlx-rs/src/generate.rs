//! One generation: mlx-lm's generate_step loop over the Rust model, split like
//! the C++ shim's Session (shims/src/generation.cpp): prefill() then step(), each
//! handing out the token queued before, with the next one already async_eval'd,
//! and finish() draining the step queued past the last token.

use crate::model::{KvCache, Model, SwiGlu};
use crate::ops::{c, counted, slice};
use crate::Error;
use mlx_rs::{ops as mx, random, Array, Dtype};
use std::time::Instant;

const PREFILL_STEP: usize = 2048; // mlx-lm generate_step's prefill_step_size

/// Greedy when temperature is 0, else top-p then categorical(logprobs / temp).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub evals: u64,
    pub syncs: u64,
    pub prompt_tokens: u64,
    pub generated_tokens: u64,
    pub bytes_out: u64,
    pub prefill_ns: u64,
    pub decode_ns: u64,
    /// Model forward graphs built: prefill chunks + one per scheduled step.
    pub forward_passes: u64,
}

struct Sampler {
    s: Sampling,
    key: Option<Array>,
}

impl Sampler {
    fn new(s: Sampling) -> Result<Sampler, Error> {
        if !(s.temperature >= 0.0) || !s.temperature.is_finite() {
            return Err(Error::Argument(
                "temperature must be a finite number >= 0".into(),
            ));
        }
        if !(s.top_p > 0.0 && s.top_p <= 1.0) {
            return Err(Error::Argument("top_p must be in (0, 1]".into()));
        }
        let key = if s.temperature > 0.0 {
            Some(c(random::key(s.seed))?)
        } else {
            None
        };
        Ok(Sampler { s, key })
    }

    fn sample(&mut self, logprobs: &Array) -> Result<Array, Error> {
        let Some(key) = &self.key else {
            return c(mx::indexing::argmax_axis(logprobs, -1, None));
        };
        let lp = if self.s.top_p < 1.0 {
            apply_top_p(logprobs, self.s.top_p)?
        } else {
            logprobs.clone()
        };
        // Same split as mx.random's KeySequence::next(). mlx-rs's split is
        // split_num plus two indexing takes, each with its index array: 5 calls.
        let (next, sub) = counted(5, random::split(key, 2))?;
        self.key = Some(next);
        // A Python float scalar is weakly typed: keep the logprobs' dtype.
        let inv = c(c(Ok(Array::from_f32(1.0 / self.s.temperature)))?.as_dtype(lp.dtype()))?;
        c(random::categorical(c(lp.multiply(&inv))?, -1, None, &sub))
    }
}

fn apply_top_p(logprobs: &Array, top_p: f32) -> Result<Array, Error> {
    let sorted = c(mx::sort_axis(logprobs, -1))?;
    let probs = c(c(sorted.as_dtype(Dtype::Float32))?.exp())?;
    let mass_above = c(probs.cumsum(-1, true, false))?;
    let rows = probs.shape()[0];
    let total =
        c(slice(&mass_above, &[0, 0], &[rows, 1])?.add(slice(&probs, &[0, 0], &[rows, 1])?))?;
    let top = c(Ok(Array::from_f32(top_p)))?;
    let dropped = c(c(mass_above.ge(c(top.multiply(&total))?))?.sum_axis(-1, true))?;
    let threshold = c(sorted.take_along_axis(&dropped, -1))?;
    let neg_inf = c(c(Ok(Array::from_f32(f32::NEG_INFINITY)))?.as_dtype(logprobs.dtype()))?;
    c(mx::select(c(logprobs.lt(&threshold))?, &neg_inf, logprobs))
}

pub struct Session<'m> {
    model: &'m Model,
    cache: KvCache,
    swiglu: SwiGlu,
    sampler: Sampler,
    next: Option<Array>,
    counters: Counters,
    first_token_at: Option<Instant>,
    handed: u64,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Model, sampling: Sampling) -> Result<Session<'m>, Error> {
        Ok(Session {
            model,
            cache: KvCache::new(model.layers.len()),
            swiglu: SwiGlu::new(),
            sampler: Sampler::new(sampling)?,
            next: None,
            counters: Counters::default(),
            first_token_at: None,
            handed: 0,
        })
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// tokens [L] -> the sampled next token, shape [1].
    fn forward(&mut self, tokens: &Array) -> Result<Array, Error> {
        self.counters.forward_passes += 1;
        let ids = c(tokens.reshape(&[1, -1]))?;
        let logits = self
            .model
            .forward(&ids, &mut self.cache, &mut self.swiglu)?; // [1, L, V]
        let (l, v) = (logits.shape()[1], logits.shape()[2]);
        let logits = c(slice(&logits, &[0, l - 1, 0], &[1, l, v])?.reshape(&[1, v]))?;
        let logprobs = c(logits.subtract(c(logits.logsumexp_axis(-1, true))?))?;
        self.sampler.sample(&logprobs)
    }

    fn schedule(&mut self, tokens: &Array) -> Result<(), Error> {
        let y = self.forward(tokens)?;
        c(mlx_rs::transforms::async_eval([&y]))?;
        self.counters.evals += 1;
        self.next = Some(y);
        Ok(())
    }

    fn hand_out(&mut self, y: &Array) -> Result<u32, Error> {
        let tok = match y.dtype() {
            Dtype::Int32 => c(y
                .try_item_exact::<i32>()
                .map_err(|e| mlx_rs::error::Exception::custom(e.to_string())))?
                as u32,
            _ => c(y
                .try_item_exact::<u32>()
                .map_err(|e| mlx_rs::error::Exception::custom(e.to_string())))?,
        };
        self.counters.syncs += 1;
        self.counters.generated_tokens += 1;
        self.counters.bytes_out += 4;
        // mlx-lm clears the allocator cache every 256 tokens.
        if self.handed % 256 == 0 {
            c(mlx_rs::memory::clear_cache())?;
        }
        self.handed += 1;
        Ok(tok)
    }

    /// Feeds the prompt (all but the last token in chunks, evaluating only the
    /// cache), queues the following step, then waits for the first token.
    pub fn prefill(&mut self, prompt: &[u32]) -> Result<u32, Error> {
        if prompt.is_empty() {
            return Err(Error::Argument(
                "prompt must contain at least one token".into(),
            ));
        }
        if self.next.is_some() || self.cache.offset() > 0 {
            return Err(Error::Argument("session was already prefilled".into()));
        }
        let vocab = self.model.cfg.vocab_size as u32;
        if let Some((i, t)) = prompt.iter().enumerate().find(|(_, &t)| t >= vocab) {
            return Err(Error::Argument(format!(
                "prompt token {t} at index {i} is outside [0, vocab_size)"
            )));
        }
        let t0 = Instant::now();
        let ids: Vec<i32> = prompt.iter().map(|&t| t as i32).collect();
        let n = ids.len();
        let all = c(Ok(Array::from_slice(&ids, &[n as i32])))?;
        let mut done = 0;
        while n - done > 1 {
            let len = PREFILL_STEP.min(n - done - 1);
            let chunk = c(slice(&all, &[done as i32], &[(done + len) as i32])?.reshape(&[1, -1]))?;
            self.model
                .forward(&chunk, &mut self.cache, &mut self.swiglu)?;
            self.counters.forward_passes += 1;
            c(mlx_rs::transforms::eval(self.cache.state()))?;
            self.counters.evals += 1;
            done += len;
            c(mlx_rs::memory::clear_cache())?;
        }
        self.counters.prompt_tokens += n as u64;
        self.schedule(&slice(&all, &[done as i32], &[n as i32])?)?;
        let y = self.next.take().expect("just scheduled");
        self.schedule(&y)?;
        // mlx-lm's `if n == 0: mx.eval(y)` before the first item().
        c(mlx_rs::transforms::eval([&y]))?;
        self.counters.evals += 1;
        let tok = self.hand_out(&y)?;
        self.first_token_at = Some(Instant::now());
        self.counters.prefill_ns += t0.elapsed().as_nanos() as u64;
        Ok(tok)
    }

    /// Returns the token queued by the previous call, queueing the next one.
    pub fn step(&mut self) -> Result<u32, Error> {
        let y = self
            .next
            .take()
            .ok_or_else(|| Error::Argument("step called before prefill".into()))?;
        self.schedule(&y)?;
        let tok = self.hand_out(&y)?;
        if let Some(t) = self.first_token_at {
            self.counters.decode_ns = t.elapsed().as_nanos() as u64;
        }
        Ok(tok)
    }

    /// Waits for the step queued past the last token, as the shim's
    /// Session::finish does (a wait, not counted as an eval, like mlx-lm's
    /// worker synchronizing its stream). Idempotent.
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(y) = self.next.take() {
            c(mlx_rs::transforms::eval([&y]))?;
        }
        Ok(())
    }
}
