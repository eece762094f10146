//! The serve driver end to end over fake serving workers
//! (tests/helpers/fake_serve_worker.py: the serve protocol with a toy
//! continuous-batching engine, no MLX): the in-process path (`serve
//! trace=PATH`) and the pipe client (`serve_open`/`submit`/`serve_close`),
//! closed and open loops, a sweep, the equal-work checks catching a wrong
//! schedule and wrong ids, and failures that keep the other designs going.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbench_core::results::RunStatus;
use crossbench_core::serve::{ClientKind, ServeResults};
use crossbench_core::{
    load_scenario, run_bench, Backend, BackendError, BackendStatus, BenchPlan, Environment,
    LaunchContext, StampSource, WorkerSpec,
};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/helpers/fake_serve_worker.py")
}

/// A design served by the fake worker under a real design's name (so the
/// descriptor table gives it its role: native-cpp the floor, mlx-lm-batch
/// another engine). Pipe designs are stamped on the driver's receipt.
struct Fake {
    name: &'static str,
    env: Vec<(String, String)>,
}

fn fake(name: &'static str) -> Fake {
    Fake {
        name,
        env: Vec::new(),
    }
}

fn faulty(name: &'static str, fault: &str) -> Fake {
    Fake {
        name,
        env: vec![("FAKE_SERVE_FAULT".into(), fault.into())],
    }
}

impl Backend for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn summary(&self) -> &str {
        "fake serving worker"
    }
    fn launch(&self, _: &LaunchContext) -> Result<WorkerSpec, BackendError> {
        let pipe = matches!(self.name, "python-subprocess" | "mlx-lm-batch");
        let mut args = vec![script().display().to_string()];
        if self.name == "mlx-lm-batch" {
            args.extend(["--engine".into(), "other".into()]);
        }
        Ok(WorkerSpec {
            program: "python3".into(),
            args,
            env: self.env.clone(),
            stamp: if pipe {
                StampSource::DriverReceipt
            } else {
                StampSource::Worker
            },
            ipc_per_token: pipe,
        })
    }
}

const CLOSED: &str = "arrival = \"closed\"\nconcurrency = 3";

fn plan(dir: &Path, serve: &str, reps: u32, designs: Vec<Fake>) -> BenchPlan {
    let names: Vec<String> = designs.iter().map(|d| format!("\"{}\"", d.name)).collect();
    let text = format!(
        r#"description = "serve test"
kind = "serve"
[model]
preset = "tiny"
dtype = "float32"
[run]
warmup = 0
repetitions = {reps}
timeout_s = 20
backends = [{}]
[serve]
{serve}
requests = 6
warmup_requests = 2
max_batch = 4
prompt_len = {{ min = 4, max = 8 }}
output_len = {{ min = 3, max = 6 }}
seed = 1
admit_timeout_s = 5
slo = {{ ttft_ms = 2000, tpot_ms = 100 }}
"#,
        names.join(", ")
    );
    let path = dir.join("serve-test.toml");
    std::fs::write(&path, text).unwrap();
    let loaded = load_scenario(path.to_str().unwrap(), dir).unwrap();
    let backends: Vec<Arc<dyn Backend>> = designs
        .into_iter()
        .map(|d| Arc::new(d) as Arc<dyn Backend>)
        .collect();
    let mut plan = BenchPlan::from_scenario(
        loaded,
        backends,
        LaunchContext::default(),
        Vec::new(),
        dir.join("results"),
        Environment::detect(),
    );
    plan.progress = false;
    plan
}

fn serve_of(outcome: &crossbench_core::RunOutcome) -> &ServeResults {
    outcome.results.serve.as_ref().expect("a serve section")
}

