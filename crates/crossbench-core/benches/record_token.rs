//! What recording one token costs in the worker loop of the in-process backends
//! (budget: < 1 µs). Measures the real `serve_in_process` path: an engine that
//! produces tokens instantly times only its loop of `on_token` calls, which is
//! exactly the stamping and storing each generated token pays.

use criterion::{criterion_group, criterion_main, Criterion};
use crossbench_core::footprint::InstantEngine;
use crossbench_core::serve_in_process;
use std::time::Duration;

const TOKENS: u32 = 10_000;

fn record_one_token(c: &mut Criterion) {
    let request = format!("generate max_new={TOKENS} temperature=0 top_p=1 seed=0 prompt=1\n");
    c.bench_function("record_one_token", |b| {
        b.iter_custom(|iters| {
            let mut engine = InstantEngine::default();
            // Each iteration is one token: run ceil(iters / TOKENS) generations.
            let generations = iters.div_ceil(TOKENS as u64);
            let input = request.repeat(generations as usize);
            serve_in_process(&mut engine, input.as_bytes(), std::io::sink()).unwrap();
            engine
                .loop_time
                .mul_f64(iters as f64 / (generations * TOKENS as u64) as f64)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = record_one_token
}
criterion_main!(benches);
