//! The real backends: how `bench` starts each one's worker process.

use crossbench_core::backend::names;
use crossbench_core::{
    Backend, BackendError, BackendRegistry, LaunchContext, MockBackend, StampSource, WorkerSpec,
};
use std::path::PathBuf;
use std::sync::Arc;

/// All backends this build knows, in the default order of a run.
pub fn registry() -> BackendRegistry {
    let mut reg = BackendRegistry::new();
    let all: Vec<Arc<dyn Backend>> = vec![
        Arc::new(PythonSubprocess {
            name: names::PYTHON_SUBPROCESS,
            summary: "mlx-lm's generate_step in a Python worker; tokens cross a pipe",
            args: &[],
        }),
        Arc::new(PythonSubprocess {
            name: names::MLX_LM_BATCH,
            summary: "serve only: mlx-lm's own BatchGenerator in the Python worker (another engine, not a boundary); tokens cross a pipe",
            args: &["--engine", "mlx-lm-batch"],
        }),
        Arc::new(InProcess {
            name: names::FFI_TOKEN,
            summary: "Rust owns the loop, one shim call per token",
        }),
        Arc::new(InProcess {
            name: names::FFI_BATCHED,
            summary: "one shim call per generation, tokens streamed back by a C->Rust callback",
        }),
        Arc::new(NativeCpp),
        Arc::new(GoCgo {
            name: names::GO_CGO_TOKEN,
            summary: "Go owns the loop, one cgo call per token (the note's naive cgo)",
        }),
        Arc::new(GoCgo {
            name: names::GO_CGO_BATCHED,
            summary: "one cgo call per generation, an exported Go callback per token (the note's optimized cgo)",
        }),
        Arc::new(GoCgo {
            name: names::GO_CGO_STREAM,
            summary: "the loop on a shim-started C++ thread, tokens into a Go channel (the note's GenerateStream)",
        }),
        #[cfg(feature = "mlx-rs")]
        Arc::new(InProcess {
            name: names::MLX_RS,
            summary: "the model in Rust over mlx-rs: one mlx-c call per MLX operation",
        }),
        Arc::new(MockBackend::new(names::MOCK)),
    ];
    for b in all {
        reg.register(b).expect("backend names are unique");
    }
    reg
}

/// How to get the `mlx-rs` backend when this build lacks it.
pub const MLX_RS_HOW: &str =
    "rebuild with the feature: cargo run --release --features mlx-rs -- bench ...";

/// `registry.resolve`, but naming `mlx-rs` in a build without it says how to get it.
pub fn resolve(
    reg: &BackendRegistry,
    names: &[String],
) -> Result<Vec<Arc<dyn Backend>>, BackendError> {
    reg.resolve(names).map_err(|e| match e {
        BackendError::Unknown { name, .. } if name == names::MLX_RS => BackendError::Unavailable {
            backend: name,
            what_is_missing: "this crossbench was built without the `mlx-rs` feature".into(),
            how_to_get_it: MLX_RS_HOW.into(),
        },
        other => other,
    })
}

fn model_arg(name: &str, ctx: &LaunchContext) -> Result<String, BackendError> {
    let dir = ctx.model_dir.as_ref().ok_or_else(|| BackendError::Launch {
        backend: name.to_string(),
        message: "no model directory given".into(),
    })?;
    Ok(dir.display().to_string())
}

/// A worker's command: `program LEADING... --model DIR --device D` (the
/// arguments every worker takes), with the run's environment. Tokens stamped
/// by the worker are printed after the generation (no pipe per token);
/// stamped on receipt by the driver, each token crosses the pipe as it comes.
fn worker_spec(
    name: &str,
    program: PathBuf,
    leading: &[&str],
    ctx: &LaunchContext,
    stamp: StampSource,
) -> Result<WorkerSpec, BackendError> {
    let mut args: Vec<String> = leading.iter().map(|a| a.to_string()).collect();
    args.extend([
        "--model".into(),
        model_arg(name, ctx)?,
        "--device".into(),
        ctx.device.clone(),
    ]);
    Ok(WorkerSpec {
        program,
        args,
        env: ctx.extra_env.clone(),
        stamp,
        ipc_per_token: stamp == StampSource::DriverReceipt,
    })
}

/// The Python worker, driven over pipes: python-subprocess (mlx-lm's own
/// generation loop; under `serve`, the shim's engine through ctypes) and
/// mlx-lm-batch (`--engine mlx-lm-batch`: mlx-lm's BatchGenerator, serve only).
struct PythonSubprocess {
    name: &'static str,
    summary: &'static str,
    /// Worker arguments after the script.
    args: &'static [&'static str],
}

