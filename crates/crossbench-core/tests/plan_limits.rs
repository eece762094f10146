//! A plan beyond the driver's bounds is refused before its run directory
//! exists, whoever built it (the CLI checks the same bounds naming its flags).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use common::{files_under, mock, plan, with_timeout};
use crossbench_core::{run_bench, DriverError};

fn refused(p: crossbench_core::BenchPlan, what: &str) {
    let out = p.out_root.clone();
    let result = catch_unwind(AssertUnwindSafe(|| run_bench(p)))
        .unwrap_or_else(|_| panic!("{what}: the driver panicked"));
    match result {
        Err(DriverError::OutOfRange { what: w, .. }) => assert_eq!(w, what),
        Err(e) => panic!("{what}: another error: {e}"),
        Ok(o) => panic!(
            "{what}: ran, status {:?}, {} reps",
            o.results.status,
            o.results.backends[0].reps.len()
        ),
    }
    assert!(
        files_under(&out).is_empty(),
        "{what}: wrote {:?}",
        files_under(&out)
    );
}

#[test]
fn warmup_plus_reps_cannot_wrap_into_an_empty_complete_run() {
    let dir = tempfile::tempdir().unwrap();
    // Load kind counted warmup + repetitions as a u32: u32::MAX + 1 wrapped
    // to 0 rounds, a run that measured nothing and said `complete`.
    let mut p = plan(dir.path(), "load", 1, 1, vec![mock("m")]);
    p.warmup = u32::MAX;
    refused(p, "warmup");
    let mut p = plan(dir.path(), "load", 1, 1, vec![mock("m")]);
    p.repetitions = u32::MAX;
    refused(p, "repetitions");
}

#[test]
fn a_timeout_beyond_a_week_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // `Instant::now() + timeout` panicked on overflow when a worker started.
    let p = with_timeout(
        plan(dir.path(), "generate", 4, 1, vec![mock("m")]),
        Duration::MAX,
    );
    refused(p, "timeout");
    let p = with_timeout(
        plan(dir.path(), "generate", 4, 1, vec![mock("m")]),
        Duration::ZERO,
    );
    refused(p, "timeout");
}
