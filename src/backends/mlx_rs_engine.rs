//! The `mlx-rs` backend's engine (`crossbench worker --backend mlx-rs`, feature
//! `mlx-rs`): the model written in Rust over mlx-rs, one mlx-c call per MLX
//! operation (crates/crossbench-mlx-rs). `calls` in the done counters is the
//! number of those calls made for the generation, counted by its `ops` layer.

use crossbench_core::protocol::codes;
use crossbench_core::{EngineError, GenRequest, GenStats, InProcessEngine, LoadInfo};
use crossbench_mlx_rs::{ops, Model, Sampling, Session};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

pub struct MlxRsEngine {
    dir: PathBuf,
    device: String,
    model: Option<Model>,
}

impl MlxRsEngine {
    pub fn new(dir: PathBuf, device: String) -> MlxRsEngine {
        MlxRsEngine {
            dir,
            device,
            model: None,
        }
    }
}

fn engine_error(e: crossbench_mlx_rs::Error) -> EngineError {
    EngineError::new(e.code(), e.to_string())
}

impl InProcessEngine for MlxRsEngine {
    fn load(&mut self) -> Result<LoadInfo, EngineError> {
        crossbench_mlx_rs::set_device(&self.device).map_err(engine_error)?;
        let start = Instant::now();
        self.model = Some(crossbench_mlx_rs::load(&self.dir).map_err(engine_error)?);
        Ok(LoadInfo {
            load_ns: start.elapsed().as_nanos() as u64,
            device: Some(crossbench_mlx_rs::default_device()),
        })
    }

    fn generate(
        &mut self,
        req: &GenRequest,
        on_token: &mut dyn FnMut(u32),
    ) -> Result<GenStats, EngineError> {
        let model = super::in_process_worker::loaded(self.model.as_ref())?;
        let sampling = Sampling {
            temperature: req.temperature,
            top_p: req.top_p,
            seed: req.seed,
        };
        let calls_before = ops::calls();
        let mut session = Session::new(model, sampling).map_err(engine_error)?;
        on_token(session.prefill(&req.prompt).map_err(engine_error)?);
        for _ in 1..req.max_new {
            on_token(session.step().map_err(engine_error)?);
        }
        session.finish().map_err(engine_error)?;
        let c = session.counters().clone();
        drop(session);
        let mut counters = BTreeMap::new();
        counters.insert("calls".to_string(), ops::calls() - calls_before);
        counters.insert("callbacks".to_string(), 0);
        counters.insert("evals".to_string(), c.evals);
        counters.insert("forward_passes".to_string(), c.forward_passes);
        counters.insert("syncs".to_string(), c.syncs);
        counters.insert("prompt_tokens".to_string(), c.prompt_tokens);
        counters.insert("bytes_out".to_string(), c.bytes_out);
        counters.insert(
            "mlx_peak_bytes".to_string(),
            crossbench_mlx_rs::peak_memory(),
        );
        Ok(GenStats {
            prefill_ns: c.prefill_ns,
            decode_ns: c.decode_ns,
            counters,
            phases: None, // not instrumented: `--phases` reports mlx-rs without a split
        })
    }
}
