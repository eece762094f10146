//! The worker process of the in-process backends (`crossbench worker --backend ...`),
//! started by `bench`: ffi-token and ffi-batched call the C++ shim, mock needs no MLX.
//! The core's `serve_in_process` stamps each token the moment this Rust code holds it.

use anyhow::{bail, Context, Result};
use crossbench_core::phases::{self, Phase, PhaseLog};
use crossbench_core::protocol::codes;
use crossbench_core::{
    serve_in_process, EngineError, GenRequest, GenStats, InProcessEngine, LoadInfo, MockConfig,
    MockEngine,
};
use crossbench_shim::{Flow, Model, PhaseRecording, Sampling, ShimError};
use std::collections::BTreeMap;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The API shape an FFI engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfiShape {
    /// Rust owns the loop: one shim call per token.
    PerToken,
    /// One shim call per generation; tokens come back through a callback.
    Batched,
}

pub fn serve(backend: &str, model: Option<&Path>, device: &str) -> Result<i32> {
    let mut engine = engine_for(backend, model, device)?;
    let stdin = io::stdin().lock();
    let stdout = BufWriter::new(io::stdout().lock());
    match serve_in_process(engine.as_mut(), stdin, stdout) {
        Ok(()) => Ok(0),
        Err(crossbench_core::protocol::ServeError::Load(_)) => Ok(2), // already reported as an event
        Err(e) => Err(e.into()),
    }
}

/// The engine of an in-process backend, chosen by its descriptor: the mock
/// engine, the shim called per token or per generation, or the model in Rust
/// over mlx-rs. Other backends have workers of their own.
fn engine_for(
    backend: &str,
    model: Option<&Path>,
    device: &str,
) -> Result<Box<dyn InProcessEngine>> {
    use crossbench_core::backend::{BackendRole, CallerLanguage::Rust, CrossingShape};
    let not_served = || {
        anyhow::anyhow!(
            "the worker does not serve backend '{backend}' (ffi-token, ffi-batched, mlx-rs, mock)"
        )
    };
    let d = crossbench_core::backend::known_backend(backend)
        .ok_or_else(not_served)?
        .descriptor;
    let shape = match (d.role, d.caller, d.crossing) {
        (BackendRole::Mock, _, _) => {
            let config = MockConfig::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
            return Ok(Box::new(MockEngine::new(config)));
        }
        (_, Rust, CrossingShape::CallPerToken) => FfiShape::PerToken,
        (_, Rust, CrossingShape::CallbackPerToken) => FfiShape::Batched,
        (_, Rust, CrossingShape::CallPerOp) => return mlx_rs_engine(model, device),
        _ => return Err(not_served()),
    };
    let dir = model.context("--model is required for the FFI backends")?;
    Ok(Box::new(FfiEngine::new(
        backend,
        shape,
        dir.to_path_buf(),
        device.to_string(),
    )))
}

#[cfg(feature = "mlx-rs")]
fn mlx_rs_engine(model: Option<&Path>, device: &str) -> Result<Box<dyn InProcessEngine>> {
    let dir = model.context("--model is required for the mlx-rs backend")?;
    Ok(Box::new(crate::backends::mlx_rs_engine::MlxRsEngine::new(
        dir.to_path_buf(),
        device.to_string(),
    )))
}

#[cfg(not(feature = "mlx-rs"))]
fn mlx_rs_engine(_model: Option<&Path>, _device: &str) -> Result<Box<dyn InProcessEngine>> {
    bail!(
        "this crossbench was built without the `mlx-rs` feature; {}",
        crate::backends::MLX_RS_HOW
    )
}

