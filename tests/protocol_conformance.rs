//! docs/protocol.md, enforced: the same good and bad request lines go to every
//! worker (Rust ffi-token / ffi-batched / mock, the C++ native runner, the
//! Python mlx-lm worker, the Go worker of the go-cgo-* backends) and each must answer alike: the same tokens for a good
//! line, the same error code and message for a bad one.

mod common;

use common::{crossbench_cmd, root, venv_python};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

struct Worker {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// What a worker answered to one request line.
#[derive(Debug, PartialEq)]
enum Answer {
    Tokens(Vec<u64>),
    Error { code: String, message: String },
}

impl Worker {
    fn start(name: &'static str, mut cmd: Command) -> Worker {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut w = Worker {
            name,
            child,
            stdin,
            stdout,
        };
        let loaded = w.event();
        assert_eq!(loaded["ev"], "loaded", "{name}: {loaded}");
        // The load's peak RSS, kept apart from the generations' (docs/protocol.md).
        let rss = loaded["peak_rss_bytes"].as_u64().unwrap_or(0);
        assert!(
            rss > 1 << 20,
            "{name}: loaded without its peak RSS: {loaded}"
        );
        w
    }

    fn event(&mut self) -> Value {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "{}: stdout closed", self.name);
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{}: `{line}`: {e}", self.name))
    }

    fn ask(&mut self, request: &str) -> Answer {
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
        let mut ids = Vec::new();
        loop {
            let ev = self.event();
            match ev["ev"].as_str().unwrap() {
                "token" => ids.push(ev["id"].as_u64().unwrap()),
                "done" => {
                    assert_eq!(ev["tokens"].as_u64(), Some(ids.len() as u64), "{ev}");
                    return Answer::Tokens(ids);
                }
                "error" => {
                    return Answer::Error {
                        code: ev["code"].as_str().unwrap().into(),
                        message: ev["message"].as_str().unwrap().into(),
                    }
                }
                other => panic!("{}: unexpected event {other}", self.name),
            }
        }
    }

    fn quit(mut self) {
        writeln!(self.stdin, "quit").unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "{} exits 0 after quit: {status}",
            self.name
        );
    }
}

fn workers(model: &Path) -> Vec<Worker> {
    let m = model.to_str().unwrap();
    let rust = |backend: &str| {
        let mut c = crossbench_cmd();
        c.args([
            "worker",
            "--backend",
            backend,
            "--model",
            m,
            "--device",
            "cpu",
        ]);
        c
    };
    let mut native = Command::new(crossbench_shim::native_runner_path());
    native.args(["--serve", "--model", m, "--device", "cpu"]);
    let mut python = Command::new(venv_python());
    python.arg(root().join("workers/python/mlx_worker.py"));
    python.args(["--model", m, "--device", "cpu"]);
    let go_worker = common::go_worker_path();
    let go = |backend: &str| {
        let mut c = Command::new(&go_worker);
        c.args(["--backend", backend, "--model", m, "--device", "cpu"]);
        c
    };
    vec![
        Worker::start("go-cgo-token", go("go-cgo-token")),
        Worker::start("go-cgo-batched", go("go-cgo-batched")),
        Worker::start("go-cgo-stream", go("go-cgo-stream")),
        Worker::start("ffi-token", rust("ffi-token")),
        Worker::start("ffi-batched", rust("ffi-batched")),
        Worker::start("native-cpp", native),
        Worker::start("python-subprocess", python),
        Worker::start("mock", rust("mock")),
    ]
}

