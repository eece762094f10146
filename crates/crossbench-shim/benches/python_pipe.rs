//! Family "python_pipe": one request/response round trip over a pipe to a
//! Python worker (tests/helpers/echo_worker.py, the project's .venv Python) with an
//! empty line and with a token event line, vs the same round trip to `cat`
//! (the pipe and the kernel without the interpreter).

mod common;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A token event as the workers send it, newline included (55 bytes).
const TOKEN_LINE: &str = "{\"ev\":\"token\",\"i\":42,\"id\":28705,\"t_ns\":1234567890123}\n";

struct Echo {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Echo {
    fn spawn(cmd: &mut Command) -> std::io::Result<Echo> {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(Echo {
            child,
            stdin,
            stdout,
            line: String::new(),
        })
    }

    fn round_trip(&mut self, payload: &str) -> usize {
        self.stdin
            .write_all(payload.as_bytes())
            .expect("write to worker");
        self.stdin.flush().expect("flush");
        self.line.clear();
        let n = self
            .stdout
            .read_line(&mut self.line)
            .expect("read from worker");
        assert_eq!(n, payload.len(), "the echo must return the whole line");
        n
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workers() -> Vec<(&'static str, Command)> {
    let root = common::repo_root();
    let python = root.join(".venv/bin/python");
    let mut out = Vec::new();
    if python.is_file() {
        let mut cmd = Command::new(python);
        cmd.arg("-u").arg(root.join("tests/helpers/echo_worker.py"));
        out.push(("python_worker", cmd));
    } else {
        eprintln!(
            "python_pipe: {} missing; skipping the Python worker",
            python.display()
        );
    }
    out.push(("cat_twin", Command::new("cat")));
    out
}

fn python_pipe(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipe_round_trip");
    for (name, mut cmd) in workers() {
        let mut echo = Echo::spawn(&mut cmd).expect("spawn the echo worker");
        echo.round_trip("\n"); // started and answering
        for (label, payload) in [("empty", "\n"), ("token", TOKEN_LINE)] {
            g.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| black_box(echo.round_trip(payload)))
            });
        }
    }
    g.finish();
}

criterion_group! { name = benches; config = common::criterion(); targets = python_pipe }
criterion_main!(benches);
