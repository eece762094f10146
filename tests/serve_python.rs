//! The Python worker's serve mode over its pipe (docs/protocol.md, "Over the
//! pipe"), driven from Rust as the driver would: a closed-loop trace through
//! python-subprocess (the shim's engine through ctypes) gives the native
//! runner's ids per request and its step schedule; mlx-lm-batch (mlx-lm's own
//! BatchGenerator) serves every request in full; a kill fault cuts the serve
//! at the token it names.

mod common;

use common::{root, venv_python};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// (max_new, prompt) per request: lengths differ, so steps mix prefill and decode.
fn requests() -> Vec<(u32, String)> {
    (0..8u32)
        .map(|i| {
            let prompt: Vec<String> = (0..1 + i % 4)
                .map(|k| ((i * 7 + k * 13) % 1000 + 1).to_string())
                .collect();
            (4 + i % 3, prompt.join(","))
        })
        .collect()
}

const CONCURRENCY: usize = 3;

fn write_trace(path: &Path) {
    let mut t = format!(
        "crossbench-serve-trace 1\narrival closed {CONCURRENCY}\nmax_batch 4\n\
         admit_timeout_ms 30000\nrequests {}\n",
        requests().len()
    );
    for (i, (max_new, prompt)) in requests().iter().enumerate() {
        t += &format!("request {i} 0 {max_new} {prompt}\n");
    }
    std::fs::write(path, t).unwrap();
}

/// libcrossbench_shim.so, which crates/crossbench-shim's build script links
/// into OUT_DIR/shared, beside the native runner in OUT_DIR.
fn shim_so_path() -> std::path::PathBuf {
    let out = crossbench_shim::native_runner_path().parent().unwrap();
    out.join("shared/libcrossbench_shim.so")
}

/// Ids per request and the schedule as [prefilled, decoded] sets per step.
#[derive(Debug, PartialEq)]
struct Served {
    ids: BTreeMap<u64, Vec<u64>>,
    steps: Vec<(Vec<u64>, Vec<u64>)>,
}

fn steps_of(schedule: &Value) -> Vec<(Vec<u64>, Vec<u64>)> {
    let ids = |v: &Value| -> Vec<u64> {
        let mut x: Vec<u64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap())
            .collect();
        x.sort();
        x
    };
    let steps = schedule["steps"].as_array().unwrap();
    steps.iter().map(|s| (ids(&s[1]), ids(&s[2]))).collect()
}

fn python_worker(model: &Path, engine: &str, fault: Option<&str>) -> Command {
    let mut c = Command::new(venv_python());
    c.arg(root().join("workers/python/mlx_worker.py"));
    c.args([
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
        "--engine",
        engine,
    ]);
    c.env("CROSSBENCH_SHIM_SO", shim_so_path());
    if let Some(f) = fault {
        c.env("CROSSBENCH_FAULT", f);
    }
    c
}

/// The driver's side of the pipe, closed loop: submits CONCURRENCY requests,
/// then the next one each time a request's last token arrives; serve_close
/// after the last submit.
struct PipeClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: usize,
}

impl PipeClient {
    /// Starts the worker and opens the serve.
    fn open(mut cmd: Command) -> PipeClient {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut c = PipeClient {
            child,
            stdin,
            stdout,
            next: 0,
        };
        assert_eq!(c.event().unwrap()["ev"], "loaded");
        let n = requests().len();
        c.send(&format!(
            "serve_open max_batch=4 fill_to={CONCURRENCY} requests={n} admit_timeout_ms=30000\n"
        ));
        let ev = c.event().unwrap();
        assert_eq!(ev["ev"], "serving", "{ev}");
        c
    }

    /// The next event; None once the worker's stdout ended.
    fn event(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).unwrap();
        (n > 0).then(|| serde_json::from_str(&line).unwrap())
    }

    /// Write errors are ignored: a worker killed by a fault has closed its
    /// stdin, and what it wrote before still comes out of its stdout.
    fn send(&mut self, text: &str) {
        let _ = self
            .stdin
            .write_all(text.as_bytes())
            .and_then(|_| self.stdin.flush());
    }

    fn submit_next(&mut self) {
        let reqs = requests();
        if self.next == reqs.len() {
            return;
        }
        let (max_new, prompt) = &reqs[self.next];
        let mut line = format!(
            "submit id={} max_new={max_new} prompt={prompt}\n",
            self.next
        );
        self.next += 1;
        if self.next == reqs.len() {
            line += "serve_close\n";
        }
        self.send(&line);
    }
}

