//! The driver's side of one worker child process.
//!
//! A reader thread stamps each stdout line with CLOCK_MONOTONIC the moment it
//! is read and forwards it over a channel, so the driver can wait with a
//! timeout; stderr goes to a bounded buffer for error messages. The child is
//! reaped with wait4 to learn its peak RSS.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::WorkerSpec;
use crate::clock::monotonic_ns;
use crate::interrupt::interrupt_requested;
use crate::protocol::{maxrss_to_bytes, Event, Request};

/// How much of a worker's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// How often a wait re-checks the interrupt flag.
const POLL_SLICE: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("no answer before the deadline; worker killed")]
    Timeout,
    #[error("interrupted")]
    Interrupted,
    #[error("worker exited ({status}); stderr tail:\n{stderr_tail}")]
    Died { status: String, stderr_tail: String },
    #[error("worker sent a line that is not an event ({error}): `{line}`")]
    Protocol { line: String, error: String },
    #[error("cannot write to worker: {0}")]
    Write(std::io::Error),
    #[error("cannot read the worker's output: {0}; worker killed")]
    Read(String),
}

/// Messages and bytes that crossed the pipes, each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcCounts {
    pub messages_out: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub bytes_in: u64,
}

impl IpcCounts {
    pub fn since(&self, earlier: &IpcCounts) -> IpcCounts {
        IpcCounts {
            messages_out: self.messages_out - earlier.messages_out,
            bytes_out: self.bytes_out - earlier.bytes_out,
            messages_in: self.messages_in - earlier.messages_in,
            bytes_in: self.bytes_in - earlier.bytes_in,
        }
    }
}

/// An event and the driver's receipt stamp.
#[derive(Debug, Clone)]
pub struct StampedEvent {
    pub event: Event,
    pub receipt_ns: u64,
}

/// How the child ended.
#[derive(Debug, Clone, Default)]
pub struct ExitReport {
    pub status: String,
    pub peak_rss_bytes: Option<u64>,
}

enum ReaderMsg {
    Line {
        text: String,
        receipt_ns: u64,
    },
    /// A line that is not UTF-8: shown lossily, never taken for end of output.
    NotUtf8 {
        lossy: String,
        error: String,
    },
    /// Reading stdout failed (the cause), so nothing more can be read.
    ReadError(String),
    Eof,
}

pub struct WorkerProcess {
    child: Child,
    pid: libc::pid_t,
    stdin: Option<ChildStdin>,
    lines: Receiver<ReaderMsg>,
    stderr_tail: Arc<Mutex<VecDeque<u8>>>,
    token_watch: TokenWatch,
    ipc: IpcCounts,
    exit: Option<ExitReport>,
}

impl WorkerProcess {
    pub fn spawn(spec: &WorkerSpec) -> Result<WorkerProcess, WorkerError> {
        let mut child = Command::new(&spec.program)
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| WorkerError::Spawn {
                program: spec.program.display().to_string(),
                source,
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || read_stdout(stdout, tx));
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        let token_watch = TokenWatch::default();
        let watch = token_watch.clone();
        std::thread::spawn(move || read_stderr(stderr, tail, watch));
        Ok(WorkerProcess {
            pid: child.id() as libc::pid_t,
            stdin: child.stdin.take(),
            child,
            lines,
            stderr_tail,
            token_watch,
            ipc: IpcCounts::default(),
            exit: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ipc(&self) -> IpcCounts {
        self.ipc
    }

    /// Calls `seen(n)` from the stderr reader each time the worker reports
    /// its n-th token of the current generation on stderr (see [`TOKEN_LINE`]).
    pub fn watch_tokens(&self, seen: Box<dyn Fn(u64) + Send>) {
        if let Ok(mut w) = self.token_watch.0.lock() {
            *w = (0, Some(seen));
        }
    }

    /// Sends a request; returns the stamp taken just before writing it.
    pub fn send(&mut self, req: &Request) -> Result<u64, WorkerError> {
        let line = req.to_line() + "\n";
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            WorkerError::Write(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "stdin already closed",
            ))
        })?;
        let sent_ns = monotonic_ns();
        stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(WorkerError::Write)?;
        self.ipc.messages_out += 1;
        self.ipc.bytes_out += line.len() as u64;
        Ok(sent_ns)
    }

    /// Waits for the next event until `deadline`. On timeout or interrupt the
    /// child is killed and reaped; on EOF it is reaped and reported dead.
    pub fn next_event(&mut self, deadline: Instant) -> Result<StampedEvent, WorkerError> {
        loop {
            if interrupt_requested() {
                self.kill_and_reap();
                return Err(WorkerError::Interrupted);
            }
            let now = Instant::now();
            if now >= deadline {
                self.kill_and_reap();
                return Err(WorkerError::Timeout);
            }
            match self.lines.recv_timeout(POLL_SLICE.min(deadline - now)) {
                Ok(ReaderMsg::Line { text, receipt_ns }) => {
                    self.ipc.messages_in += 1;
                    self.ipc.bytes_in += text.len() as u64 + 1;
                    if text.trim().is_empty() {
                        continue;
                    }
                    return Event::parse(&text)
                        .map(|event| StampedEvent { event, receipt_ns })
                        .map_err(|e| WorkerError::Protocol {
                            line: text,
                            error: e.to_string(),
                        });
                }
                Ok(ReaderMsg::NotUtf8 { lossy, error }) => {
                    self.ipc.messages_in += 1;
                    return Err(WorkerError::Protocol {
                        line: lossy,
                        error: format!("not UTF-8: {error}"),
                    });
                }
                Ok(ReaderMsg::ReadError(error)) => {
                    self.kill_and_reap();
                    return Err(WorkerError::Read(error));
                }
                Ok(ReaderMsg::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    let report = self.reap(Duration::from_secs(5));
                    return Err(WorkerError::Died {
                        status: report.status,
                        stderr_tail: self.stderr_tail(),
                    });
                }
                Err(RecvTimeoutError::Timeout) => continue,
            }
        }
    }