impl Backend for PythonSubprocess {
    fn name(&self) -> &str {
        self.name
    }
    fn summary(&self) -> &str {
        self.summary
    }
    fn launch(&self, ctx: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        let unavailable = |what: String| {
            BackendError::Unavailable {
            backend: self.name().into(),
            what_is_missing: what,
            how_to_get_it: "delete .venv and rebuild, or `python3 -m venv .venv && .venv/bin/pip install --require-hashes -r scripts/requirements.lock`".into(),
        }
        };
        let python =
            crate::setup::first_use::python().map_err(|e| unavailable(format!("{e:#}")))?;
        let root =
            crate::setup::first_use::project_root().map_err(|e| unavailable(format!("{e:#}")))?;
        let script = root.join("workers/python/mlx_worker.py");
        if !script.is_file() {
            return Err(unavailable(format!("{} is missing", script.display())));
        }
        let script = script.display().to_string();
        let mut leading = vec![script.as_str()];
        leading.extend_from_slice(self.args);
        let mut spec = worker_spec(
            self.name(),
            python,
            &leading,
            ctx,
            StampSource::DriverReceipt,
        )?;
        spec.env.push(("HF_HUB_OFFLINE".into(), "1".into()));
        // The shim's engine for python-subprocess's serving design (ctypes).
        let shim = crate::setup::locate::shim_so().map_err(unavailable)?;
        spec.env
            .push(("CROSSBENCH_SHIM_SO".into(), shim.display().to_string()));
        Ok(spec)
    }
}

/// ffi-token and ffi-batched: this binary re-executed as a worker.
struct InProcess {
    name: &'static str,
    summary: &'static str,
}

impl Backend for InProcess {
    fn name(&self) -> &str {
        self.name
    }
    fn summary(&self) -> &str {
        self.summary
    }
    fn launch(&self, ctx: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        let leading = ["worker", "--backend", self.name];
        worker_spec(
            self.name,
            ctx.exe.clone(),
            &leading,
            ctx,
            StampSource::Worker,
        )
    }
}

/// The pure C++ runner: no Rust in its loop (the floor).
struct NativeCpp;

impl Backend for NativeCpp {
    fn name(&self) -> &str {
        names::NATIVE_CPP
    }
    fn summary(&self) -> &str {
        "pure C++ runner over the same shim, no Rust in the loop (the floor)"
    }
    fn launch(&self, ctx: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        let unavailable = |what: String| BackendError::Unavailable {
            backend: self.name().into(),
            what_is_missing: what,
            how_to_get_it: "rebuild: cargo build --release (or the bundle)".into(),
        };
        let runner = crate::setup::locate::native_runner().map_err(unavailable)?;
        if !runner.is_file() {
            let built = if crate::setup::first_use::in_bundle() {
                "shipped in the bundle"
            } else {
                "built by cargo"
            };
            return Err(unavailable(format!(
                "the native runner {} ({built})",
                runner.display()
            )));
        }
        // The runner stamps each token in C++ the moment it holds it and prints
        // the stamps after the generation, like the Rust workers.
        worker_spec(self.name(), runner, &["--serve"], ctx, StampSource::Worker)
    }
}

/// go-cgo-token, go-cgo-batched, go-cgo-stream: the Go worker (go/worker),
/// built on first use with the pinned toolchain (src/setup/go_build.rs).
struct GoCgo {
    name: &'static str,
    summary: &'static str,
}

impl Backend for GoCgo {
    fn name(&self) -> &str {
        self.name
    }
    fn summary(&self) -> &str {
        self.summary
    }
    fn launch(&self, ctx: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        let program = crate::setup::go_build::worker()
            .map(|w| w.exe)
            .map_err(|e| BackendError::Unavailable {
                backend: self.name.into(),
                what_is_missing: format!("the Go worker: {e}"),
                how_to_get_it: if crate::setup::first_use::in_bundle() {
                    "make the bundle again without --no-go".into()
                } else {
                    crate::setup::go_build::GO_HOW.into()
                },
            })?;
        // Stamped by Go's monotonic clock the moment Go code holds each token,
        // printed after the generation, like the Rust and C++ workers.
        worker_spec(
            self.name,
            program,
            &["--backend", self.name],
            ctx,
            StampSource::Worker,
        )
    }
}
