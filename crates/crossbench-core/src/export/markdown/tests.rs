//! summary.md on a results file whose strings are hostile: every one stays
//! literal text inside its cell or line.

use super::*;
use crate::results::BackendResult;

/// Stderr as a crashing worker might leave it, with markup in it.
const HOSTILE: &str = "MARK <img src=x onerror=alert(1)>\"><script>alert(1)</script> | cell\nline2 `tick` [link](javascript:alert(1)) **bold** &amp; \u{1b}[31m";

fn hostile_run() -> BenchResults {
    let json = serde_json::json!({
        "schema_version": 1, "run_id": "r-1", "started_at": "2026-01-01T00:00:00Z",
        "finished_at": null, "status": "incomplete",
        "scenario": {"name": HOSTILE, "file": HOSTILE, "sha256": "aéééééééééééé", "description": HOSTILE,
            "kind": "generate", "model": {"preset": "tiny"}, "dtype": "float32", "prompt_tokens": 21,
            "max_new_tokens": 4, "temperature": 0.0, "top_p": 1.0, "seed": 0, "warmup": 0,
            "repetitions": 1, "timeout_s": 60.0, "detokenize": false},
        "environment": {"cpu_model": HOSTILE, "blas": HOSTILE, "cores": 2},
        "backends": [],
        "agreement": {"applicable": false, "all_match": true, "reference": null, "note": HOSTILE, "entries": []},
        "injected_slowdowns": {HOSTILE: 5.0}
    });
    let mut r: BenchResults = serde_json::from_value(json).expect("fixture parses");
    let mut failed = BackendResult::new(HOSTILE, HOSTILE);
    failed.mark(BackendStatus::Failed, HOSTILE);
    r.backends.push(failed);
    r.backends.push(BackendResult::new("native-cpp", "ok one"));
    r
}

/// Markdown-active characters in `line` that are not backslash-escaped.
fn bare(line: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut escaped = false;
    for c in line.chars() {
        if !escaped && "<>[]`&|*".contains(c) {
            out.push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    out
}

#[test]
fn hostile_strings_stay_inside_their_cells_and_lines() {
    let md = render_summary(&hostile_run());
    assert!(!md.contains('\u{1b}'), "no terminal escape: {md}");
    let mut header_cells = 0;
    for line in md.lines() {
        if line.starts_with('|') {
            let cells = md_cells(line);
            if !line.starts_with("|---") && !line.contains("MARK") {
                header_cells = cells.len();
            }
            assert_eq!(cells.len(), header_cells, "row split: {line}");
        } else if line.contains("MARK") {
            // Outside tables `|` is plain text; everything else stays escaped.
            let bare: Vec<char> = bare(line).into_iter().filter(|&c| c != '|').collect();
            let allowed = if line.starts_with("- **") || line.starts_with("**") {
                4
            } else {
                0
            };
            assert_eq!(
                bare.iter().filter(|&&c| c == '*').count(),
                allowed,
                "{line}"
            );
            assert!(bare.iter().all(|&c| c == '*'), "bare {bare:?} in {line}");
        }
        if line.starts_with('|') && line.contains("MARK") {
            let first = &md_cells(line)[0];
            assert!(bare(first).is_empty(), "bare markup in cell: {first}");
        }
    }
    // Every place that shows the text shows all of it, on one line.
    let shown = md.lines().filter(|l| l.contains("MARK")).count();
    assert!(shown >= 6, "name, description, tables, failure, note: {md}");
    for line in md.lines().filter(|l| l.contains("MARK")) {
        assert!(line.contains("line2"), "the newline split the text: {line}");
    }
    // Cut at 12 characters, not at byte 12 (inside an `é`).
    assert!(md.contains("sha256 `aééééééééééé`"), "{md}");
}

/// A two-backend run whose end-to-end medians are 100 and 110 ms, native-cpp
/// flagged noisy.
fn noisy_pair() -> BenchResults {
    let mut r = hostile_run();
    r.backends.clear();
    r.cv_limit = crate::overhead::CV_LIMIT;
    for (name, p50) in [("native-cpp", 100e6), ("ffi-token", 110e6)] {
        let mut b = BackendResult::new(name, "ok");
        let summary = crate::stats::summarize_f64(&[p50]).expect("one sample");
        b.summaries.insert("e2e_ns".into(), summary);
        b.noisy = name == "native-cpp";
        r.backends.push(b);
    }
    r.noisy = true;
    r
}

#[test]
fn the_main_table_names_its_ratio_unpaired_and_points_at_the_paired_one() {
    let md = render_summary(&noisy_pair());
    assert!(
        md.contains(
            "| Implementation | Time | Memory | Crossings | end-to-end p50 / native-cpp p50 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("ratio of the two medians (unpaired, no interval)"),
        "{md}"
    );
    assert!(md.contains("| +10.0% |"), "{md}");
}

#[test]
fn the_noisy_line_states_its_limit_and_that_the_gate_has_its_own() {
    let md = render_summary(&noisy_pair());
    let flag = format!("more than {:.0}% (CV)", crate::overhead::CV_LIMIT * 100.0);
    let gate = "(`--cv-limit`, default `gate::GATE_CV_LIMIT`)";
    assert!(md.contains(&flag) && md.contains(gate), "{md}");
    assert!(!md.contains("calls this run inconclusive"), "{md}");
}

#[test]
fn a_gpu_run_names_its_gpu_and_a_cpu_run_says_nothing_of_one() {
    let mut r = noisy_pair();
    r.environment.device = Some("cpu".into());
    assert!(!render_summary(&r).contains("GPU:"));
    r.environment.device = Some("gpu".into());
    r.environment.gpu_note = Some("nvidia-smi not found".into());
    assert!(render_summary(&r).contains("GPU: none (nvidia-smi not found)\n"));
    r.environment.gpu = Some(crate::gpu::tests::h200());
    r.backends[0].memory.mlx_peak_bytes = Some(4_748_000_000);
    let md = render_summary(&r);
    assert!(
        md.contains("GPU: NVIDIA H200 · driver 580.159.04 · CUDA 13.0 (driver) · 140.40 GiB; MLX GPU memory peak 4.42 GiB (largest backend)\n"),
        "{md}"
    );
}