#[test]
fn closed_loop_in_process_and_pipe_designs_do_equal_work_and_are_compared() {
    let dir = tempfile::tempdir().unwrap();
    let designs = [
        "native-cpp",
        "ffi-batched",
        "python-subprocess",
        "mlx-lm-batch",
    ];
    let outcome = run_bench(plan(dir.path(), CLOSED, 3, designs.map(fake).into())).unwrap();
    assert_eq!(outcome.results.status, RunStatus::Complete);
    let s = serve_of(&outcome);
    assert_eq!(s.points.len(), 1);
    let p = &s.points[0];
    assert_eq!((p.label.as_str(), p.trace_requests), ("C=3", 8));
    assert!(
        outcome.out_dir.join(&p.trace_file).is_file(),
        "the trace is kept"
    );
    for d in &p.designs {
        assert_eq!(d.status, BackendStatus::Ok, "{}: {:?}", d.name, d.error);
        assert_eq!(d.runs.len(), 3, "{}", d.name);
        let pipe = matches!(d.name.as_str(), "python-subprocess" | "mlx-lm-batch");
        assert_eq!(
            d.client,
            if pipe {
                ClientKind::Pipe
            } else {
                ClientKind::InProcess
            }
        );
        assert_eq!(d.shim_engine, d.name != "mlx-lm-batch");
        for run in &d.runs {
            let m = run.metrics.as_ref().unwrap();
            assert_eq!(
                (m.measured_requests, m.completed_requests),
                (6, 6),
                "{}",
                d.name
            );
            assert_eq!(run.requests.len(), 8, "warm-up requests are kept raw");
            assert!(m.output_tokens_per_s > 0.0 && m.ttft_ns.is_some() && m.queue_ns.is_some());
            assert!(m.crossings_per_token.is_some() && m.os_threads.is_some());
            assert_eq!(m.client_cpu_ns.is_some(), pipe);
            assert!(
                m.pipe_messages_per_token.is_some(),
                "every design's lines cross a pipe"
            );
            assert!(run
                .requests
                .iter()
                .all(|r| r.t_ns.first() >= Some(&r.submit_ns)));
        }
        assert!(d.summary.contains_key("tpot_p50_ns"), "{:?}", d.summary);
        if d.name != "native-cpp" {
            let ci = d.vs_floor["output_tokens_per_s"];
            assert_eq!(ci.samples, 3, "paired by rep");
        } else {
            assert!(d.vs_floor.is_empty());
        }
    }
    // 3 shim designs x 3 reps, against native-cpp rep 1; mlx-lm-batch left out.
    for check in [&p.schedule_check, &p.ids_check] {
        assert!(check.applicable && check.all_equal, "{check:?}");
        assert_eq!(check.compared, 8);
        assert_eq!(check.reference.as_deref(), Some("native-cpp rep 1"));
    }
    let md = std::fs::read_to_string(outcome.out_dir.join("summary.md")).unwrap();
    assert!(
        md.contains("## Serving under load") && md.contains("mlx-lm-batch (other engine)"),
        "{md}"
    );
    assert!(md.contains("step schedule: equal in all 8 runs"), "{md}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(outcome.out_dir.join("results.json")).unwrap())
            .unwrap();
    let run = &json["serve"]["points"][0]["designs"][0]["runs"][0];
    assert!(
        run["schedule"][0][1].is_array() && run["requests"][7]["t_ns"].is_array(),
        "{run}"
    );
}

#[test]
fn an_open_loop_sweep_runs_every_rate_and_checks_ids_but_not_steps() {
    let dir = tempfile::tempdir().unwrap();
    let serve = "arrival = \"open\"\nsweep_rate = [40.0, 200.0]\nburstiness = 0.5";
    let designs = ["native-cpp", "python-subprocess"].map(fake).into();
    let outcome = run_bench(plan(dir.path(), serve, 1, designs)).unwrap();
    let s = serve_of(&outcome);
    let labels: Vec<&str> = s.points.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["λ=40/s", "λ=200/s"]);
    for p in &s.points {
        assert!(!p.schedule_check.applicable, "{:?}", p.schedule_check);
        assert!(
            p.ids_check.applicable && p.ids_check.all_equal,
            "{:?}",
            p.ids_check
        );
        for d in &p.designs {
            let run = &d.runs[0];
            assert_eq!(run.status, BackendStatus::Ok, "{:?}", run.error);
            // Arrivals are scheduled from the client's start, never after the submit.
            let start = run.start_ns.expect("the client's start");
            for r in &run.requests {
                assert!(
                    r.arrival_ns >= start && r.arrival_ns <= r.submit_ns,
                    "{r:?}"
                );
            }
        }
    }
    let md = std::fs::read_to_string(outcome.out_dir.join("summary.md")).unwrap();
    assert!(
        md.contains("### native-cpp") && md.contains("| λ=200/s |"),
        "one table per design over the grid: {md}"
    );
}

