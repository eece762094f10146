//! The Go worker's serve mode (docs/protocol.md "Serving") on the tiny
//! preset: go-cgo-stream (engine on the shim's thread, callbacks into Go) and
//! go-cgo-token (engine stepped from a goroutine) serve one closed-loop trace
//! with the same step schedule and the same ids per request as the native
//! runner (the floor); a consumer that panics or stalls ends its own request
//! with an error while the others finish and everything is still written; a
//! failed engine is an error after the requests so far; bad `serve` lines are
//! answered as the native runner answers them.

mod common;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DESIGNS: [&str; 2] = ["go-cgo-stream", "go-cgo-token"];

/// A closed-loop trace (C = 3, max_batch 4): prompts and lengths differ per
/// request, so requests join and leave at different steps.
fn write_trace(dir: &Path, requests: usize, max_new: impl Fn(usize) -> u32) -> PathBuf {
    let mut text = format!(
        "crossbench-serve-trace 1\narrival closed 3\nmax_batch 4\nadmit_timeout_ms 30000\nrequests {requests}\n"
    );
    for i in 0..requests {
        let prompt: Vec<String> = (0..1 + i % 4)
            .map(|k| (7 * i + 3 * k + 1).to_string())
            .collect();
        text += &format!("request {i} 0 {} {}\n", max_new(i), prompt.join(","));
    }
    let path = dir.join(format!("trace-{requests}.txt"));
    std::fs::write(&path, text).unwrap();
    path
}

/// What one `serve` answered: request events in id order, the schedule
/// without its times, and the served event.
struct Served {
    requests: Vec<Value>,
    schedule: Vec<Value>,
    served: Value,
}