    /// Sends `quit`, closes stdin and reaps the child (killing it if it does
    /// not exit within `grace`).
    pub fn finish(&mut self, grace: Duration) -> ExitReport {
        if self.exit.is_none() {
            let _ = self.send(&Request::Quit);
            self.stdin = None;
        }
        self.reap(grace)
    }

    /// Kills (SIGKILL) and reaps the child.
    pub fn kill_and_reap(&mut self) -> ExitReport {
        if self.exit.is_none() {
            // SAFETY: the pid is our unreaped child, so it cannot be recycled yet.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
            }
        }
        self.reap(Duration::from_secs(5))
    }

    /// The last few KiB the child wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self
            .stderr_tail
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default();
        String::from_utf8_lossy(&Vec::from(tail))
            .trim_end()
            .to_string()
    }

    /// Waits for the child with wait4, killing it after `grace`.
    fn reap(&mut self, grace: Duration) -> ExitReport {
        if let Some(report) = &self.exit {
            return report.clone();
        }
        self.stdin = None;
        let give_up = Instant::now() + grace;
        let mut killed = false;
        let report = loop {
            if let Some(report) = wait4_nohang(self.pid) {
                break report;
            }
            if !killed && Instant::now() >= give_up {
                // SAFETY: as in kill_and_reap, the child is not reaped yet.
                unsafe {
                    libc::kill(self.pid, libc::SIGKILL);
                }
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.exit = Some(report.clone());
        report
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.kill_and_reap();
        }
    }
}

/// One non-blocking wait4; Some once the child has exited.
fn wait4_nohang(pid: libc::pid_t) -> Option<ExitReport> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
    if rc == 0 {
        return None;
    }
    if rc < 0 {
        // ECHILD: someone else reaped it; nothing more to learn.
        return Some(ExitReport {
            status: format!("unknown ({})", std::io::Error::last_os_error()),
            peak_rss_bytes: None,
        });
    }
    Some(ExitReport {
        status: describe_status(status),
        peak_rss_bytes: Some(maxrss_to_bytes(usage.ru_maxrss)),
    })
}

fn describe_status(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    }
}

fn read_stdout(stdout: impl Read, tx: mpsc::Sender<ReaderMsg>) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let msg = match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Err(e) => {
                let _ = tx.send(ReaderMsg::ReadError(e.to_string()));
                return;
            }
            // The consumer stamp for receipt-stamped backends: taken the
            // moment the line is in our hands, before parsing.
            Ok(_) => line_msg(&buf, monotonic_ns()),
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
    let _ = tx.send(ReaderMsg::Eof);
}

fn line_msg(bytes: &[u8], receipt_ns: u64) -> ReaderMsg {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => ReaderMsg::Line {
            text: text.to_string(),
            receipt_ns,
        },
        Err(e) => ReaderMsg::NotUtf8 {
            lossy: String::from_utf8_lossy(bytes).into_owned(),
            error: e.to_string(),
        },
    }
}

/// The stderr line a worker writes per token when its environment has
/// `CROSSBENCH_TOKEN_PROGRESS=1` (full-size scenarios, `[run] token_progress`):
/// the progress bar then counts tokens while a generation runs. Not kept in
/// the stderr tail.
pub const TOKEN_LINE: &str = "crossbench-token";
pub const TOKEN_PROGRESS_ENV: &str = "CROSSBENCH_TOKEN_PROGRESS";

/// Tokens reported in the current generation and who to tell.
type TokenSeen = (u64, Option<Box<dyn Fn(u64) + Send>>);

#[derive(Clone, Default)]
struct TokenWatch(Arc<Mutex<TokenSeen>>);

impl TokenWatch {
    fn saw_token(&self) {
        if let Ok(mut w) = self.0.lock() {
            w.0 += 1;
            if let Some(f) = &w.1 {
                f(w.0);
            }
        }
    }
}

fn read_stderr(stderr: impl Read, tail: Arc<Mutex<VecDeque<u8>>>, watch: TokenWatch) {
    let mut reader = std::io::BufReader::new(stderr);
    let mut line = Vec::new();
    while let Ok(n) = std::io::BufRead::read_until(&mut reader, b'\n', &mut line) {
        if n == 0 {
            break;
        }
        if line.strip_suffix(b"\n").unwrap_or(&line) == TOKEN_LINE.as_bytes() {
            watch.saw_token();
        } else if let Ok(mut tail) = tail.lock() {
            tail.extend(&line);
            let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
            tail.drain(..excess);
        }
        line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::StampSource;

    fn shell_worker(script: &str) -> WorkerProcess {
        WorkerProcess::spawn(&WorkerSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: Vec::new(),
            stamp: StampSource::Worker,
            ipc_per_token: false,
        })
        .unwrap()
    }

    #[test]
    fn a_non_utf8_line_is_a_protocol_error_not_the_end_of_output() {
        let mut w = shell_worker("printf 'ab\\377\\376cd\\n'; sleep 5");
        let deadline = Instant::now() + Duration::from_secs(5);
        match w.next_event(deadline) {
            Err(WorkerError::Protocol { line, error }) => {
                assert!(line.starts_with("ab") && line.ends_with("cd"), "{line}");
                assert!(error.contains("not UTF-8"), "{error}");
            }
            other => panic!("expected a protocol error, got {other:?}"),
        }
        w.kill_and_reap();
    }
}
