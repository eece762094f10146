//! Family "mlx_eval": one tiny MLX op evaluated and read back (eval + item,
//! a host sync) from C++ in a loop inside one shim call, vs one shim call per
//! evaluation from Rust. The difference is the crossing; the sync dominates.

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use crossbench_shim::crossing::mlx_eval_n;
use std::time::Instant;

fn mlx_eval(c: &mut Criterion) {
    let mut g = c.benchmark_group("mlx_eval_one");
    g.bench_function("cpp_loop", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            black_box(mlx_eval_n(iters).expect("eval"));
            t.elapsed()
        })
    });
    g.bench_function("rust_crossing_each", |b| {
        b.iter(|| black_box(crossbench_shim::mlx_eval_one().expect("eval")))
    });
    g.finish();
}

criterion_group! { name = benches; config = common::criterion(); targets = mlx_eval }
criterion_main!(benches);
