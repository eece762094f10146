//! Interrupting a run (its own test binary: the flag is process-wide).

mod common;

use std::time::Duration;

use common::{mock, plan};
use crossbench_core::interrupt::request_interrupt;
use crossbench_core::results::RunStatus;
use crossbench_core::{run_bench, BackendStatus};

#[test]
fn interrupt_stops_promptly_and_keeps_what_was_measured() {
    let dir = tempfile::tempdir().unwrap();
    // Hangs in the second measured rep, so the interrupt lands mid-wait.
    let hanging = mock("m")
        .with_env("CROSSBENCH_MOCK_HANG_AT", "1")
        .with_env("CROSSBENCH_MOCK_FAULT_FROM", "3");
    let plan = plan(dir.path(), "generate", 4, 5, vec![hanging]);
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(1500));
        request_interrupt();
    });
    let started = std::time::Instant::now();
    let outcome = run_bench(plan).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(outcome.interrupted);
    assert_eq!(outcome.results.status, RunStatus::Incomplete);
    let m = &outcome.results.backends[0];
    assert_eq!(m.status, BackendStatus::Incomplete, "{:?}", m.error);
    assert_eq!(m.reps.len(), 1);
    let json = std::fs::read_to_string(outcome.out_dir.join("results.json")).unwrap();
    assert!(json.contains("\"status\": \"incomplete\""));
}
