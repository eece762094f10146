//! Family "receive_vector": an MLX-owned float vector delivered to Rust by
//! copy (a shim call that memcpys into a fresh Vec, as `cb_embed` does) vs
//! borrowed in place through an `EmbeddingView` guard (the note's
//! GetEmbeddings "zero-copy!"). Sizes: the tiny model's hidden state (256),
//! Mistral-7B's hidden state (4096), a vocab-sized logits row (32768) and
//! 1 MiB. Then end to end: a tiny-model forward pass delivered both ways.

mod common;
#[path = "../tests/common/mod.rs"]
mod models;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use crossbench_shim::{test_array_view, Model};

fn delivery_only(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive_vector");
    for n in [256usize, 4096, 32768, 262144] {
        let view = test_array_view(n).expect("MLX test array");
        g.bench_with_input(BenchmarkId::new("copy_into_vec", n), &view, |b, v| {
            b.iter(|| {
                let mut out = vec![0f32; v.len()];
                v.copy_into(&mut out).expect("copy");
                black_box(out)
            })
        });
        g.bench_with_input(BenchmarkId::new("borrow_view", n), &view, |b, v| {
            b.iter(|| {
                let s: &[f32] = black_box(v);
                black_box(s.len())
            })
        });
    }
    g.finish();
}

const PROMPT: &[u32] = &[1, 415, 2936, 9060, 285, 1142, 10575];

fn embed_end_to_end(c: &mut Criterion) {
    let dir = models::make_tiny("float32", 3);
    let mut model = Model::load(dir.path()).expect("tiny model");
    let mut g = c.benchmark_group("embed_tiny");
    g.bench_function("copy_vec", |b| {
        b.iter(|| black_box(model.embed(PROMPT).expect("embed")))
    });
    g.bench_function("zero_copy_view", |b| {
        b.iter(|| {
            let v = model.embed_view(PROMPT).expect("embed_view");
            black_box(v[0])
        })
    });
    g.finish();
}

criterion_group! { name = benches; config = common::criterion(); targets = delivery_only, embed_end_to_end }
criterion_main!(benches);
