//! The serving designs at the worker level, on the tiny model: one trace
//! through native-cpp (the floor) and ffi-batched gives the same step
//! schedule and the same ids per request; a consumer that panics or stalls
//! ends its own request with an error while the others finish.

mod common;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CLOSED: &str = "crossbench-serve-trace 1\narrival closed 3\nmax_batch 4\n\
admit_timeout_ms 20000\nrequests 7\nrequest 0 0 5 1,2,3\nrequest 1 0 4 5,6\n\
request 2 0 6 7,8,9,10\nrequest 3 0 3 11\nrequest 4 0 5 12,13\nrequest 5 0 2 14,15,16\n\
request 6 0 4 17\n";

fn tiny_model(dir: &Path) -> PathBuf {
    let out = dir.join("tiny");
    common::make_tiny(&out);
    out
}

/// Runs one `serve` request through a worker and returns its events.
fn serve(mut cmd: Command, trace: &Path, env: &[(&str, &str)]) -> Vec<Value> {
    cmd.envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("worker starts");
    let line = format!("serve trace={}\nquit\n", trace.display());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .filter(|v: &Value| v["ev"] != "loaded")
        .collect()
}

fn native(model: &Path) -> Command {
    let mut c = Command::new(crossbench_shim::native_runner_path());
    c.args(["--model", model.to_str().unwrap(), "--serve"]);
    c
}

fn ffi_batched(model: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crossbench"));
    c.args([
        "worker",
        "--backend",
        "ffi-batched",
        "--model",
        model.to_str().unwrap(),
    ]);
    c
}

fn requests(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["ev"] == "request").collect()
}

/// The schedule without its times: (prefilled, decoded) per step.
fn steps(events: &[Value]) -> Vec<(Value, Value)> {
    let s = events
        .iter()
        .find(|e| e["ev"] == "schedule")
        .expect("a schedule event");
    s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| (st[1].clone(), st[2].clone()))
        .collect()
}

#[test]
fn native_and_ffi_batched_serve_the_same_steps_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let trace = dir.path().join("closed.trace");
    std::fs::write(&trace, CLOSED).unwrap();
    let a = serve(native(&model), &trace, &[]);
    let b = serve(ffi_batched(&model), &trace, &[]);
    assert_eq!(steps(&a), steps(&b), "equal step schedules");
    let (ra, rb) = (requests(&a), requests(&b));
    assert_eq!(ra.len(), 7);
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x["ids"], y["ids"], "request {}", x["id"]);
        assert!(x.get("error").is_none() && y.get("error").is_none());
    }
    // Closed loop at 3: never more than 3 in a step, and 0,1,2 start together.
    assert_eq!(steps(&a)[0].0, serde_json::json!([0, 1, 2]));
    let served = |ev: &[Value]| ev.iter().find(|e| e["ev"] == "served").cloned().unwrap();
    let (sa, sb) = (served(&a), served(&b));
    for key in [
        "tokens",
        "steps",
        "forward_passes",
        "evals",
        "syncs",
        "callbacks",
    ] {
        assert_eq!(sa[key], sb[key], "{key}");
    }
    assert_eq!(sa["tokens"], 29);
}

#[test]
fn a_failing_consumer_ends_its_request_only() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let trace = dir.path().join("closed.trace");
    std::fs::write(&trace, CLOSED).unwrap();
    for (fault, message) in [
        ("ffi-batched:panic@2", "consumer panicked"),
        ("ffi-batched:stall@2", "consumer stalled"),
    ] {
        let ev = serve(
            ffi_batched(&model),
            &trace,
            &[("CROSSBENCH_SERVE_FAULT", fault)],
        );
        let reqs = requests(&ev);
        assert_eq!(reqs.len(), 7, "{fault}: every request reported");
        for r in &reqs {
            let err = r.get("error").and_then(Value::as_str);
            if r["id"] == 2 {
                assert!(err.is_some_and(|e| e.contains(message)), "{fault}: {r}");
            } else {
                assert_eq!(err, None, "{fault}: request {} must finish", r["id"]);
            }
        }
        assert!(
            ev.iter().any(|e| e["ev"] == "served"),
            "{fault}: the serve ends"
        );
    }
}

#[test]
fn bad_serve_requests_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let missing = dir.path().join("missing.trace");
    for cmd in [native(&model), ffi_batched(&model)] {
        let ev = serve(cmd, &missing, &[]);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0]["code"], "CB_ERR_ARGUMENT");
        assert!(
            ev[0]["message"].as_str().unwrap().contains("missing.trace"),
            "{ev:?}"
        );
    }
}
