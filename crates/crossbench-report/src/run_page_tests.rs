//! The page on synthetic runs: sections, one chart series per backend,
//! absent and failed backends, claims and the no-network rules.

use super::*;
use crate::charts::{data_rects, series_lines};
use crate::test_support::run;
use crossbench_core::results::BackendStatus;

/// The <svg> of the figure with this data-chart id.
fn figure_svg<'p>(page: &'p str, id: &str) -> &'p str {
    let start = page
        .find(&format!("data-chart=\"{id}\""))
        .unwrap_or_else(|| panic!("no figure {id}"));
    let rest = &page[start..];
    &rest[rest.find("<svg").unwrap()..rest.find("</svg>").unwrap()]
}

#[test]
fn full_run_has_every_section_and_a_series_per_backend() {
    let r = run(
        &[
            ("python-subprocess", 12.0),
            ("ffi-token", 10.5),
            ("ffi-batched", 10.1),
            ("native-cpp", 10.0),
        ],
        5,
        30,
    );
    let page = render_run(&r, None).unwrap();
    for h in [
        "Headline",
        "Latency",
        "Charts",
        "The design note's claims",
        "Run metadata",
    ] {
        assert!(page.contains(&format!("<h2>{h}</h2>")), "{h}");
    }
    assert_eq!(series_lines(figure_svg(&page, "itl-cdf")), 4);
    assert_eq!(series_lines(figure_svg(&page, "timeline")), 4);
    assert_eq!(data_rects(figure_svg(&page, "bars-time")), 4);
    assert_eq!(data_rects(figure_svg(&page, "bars-memory")), 4);
    // native-cpp and python-subprocess have producer stamps: 29 tokens x 2 parts + 2 keys.
    assert_eq!(
        data_rects(figure_svg(&page, "ipc-split-python-subprocess")),
        29 * 2 + 2
    );
    assert!(page.contains("data-chart=\"ipc-split-native-cpp\""));
    assert!(!page.contains("data-chart=\"ipc-split-ffi-token\""));
    // python is 20% slower in every round: the paired ratio is exact.
    assert!(
        page.contains("+20.0% [+20.0%, +20.0%] (n=5)"),
        "e2e ratio with its interval"
    );
    assert!(page.contains("No warnings"));
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("<script"));
}

#[test]
fn absent_and_failed_backends_are_marked_and_warned() {
    let mut r = run(
        &[
            ("python-subprocess", 12.0),
            ("ffi-token", 10.5),
            ("native-cpp", 10.0),
        ],
        3,
        10,
    );
    r.backends[1].mark(BackendStatus::Failed, "worker exited with signal 9");
    let page = render_run(&r, None).unwrap();
    assert!(page.contains("ffi-batched: absent from this run (not measured)."));
    assert!(page.contains("ffi-token: failed: worker exited with signal 9"));
    assert!(page.contains("absent: not in this run"));
    assert_eq!(
        series_lines(figure_svg(&page, "itl-cdf")),
        2,
        "only ok backends are drawn"
    );
    assert_eq!(data_rects(figure_svg(&page, "bars-time")), 2);
    let bars = figure_svg(&page, "bars-time");
    assert!(
        bars.contains("\nabsent\n") && bars.contains("\nfailed\n"),
        "absent and failed bars are labelled"
    );
}

#[test]
fn mismatch_noise_and_missing_reference_are_warnings() {
    let mut r = run(&[("python-subprocess", 12.0), ("ffi-token", 10.0)], 2, 10);
    r.backends[1].reps[0].token_ids[3] = 99;
    r.agreement = crossbench_core::agreement::compute_agreement(&r.backends, true);
    r.backends[0].noisy = true;
    r.backends[0].decode_cv = Some(0.25);
    r.cv_limit = 0.1;
    let page = render_run(&r, None).unwrap();
    assert!(page.contains("TOKEN MISMATCH: ffi-token rep 0"));
    assert!(
        page.contains("python-subprocess: noisy: per-rep decode time varies by 25.0% (limit 10%)")
    );
    assert!(page.contains("No native-cpp results: no overhead ratios in this run."));
    assert!(page.contains("Only 2 measured rep(s)"));
}