pub struct FfiEngine {
    /// The backend's name (CROSSBENCH_FAULT, CROSSBENCH_SERVE_FAULT address it).
    backend: String,
    shape: FfiShape,
    dir: PathBuf,
    device: String,
    model: Option<Model>,
    /// Test hook, CROSSBENCH_FAULT="<backend>:<kind>@N": at token N, `panic` in the
    /// consumer (inside the C++→Rust callback for ffi-batched: it must not unwind into
    /// C++), `throw` a C++ exception in the next shim call, `kill` (SIGKILL) or `hang`.
    fault: Option<Fault>,
    /// stream100: the consumer detokenizes each token as it arrives (CROSSBENCH_DETOKENIZE=1).
    detokenize: bool,
    tokenizer: Option<tokenizers::Tokenizer>,
    /// `bench --phases` (CROSSBENCH_PHASES=1): record the phase timeline.
    phases: bool,
}

impl FfiEngine {
    /// `backend`: the name CROSSBENCH_FAULT addresses this engine by.
    pub fn new(backend: &str, shape: FfiShape, dir: PathBuf, device: String) -> FfiEngine {
        let fault = Fault::from_env(backend);
        let detokenize = std::env::var("CROSSBENCH_DETOKENIZE").is_ok_and(|v| v == "1");
        FfiEngine {
            backend: backend.to_string(),
            shape,
            dir,
            device,
            model: None,
            fault,
            detokenize,
            tokenizer: None,
            phases: phases::requested(),
        }
    }
}

fn engine_error(e: ShimError) -> EngineError {
    let code = match &e {
        ShimError::CallbackPanic(_) => "CB_ERR_CALLBACK_PANIC",
        other => other.kind().code(),
    };
    EngineError::new(code, e.to_string())
}

impl InProcessEngine for FfiEngine {
    fn serve_trace(&mut self, trace: &Path) -> Result<String, EngineError> {
        if self.shape != FfiShape::Batched {
            return Err(EngineError::new(
                codes::UNSUPPORTED,
                "ffi-token has no serving design (serve: ffi-batched)",
            ));
        }
        let trace = super::ffi_serve::read_trace(trace)
            .map_err(|e| EngineError::new(codes::ARGUMENT, e))?;
        let model = loaded(self.model.as_mut())?;
        Ok(super::ffi_serve::serve_trace(model, &trace, &self.backend))
    }

    fn load(&mut self) -> Result<LoadInfo, EngineError> {
        crossbench_shim::set_device(&self.device).map_err(engine_error)?;
        let start = Instant::now();
        let model = Model::load(&self.dir).map_err(engine_error)?;
        let load_ns = start.elapsed().as_nanos() as u64;
        self.model = Some(model);
        if self.detokenize {
            let tok = crate::setup::tokenizer::load(&self.dir)
                .map_err(|e| EngineError::new(codes::LOAD, format!("{e:#}")))?;
            self.tokenizer = Some(tok);
        }
        Ok(LoadInfo {
            load_ns,
            device: Some(crossbench_shim::default_device()),
        })
    }