/// Plays the closed loop to the end: what was served and the `served` event,
/// or the ids so far and None when the worker's stdout ends first.
fn serve_over_pipe(cmd: Command) -> (Served, Option<Value>) {
    let mut c = PipeClient::open(cmd);
    for _ in 0..CONCURRENCY {
        c.submit_next();
    }
    let max_new: Vec<usize> = requests().iter().map(|r| r.0 as usize).collect();
    let mut served = Served {
        ids: BTreeMap::new(),
        steps: Vec::new(),
    };
    while let Some(ev) = c.event() {
        match ev["ev"].as_str().unwrap() {
            "token" => {
                let req = ev["req"].as_u64().unwrap();
                let ids = served.ids.entry(req).or_default();
                assert_eq!(ev["i"].as_u64(), Some(ids.len() as u64), "{ev}");
                ids.push(ev["id"].as_u64().unwrap());
                if ids.len() == max_new[req as usize] {
                    c.submit_next();
                }
            }
            "schedule" => served.steps = steps_of(&ev),
            "served" => {
                c.send("quit\n");
                assert!(c.child.wait().unwrap().success());
                return (served, Some(ev));
            }
            _ => panic!("unexpected event {ev}"),
        }
    }
    c.child.wait().unwrap();
    (served, None)
}

/// The native runner's in-process client on the same trace.
fn native_serve(model: &Path, trace: &Path) -> Served {
    let out = Command::new(crossbench_shim::native_runner_path())
        .args([
            "--serve",
            "--model",
            model.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            writeln!(
                c.stdin.take().unwrap(),
                "serve trace={}\nquit",
                trace.display()
            )?;
            c.wait_with_output()
        })
        .unwrap();
    let mut served = Served {
        ids: BTreeMap::new(),
        steps: Vec::new(),
    };
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let ev: Value = serde_json::from_str(line).unwrap();
        match ev["ev"].as_str().unwrap() {
            "request" => {
                let ids = ev["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap());
                served.ids.insert(ev["id"].as_u64().unwrap(), ids.collect());
            }
            "schedule" => served.steps = steps_of(&ev),
            _ => {}
        }
    }
    served
}

#[test]
fn python_subprocess_serves_the_native_runners_ids_and_steps() {
    let dir = tempfile::tempdir().unwrap();
    common::make_tiny(dir.path());
    let trace = dir.path().join("trace.txt");
    write_trace(&trace);
    let (py, served) = serve_over_pipe(python_worker(dir.path(), "shim", None));
    let served = served.expect("python-subprocess ends its serve with `served`");
    let total: u64 = requests().iter().map(|r| r.0 as u64).sum();
    assert_eq!(served["tokens"].as_u64(), Some(total), "{served}");
    assert_eq!(
        served["steps"].as_u64(),
        Some(py.steps.len() as u64),
        "{served}"
    );
    assert!(
        served["calls"].as_u64().unwrap() >= py.steps.len() as u64,
        "{served}"
    );
    let native = native_serve(dir.path(), &trace);
    assert_eq!(
        py, native,
        "python-subprocess and native-cpp on one closed-loop trace"
    );
}

#[test]
fn mlx_lm_batch_serves_every_request_in_full() {
    let dir = tempfile::tempdir().unwrap();
    common::make_tiny(dir.path());
    let (got, served) = serve_over_pipe(python_worker(dir.path(), "mlx-lm-batch", None));
    let served = served.expect("mlx-lm-batch ends its serve with `served`");
    assert_eq!(served["engine"], "mlx-lm-batch");
    assert_eq!(
        served["requests"].as_u64(),
        Some(requests().len() as u64),
        "{served}"
    );
    for (i, (max_new, _)) in requests().iter().enumerate() {
        assert_eq!(got.ids[&(i as u64)].len(), *max_new as usize, "request {i}");
    }
}

#[test]
fn a_kill_fault_cuts_the_serve_at_its_token() {
    let dir = tempfile::tempdir().unwrap();
    common::make_tiny(dir.path());
    let cmd = python_worker(dir.path(), "shim", Some("python-subprocess:kill@5"));
    let (got, served) = serve_over_pipe(cmd);
    assert!(served.is_none(), "a killed worker writes no `served`");
    let tokens: usize = got.ids.values().map(Vec::len).sum();
    assert_eq!(
        tokens, 5,
        "tokens 0..5 arrive, the worker dies before token 5"
    );
}
