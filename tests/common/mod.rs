//! What the root integration tests share: the crossbench binary under test,
//! the project's paths, and what a run leaves behind (its run directory under
//! `--out`, its results.json, one backend's entry there).
//!
//! Each file in tests/ is its own crate and declares `mod common;`; none uses
//! every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python of the project's pinned environment (`.venv/`).
pub fn venv_python() -> PathBuf {
    root().join(".venv/bin/python")
}

/// A command that runs the crossbench binary under test.
pub fn crossbench_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crossbench"))
}

/// Writes the tiny preset (float32, seed 0) into `dir`.
pub fn make_tiny(dir: &Path) {
    let out = crossbench_cmd()
        .args(["model", "make", "--preset", "tiny", "--dtype", "float32"])
        .args(["--seed", "0", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Go worker, built (once per change) by `crossbench go-worker`.
pub fn go_worker_path() -> PathBuf {
    let out = crossbench_cmd().arg("go-worker").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs crossbench with `args` to the end.
pub fn crossbench(args: &[&str]) -> Output {
    crossbench_cmd()
        .args(args)
        .output()
        .expect("run crossbench")
}

/// `crossbench bench --no-progress --out <out>`: the caller adds the scenario,
/// backends and the rest (flag order does not matter to the CLI).
pub fn bench_cmd(out: &Path) -> Command {
    let mut cmd = crossbench_cmd();
    cmd.args(["bench", "--no-progress", "--out"]).arg(out);
    cmd
}

/// The one run directory a command wrote under `out`.
pub fn only_run(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one run directory expected: {dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// The parsed results.json of a run directory.
pub fn results(run: &Path) -> Value {
    let file = run.join("results.json");
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The parsed results.json of the one run under `out`.
pub fn only_results(out: &Path) -> Value {
    results(&only_run(out))
}

/// The results.json of the run under `out` as it stands, for watching a run in
/// progress: `None` until the run directory and a readable results.json exist.
pub fn results_so_far(out: &Path) -> Option<Value> {
    let run = std::fs::read_dir(out).ok()?.next()?.ok()?.path();
    let bytes = std::fs::read(run.join("results.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// One backend's entry in results.json.
pub fn backend<'a>(results: &'a Value, name: &str) -> &'a Value {
    results["backends"]
        .as_array()
        .expect("results.json has a backends array")
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from results.json"))
}