    fn generate(
        &mut self,
        req: &GenRequest,
        on_token: &mut dyn FnMut(u32),
    ) -> Result<GenStats, EngineError> {
        let model = loaded(self.model.as_mut())?;
        let sampling = Sampling {
            temperature: req.temperature,
            top_p: req.top_p,
            seed: req.seed,
        };
        let mut consumer = Consumer::new(self.tokenizer.as_ref());
        let fault = self.fault.clone();
        let mut index = 0u64;
        // Two logs of this side's spans, the consumer's and the loop's (both
        // preallocated), and the shim's own recording; merged after.
        let max_new = req.max_new as usize;
        let mut consumer_log = PhaseLog::new(self.phases, max_new);
        let mut loop_log = PhaseLog::new(self.phases, max_new);
        let shim_log = self
            .phases
            .then(|| PhaseRecording::for_tokens(max_new))
            .transpose()
            .map_err(engine_error)?;
        let mut consume = |token: u32| {
            let begin = consumer_log.mark();
            if let Some(f) = &fault {
                f.maybe_inject(index);
            }
            index += 1;
            on_token(token);
            consumer.take(token);
            consumer_log.close(Phase::Consumer, begin);
        };
        // Crossings are what the shim counted between these two readings (the
        // readings themselves are not counted): the generation's calls, the
        // session's free, and the peak-memory query below.
        let calls_before = crossbench_shim::abi_calls_total();
        let counters = match self.shape {
            FfiShape::PerToken => per_token(model, req, sampling, &mut loop_log, &mut consume)?,
            FfiShape::Batched => batched(model, req, sampling, &mut consume)?,
        };
        consumer.result()?;
        let mlx_peak = crossbench_shim::mlx_peak_memory();
        let calls = crossbench_shim::abi_calls_total() - calls_before;
        let mut stats = stats_from(&counters, calls, mlx_peak);
        if let Some(shim_log) = shim_log {
            let (shim_spans, shim_dropped) = shim_log.finish().map_err(engine_error)?;
            let dropped = shim_dropped + consumer_log.dropped() + loop_log.dropped();
            stats.counters.insert(phases::DROPPED.into(), dropped);
            stats.phases = Some(consumer_log.into_spans(loop_log.into_spans(shim_spans)));
        }
        if self.tokenizer.is_some() {
            stats
                .counters
                .insert("detokenized_bytes".into(), consumer.text.len() as u64);
        }
        Ok(stats)
    }
}

/// The consumer's per-token work after the token is stamped: incremental
/// detokenizing, as a streaming client does. It runs where the consumer runs: in
/// the Rust loop (ffi-token) or inside the C++→Rust callback (ffi-batched).
struct Consumer<'t> {
    stream: Option<
        tokenizers::DecodeStream<
            't,
            tokenizers::ModelWrapper,
            tokenizers::NormalizerWrapper,
            tokenizers::PreTokenizerWrapper,
            tokenizers::PostProcessorWrapper,
            tokenizers::DecoderWrapper,
        >,
    >,
    text: String,
    /// The detokenizer's first failure (token index, cause): the generation
    /// goes on (its timing stays whole) and then reports it as an error.
    error: Option<(usize, String)>,
    taken: usize,
}

impl<'t> Consumer<'t> {
    fn new(tokenizer: Option<&'t tokenizers::Tokenizer>) -> Self {
        Consumer {
            stream: tokenizer.map(|t| t.decode_stream(true)),
            text: String::new(),
            error: None,
            taken: 0,
        }
    }

    #[inline]
    fn take(&mut self, token: u32) {
        if let Some(stream) = self.stream.as_mut() {
            match stream.step(token) {
                Ok(Some(chunk)) => self.text.push_str(&chunk),
                Ok(None) => {}
                Err(e) if self.error.is_none() => self.error = Some((self.taken, e.to_string())),
                Err(_) => {}
            }
        }
        self.taken += 1;
    }

    /// The detokenizer's failure, if any, as the generation's error.
    fn result(&self) -> Result<(), EngineError> {
        match &self.error {
            None => Ok(()),
            Some((i, cause)) => Err(EngineError::new(
                codes::GENERATE,
                format!("the consumer's detokenizer failed at token {i}: {cause}"),
            )),
        }
    }
}

/// Rust owns the loop: one shim call per token, then `finish` drains the step
/// queued past the last token (the same passes as mlx-lm's loop).
/// Each decode call is a crossing span in `log`, holding the shim's own spans.
fn per_token(
    model: &mut Model,
    req: &GenRequest,
    sampling: Sampling,
    log: &mut PhaseLog,
    on_token: &mut dyn FnMut(u32),
) -> Result<crossbench_shim::Counters, EngineError> {
    let extra_call = extra_call_per_token();
    let mut session = model.session(sampling).map_err(engine_error)?;
    on_token(session.prefill(&req.prompt).map_err(engine_error)?);
    for _ in 1..req.max_new {
        if extra_call {
            crossbench_shim::mlx_active_memory();
        }
        let begin = log.mark();
        let token = session.decode_step().map_err(engine_error)?;
        log.close(Phase::Crossing, begin);
        on_token(token);
    }
    session.finish().map_err(engine_error)
}

