//! The run design over real mock worker processes: one-at-a-time residency,
//! the A/A twin and its resolution statement, the resolution plan, the gap.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{mock, plan, unreachable_resolution_plan};
use crossbench_core::{run_bench, BackendStatus, Residency, TwinBackend};

#[test]
fn one_resident_worker_loads_warms_and_quits_per_rep() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(
        dir.path(),
        "generate",
        6,
        3,
        vec![mock("native-cpp"), mock("mock-b")],
    );
    p.residency = Residency::One;
    p.residency_reason = "test".into();
    let r = run_bench(p).unwrap().results;
    assert_eq!(r.design.residency, Residency::One);
    for b in &r.backends {
        assert_eq!(b.status, BackendStatus::Ok, "{:?}", b.error);
        assert_eq!(b.reps.len(), 3);
        assert_eq!(
            b.warmups_done, 3,
            "the scenario's 1 warm-up after every load"
        );
        for rep in &b.reps {
            assert!(
                rep.load_ns.is_some(),
                "each rep ran in a freshly loaded worker"
            );
            assert!(rep.peak_rss_bytes.unwrap_or(0) > 0, "wait4 of that worker");
            assert_eq!(rep.token_ids.len(), 6);
        }
        assert!(b.memory.peak_rss_bytes.unwrap_or(0) > 0);
    }
    assert!(r.agreement.all_match);
}

#[test]
fn aa_twin_runs_alongside_and_the_run_states_its_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let native = mock("native-cpp");
    let mut p = plan(
        dir.path(),
        "generate",
        8,
        4,
        vec![native.clone(), mock("mock-b")],
    );
    let twin = TwinBackend::new(Arc::new(native));
    p.aa = Some(("native-cpp".into(), "native-cpp~aa".into()));
    p.backends.push(Arc::new(twin));
    let outcome = run_bench(p).unwrap();
    let r = &outcome.results;
    assert_eq!(r.backends.len(), 3);
    let twin = r
        .backends
        .iter()
        .find(|b| b.name == "native-cpp~aa")
        .unwrap();
    assert_eq!(twin.reps.len(), 4);
    assert!(twin.overhead_vs_native.contains_key("decode_ns"));
    let res = r
        .resolution
        .as_ref()
        .expect("a run with intervals states its resolution");
    // The stated resolution is the widest decode-time interval of the run
    // (every backend's vs native-cpp and the A/A twin's, recomputed here),
    // its half-width the interval's larger side.
    let aa = res.aa.expect("the twin's interval vs its original");
    let widest = r
        .backends
        .iter()
        .filter_map(|b| b.overhead_vs_native.get("decode_ns"))
        .chain([&aa])
        .map(|ci| ci.larger_side())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(res.half_width, widest, "{res:?}");
    // Real processes time with jitter: 4 paired ratios are never all equal,
    // so a zero or non-finite width means the interval was not computed.
    assert!(
        res.half_width.is_finite() && res.half_width > 0.0,
        "{res:?}"
    );
    assert!(
        res.statement
            .contains(&format!("half-width {:.1}%", res.half_width * 100.0)),
        "{}",
        res.statement
    );
    assert!(
        res.statement.contains("cannot be told apart"),
        "{}",
        res.statement
    );
    assert!(
        res.statement.contains("A/A native-cpp~aa vs native-cpp"),
        "{}",
        res.statement
    );
    assert!(outcome.summary_markdown.contains("**Resolution:**"));
    assert!(outcome.summary_markdown.contains("williams order"));
}

#[test]
fn resolution_plan_is_fixed_once_after_the_pilot_and_respects_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let p = unreachable_resolution_plan(dir.path());
    let r = run_bench(p).unwrap().results;
    let plan = r
        .design
        .resolution_plan
        .as_ref()
        .expect("a plan after the pilot");
    assert_eq!(plan.pilot_reps, 3);
    assert!(
        plan.outcome.starts_with("budget-limited"),
        "{}",
        plan.outcome
    );
    assert!(plan.planned_reps >= 3);
    assert_eq!(r.ran().repetitions, plan.planned_reps);
    assert_eq!(r.scenario.repetitions, 3, "the scenario stays the file's");
    let floor = r.backends.iter().find(|b| b.name == "native-cpp").unwrap();
    assert!(
        floor.descriptor.is_some_and(|d| d.is_floor()),
        "each backend's descriptor is recorded"
    );
    for b in &r.backends {
        assert_eq!(
            b.reps.len() as u32,
            plan.planned_reps,
            "every backend ran the plan"
        );
    }
}

#[test]
fn idle_gap_separates_generations() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(dir.path(), "generate", 4, 2, vec![mock("native-cpp")]);
    p.gap = Duration::from_millis(150);
    let r = run_bench(p).unwrap().results;
    let reps = &r.backends[0].reps;
    let between = reps[1].request_sent_ns - reps[0].done_receipt_ns.unwrap();
    assert!(
        between >= 150_000_000,
        "{between} ns between two generations"
    );
    assert_eq!(r.design.gap_s, 0.15);
}
