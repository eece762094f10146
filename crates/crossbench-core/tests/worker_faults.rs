//! The driver over fake workers (shell scripts) that break the protocol's
//! limits: each ends as a failed or timed-out backend, promptly.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{plan, with_timeout};
use crossbench_core::protocol::max_event_line_bytes;
use crossbench_core::{run_bench, BackendStatus, MockBackend};

const LOADED: &str = r#"echo '{"ev":"loaded","load_ns":1,"t_ns":1}'"#;

/// A worker executable: `body` after the `loaded` event.
fn fake_worker(dir: &Path, name: &str, body: &str) -> MockBackend {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{LOADED}\n{body}\n")).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    MockBackend::new(name).with_worker_exe(path)
}

/// Runs `backend` alone for 4 tokens; its result and how long the run took.
fn run_one(
    dir: &Path,
    backend: MockBackend,
    timeout: Duration,
    prompt_len: u32,
) -> (crossbench_core::results::BackendResult, Duration) {
    let mut p = with_timeout(plan(dir, "generate", 4, 2, vec![backend]), timeout);
    p.prompt_ids = (0..prompt_len).map(|i| 100 + i % 1000).collect();
    let started = Instant::now();
    let outcome = run_bench(p).unwrap();
    let elapsed = started.elapsed();
    (
        outcome.results.backends.into_iter().next().unwrap(),
        elapsed,
    )
}

#[test]
fn a_worker_sending_more_tokens_than_max_new_is_failed() {
    let dir = tempfile::tempdir().unwrap();
    // Answers every request with max_new + 1 tokens and a matching `done`.
    let greedy = fake_worker(
        dir.path(),
        "greedy",
        r#"while read -r line; do
  case "$line" in quit*) exit 0;; esac
  n=$(echo "$line" | sed 's/.*max_new=\([0-9]*\).*/\1/')
  i=0
  while [ "$i" -le "$n" ]; do
    echo "{\"ev\":\"token\",\"i\":$i,\"id\":7,\"t_ns\":$i}"
    i=$((i + 1))
  done
  echo "{\"ev\":\"done\",\"tokens\":$i,\"prefill_ns\":1,\"decode_ns\":1}"
done"#,
    );
    let (b, _) = run_one(dir.path(), greedy, Duration::from_secs(20), 8);
    assert_eq!(b.status, BackendStatus::Failed);
    let error = b.error.unwrap();
    assert!(
        error.contains("more than max_new=4 token events"),
        "{error}"
    );
    assert!(b.reps.is_empty());
}

#[test]
fn an_endless_stdout_line_fails_the_backend_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let flood = fake_worker(
        dir.path(),
        "flood",
        "read -r line; head -c 8388608 /dev/zero | tr '\\0' a; sleep 60",
    );
    let (b, took) = run_one(dir.path(), flood, Duration::from_secs(30), 8);
    assert_eq!(b.status, BackendStatus::Failed);
    let error = b.error.unwrap();
    let limit = max_event_line_bytes(4).to_string();
    assert!(
        error.contains(&format!("longer than {limit} bytes")),
        "{error}"
    );
    assert!(
        took < Duration::from_secs(15),
        "not left to the timeout: {took:?}"
    );
}

#[test]
fn a_worker_that_never_reads_a_long_prompt_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let deaf = fake_worker(dir.path(), "deaf", "sleep 60");
    let (b, took) = run_one(dir.path(), deaf, Duration::from_secs(2), 200_000);
    assert_eq!(b.status, BackendStatus::TimedOut, "{:?}", b.error);
    assert!(b.error.unwrap().contains("timed out after 2.0 s"));
    assert!(took < Duration::from_secs(15), "{took:?}");
}