#[test]
fn claims_table_gives_verdicts_and_says_what_was_not_measured() {
    let r = run(
        &[
            ("python-subprocess", 12.5),
            ("ffi-token", 11.5),
            ("ffi-batched", 10.2),
            ("native-cpp", 10.0),
        ],
        5,
        30,
    );
    let view = RunView::new(&r);
    let rows = claims::evaluate(&view, None);
    let find = |prefix: &str| rows.iter().find(|c| c.claim.starts_with(prefix)).unwrap();
    // 3 s load is inside 2-5 s; 10 ms tokens are below 20-50 ms.
    assert_eq!(find("Load Model").verdict, claims::Verdict::Holds);
    assert_eq!(
        find("Generate Token: 20").verdict,
        claims::Verdict::DoesNotHold
    );
    // python is exactly 25% slower per round, inside the 1.195-1.308 rounding range.
    assert_eq!(
        find("Generate 100 tokens: Python").verdict,
        claims::Verdict::Holds
    );
    assert_eq!(
        find("Optimized (batched) CGO within ~5% —").verdict,
        claims::Verdict::Holds
    );
    assert_eq!(
        find("Optimized (batched) CGO within ~5% of").verdict,
        claims::Verdict::NotMeasured,
        "no Go backend in this run"
    );
    assert_eq!(
        find("CGO overhead is 0.01%").verdict,
        claims::Verdict::DoesNotHold
    );
    assert_eq!(find("Each cgo call").verdict, claims::Verdict::NotMeasured);
    assert_eq!(find("Each cgo call").measured, "not measured in this run");
}

#[test]
fn microbenchmarks_fill_the_call_claims() {
    let r = run(&[("native-cpp", 10.0)], 3, 10);
    let micro = crate::load::parse_microbench(
        r#"{"schema": "crossbench.microbench/1", "generated_at": "2026-11-25",
            "benchmarks": [{"id": "rust_to_c/ffi_noop", "median_ns": 1.6, "ci_low_ns": 1.5, "ci_high_ns": 1.7},
                           {"id": "rust_to_c/rust_noop", "median_ns": 1.2, "ci_low_ns": 1.1, "ci_high_ns": 1.3}],
            "claims": [{"claim": "A CGO call costs ~50-200 ns", "measured": "rust_to_c/ffi_noop", "baseline": "rust_to_c/rust_noop",
                        "measured_median_ns": 1.6, "baseline_median_ns": 1.2, "difference_ns": 0.4, "ratio": 1.33}]}"#,
        "results/microbench.json",
    )
    .unwrap();
    let rows = claims::evaluate(&RunView::new(&r), Some(&micro));
    assert_eq!(
        rows[0].verdict,
        claims::Verdict::DoesNotHold,
        "1.6 ns is far below 50-200 ns"
    );
    assert!(
        rows[0].measured.starts_with("1.60 ns [1.50 ns, 1.70 ns]"),
        "{}",
        rows[0].measured
    );
    assert_eq!(
        rows[1].verdict,
        claims::Verdict::Holds,
        "1.1-1.3 ns is inside 1-2 ns"
    );
    let page = render_run(&r, Some(&micro)).unwrap();
    assert!(page.contains("Microbenchmark pairs") && page.contains("1.33×"));
}

#[test]
fn mock_only_run_renders_without_absent_rows() {
    let r = run(&[("mock", 2.0)], 2, 20);
    let page = render_run(&r, None).unwrap();
    assert!(!page.contains("absent from this run"));
    assert!(page.contains("none (mock engine)"));
    assert_eq!(series_lines(figure_svg(&page, "itl-cdf")), 1);
    let claims = claims::evaluate(&RunView::new(&r), None);
    assert!(
        claims
            .iter()
            .all(|c| c.verdict == claims::Verdict::NotMeasured),
        "the mock engine is not MLX"
    );
}

