//! Backends: how to start a worker process for one way of calling MLX.
//!
//! The root binary registers the real backends (python-subprocess, ffi-token,
//! ffi-batched, native-cpp); core provides the trait, the registry and the
//! mock backend.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

mod descriptor;
pub use descriptor::{
    canonical_names, colour_of, descriptor_of, known_backend, names, BackendDescriptor,
    BackendRole, CallerLanguage, CrossingShape, KnownBackend, FLOOR, KNOWN_BACKENDS,
};

/// What every backend may use to build its worker command.
#[derive(Debug, Clone, Default)]
pub struct LaunchContext {
    /// The current binary, for re-exec as `exe worker --backend NAME`.
    pub exe: PathBuf,
    pub model_dir: Option<PathBuf>,
    pub device: String,
    /// Added to every worker's environment (before the backend's own).
    pub extra_env: Vec<(String, String)>,
}

/// Whose clock gives the consumer timestamp of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StampSource {
    /// The worker's token `t_ns` is the consumer stamp (in-process Rust workers
    /// that hold the token in Rust code and print it after generation).
    Worker,
    /// The driver's receipt of the token line is the consumer stamp; the
    /// worker's `t_ns` is kept as the producer stamp (Python, native).
    DriverReceipt,
}

/// A command line for one worker process (serialized by `bench
/// --print-worker-specs`, so that another build's driver can start it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stamp: StampSource,
    /// True when every token crosses a process boundary while generating.
    pub ipc_per_token: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    #[error("backend `{backend}` is unavailable: {what_is_missing} (to get it: {how_to_get_it})")]
    Unavailable {
        backend: String,
        what_is_missing: String,
        how_to_get_it: String,
    },
    #[error("unknown backend `{name}` (known: {})", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    #[error("backend `{backend}` cannot be launched: {message}")]
    Launch { backend: String, message: String },
    #[error("backend `{0}` is registered twice")]
    Duplicate(String),
}

pub trait Backend: Send + Sync {
    fn name(&self) -> &str;
    /// One line for `--list` and reports.
    fn summary(&self) -> &str;
    fn launch(&self, ctx: &LaunchContext) -> Result<WorkerSpec, BackendError>;
    /// Caller language, crossing shape, role and display order, recorded in
    /// results.json: by default the table's entry for this name.
    fn descriptor(&self) -> BackendDescriptor {
        descriptor_of(self.name())
    }
}

/// The model-free backend: `exe worker --backend mock` with the mock engine.
/// Different instances may carry different `CROSSBENCH_MOCK_*` settings.
#[derive(Debug, Clone)]
pub struct MockBackend {
    name: String,
    summary: String,
    worker_exe: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl MockBackend {
    pub fn new(name: impl Into<String>) -> Self {
        MockBackend {
            name: name.into(),
            summary: "mock engine, no MLX: deterministic ids, configurable delays and faults"
                .to_string(),
            worker_exe: None,
            env: Vec::new(),
        }
    }

    /// Launch this binary instead of `LaunchContext::exe` (tests use
    /// crossbench-mock-worker).
    pub fn with_worker_exe(mut self, exe: impl Into<PathBuf>) -> Self {
        self.worker_exe = Some(exe.into());
        self
    }

    /// Adds a `CROSSBENCH_MOCK_*` (or any) variable to this backend's worker.
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

impl Backend for MockBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn summary(&self) -> &str {
        &self.summary
    }

    fn launch(&self, ctx: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        let program = self.worker_exe.clone().unwrap_or_else(|| ctx.exe.clone());
        if program.as_os_str().is_empty() {
            return Err(BackendError::Launch {
                backend: self.name.clone(),
                message: "no worker executable given".to_string(),
            });
        }
        let mut args: Vec<String> = ["worker", "--backend", "mock"].map(String::from).to_vec();
        if let Some(dir) = &ctx.model_dir {
            args.extend(["--model".to_string(), dir.display().to_string()]);
        }
        let mut env = ctx.extra_env.clone();
        env.extend(self.env.iter().cloned());
        Ok(WorkerSpec {
            program,
            args,
            env,
            stamp: StampSource::Worker,
            ipc_per_token: false,
        })
    }
}

/// The A/A twin of a backend: the same worker under another name, run in
/// the same interleaving as its original so the run can measure how far
/// apart two identical backends come out (see `design`).
pub struct TwinBackend {
    inner: Arc<dyn Backend>,
    name: String,
    summary: String,
}

impl TwinBackend {
    /// Suffix of a twin's name: `native-cpp` -> `native-cpp~aa`.
    pub const SUFFIX: &'static str = "~aa";

