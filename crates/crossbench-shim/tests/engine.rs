//! The serving engine through its safe Rust API: closed-loop admission is
//! deterministic, a request's ids do not depend on who drives the engine, and
//! a panicking consumer cancels its own request only.

mod common;

use crossbench_shim::{EngineOptions, Flow, Model, ScheduledStep, StepToken};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

const PROMPTS: [&[u32]; 5] = [&[1, 2, 3], &[5, 6], &[7, 8, 9, 10], &[11], &[12, 13]];
const MAX_NEW: [u32; 5] = [5, 4, 6, 3, 2];

fn options(fill_to: u32) -> EngineOptions {
    EngineOptions {
        max_batch: 4,
        fill_to,
        expected_requests: PROMPTS.len() as u64,
        admit_timeout: Duration::from_secs(20),
    }
}

type Ids = BTreeMap<u64, Vec<u32>>;

/// A closed loop at concurrency 2 where the callback resubmits (as native-cpp).
fn closed_loop(model: &mut Model) -> (Ids, Vec<ScheduledStep>, Vec<StepToken>) {
    let ids = Mutex::new(Ids::new());
    let next = Mutex::new(2u64);
    let pending = Mutex::new(Vec::<u64>::new());
    let mut engine = model
        .engine(options(2), |req, tok, _i, finished| {
            ids.lock().unwrap().entry(req).or_default().push(tok);
            if finished {
                pending.lock().unwrap().push(req);
            }
            Flow::Continue
        })
        .unwrap();
    for id in 0..2 {
        engine
            .submit(id, PROMPTS[id as usize], MAX_NEW[id as usize])
            .unwrap();
    }
    let mut tokens = Vec::new();
    while !engine.step(&mut tokens).unwrap() {
        // Resubmit between steps, in the order the requests ended.
        for _ in pending.lock().unwrap().drain(..) {
            let mut n = next.lock().unwrap();
            if (*n as usize) < PROMPTS.len() {
                engine
                    .submit(*n, PROMPTS[*n as usize], MAX_NEW[*n as usize])
                    .unwrap();
                *n += 1;
            }
        }
    }
    let schedule = engine.schedule();
    drop(engine);
    (ids.into_inner().unwrap(), schedule, tokens)
}

fn shape(s: &[ScheduledStep]) -> Vec<(Vec<u64>, Vec<u64>)> {
    s.iter()
        .map(|s| (s.prefilled.clone(), s.decoded.clone()))
        .collect()
}

#[test]
fn closed_loop_schedule_and_ids_repeat_and_match_single_requests() {
    let dir = common::make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let (ids_a, sched_a, tokens) = closed_loop(&mut model);
    let (ids_b, sched_b, _) = closed_loop(&mut model);
    assert_eq!(
        shape(&sched_a),
        shape(&sched_b),
        "closed-loop schedule must repeat"
    );
    assert_eq!(ids_a, ids_b);
    for (id, max_new) in MAX_NEW.iter().enumerate() {
        assert_eq!(ids_a[&(id as u64)].len(), *max_new as usize, "request {id}");
    }
    // Two in flight at every step until the trace runs out: 0,1 first.
    assert_eq!(shape(&sched_a)[0], (vec![0, 1], vec![]));
    assert!(sched_a
        .iter()
        .all(|s| s.prefilled.len() + s.decoded.len() <= 2));
    // The step buffer saw every token the callbacks saw.
    assert_eq!(tokens.len(), MAX_NEW.iter().sum::<u32>() as usize);
    // Each request's greedy ids equal a one-request run of the same engine.
    for (id, prompt) in PROMPTS.iter().enumerate() {
        let one = Mutex::new(Vec::new());
        let opts = EngineOptions {
            expected_requests: 1,
            ..options(1)
        };
        let engine = model
            .engine(opts, |_, tok, _, _| {
                one.lock().unwrap().push(tok);
                Flow::Continue
            })
            .unwrap();
        engine.submit(0, prompt, MAX_NEW[id]).unwrap();
        let mut sink = Vec::new();
        while !engine.step(&mut sink).unwrap() {}
        drop(engine);
        assert_eq!(
            one.into_inner().unwrap(),
            ids_a[&(id as u64)],
            "request {id}"
        );
    }
}

#[test]
fn a_panicking_consumer_cancels_only_its_request() {
    let dir = common::make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let seen = Mutex::new(Ids::new());
    let mut engine = model
        .engine(
            EngineOptions {
                expected_requests: 3,
                ..options(0)
            },
            |req, tok, i, _| {
                if req == 1 && i == 1 {
                    panic!("consumer of request 1 failed");
                }
                seen.lock().unwrap().entry(req).or_default().push(tok);
                Flow::Continue
            },
        )
        .unwrap();
    for id in 0..3 {
        engine.submit(id, PROMPTS[id as usize], 4).unwrap();
    }
    let mut sink = Vec::new();
    while !engine.step(&mut sink).unwrap() {}
    let panics = engine.take_panics();
    let stats = engine.stats().unwrap();
    drop(engine);
    assert_eq!(panics.len(), 1);
    assert_eq!(panics[0].0, 1);
    assert!(panics[0].1.contains("request 1 failed"), "{panics:?}");
    assert_eq!((stats.requests_done, stats.requests_cancelled), (2, 1));
    let seen = seen.into_inner().unwrap();
    assert_eq!((seen[&0].len(), seen[&1].len(), seen[&2].len()), (4, 1, 4));
}

#[test]
fn a_closed_loop_without_resubmission_times_out_with_a_clear_error() {
    let dir = common::make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let opts = EngineOptions {
        admit_timeout: Duration::from_millis(200),
        ..options(2)
    };
    let engine = model.engine(opts, |_, _, _, _| Flow::Continue).unwrap();
    engine.submit(0, PROMPTS[0], 2).unwrap();
    let mut sink = Vec::new();
    let err = loop {
        match engine.step(&mut sink) {
            Ok(false) => continue,
            Ok(true) => panic!("the engine finished without the second request"),
            Err(e) => break e,
        }
    };
    assert!(
        err.to_string().contains("no request arrived within 200 ms"),
        "{err}"
    );
}

#[test]
fn a_cancel_between_steps_drops_the_request_at_the_next_step() {
    let dir = common::make_tiny("float32", 0);
    let mut model = Model::load(dir.path()).unwrap();
    let opts = EngineOptions {
        expected_requests: 3,
        ..options(0)
    };
    let mut engine = model.engine(opts, |_, _, _, _| Flow::Continue).unwrap();
    for id in 0..3 {
        engine.submit(id, PROMPTS[id as usize], 4).unwrap();
    }
    let mut tokens = Vec::new();
    assert!(!engine.step(&mut tokens).unwrap()); // prefills 0, 1, 2
    engine.cancel(1).unwrap();
    engine.cancel(7).unwrap(); // never submitted: ignored
    while !engine.step(&mut tokens).unwrap() {}
    let stats = engine.stats().unwrap();
    let schedule = engine.schedule();
    drop(engine);
    assert_eq!((stats.requests_done, stats.requests_cancelled), (2, 1));
    let of = |id| tokens.iter().filter(|t| t.request == id).count();
    assert_eq!((of(0), of(1), of(2)), (4, 1, 4));
    assert!(
        schedule[1..].iter().all(|s| !s.decoded.contains(&1)),
        "{schedule:?}"
    );
}
