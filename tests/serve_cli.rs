//! `bench` on a serve scenario through the CLI: the tiny model served by the
//! shim's engine behind every design (and mlx-lm's own engine as its own
//! row), with equal steps and ids per request, and the report's serving
//! section; and the flags a serve scenario refuses.

mod common;

use common::{bench_cmd, crossbench, only_results};

#[test]
fn serve_tiny_runs_every_design_with_equal_steps_and_ids() {
    let out = tempfile::tempdir().unwrap();
    let status = bench_cmd(out.path())
        .args(["--scenario", "serve-tiny"])
        .status()
        .expect("run crossbench");
    assert!(status.success(), "{status}");
    let r = only_results(out.path());
    assert_eq!(r["scenario"]["kind"], "serve");
    let point = &r["serve"]["points"][0];
    assert_eq!(point["label"], "C=3");
    for check in ["schedule_check", "ids_check"] {
        let c = &point[check];
        assert!(
            c["applicable"] == true && c["all_equal"] == true,
            "{check}: {c}"
        );
    }
    let designs = point["designs"].as_array().unwrap();
    let names: Vec<&str> = designs
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for want in [
        "python-subprocess",
        "mlx-lm-batch",
        "ffi-batched",
        "native-cpp",
        "go-cgo-token",
        "go-cgo-stream",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // Five designs on the shim's engine compared with the floor (not mlx-lm-batch).
    assert_eq!(point["ids_check"]["compared"], 4, "{}", point["ids_check"]);
    for d in designs {
        let m = &d["runs"][0]["metrics"];
        assert_eq!(m["completed_requests"], 8, "{}: {m}", d["name"]);
        assert!(m["output_tokens_per_s"].as_f64().unwrap() > 0.0);
    }
    let run_dir = common::only_run(out.path());
    let page = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    for chart in ["serve-throughput", "serve-ttft"] {
        let tag = format!("data-chart=\"{chart}\" data-series=\"6\"");
        assert!(page.contains(&tag), "report lacks {tag}");
    }
    assert!(page.contains("token ids per request: equal in all 4 runs compared"));
}

#[test]
fn serve_scenarios_refuse_flags_that_do_not_apply() {
    for (flag, value, says) in [
        ("--warmup", "1", "serve.warmup_requests"),
        ("--residency", "one", "fresh worker"),
        ("--until-resolution", "2", "generate scenarios"),
    ] {
        let out = crossbench(&[
            "bench",
            "--scenario",
            "serve-tiny",
            "--backends",
            "native-cpp",
            flag,
            value,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag}");
        assert!(
            stderr.contains(flag) && stderr.contains(says),
            "{flag}: {stderr}"
        );
    }
}
