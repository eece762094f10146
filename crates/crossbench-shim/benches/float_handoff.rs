//! Family "float_handoff": 1 MiB of f32 handed to C three ways (the note's
//! "Memory Copying" section): one shim call per element ("Terrible!"), one
//! bulk copy, and the pointer with no copy; plus the in-Rust copy as a twin.
//! Only the hand-off is timed: whatever C then does with the data costs the
//! same in all three cases.

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use crossbench_shim::crossing::{borrow_floats, copy_floats, set_float};

const N: usize = (1 << 20) / std::mem::size_of::<f32>();

fn float_handoff(c: &mut Criterion) {
    let src: Vec<f32> = (0..N).map(|i| i as f32).collect();
    let mut dst = vec![0f32; N];
    let mut g = c.benchmark_group("float_handoff_1MiB");
    g.throughput(Throughput::Bytes((N * 4) as u64));
    g.bench_function("per_element_call", |b| {
        b.iter(|| {
            for (i, &v) in src.iter().enumerate() {
                set_float(&mut dst, i, v);
            }
            black_box(&mut dst);
        })
    });
    g.bench_function("bulk_copy_call", |b| {
        b.iter(|| {
            copy_floats(&mut dst, black_box(&src));
            black_box(&mut dst);
        })
    });
    g.bench_function("pointer_no_copy", |b| {
        b.iter(|| borrow_floats(black_box(&src)))
    });
    g.bench_function("rust_copy_twin", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        })
    });
    g.finish();
    assert_eq!(dst, src, "every path must have delivered the data");
}

criterion_group! { name = benches; config = common::criterion(); targets = float_handoff }
criterion_main!(benches);
