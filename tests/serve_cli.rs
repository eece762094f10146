//! `bench` on a serve scenario through the CLI: the tiny model served by the
//! shim's engine behind native-cpp and ffi-batched (the designs on main so
//! far; the others join as their serve clients land), with equal steps and
//! ids per request; and the flags a serve scenario refuses.

mod common;

use common::{bench_cmd, crossbench, only_results};

#[test]
fn serve_tiny_runs_in_process_designs_with_equal_steps_and_ids() {
    let out = tempfile::tempdir().unwrap();
    let status = bench_cmd(out.path())
        .args([
            "--scenario",
            "serve-tiny",
            "--backends",
            "native-cpp,ffi-batched",
        ])
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
    for d in point["designs"].as_array().unwrap() {
        let m = &d["runs"][0]["metrics"];
        assert_eq!(m["completed_requests"], 8, "{}: {m}", d["name"]);
        assert!(m["output_tokens_per_s"].as_f64().unwrap() > 0.0);
    }
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