    pub fn new(inner: Arc<dyn Backend>) -> Self {
        TwinBackend {
            name: format!("{}{}", inner.name(), Self::SUFFIX),
            summary: format!(
                "A/A twin of {}: the same worker, measured separately",
                inner.name()
            ),
            inner,
        }
    }
}

impl Backend for TwinBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn summary(&self) -> &str {
        &self.summary
    }

    fn launch(&self, ctx: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        self.inner.launch(ctx)
    }

    fn descriptor(&self) -> BackendDescriptor {
        self.inner.descriptor()
    }
}

/// A worker that another crossbench build prepared (its `bench
/// --print-worker-specs`): the base revision's worker of `original`, run in
/// this build's driver beside the head's own, so that a same-job A/B can
/// interleave base and head rep by rep (`gate --against`).
pub struct ForeignWorkerBackend {
    name: String,
    summary: String,
    original: String,
    spec: WorkerSpec,
}

impl ForeignWorkerBackend {
    /// Suffix of the base revision's worker: `native-cpp` -> `native-cpp@base`.
    pub const BASE_SUFFIX: &'static str = "@base";

    /// The head backend a base worker's name stands for (`ffi-token@base` ->
    /// `ffi-token`), or None for any other name.
    pub fn original_of(name: &str) -> Option<&str> {
        name.strip_suffix(Self::BASE_SUFFIX)
    }

    /// The base worker's name for head backend `original`.
    pub fn base_name(original: &str) -> String {
        format!("{original}{}", Self::BASE_SUFFIX)
    }

    pub fn base(original: &str, spec: WorkerSpec) -> Self {
        ForeignWorkerBackend {
            name: Self::base_name(original),
            summary: format!("{original} as the base revision built it (A/B)"),
            original: original.to_string(),
            spec,
        }
    }
}

impl Backend for ForeignWorkerBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn summary(&self) -> &str {
        &self.summary
    }

    /// The other build's command as it made it: its program, arguments and
    /// environment (model directory and BLAS included), nothing of this one.
    fn launch(&self, _ctx: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        Ok(self.spec.clone())
    }

    fn descriptor(&self) -> BackendDescriptor {
        descriptor_of(&self.original)
    }
}

/// Backends by name.
#[derive(Default, Clone)]
pub struct BackendRegistry {
    backends: BTreeMap<String, Arc<dyn Backend>>,
}

impl BackendRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, backend: Arc<dyn Backend>) -> Result<(), BackendError> {
        let name = backend.name().to_string();
        if self.backends.contains_key(&name) {
            return Err(BackendError::Duplicate(name));
        }
        self.backends.insert(name, backend);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Backend>, BackendError> {
        self.backends
            .get(name)
            .cloned()
            .ok_or_else(|| BackendError::Unknown {
                name: name.to_string(),
                known: self.names(),
            })
    }

    /// Looks up several names, keeping their order; the first unknown fails.
    pub fn resolve(&self, names: &[String]) -> Result<Vec<Arc<dyn Backend>>, BackendError> {
        names.iter().map(|n| self.get(n)).collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.backends.keys().cloned().collect()
    }

    /// (name, summary) pairs, sorted by name.
    pub fn list(&self) -> Vec<(String, String)> {
        self.backends
            .iter()
            .map(|(n, b)| (n.clone(), b.summary().to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lists_known_names_for_unknown_ones() {
        let mut reg = BackendRegistry::new();
        reg.register(Arc::new(MockBackend::new("mock"))).unwrap();
        reg.register(Arc::new(MockBackend::new("mock-b"))).unwrap();
        assert!(matches!(
            reg.register(Arc::new(MockBackend::new("mock"))),
            Err(BackendError::Duplicate(_))
        ));
        let err = reg.get("ffi-token").err().unwrap();
        assert_eq!(
            err.to_string(),
            "unknown backend `ffi-token` (known: mock, mock-b)"
        );
        let got = reg.resolve(&["mock-b".into(), "mock".into()]).unwrap();
        assert_eq!(got[0].name(), "mock-b");
    }

    #[test]
    fn mock_launch_reexecs_with_env() {
        let ctx = LaunchContext {
            exe: "/bin/crossbench".into(),
            extra_env: vec![("A".into(), "1".into())],
            ..LaunchContext::default()
        };
        let spec = MockBackend::new("mock")
            .with_env("CROSSBENCH_MOCK_SALT", "7")
            .launch(&ctx)
            .unwrap();
        assert_eq!(spec.program, PathBuf::from("/bin/crossbench"));
        assert_eq!(spec.args, vec!["worker", "--backend", "mock"]);
        assert_eq!(spec.env.len(), 2);
        assert_eq!(spec.stamp, StampSource::Worker);
    }
}