#[test]
fn a_wrong_schedule_and_wrong_ids_fail_the_equal_work_checks() {
    let dir = tempfile::tempdir().unwrap();
    let designs = vec![
        fake("native-cpp"),
        faulty("ffi-batched", "reverse"),
        faulty("python-subprocess", "ids:4"),
    ];
    let outcome = run_bench(plan(dir.path(), CLOSED, 1, designs)).unwrap();
    let p = &serve_of(&outcome).points[0];
    assert!(p.schedule_check.failed(), "{:?}", p.schedule_check);
    let sched = &p.schedule_check.mismatches;
    assert_eq!(sched.len(), 1, "{sched:?}");
    assert!(
        sched[0].starts_with("ffi-batched rep 1 vs native-cpp rep 1: step"),
        "{sched:?}"
    );
    assert!(p.ids_check.failed());
    let ids = &p.ids_check.mismatches;
    assert_eq!(ids.len(), 1, "only python-subprocess's ids differ: {ids:?}");
    assert!(ids[0].contains("request 4 token 1"), "{ids:?}");
    let failed = serve_of(&outcome).failed_checks();
    assert_eq!(failed.len(), 2, "{failed:?}");
    let md = std::fs::read_to_string(outcome.out_dir.join("summary.md")).unwrap();
    assert!(md.contains("EQUAL-WORK CHECK FAILED"), "{md}");
}

#[test]
fn a_failing_design_is_marked_with_its_message_and_the_others_finish() {
    let dir = tempfile::tempdir().unwrap();
    let designs = vec![
        fake("native-cpp"),
        faulty("go-cgo-token", "die"),
        faulty("python-subprocess", "error"),
        faulty("ffi-batched", "cancel:3"),
        faulty("go-cgo-stream", "hang"),
    ];
    let mut plan = plan(dir.path(), CLOSED, 2, designs);
    plan.timeout = Duration::from_secs(3);
    let outcome = run_bench(plan).unwrap();
    let p = &serve_of(&outcome).points[0];
    let design = |n: &str| p.designs.iter().find(|d| d.name == n).unwrap();
    assert_eq!(design("native-cpp").runs.len(), 2);
    let died = design("go-cgo-token");
    assert_eq!(died.status, BackendStatus::Failed);
    assert!(
        died.error
            .as_deref()
            .unwrap()
            .contains("worker exited (exit status 3)"),
        "{died:?}"
    );
    assert_eq!(
        died.runs.len(),
        1,
        "a failed design sits out the other reps"
    );
    let errored = design("python-subprocess");
    let message = errored.error.as_deref().unwrap();
    assert!(
        message.contains("CB_ERR_RUNTIME: injected engine failure"),
        "{message}"
    );
    // What it wrote to stderr before its error event, though it was still
    // running when the error arrived.
    let tail = message.split_once("stderr tail:").map(|(_, t)| t);
    assert!(
        tail.is_some_and(|t| t.contains("fake: engine failing at step 3 as configured")),
        "{message}"
    );
    // What arrived before the failure is kept.
    assert!(errored.runs[0].requests.iter().any(|r| !r.ids.is_empty()));
    let hung = design("go-cgo-stream");
    assert_eq!(hung.status, BackendStatus::TimedOut, "{:?}", hung.error);
    // A cancelled request ends with its error; the others finish.
    let cancelled = design("ffi-batched");
    assert_eq!(cancelled.status, BackendStatus::Ok);
    let run = &cancelled.runs[0];
    let r3 = run.requests.iter().find(|r| r.id == 3).unwrap();
    assert_eq!(r3.error.as_deref(), Some("consumer stalled: injected"));
    let m = run.metrics.as_ref().unwrap();
    assert_eq!((m.completed_requests, m.failed_requests), (5, 1));
    assert!(
        p.ids_check.all_equal,
        "a cancelled request is not compared: {:?}",
        p.ids_check
    );
    let failed: Vec<&str> = outcome
        .results
        .backends
        .iter()
        .filter(|b| b.status != BackendStatus::Ok)
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(
        failed,
        ["go-cgo-token", "python-subprocess", "go-cgo-stream"]
    );
}