/// Lines every worker must reject, with the message docs/protocol.md gives.
const BAD: &[(&str, &str)] = &[
    (
        "hello",
        "unknown request `hello` (expected `generate`, `serve`, `serve_open` or `quit`)",
    ),
    (
        "generate max_new=2 prompt=1 junk",
        "`junk` is not key=value",
    ),
    (
        "generate max_new=2 prompt=1 foo=1",
        "unknown key `foo` (allowed: max_new, temperature, top_p, seed, prompt)",
    ),
    (
        "generate max_new=2 prompt=1 max_new=3",
        "repeated key `max_new`",
    ),
    ("generate prompt=1", "missing key `max_new`"),
    ("generate max_new=2", "missing key `prompt`"),
    (
        "generate max_new=0 prompt=1",
        "bad value for `max_new`: `0`",
    ),
    (
        "generate max_new=-1 prompt=1",
        "bad value for `max_new`: `-1`",
    ),
    (
        "generate max_new=1_0 prompt=1",
        "bad value for `max_new`: `1_0`",
    ),
    (
        "generate max_new=4294967296 prompt=1",
        "bad value for `max_new`: `4294967296`",
    ),
    (
        "generate max_new=2 prompt=1 top_p=0",
        "bad value for `top_p`: `0`",
    ),
    (
        "generate max_new=2 prompt=1 top_p=1.5",
        "bad value for `top_p`: `1.5`",
    ),
    (
        "generate max_new=2 prompt=1 temperature=-1",
        "bad value for `temperature`: `-1`",
    ),
    (
        "generate max_new=2 prompt=1 temperature=nan",
        "bad value for `temperature`: `nan`",
    ),
    (
        "generate max_new=2 prompt=1 temperature=inf",
        "bad value for `temperature`: `inf`",
    ),
    (
        "generate max_new=2 prompt=1 temperature=1e39",
        "bad value for `temperature`: `1e39`",
    ),
    (
        "generate max_new=2 prompt=1 temperature=0x1p-2",
        "bad value for `temperature`: `0x1p-2`",
    ),
    (
        "generate max_new=2 prompt=1 seed=-1",
        "bad value for `seed`: `-1`",
    ),
    ("generate max_new=2 prompt=", "bad value for `prompt`: ``"),
    (
        "generate max_new=2 prompt=1,,2",
        "bad value for `prompt`: `1,,2`",
    ),
    (
        "generate max_new=2 prompt=1,2,",
        "bad value for `prompt`: `1,2,`",
    ),
    (
        "generate max_new=2 prompt=-1",
        "bad value for `prompt`: `-1`",
    ),
];

/// Lines every worker must accept (greedy: every MLX worker gives the same ids).
const GOOD: &[&str] = &[
    "generate max_new=3 prompt=1,2,3",
    "  generate prompt=1,2,3 seed=7 top_p=1 temperature=0 max_new=3  ",
    "generate max_new=+2 temperature=0.0 top_p=.5 prompt=5",
    "generate max_new=2 temperature=0 top_p=1. seed=18446744073709551615 prompt=4294967295",
];

#[test]
fn every_worker_answers_every_line_alike() {
    let dir = tempfile::tempdir().unwrap();
    common::make_tiny(dir.path());
    let mut all = workers(dir.path());
    for (line, message) in BAD {
        for w in all.iter_mut() {
            let expected = Answer::Error {
                code: "CB_ERR_PROTOCOL".into(),
                message: format!("{message} in `{}`", line.trim()),
            };
            assert_eq!(w.ask(line), expected, "{} on `{line}`", w.name);
        }
    }
    for line in GOOD {
        let answers: Vec<(&str, Answer)> = all.iter_mut().map(|w| (w.name, w.ask(line))).collect();
        let mlx = |a: &Answer| {
            matches!(a, Answer::Tokens(_))
                || matches!(a, Answer::Error { code, .. } if code == "CB_ERR_ARGUMENT")
        };
        for (name, a) in &answers {
            assert!(mlx(a), "{name} accepts `{line}`: {a:?}");
        }
        // The MLX workers agree; a prompt id beyond the vocabulary is a
        // CB_ERR_ARGUMENT from the model, not a protocol error.
        let mlx_answers: Vec<_> = answers.iter().filter(|(n, _)| *n != "mock").collect();
        for (name, a) in &mlx_answers {
            match (a, &mlx_answers[0].1) {
                (Answer::Tokens(x), Answer::Tokens(y)) => assert_eq!(x, y, "{name} on `{line}`"),
                (Answer::Error { code: x, .. }, Answer::Error { code: y, .. }) => {
                    assert_eq!(x, y, "{name} on `{line}`")
                }
                other => panic!("{name} on `{line}`: {other:?}"),
            }
        }
    }
    for w in all {
        w.quit();
    }
}

/// The `calls` of ffi-token are what the shim counted, not a formula: one more
/// shim call per decode step (the CROSSBENCH_TEST_EXTRA_CALL hook) shows up
/// one for one.
#[test]
fn ffi_token_reports_the_crossings_the_shim_counted() {
    let dir = tempfile::tempdir().unwrap();
    common::make_tiny(dir.path());
    let calls = |extra: bool| {
        let mut c = crossbench_cmd();
        c.args(["worker", "--backend", "ffi-token", "--device", "cpu"]);
        c.args(["--model", dir.path().to_str().unwrap()]);
        if extra {
            c.env("CROSSBENCH_TEST_EXTRA_CALL", "1");
        }
        let mut w = Worker::start("ffi-token", c);
        writeln!(w.stdin, "generate max_new=5 prompt=1,2,3").unwrap();
        let done = loop {
            let ev = w.event();
            if ev["ev"] == "done" {
                break ev;
            }
        };
        w.quit();
        done["calls"].as_u64().unwrap()
    };
    let (plain, extra) = (calls(false), calls(true));
    // session new, prefill, 4 decode steps, finish, free, peak-memory query.
    assert_eq!(plain, 9);
    assert_eq!(extra, plain + 4, "one extra call per decode step");
}
