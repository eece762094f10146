//! Family "crossing_call": an empty Rust→C call vs an empty Rust call, and a
//! C→Rust callback vs a Rust indirect call (the design note's "CGO call costs
//! 50–200 ns, a Go call 1–2 ns").

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use crossbench_shim::crossing::call_callback_n;
use std::time::Instant;

#[inline(never)]
fn rust_noop(x: i32) -> i32 {
    black_box(x)
}

fn rust_to_c(c: &mut Criterion) {
    let mut g = c.benchmark_group("rust_to_c");
    g.bench_function("ffi_noop", |b| {
        b.iter(|| crossbench_shim::noop(black_box(7)))
    });
    g.bench_function("rust_noop", |b| b.iter(|| rust_noop(black_box(7))));
    g.finish();
}

fn c_to_rust(c: &mut Criterion) {
    let mut g = c.benchmark_group("c_to_rust");
    // One Rust→C call that makes `iters` callbacks: the time per iteration is
    // the time per callback (the single outer crossing is amortised away).
    g.bench_function("ffi_callback", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            black_box(call_callback_n(iters, black_box));
            t.elapsed()
        })
    });
    // The twin: a Rust loop making the same indirect call through a pointer
    // the optimiser cannot see through, as C's loop does.
    g.bench_function("rust_indirect_call", |b| {
        b.iter_custom(|iters| {
            let f: fn(i32) -> i32 = black_box(rust_noop);
            let t = Instant::now();
            let mut sum = 0i64;
            for i in 0..iters {
                sum += i64::from(f(i as i32));
            }
            black_box(sum);
            t.elapsed()
        })
    });
    g.finish();
}

criterion_group! { name = benches; config = common::criterion(); targets = rust_to_c, c_to_rust }
criterion_main!(benches);
