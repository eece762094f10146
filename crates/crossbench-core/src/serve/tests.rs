//! Metrics on hand-made stamps, the equal-work checks, the paired ratios.

use std::collections::BTreeMap;

use super::metrics::{request_metrics, run_metrics, RunMetrics};
use crate::results::BackendStatus;
use crate::scenario::{Arrival, LoadPoint, Slo};
use crate::serve::analysis::refresh;
use crate::serve::equality::{ids_check, schedule_check, schedule_difference};
use crate::serve::{
    ClientKind, DesignServe, EqualityCheck, RequestRecord, ServePoint, ServeResults, ServeRun,
    Served, Step,
};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;
const SLO: Slo = Slo {
    ttft_ms: 100.0,
    tpot_ms: 20.0,
};

fn req(id: u64, submit: u64, t: &[u64], error: Option<&str>) -> RequestRecord {
    RequestRecord {
        id,
        submit_ns: submit,
        arrival_ns: submit,
        ids: t.iter().map(|&x| (x / MS) as u32).collect(),
        t_ns: t.to_vec(),
        error: error.map(String::from),
    }
}

fn run(rep: u32, requests: Vec<RequestRecord>, schedule: Vec<Step>) -> ServeRun {
    ServeRun {
        rep,
        status: BackendStatus::Ok,
        error: None,
        start_ns: Some(S),
        requests,
        schedule,
        served: None,
        ipc: Default::default(),
        client_cpu_ns: None,
        peak_rss_bytes: None,
        exit_status: None,
        load_ns: None,
        metrics: None,
    }
}

/// Request 0 is the warm-up; 1 meets the SLO; 2 misses its TTFT; 3 failed
/// after two of its three tokens.
fn hand_made() -> ServeRun {
    let mut r = run(
        0,
        vec![
            req(0, 0, &[10 * MS, 20 * MS], None),
            req(1, S, &[S + 50 * MS, S + 60 * MS, S + 70 * MS], None),
            req(2, S, &[S + 200 * MS, S + 230 * MS, S + 260 * MS], None),
            req(
                3,
                S + 100 * MS,
                &[S + 150 * MS, S + 160 * MS],
                Some("consumer stalled: x"),
            ),
        ],
        vec![
            Step(5 * MS, vec![0], vec![]),
            Step(S + 40 * MS, vec![1], vec![]),
            Step(S + 140 * MS, vec![3], vec![1]),
            Step(S + 190 * MS, vec![2], vec![3]),
        ],
    );
    let served = [
        ("tokens", 10u64),
        ("calls", 6),
        ("callbacks", 10),
        ("os_threads", 4),
    ];
    r.served = Some(Served(
        served
            .iter()
            .map(|(k, v)| (k.to_string(), (*v).into()))
            .collect(),
    ));
    r
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= b.abs() * 1e-9
}

#[test]
fn request_metrics_are_exact_on_hand_made_stamps() {
    let r = &hand_made().requests[1];
    let m = request_metrics(r, 3, Some(S + 40 * MS), &SLO);
    assert_eq!(
        (m.ttft_ns, m.e2e_ns, m.queue_ns),
        (Some(50 * MS), Some(70 * MS), Some(40 * MS))
    );
    assert_eq!(m.tpot_ns, Some(10.0 * MS as f64));
    assert_eq!(m.itl_ns, vec![10 * MS, 10 * MS]);
    assert!(m.complete && m.meets_slo);
    let slow = request_metrics(&hand_made().requests[2], 3, None, &SLO);
    assert_eq!(
        (slow.ttft_ns, slow.tpot_ns),
        (Some(200 * MS), Some(30.0 * MS as f64))
    );
    assert!(slow.complete && !slow.meets_slo, "TTFT 200 ms > 100 ms");
    // Open loop: TTFT counts from the scheduled arrival, so a late submit counts.
    let mut late = req(9, S + 20 * MS, &[S + 50 * MS], None);
    late.arrival_ns = S;
    let m = request_metrics(&late, 1, None, &SLO);
    assert_eq!(
        (m.ttft_ns, m.tpot_ns, m.e2e_ns),
        (Some(50 * MS), None, Some(50 * MS))
    );
    assert!(m.meets_slo, "one token: no TPOT to miss");
    assert!(
        !request_metrics(&late, 2, None, &SLO).complete,
        "1 of 2 tokens"
    );
}

#[test]
fn run_metrics_leave_out_warm_up_and_divide_by_the_measured_window() {
    let m = run_metrics(&hand_made(), &[2, 3, 3, 3], 1, &SLO);
    assert_eq!(
        (m.measured_requests, m.completed_requests, m.failed_requests),
        (3, 2, 1)
    );
    assert_eq!(m.output_tokens, 8);
    // First measured arrival 1.000 s, last measured token 1.260 s.
    assert_eq!(m.window_ns, 260 * MS);
    assert!(
        close(m.output_tokens_per_s, 8.0 / 0.26),
        "{}",
        m.output_tokens_per_s
    );
    assert!(close(m.requests_per_s, 2.0 / 0.26));
    assert!(close(m.goodput_requests_per_s, 1.0 / 0.26));
    assert!(close(m.slo_attainment, 1.0 / 3.0));
    assert_eq!(
        m.crossings_per_token,
        Some(1.6),
        "(6 calls + 10 callbacks) / 10 tokens"
    );
    assert_eq!(m.os_threads, Some(4));
    // TTFTs 50, 200, 50 ms; queueing 40, 190, 40 ms; HdrHistogram: within 0.1%.
    let near = |got: f64, want: u64| (got - want as f64).abs() <= want as f64 * 1e-3;
    let ttft = m.ttft_ns.unwrap();
    assert_eq!(ttft.count, 3);
    assert!(
        near(ttft.p50, 50 * MS) && near(ttft.p99, 200 * MS),
        "{ttft:?}"
    );
    let queue = m.queue_ns.unwrap();
    assert!(
        near(queue.p50, 40 * MS) && near(queue.max, 190 * MS),
        "{queue:?}"
    );
    let tpot = m.tpot_ns.unwrap();
    assert!(
        near(tpot.p50, 10 * MS) && near(tpot.p99, 30 * MS),
        "{tpot:?}"
    );
    assert_eq!(m.itl_ns.unwrap().count, 5, "2 + 2 + 1 gaps");
}

