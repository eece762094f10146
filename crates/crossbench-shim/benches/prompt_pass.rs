//! Family "prompt_pass": a prompt handed to C as a C string (allocate, copy,
//! NUL-terminate, and the callee scans for the end) vs borrowed bytes plus a
//! length (the note's `C.CString(prompt)` + `defer C.free`).

mod common;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbench_shim::crossing::{prompt_bytes, prompt_cstr};
use std::ffi::CString;

/// gen100's prompt (79 bytes) and a 4 KiB one (a long chat context).
fn prompts() -> Vec<(String, String)> {
    let short = "Explain in plain words why the sky looks blue on a clear day and red at sunset."
        .to_string();
    let long: String = short.repeat(4096 / short.len() + 1)[..4096].to_string();
    vec![("gen100".to_string(), short), ("4KiB".to_string(), long)]
}

fn prompt_pass(c: &mut Criterion) {
    let mut g = c.benchmark_group("prompt_pass");
    for (label, prompt) in prompts() {
        g.throughput(Throughput::Bytes(prompt.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("cstring_alloc_copy", &label),
            &prompt,
            |b, p| {
                b.iter(|| {
                    let c = CString::new(black_box(p.as_str())).expect("no NUL in the prompt");
                    prompt_cstr(&c)
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("borrowed_bytes_len", &label),
            &prompt,
            |b, p| b.iter(|| prompt_bytes(black_box(p.as_bytes()))),
        );
    }
    g.finish();
}

criterion_group! { name = benches; config = common::criterion(); targets = prompt_pass }
criterion_main!(benches);