/// Test hook (CROSSBENCH_TEST_EXTRA_CALL=1): ffi-token makes one more shim call
/// per decode step, so a test can see the shim's crossing count follow it.
fn extra_call_per_token() -> bool {
    std::env::var("CROSSBENCH_TEST_EXTRA_CALL").is_ok_and(|v| v == "1")
}

/// One crossing; the C++ loop calls back into Rust per token.
fn batched(
    model: &mut Model,
    req: &GenRequest,
    sampling: Sampling,
    on_token: &mut dyn FnMut(u32),
) -> Result<crossbench_shim::Counters, EngineError> {
    model
        .generate(
            &req.prompt,
            req.max_new as usize,
            sampling,
            |token, _index| {
                on_token(token);
                Flow::Continue
            },
        )
        .map_err(engine_error)
}

#[derive(Debug, Clone)]
struct Fault {
    kind: String,
    at: u64,
}

impl Fault {
    fn from_env(backend: &str) -> Option<Fault> {
        let spec = std::env::var("CROSSBENCH_FAULT").ok()?;
        let rest = spec.strip_prefix(backend)?.strip_prefix(':')?;
        let (kind, at) = rest.split_once('@')?;
        Some(Fault {
            kind: kind.to_string(),
            at: at.parse().ok()?,
        })
    }

    fn maybe_inject(&self, index: u64) {
        if index != self.at {
            return;
        }
        match self.kind.as_str() {
            "panic" => panic!("injected panic in the token consumer at token {index}"),
            // Armed now, thrown by the next shim entry point (the next decode step).
            "throw" => {
                crossbench_shim::debug_arm_throw("runtime").expect("arming the test exception")
            }
            // SAFETY: raise() with a valid signal number has no memory preconditions; SIGKILL
            // ends the process at once, so no Rust state is observed after it (a deliberate fault).
            "kill" => unsafe {
                libc::raise(libc::SIGKILL);
            },
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            _ => {}
        }
    }
}

fn stats_from(c: &crossbench_shim::Counters, calls: u64, mlx_peak: u64) -> GenStats {
    let mut counters = BTreeMap::new();
    counters.insert("calls".to_string(), calls);
    counters.insert("callbacks".to_string(), c.callbacks);
    counters.insert("evals".to_string(), c.evals);
    counters.insert("forward_passes".to_string(), c.forward_passes);
    counters.insert("syncs".to_string(), c.syncs);
    counters.insert("prompt_tokens".to_string(), c.prompt_tokens);
    counters.insert("bytes_out".to_string(), c.bytes_out);
    counters.insert("mlx_peak_bytes".to_string(), mlx_peak);
    GenStats {
        prefill_ns: c.prefill_ns,
        decode_ns: c.decode_ns,
        counters,
        phases: None,
    }
}

/// The loaded model, or the protocol's error for a `generate` before `load`
/// (every in-process engine starts `generate` with this check).
pub(crate) fn loaded<M>(model: Option<M>) -> Result<M, EngineError> {
    model.ok_or_else(|| EngineError::new(codes::GENERATE, "generate before load"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tokenizers' DecodeStream skips unknown ids rather than failing, so no
    /// token id provokes a failure here: the path from a recorded failure to
    /// the generation's error is what is tested.
    #[test]
    fn a_detokenizer_failure_becomes_the_generations_error() {
        let mut c = Consumer::new(None);
        c.take(1183);
        assert!(c.result().is_ok());
        c.error = Some((1, "invalid UTF-8 in the stream".into()));
        let e = c.result().unwrap_err();
        assert_eq!(e.code, codes::GENERATE);
        assert!(
            e.message.contains("token 1") && e.message.contains("invalid UTF-8"),
            "{}",
            e.message
        );
    }
}