fn design(name: &str, shim: bool, runs: Vec<ServeRun>) -> DesignServe {
    DesignServe {
        name: name.into(),
        shim_engine: shim,
        client: ClientKind::InProcess,
        status: BackendStatus::Ok,
        error: None,
        runs,
        summary: BTreeMap::new(),
        vs_floor: BTreeMap::new(),
    }
}

#[test]
fn a_schedule_mismatch_is_detected_and_another_engine_is_left_out() {
    let a = hand_made();
    let mut b = hand_made();
    b.schedule[2] = Step(0, vec![], vec![1, 3]);
    let diff = schedule_difference(&a, &b).expect("step 2 differs");
    assert!(
        diff.starts_with("step 2 prefilled [] decoded [1, 3]"),
        "{diff}"
    );
    let mut shorter = hand_made();
    shorter.schedule.pop();
    assert_eq!(
        schedule_difference(&a, &shorter).unwrap(),
        "3 steps, reference 4 steps (the first 3 equal)"
    );
    let mut retimed = hand_made();
    retimed.schedule[1].0 += 1;
    assert_eq!(schedule_difference(&a, &retimed), None, "times are ignored");

    let designs = vec![
        design("ffi-batched", true, vec![b]),
        design("native-cpp", true, vec![a]),
        design("mlx-lm-batch", false, vec![shorter]),
    ];
    let c = schedule_check(&designs, "native-cpp", true);
    assert!(c.failed() && c.compared == 1, "{c:?}");
    assert_eq!(
        c.reference.as_deref(),
        Some("native-cpp rep 1"),
        "the floor is the reference"
    );
    assert!(c.mismatches[0].starts_with("ffi-batched rep 1 vs native-cpp rep 1: step 2"));
    assert!(
        !schedule_check(&designs, "native-cpp", false).applicable,
        "open loop"
    );
    assert!(ids_check(&designs, "native-cpp").all_equal);
    let alone = ids_check(&designs[1..], "native-cpp");
    assert!(
        !alone.applicable && alone.note.contains("only one"),
        "{alone:?}"
    );
}

#[test]
fn an_id_mismatch_names_the_request_and_token_and_failed_requests_are_skipped() {
    let a = hand_made();
    let mut b = hand_made();
    b.requests[2].ids[1] += 1;
    b.requests[3].ids[0] += 1; // failed in both: not compared
    let designs = vec![
        design("native-cpp", true, vec![a]),
        design("go-cgo-token", true, vec![b]),
    ];
    let c = ids_check(&designs, "native-cpp");
    assert!(c.failed(), "{c:?}");
    assert_eq!(
        c.mismatches,
        ["go-cgo-token rep 1 vs native-cpp rep 1: request 2 token 1: id 1231 vs 1230"]
    );
}

fn with_rate(rep: u32, tok_s: f64) -> ServeRun {
    let mut r = run(rep, Vec::new(), Vec::new());
    r.metrics = Some(RunMetrics {
        output_tokens_per_s: tok_s,
        ..RunMetrics::default()
    });
    r
}

#[test]
fn ratios_vs_the_floor_are_paired_by_rep() {
    // The floor drifts by rep; the design is 10% faster in every rep.
    let floor: Vec<ServeRun> = [100.0, 200.0, 100.0, 200.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| with_rate(i as u32, v))
        .collect();
    let fast: Vec<ServeRun> = [110.0, 220.0, 110.0, 220.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| with_rate(i as u32, v))
        .collect();
    let mut s = ServeResults {
        arrival: Arrival::Closed,
        warmup_requests: 0,
        requests: 1,
        max_batch: 1,
        slo: SLO,
        floor: "native-cpp".into(),
        points: vec![ServePoint {
            load: LoadPoint::Closed { concurrency: 1 },
            label: "C=1".into(),
            trace_file: String::new(),
            trace_requests: 1,
            trace_new_tokens: 1,
            designs: vec![
                design("native-cpp", true, floor),
                design("ffi-batched", true, fast),
            ],
            schedule_check: EqualityCheck::default(),
            ids_check: EqualityCheck::default(),
        }],
    };
    refresh(&mut s);
    let d = &s.points[0].designs[1];
    let ci = d.vs_floor["output_tokens_per_s"];
    assert!(
        close(ci.estimate, 1.1) && close(ci.low, 1.1) && close(ci.high, 1.1),
        "{ci:?}"
    );
    assert_eq!(ci.samples, 4);
    assert_eq!(
        d.summary["output_tokens_per_s"], 165.0,
        "median of the reps"
    );
    assert!(s.points[0].designs[0].vs_floor.is_empty());
}
