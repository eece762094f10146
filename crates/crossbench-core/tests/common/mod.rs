//! Shared helpers: real mock worker processes and small plans.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbench_core::scenario::synthetic_prompt_ids;
use crossbench_core::{load_scenario, Backend, BenchPlan, Environment, LaunchContext, MockBackend};

/// The mock worker binary. Cargo normally names it at compile time; under some
/// workspace configurations (`[env]` in .cargo/config.toml with `--workspace`) it
/// does not, so fall back to its place next to the test's own directory.
pub fn worker() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_crossbench-mock-worker") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().expect("test executable path");
            // target/<profile>/deps/<test> -> target/<profile>/crossbench-mock-worker
            let bin = exe
                .parent()
                .and_then(Path::parent)
                .expect("target dir")
                .join("crossbench-mock-worker");
            assert!(bin.is_file(), "mock worker not built at {}", bin.display());
            bin
        }
    }
}

/// A fast mock backend (sleeping, so parallel tests share the 2 cores).
pub fn mock(name: &str) -> MockBackend {
    MockBackend::new(name)
        .with_worker_exe(worker())
        .with_env("CROSSBENCH_MOCK_TOKEN_US", "200")
        .with_env("CROSSBENCH_MOCK_PREFILL_US_PER_TOKEN", "1")
        .with_env("CROSSBENCH_MOCK_LOAD_MS", "1")
        .with_env("CROSSBENCH_MOCK_WAIT", "sleep")
}

pub fn scenario_text(kind: &str, tokens: u32, reps: u32, backends: &[&str]) -> String {
    let names: Vec<String> = backends.iter().map(|b| format!("\"{b}\"")).collect();
    format!(
        r#"description = "test scenario"
kind = "{kind}"
[model]
preset = "small"
dtype = "float32"
[prompt]
length = 8
[generation]
max_new_tokens = {tokens}
[run]
warmup = 1
repetitions = {reps}
timeout_s = 20
backends = [{}]
"#,
        names.join(", ")
    )
}

pub fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A plan over `backends` from a scenario written into `dir`.
pub fn plan(
    dir: &Path,
    kind: &str,
    tokens: u32,
    reps: u32,
    backends: Vec<MockBackend>,
) -> BenchPlan {
    let names: Vec<String> = backends.iter().map(|b| b.name().to_string()).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let path = write_scenario(dir, "t", &scenario_text(kind, tokens, reps, &name_refs));
    let loaded = load_scenario(path.to_str().unwrap(), dir).unwrap();
    let backends: Vec<Arc<dyn Backend>> = backends
        .into_iter()
        .map(|b| Arc::new(b) as Arc<dyn Backend>)
        .collect();
    let mut plan = BenchPlan::from_scenario(
        loaded,
        backends,
        LaunchContext::default(),
        synthetic_prompt_ids(8),
        dir.join("results"),
        Environment::detect(),
    );
    plan.progress = false;
    plan
}

pub fn with_timeout(mut plan: BenchPlan, timeout: Duration) -> BenchPlan {
    plan.timeout = timeout;
    plan
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// A two-backend mock plan asking `--until-resolution` for an unreachable
/// width (mock timings vary by far more than a billionth) within a 2 s
/// budget: the plan is budget-limited and the target is never reached.
pub fn unreachable_resolution_plan(dir: &Path) -> BenchPlan {
    let mut p = plan(
        dir,
        "generate",
        6,
        3,
        vec![mock("native-cpp"), mock("mock-b")],
    );
    p.until_resolution = Some(crossbench_core::ResolutionTarget {
        target: 1e-9,
        budget: Duration::from_secs(2),
    });
    p
}
