//! The design note's claims beside the microbenchmarks that measure them:
//! each claim names the benchmark measuring it and its in-language twin
//! (`crossbench claims` and `crossbench gobench` write them into
//! microbench.json; the report judges them against the note's ranges).

use crossbench_core::microbench::Benchmark;

pub use crossbench_core::microbench::Claim;

/// (note's claim, where in the note, benchmark measuring it, its twin).
const CLAIMS: &[(&str, &str, &str, &str)] = &[
    (
        "A CGO call costs ~50-200 ns; a regular Go call ~1-2 ns",
        "§1 Function Call Overhead",
        "go/CgoCall",
        "go/GoCall",
    ),
    (
        "CGO calls lock the goroutine to an OS thread: ~1-2 µs per call",
        "§2 Goroutine Scheduling Cost",
        "go/BusyScheduler/cgo_call",
        "go/BusyScheduler/go_call",
    ),
    (
        "runtime.LockOSThread() for the goroutine driving MLX (thread pinning)",
        "§3 Thread Pinning",
        "go/LockOSThread/cgo_call_locked",
        "go/CgoCall",
    ),
    (
        "GenerateStream: callbacks into Go from the C++ thread",
        "Async Operations",
        "go/Callback/foreign_thread",
        "go/Callback/go_thread",
    ),
    (
        "GenerateStream: the first callback from a new C++ thread",
        "Async Operations",
        "go/NewThreadFirstCallback/into_go",
        "go/NewThreadFirstCallback/into_c",
    ),
    (
        "C.CString(prompt) in Go: one allocation + copy per prompt",
        "Generate()",
        "go/Prompt/cstring_alloc_copy",
        "go/Prompt/bytes_len",
    ),
    (
        "Go: 1 MB copied with one C call per element: Terrible!",
        "§3 Memory Copying",
        "go/FloatHandoff1MiB/per_element_call",
        "go/FloatHandoff1MiB/pointer_no_copy",
    ),
    (
        "Go: sharing memory by unsafe.Pointer: No copy!",
        "§3 Memory Copying",
        "go/FloatHandoff1MiB/bulk_copy_call",
        "go/FloatHandoff1MiB/pointer_no_copy",
    ),
    (
        "Rust FFI counterpart: a Rust->C call vs a Rust call",
        "§1 Function Call Overhead",
        "rust_to_c/ffi_noop",
        "rust_to_c/rust_noop",
    ),
    (
        "Rust FFI counterpart: a C->Rust callback",
        "Async Operations",
        "c_to_rust/ffi_callback",
        "c_to_rust/rust_indirect_call",
    ),
    (
        "Rust FFI counterpart: the prompt as a CString",
        "Generate()",
        "prompt_pass/cstring_alloc_copy/gen100",
        "prompt_pass/borrowed_bytes_len/gen100",
    ),
    (
        "Rust FFI counterpart: 1 MB with one C call per element",
        "§3 Memory Copying",
        "float_handoff_1MiB/per_element_call",
        "float_handoff_1MiB/pointer_no_copy",
    ),
    (
        "Rust FFI counterpart: 1 MB by one copying call vs a pointer",
        "§3 Memory Copying",
        "float_handoff_1MiB/bulk_copy_call",
        "float_handoff_1MiB/pointer_no_copy",
    ),
    (
        "GetEmbeddings: a slice backed by MLX memory (zero-copy!)",
        "Direct memory access",
        "receive_vector/copy_into_vec/4096",
        "receive_vector/borrow_view/4096",
    ),
    (
        "Python subprocess 2.5 s vs pure C++ 2.0 s for 100 tokens",
        "Benchmark Results",
        "pipe_round_trip/python_worker/token",
        "pipe_round_trip/cat_twin/token",
    ),
    (
        "CGO overhead (200 ns) is negligible next to MLX work",
        "Real-World MLX Performance",
        "mlx_eval_one/rust_crossing_each",
        "mlx_eval_one/cpp_loop",
    ),
];

pub fn claims(benchmarks: &[Benchmark]) -> Vec<Claim> {
    let median = |id: &str| benchmarks.iter().find(|b| b.id == id).map(|b| b.median_ns);
    CLAIMS
        .iter()
        .map(|&(claim, source, measured, baseline)| {
            let (m, b) = (median(measured), median(baseline));
            Claim {
                claim: claim.into(),
                source: source.into(),
                measured: measured.into(),
                baseline: baseline.into(),
                measured_median_ns: m,
                baseline_median_ns: b,
                difference_ns: m.zip(b).map(|(m, b)| m - b),
                ratio: m.zip(b).filter(|(_, b)| *b > 0.0).map(|(m, b)| m / b),
            }
        })
        .collect()
}

pub use crossbench_core::units::fmt_ns;

pub fn markdown(claims: &[Claim]) -> String {
    let mut s = String::from(
        "| design note claims | measured here | baseline | difference |\n|---|---|---|---|\n",
    );
    let show = |v: Option<f64>| v.map(fmt_ns).unwrap_or_else(|| "—".into());
    for c in claims {
        s += &format!(
            "| {} | {} = {} | {} = {} | {} |\n",
            c.claim,
            c.measured,
            show(c.measured_median_ns),
            c.baseline,
            show(c.baseline_median_ns),
            show(c.difference_ns)
        );
    }
    s
}