fn serve(mut cmd: Command, name: &str, trace: &Path, fault: Option<&str>) -> Served {
    if let Some(f) = fault {
        cmd.env("CROSSBENCH_SERVE_FAULT", f);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "serve trace={}\nquit", trace.display()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}: {}\n{stderr}", out.status);
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: `{l}`: {e}")))
        .collect();
    let of = |ev: &'static str| events.iter().filter(move |e| e["ev"] == ev);
    assert_eq!(of("error").count(), 0, "{name}: {events:?}\n{stderr}");
    let schedule = of("schedule")
        .next()
        .unwrap_or_else(|| panic!("{name}: no schedule"));
    Served {
        requests: of("request").cloned().collect(),
        schedule: schedule["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| Value::Array(s.as_array().unwrap()[1..].to_vec()))
            .collect(),
        served: of("served")
            .next()
            .unwrap_or_else(|| panic!("{name}: no served"))
            .clone(),
    }
}

fn go_cmd(worker: &Path, design: &str, model: &Path) -> Command {
    let mut c = Command::new(worker);
    c.args([
        "--backend",
        design,
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    c
}

fn native_cmd(model: &Path) -> Command {
    let mut c = Command::new(crossbench_shim::native_runner_path());
    c.args([
        "--serve",
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    c
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[test]
fn both_go_designs_serve_the_trace_with_the_floors_schedule_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    common::make_tiny(&model);
    let n = 8;
    let trace = write_trace(dir.path(), n, |i| 6 + 3 * (i as u32 % 4));
    let worker = common::go_worker_path();
    let floor = serve(native_cmd(&model), "native-cpp", &trace, None);
    assert_eq!(floor.requests.len(), n);
    for design in DESIGNS {
        let s = serve(go_cmd(&worker, design, &model), design, &trace, None);
        assert_eq!(s.schedule, floor.schedule, "{design}: the step schedule");
        assert_eq!(s.requests.len(), n, "{design}");
        for (r, f) in s.requests.iter().zip(&floor.requests) {
            assert_eq!(r["id"], f["id"], "{design}: id order");
            assert_eq!(r["ids"], f["ids"], "{design}: request {}", r["id"]);
            assert!(r.get("error").is_none(), "{design}: {r}");
            let stamps = r["t_ns"].as_array().unwrap();
            assert_eq!(stamps.len(), r["ids"].as_array().unwrap().len(), "{design}");
            assert!(
                u64_of(r, "submit_ns") < stamps[0].as_u64().unwrap(),
                "{design}: {r}"
            );
        }
        let (sv, fv) = (&s.served, &floor.served);
        for same in [
            "tokens",
            "steps",
            "forward_passes",
            "evals",
            "syncs",
            "max_active",
        ] {
            assert_eq!(u64_of(sv, same), u64_of(fv, same), "{design}: {same}");
        }
        // Two independent counts of one thing: Go's runtime counts cgo calls,
        // the shim counts calls into its ABI.
        assert_eq!(
            u64_of(sv, "cgo_calls"),
            u64_of(sv, "calls"),
            "{design}: {sv}"
        );
        let (calls, steps) = (u64_of(sv, "calls"), u64_of(sv, "steps"));
        let tokens = u64_of(sv, "tokens");
        if design == "go-cgo-stream" {
            // n submits, close, start, join; one Go callback per token.
            assert_eq!(calls, n as u64 + 3, "{sv}");
            assert_eq!(u64_of(sv, "go_callbacks"), tokens, "{sv}");
        } else {
            // n submits, close, and one cb_engine_step per step (no idle step:
            // the closed loop's engine waits inside the step instead).
            assert_eq!(calls, n as u64 + 1 + steps, "{sv}");
            assert_eq!(u64_of(sv, "go_callbacks"), 0, "{sv}");
        }
        let go = &sv["go"];
        assert!(u64_of(go, "gomaxprocs") >= 1, "{go}");
        assert!(
            u64_of(go, "goroutines_peak") >= 3,
            "{go}: a goroutine per request in flight"
        );
        assert!(
            u64_of(sv, "os_threads") >= 2 && u64_of(sv, "process_cpu_ns") > 0,
            "{sv}"
        );
    }
}

/// Serves a trace whose request 2 has a faulty consumer; returns it beside
/// the same trace served without the fault.
fn faulted(design: &str, kind: &str, max_new: impl Fn(usize) -> u32 + Copy) -> (Served, Served) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    common::make_tiny(&model);
    let trace = write_trace(dir.path(), 5, max_new);
    let worker = common::go_worker_path();
    let clean = serve(go_cmd(&worker, design, &model), design, &trace, None);
    let spec = format!("{design}:{kind}@2");
    let bad = serve(go_cmd(&worker, design, &model), design, &trace, Some(&spec));
    (clean, bad)
}

/// Request 2 failed with `cause` after its second token; the others are as
/// in the clean run. `cancelled`: whether the engine dropped request 2 (not
/// when its consumer stalled after the engine had sent its last token).
fn assert_only_request_2_failed(
    design: &str,
    runs: (Served, Served),
    cause: &str,
    cancelled: bool,
) {
    let (clean, bad) = runs;
    assert_eq!(bad.requests.len(), 5, "{design}: every request is written");
    for (r, c) in bad.requests.iter().zip(&clean.requests) {
        if r["id"] == 2 {
            let err = r["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{design}: {r}"));
            assert!(err.contains(cause), "{design}: {err}");
            // What the consumer held: the two tokens up to the fault.
            let ids = r["ids"].as_array().unwrap();
            assert_eq!(ids[..], c["ids"].as_array().unwrap()[..2], "{design}");
        } else {
            assert!(r.get("error").is_none(), "{design}: {r}");
            assert_eq!(r["ids"], c["ids"], "{design}: request {}", r["id"]);
        }
    }
    let (c, d) = if cancelled { (1, 4) } else { (0, 5) };
    let sv = &bad.served;
    assert_eq!(u64_of(sv, "requests_cancelled"), c, "{design}: {sv}");
    assert_eq!(u64_of(sv, "requests_done"), d, "{design}: {sv}");
}

#[test]
fn a_panicking_consumer_ends_only_its_request() {
    for design in DESIGNS {
        // Request 2 outlives the panic by many steps: cancelled, not done.
        let runs = faulted(design, "panic", |i| if i == 2 { 30 } else { 12 });
        assert_only_request_2_failed(design, runs, "panic in the Go token consumer", true);
    }
}

#[test]
fn a_stalled_consumer_is_cancelled_once_its_channel_is_full() {
    for design in DESIGNS {
        // Long enough to fill the stalled request's 64-token channel.
        let runs = faulted(design, "stall", |i| if i == 2 { 80 } else { 10 });
        assert_only_request_2_failed(design, runs, "consumer stalled: 64 tokens unread", true);
    }
}

#[test]
fn a_consumer_stalled_with_few_tokens_unread_is_ended_by_the_watchdog() {
    for design in DESIGNS {
        // Its channel never fills: the engine finishes the request, and the
        // stalled consumer's request ends 2 s later (the closed loop goes on).
        let runs = faulted(design, "stall", |_| 10);
        let cause = "consumer stalled: its last tokens unread 2 s after the engine sent them";
        assert_only_request_2_failed(design, runs, cause, false);
    }
}

#[test]
fn an_open_loop_serves_every_request_at_its_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    common::make_tiny(&model);
    let mut text =
        "crossbench-serve-trace 1\narrival open\nmax_batch 4\nadmit_timeout_ms 30000\nrequests 6\n"
            .to_string();
    for i in 0..6 {
        text += &format!("request {i} {} 5 {},2\n", i * 20_000_000, i + 1);
    }
    let trace = dir.path().join("open.txt");
    std::fs::write(&trace, text).unwrap();
    let worker = common::go_worker_path();
    for design in DESIGNS {
        let s = serve(go_cmd(&worker, design, &model), design, &trace, None);
        // Arrivals 20 ms apart from the client's start (served.start_ns):
        // none submitted early.
        let start = u64_of(&s.served, "start_ns");
        for (i, r) in s.requests.iter().enumerate() {
            assert_eq!(r["ids"].as_array().unwrap().len(), 5, "{design}: {r}");
            let due = start + i as u64 * 20_000_000;
            assert!(u64_of(r, "submit_ns") >= due, "{design}: {r} due at {due}");
        }
        assert_eq!(u64_of(&s.served, "requests_done"), 6, "{design}");
    }
}

/// Every event a worker writes for `lines` (after `loaded`).
fn events_for(mut cmd: Command, name: &str, lines: &[String]) -> Vec<Value> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}\nquit", lines.join("\n")).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{name}: {}", out.status);
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The (code, message) of every error event (each bad line yields one).
fn errors_for(cmd: Command, name: &str, lines: &[String]) -> Vec<(String, String)> {
    events_for(cmd, name, lines)
        .iter()
        .filter(|e| e["ev"] == "error")
        .map(|e| {
            (
                e["code"].as_str().unwrap().into(),
                e["message"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn a_failed_engine_is_an_error_after_the_requests_measured_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    common::make_tiny(&model);
    // Request 0's consumer stalls with its tokens sent: the closed loop cannot
    // resubmit before the engine's 500 ms admission timeout.
    let text = std::fs::read_to_string(write_trace(dir.path(), 6, |_| 10)).unwrap();
    let trace = dir.path().join("timeout.txt");
    std::fs::write(
        &trace,
        text.replace("admit_timeout_ms 30000", "admit_timeout_ms 500"),
    )
    .unwrap();
    let worker = common::go_worker_path();
    for design in DESIGNS {
        let mut cmd = go_cmd(&worker, design, &model);
        cmd.env("CROSSBENCH_SERVE_FAULT", format!("{design}:stall@0"));
        let line = format!("serve trace={}", trace.display());
        let ev = events_for(cmd, design, &[line]);
        // Requests 1 and 2 finish; 3 and 4 wait in the queue with no 0 to
        // complete the batch of 3.
        let (last, requests) = ev.split_last().unwrap();
        assert!(
            requests.iter().all(|e| e["ev"] == "request"),
            "{design}: {ev:?}"
        );
        assert_eq!(requests.len(), 5, "{design}: the submitted requests");
        assert_eq!(
            (&last["ev"], &last["code"]),
            (&"error".into(), &"CB_ERR_RUNTIME".into())
        );
        let error = |r: &Value| r["error"].as_str().unwrap_or("").to_string();
        assert!(error(&requests[0]).contains("consumer stalled"), "{design}");
        for r in &requests[1..3] {
            assert_eq!(error(r), "", "{design}: {r}");
        }
        for r in &requests[3..] {
            assert!(
                error(r).starts_with("engine failed: CB_ERR_RUNTIME"),
                "{design}: {r}"
            );
        }
    }
}

#[test]
fn bad_serve_lines_are_answered_as_the_native_runner_answers_them() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    common::make_tiny(&model);
    let bad_trace = dir.path().join("bad.txt");
    std::fs::write(
        &bad_trace,
        "crossbench-serve-trace 1\narrival closed 2\nrequests 1\nrequest 0 0 5 1\n",
    )
    .unwrap();
    let lines: Vec<String> = [
        "serve".to_string(),
        "serve trace=".into(),
        "serve foo=1".into(),
        "serve trace=a trace=b".into(),
        "serve trace=/nonexistent/trace.txt".into(),
        format!("serve trace={}", bad_trace.display()),
        "serve_open max_batch=1".into(),
        "hello".into(),
    ]
    .into();
    let expected = errors_for(native_cmd(&model), "native-cpp", &lines);
    assert_eq!(expected.len(), lines.len(), "{expected:?}");
    let worker = common::go_worker_path();
    for design in DESIGNS {
        let got = errors_for(go_cmd(&worker, design, &model), design, &lines);
        assert_eq!(got, expected, "{design}");
    }
    // go-cgo-batched has no serving design: it says so before reading the trace.
    let got = errors_for(
        go_cmd(&worker, "go-cgo-batched", &model),
        "go-cgo-batched",
        &lines[4..5],
    );
    assert_eq!(got[0].0, "CB_ERR_UNSUPPORTED", "{got:?}");
}
