//! `crossbench profile` on the tiny preset: a flame graph per backend that
//! names its worker's hot functions, linked from the report, and a run marked
//! as profiling. Needs `perf` (Debian's linux-perf, permitted to sample):
//! without it the test says so loudly and checks the error message instead;
//! CI installs perf but does not require it (CROSSBENCH_REQUIRE_PERF=1 makes a missing perf a failure).

mod common;

use common::{crossbench_cmd, only_run, results};
use std::path::Path;
use std::process::{Command, Output};

fn profile(out: &Path, backends: &str) -> Output {
    crossbench_cmd()
        .args(["profile", "--scenario", "gen100", "--preset", "tiny"])
        .args([
            "--warmup",
            "1",
            "--reps",
            "2",
            "--timeout",
            "60",
            "--no-progress",
        ])
        .args(["--backends", backends])
        .arg("--out")
        .arg(out)
        .output()
        .expect("run crossbench")
}

fn perf_works() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    let ok = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-o"])
        .arg(probe.path())
        .args(["--", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = "perf record -e cpu-clock does not work here: the flame-graph checks of \
                   crossbench profile did NOT run (apt-get install linux-perf; .ci/run installs it)";
        if std::env::var_os("CROSSBENCH_REQUIRE_PERF").is_some_and(|v| v == "1") {
            panic!("{msg}");
        }
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "\nSKIPPED: {msg}\n");
    }
    ok
}

#[test]
fn profile_writes_a_flame_graph_per_backend_naming_its_hot_functions() {
    let tmp = tempfile::tempdir().unwrap();
    if !perf_works() {
        let o = profile(tmp.path(), "native-cpp");
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("linux-perf"));
        return;
    }
    let o = profile(tmp.path(), "python-subprocess,ffi-token,native-cpp");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = only_run(tmp.path());
    let r = results(&run);
    let profiling = &r["profiling"];
    assert_eq!(profiling["phases"], true, "{profiling}");
    assert!(profiling["perf_event"]
        .as_str()
        .unwrap()
        .contains("cpu-clock"));
    // Each worker's own code, and the BLAS kernel every backend spends its time in.
    let hot = [
        ("python-subprocess", "_PyEval_EvalFrameDefault"),
        ("ffi-token", "cb::Session::step"),
        ("native-cpp", "cb::run_generation"),
    ];
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    for (backend, function) in hot {
        let file = profiling["flame_graphs"][backend].as_str().unwrap();
        let svg = std::fs::read_to_string(run.join(file)).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("<svg"),
            "{backend}: not an SVG"
        );
        assert!(
            svg.contains(function),
            "{backend}: {function} not in its flame graph"
        );
        assert!(
            svg.contains("gemm"),
            "{backend}: no BLAS gemm kernel in its flame graph"
        );
        assert!(
            report.contains(&format!("href=\"{file}\"")),
            "{backend}: not linked"
        );
    }
}
