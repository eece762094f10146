//! What `bench --phases` adds per recorded span: `PhaseLog::mark` then
//! `close` (two CLOCK_MONOTONIC reads and a store into preallocated memory),
//! and the same calls with recording off (one branch each). The shim's C++
//! recorder does the same per boundary (one clock read, one 24-byte store).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use crossbench_core::phases::{Phase, PhaseLog};
use std::hint::black_box;
use std::time::Duration;

const SPANS: usize = 10_000;

fn record(c: &mut Criterion, name: &str, enabled: bool) {
    c.bench_function(name, |b| {
        b.iter_batched_ref(
            || PhaseLog::new(enabled, SPANS),
            |log| {
                for _ in 0..SPANS {
                    let begin = log.mark();
                    log.close(Phase::Consumer, black_box(begin));
                }
            },
            BatchSize::LargeInput,
        )
    });
}

fn phase_spans(c: &mut Criterion) {
    // Per iteration: SPANS spans; divide criterion's time by 10 000.
    record(c, "phase_span_x10000/recording", true);
    record(c, "phase_span_x10000/off", false);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = phase_spans
}
criterion_main!(benches);
