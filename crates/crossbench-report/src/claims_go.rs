//! The design note's cgo claims judged from the Go microbenchmarks
//! (`crossbench gobench`, family `go_cgo` of microbench.json), with the Rust
//! FFI counterparts standing in only where no Go measurement exists.

use crossbench_core::overhead::REPORT_CONFIDENCE;
use crossbench_core::stats::Interval;

use crate::claim_row::{row, ClaimRow, Range, Scale};
use crate::html::fmt_ns;
use crate::load::Microbench;

/// One benchmark of microbench.json as an interval, with a description.
fn bench(micro: Option<&Microbench>, id: &str) -> Option<(Interval, String)> {
    let m = micro?;
    let (est, low, high) = m.data.benchmark(id)?.bounds();
    let interval = if low < high {
        format!(" [{}, {}]", fmt_ns(low), fmt_ns(high))
    } else {
        String::new()
    };
    let ci = Interval {
        estimate: est,
        low,
        high,
        confidence: REPORT_CONFIDENCE,
        samples: 0,
    };
    Some((
        ci,
        format!("{}{interval} (`{id}`, {})", fmt_ns(est), m.file),
    ))
}

/// The ratio of two benchmarks, its interval the widest the two intervals
/// allow (low / high .. high / low): conservative, as the two are independent.
fn ratio(micro: Option<&Microbench>, num: &str, den: &str) -> Option<(Interval, String)> {
    let m = micro?;
    let (n, nl, nh) = m.data.benchmark(num)?.bounds();
    let (d, dl, dh) = m.data.benchmark(den)?.bounds();
    if dl <= 0.0 {
        return None;
    }
    let ci = Interval {
        estimate: n / d,
        low: nl / dh,
        high: nh / dl,
        confidence: REPORT_CONFIDENCE,
        samples: 0,
    };
    let text = format!(
        "{:.1}× [{:.1}×, {:.1}×] (`{num}` {} / `{den}` {})",
        ci.estimate,
        ci.low,
        ci.high,
        fmt_ns(n),
        fmt_ns(d)
    );
    Some((ci, text))
}

fn ns(lo: f64, hi: f64) -> Range {
    Range {
        lo,
        hi,
        claimed: (lo + hi) / 2.0,
    }
}

/// The call-cost claims: Go's measurement where there is one, else the Rust
/// counterpart, named as such.
pub fn call_rows(micro: Option<&Microbench>) -> Vec<ClaimRow> {
    let either = |go: &'static str, go_what: &str, rust: &'static str, rust_what: &str| match bench(
        micro, go,
    ) {
        Some(m) => (Some(m), format!("{go_what} (`{go}`)")),
        None => (
            bench(micro, rust),
            format!("{rust_what} (`{rust}`; no Go measurement)"),
        ),
    };
    let (cgo, cgo_what) = either(
        "go/CgoCall",
        "empty Go→C cgo call",
        "rust_to_c/ffi_noop",
        "Rust→C extern \"C\" call to an empty function, the cgo call's counterpart",
    );
    let (gocall, go_what) = either(
        "go/GoCall",
        "Go call to an empty //go:noinline function",
        "rust_to_c/rust_noop",
        "plain Rust call to an empty non-inlined function, the Go call's counterpart",
    );
    vec![
        row(
            "Each cgo call costs ~50–200 ns",
            format!("{cgo_what}, range 50–200 ns"),
            cgo,
            ns(50.0, 200.0),
            Scale::Value,
        ),
        row(
            "A regular Go function call: ~1–2 ns",
            format!("{go_what}, range 1–2 ns"),
            gocall,
            ns(1.0, 2.0),
            Scale::Value,
        ),
    ]
}

/// The thread-locking and copying claims, measured in Go only.
pub fn go_rows(micro: Option<&Microbench>) -> Vec<ClaimRow> {
    vec![
        row(
            "cgo calls lock the goroutine to an OS thread: ~1–2 µs per call",
            "empty cgo call while 2×GOMAXPROCS other goroutines are runnable \
             (`go/BusyScheduler/cgo_call`), range 1–2 µs"
                .into(),
            bench(micro, "go/BusyScheduler/cgo_call"),
            ns(1000.0, 2000.0),
            Scale::Value,
        ),
        row(
            "Thread pinning: runtime.LockOSThread costs ~1–2 µs",
            "runtime.LockOSThread + UnlockOSThread (`go/LockOSThread/lock_unlock`), range 1–2 µs"
                .into(),
            bench(micro, "go/LockOSThread/lock_unlock"),
            ns(1000.0, 2000.0),
            Scale::Value,
        ),
        row(
            "1 MB copied with one C.set_float call per element: Terrible!",
            "held to: at least 10× one copying cgo call for the same 1 MiB \
             (per_element_call / bulk_copy_call)"
                .into(),
            ratio(
                micro,
                "go/FloatHandoff1MiB/per_element_call",
                "go/FloatHandoff1MiB/bulk_copy_call",
            ),
            Range {
                lo: 10.0,
                hi: f64::INFINITY,
                claimed: 10.0,
            },
            Scale::Value,
        ),
        row(
            "Sharing 1 MB by unsafe.Pointer: No copy!",
            "held to: lending 1 MiB costs at most 2× an empty cgo call \
             (pointer_no_copy / CgoCall), i.e. nothing per byte"
                .into(),
            ratio(micro, "go/FloatHandoff1MiB/pointer_no_copy", "go/CgoCall"),
            Range {
                lo: 0.0,
                hi: 2.0,
                claimed: 1.0,
            },
            Scale::Value,
        ),
    ]
}