#[test]
fn go_microbenchmarks_judge_the_cgo_claims() {
    let r = run(&[("native-cpp", 10.0)], 3, 10);
    let b = |id: &str, m: f64, lo: f64, hi: f64| {
        format!(r#"{{"id": "{id}", "median_ns": {m}, "ci_low_ns": {lo}, "ci_high_ns": {hi}}}"#)
    };
    let benches = [
        b("go/CgoCall", 58.0, 56.0, 60.0),
        b("go/GoCall", 3.3, 3.2, 3.4),
        b("rust_to_c/ffi_noop", 2.3, 2.2, 2.4),
        b("go/BusyScheduler/cgo_call", 70.0, 68.0, 72.0),
        b("go/LockOSThread/lock_unlock", 14.0, 13.0, 15.0),
        b(
            "go/FloatHandoff1MiB/per_element_call",
            13.6e6,
            13.0e6,
            14.0e6,
        ),
        b("go/FloatHandoff1MiB/bulk_copy_call", 46e3, 45e3, 47e3),
        b("go/FloatHandoff1MiB/pointer_no_copy", 57.0, 55.0, 59.0),
    ]
    .join(",");
    let text = format!(
        r#"{{"schema": "crossbench.microbench/1", "benchmarks": [{benches}], "claims": []}}"#
    );
    let micro = crate::load::parse_microbench(&text, "results/microbench.json").unwrap();
    let rows = claims::evaluate(&RunView::new(&r), Some(&micro));
    let find = |prefix: &str| rows.iter().find(|c| c.claim.starts_with(prefix)).unwrap();
    let cgo = find("Each cgo call");
    assert_eq!(
        cgo.verdict,
        claims::Verdict::Holds,
        "56-60 ns is inside 50-200 ns"
    );
    assert!(
        cgo.tested_as.contains("go/CgoCall"),
        "the Go measurement, not the Rust one"
    );
    assert_eq!(find("A regular Go").verdict, claims::Verdict::DoesNotHold);
    assert_eq!(find("cgo calls lock").verdict, claims::Verdict::DoesNotHold);
    assert_eq!(find("Thread pinning").verdict, claims::Verdict::DoesNotHold);
    // 13.0e6/47e3 = 277x at least: far beyond 10x.
    assert_eq!(find("1 MB copied").verdict, claims::Verdict::Holds);
    // 55/60 .. 59/56: about one cgo call, at most 2x.
    assert_eq!(find("Sharing 1 MB").verdict, claims::Verdict::Holds);
    assert!(
        rows.iter()
            .all(|c| !c.claim.contains("lock") || c.verdict != claims::Verdict::NotMeasured),
        "no thread-locking row is left unmeasured"
    );
}

#[test]
fn chart_ids_from_backend_names_are_plain_and_unique() {
    assert_eq!(chart_id("ipc-split", "ffi-token", 3), "ipc-split-ffi-token");
    for odd in ["a\"><script>", "a b", "", &"x".repeat(65)] {
        assert_eq!(chart_id("ipc-split", odd, 3), "ipc-split-3", "{odd:?}");
    }
    let mut r = run(&[("python-subprocess", 12.0), ("native-cpp", 10.0)], 3, 10);
    r.backends[0].name = "py\"><script>alert(1)</script>".into();
    let page = render_run(&r, None).unwrap();
    assert!(page.contains("data-chart=\"ipc-split-0\""), "indexed id");
    assert!(!page.contains("<script"), "the name is text everywhere");
}

#[test]
fn resolution_shows_the_interval_its_half_width_and_what_the_plan_achieved() {
    use crossbench_core::design::plan_after_pilot;
    use crossbench_core::ResolutionTarget;
    use std::time::Duration;
    let mut r = run(&[("ffi-token", 10.5), ("native-cpp", 10.0)], 5, 30);
    assert!(r.resolution.is_some(), "5 rounds state a resolution");
    let target = ResolutionTarget {
        target: 0.01,
        budget: Duration::from_secs(60),
    };
    let mut plan = plan_after_pilot(target, 3, Some(0.04), Duration::ZERO, target.budget);
    plan.record_achieved(Some(0.02));
    r.design.resolution_plan = Some(plan);
    let page = render_run(&r, None).unwrap();
    for part in [
        "decode interval: ffi-token vs native-cpp",
        "half-width",
        "80% power",
        "achieved half-width 2.0% vs target 1.0%: not reached",
    ] {
        assert!(page.contains(part), "{part}");
    }
}

#[test]
fn the_metadata_has_a_gpu_row_for_gpu_runs_only() {
    let mut r = run(&[("native-cpp", 1.0), ("ffi-token", 1.01)], 3, 10);
    assert!(!render_run(&r, None).unwrap().contains("<td>GPU</td>"));
    r.environment.device = Some("gpu".into());
    let page = render_run(&r, None).unwrap();
    assert!(
        page.contains("<td>GPU</td><td>none</td>"),
        "no 'GPU: none' row"
    );
    let identity = include_str!("../../crossbench-core/fixtures/nvidia-smi/h200-identity.csv");
    let samples = include_str!("../../crossbench-core/fixtures/nvidia-smi/h200-samples.csv");
    let smi = crossbench_core::gpu::nvidia_smi::parse_identity;
    let mut gpu = smi(identity.trim()).unwrap();
    let parsed: Vec<_> = samples
        .lines()
        .filter_map(crossbench_core::gpu::nvidia_smi::parse_sample)
        .collect();
    gpu.telemetry = Some(crossbench_core::gpu::GpuTelemetry::from_samples(
        &parsed, 250,
    ));
    r.environment.gpu = Some(gpu);
    let page = render_run(&r, None).unwrap();
    assert!(
        page.contains("<td>GPU</td><td>NVIDIA H200 · driver 580.159.04 · 140.40 GiB; over the run: SM clock 345/1980/1980 MHz"),
        "no GPU identity row"
    );
}
