//! The driver's side of one worker child process.
//!
//! A reader thread stamps each stdout line with CLOCK_MONOTONIC the moment it
//! is read and forwards it over a channel, so the driver can wait with a
//! timeout; stderr goes to a bounded buffer for error messages. Lines are
//! bounded (docs/protocol.md, "Limits"), requests are written by a deadline,
//! and the child runs in its own process group, killed with the driver. The
//! child is reaped with wait4 to learn its peak RSS.

mod child;
mod lines;

use std::collections::VecDeque;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::WorkerSpec;
use crate::clock::monotonic_ns;
use crate::interrupt::interrupt_requested;
use crate::protocol::{max_event_line_bytes, Event, Request, EVENT_LINE_BASE_BYTES};
pub use crate::protocol::{TOKEN_LINE, TOKEN_PROGRESS_ENV};
use child::{kill_group, wait4_nohang, write_by, WriteStop};
use lines::{read_stderr, read_stdout, ReaderMsg, TokenWatch};

/// How often a wait re-checks the interrupt flag.
const POLL_SLICE: Duration = Duration::from_millis(50);
/// Stdout lines read ahead of the driver; past this the reader stops reading,
/// so a worker flooding lines between requests fills its pipe, not our memory.
const READ_AHEAD_LINES: usize = 1024;
/// How much of an offending line an error message quotes.
const QUOTED_LINE_CHARS: usize = 300;

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
    #[error(
        "worker wrote a stdout line longer than {limit} bytes, the protocol's limit \
         for this request (docs/protocol.md); worker killed"
    )]
    LineTooLong { limit: usize },
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

pub struct WorkerProcess {
    child: Child,
    pid: libc::pid_t,
    stdin: Option<ChildStdin>,
    lines: Receiver<ReaderMsg>,
    /// The stdout line bound of the request in flight, read by the reader.
    line_limit: Arc<AtomicUsize>,
    stderr_tail: Arc<Mutex<VecDeque<u8>>>,
    /// The stderr reader, which ends at the pipe's EOF (`stderr_tail`).
    stderr_reader: std::thread::JoinHandle<()>,
    token_watch: TokenWatch,
    ipc: IpcCounts,
    exit: Option<ExitReport>,
}

impl WorkerProcess {
    pub fn spawn(spec: &WorkerSpec) -> Result<WorkerProcess, WorkerError> {
        let spawn_error = |source| WorkerError::Spawn {
            program: spec.program.display().to_string(),
            source,
        };
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        child::isolate(&mut cmd);
        let mut child = cmd.spawn().map_err(spawn_error)?;
        let pid = child.id() as libc::pid_t;
        let stdin = child.stdin.take().expect("stdin is piped");
        if let Err(e) = child::set_nonblocking(&stdin) {
            kill_group(pid);
            let _ = child.wait();
            return Err(spawn_error(e));
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::sync_channel(READ_AHEAD_LINES);
        let line_limit = Arc::new(AtomicUsize::new(EVENT_LINE_BASE_BYTES));
        let limit = Arc::clone(&line_limit);
        std::thread::spawn(move || read_stdout(stdout, tx, limit));
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        let token_watch = TokenWatch::default();
        let watch = token_watch.clone();
        let stderr_reader = std::thread::spawn(move || read_stderr(stderr, tail, watch));
        Ok(WorkerProcess {
            pid,
            stdin: Some(stdin),
            child,
            lines,
            line_limit,
            stderr_tail,
            stderr_reader,
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

    /// Sends a request, written by `deadline` (else the child is killed and
    /// this is a timeout; on interrupt it is killed too); returns the stamp
    /// taken just before writing it.
    pub fn send(&mut self, req: &Request, deadline: Instant) -> Result<u64, WorkerError> {
        // Before the write: the answer may start as soon as it is read.
        let limit = match req {
            Request::Generate(g) => Some(max_event_line_bytes(g.max_new)),
            Request::Quit | Request::Serve(_) | Request::ServeOpen => None,
        };
        self.send_line(&req.to_line(), limit, deadline)
    }

    /// Sends one request line (without its newline) as `send` does, first
    /// raising the stdout line bound to `line_limit` when given: the serve
    /// requests (`serve`, `serve_open`, `submit`, `serve_close`), which the
    /// driver writes but no worker of core parses.
    pub fn send_line(
        &mut self,
        line: &str,
        line_limit: Option<usize>,
        deadline: Instant,
    ) -> Result<u64, WorkerError> {
        let line = format!("{line}\n");
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            WorkerError::Write(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "stdin already closed",
            ))
        })?;
        if let Some(limit) = line_limit {
            self.line_limit.store(limit, Ordering::SeqCst);
        }
        let sent_ns = monotonic_ns();
        match write_by(stdin, line.as_bytes(), deadline) {
            Ok(()) => {}
            Err(WriteStop::Failed(e)) => return Err(WorkerError::Write(e)),
            Err(WriteStop::Deadline) => {
                self.kill_and_reap();
                return Err(WorkerError::Timeout);
            }
            Err(WriteStop::Interrupted) => {
                self.kill_and_reap();
                return Err(WorkerError::Interrupted);
            }
        }
        self.ipc.messages_out += 1;
        self.ipc.bytes_out += line.len() as u64;
        Ok(sent_ns)
    }

    /// Waits for the next event until `deadline`. On timeout or interrupt the
    /// child is killed and reaped; on EOF it is reaped and reported dead.
    pub fn next_event(&mut self, deadline: Instant) -> Result<StampedEvent, WorkerError> {
        let (text, receipt_ns) = self.next_line(deadline)?;
        Event::parse(&text)
            .map(|event| StampedEvent { event, receipt_ns })
            .map_err(|e| WorkerError::Protocol {
                line: quoted(&text),
                error: e.to_string(),
            })
    }

    /// The next non-empty stdout line and its receipt stamp, unparsed (the
    /// serve events have their own type), on `next_event`'s terms.
    pub fn next_line(&mut self, deadline: Instant) -> Result<(String, u64), WorkerError> {
        loop {
            if let Some(line) = self.poll_line(deadline, deadline)? {
                return Ok(line);
            }
        }
    }

    /// As `next_line`, but returns None when `until` (at most `deadline`)
    /// passes with no line: an open-loop client waits for tokens only until
    /// its next request is due. Only `deadline` kills the worker.
    pub fn poll_line(
        &mut self,
        until: Instant,
        deadline: Instant,
    ) -> Result<Option<(String, u64)>, WorkerError> {
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
            if now >= until {
                return Ok(None);
            }
            match self
                .lines
                .recv_timeout(POLL_SLICE.min(until.min(deadline) - now))
            {
                Ok(ReaderMsg::Line { text, receipt_ns }) => {
                    self.ipc.messages_in += 1;
                    self.ipc.bytes_in += text.len() as u64 + 1;
                    if text.trim().is_empty() {
                        continue;
                    }
                    return Ok(Some((text, receipt_ns)));
                }
                Ok(ReaderMsg::NotUtf8 { lossy, error }) => {
                    self.ipc.messages_in += 1;
                    return Err(WorkerError::Protocol {
                        line: quoted(&lossy),
                        error: format!("not UTF-8: {error}"),
                    });
                }
                Ok(ReaderMsg::TooLong { limit }) => {
                    self.kill_and_reap();
                    return Err(WorkerError::LineTooLong { limit });
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
            let _ = self.send(&Request::Quit, Instant::now() + grace);
            self.stdin = None;
        }
        self.reap(grace)
    }

    /// Kills (SIGKILL, its whole process group) and reaps the child.
    pub fn kill_and_reap(&mut self) -> ExitReport {
        if self.exit.is_none() {
            kill_group(self.pid);
        }
        self.reap(Duration::from_secs(5))
    }

    /// The last few KiB the child wrote to stderr. Once the child has been
    /// reaped, read after the reader has drained the pipe (at most 1 s: a
    /// grandchild may hold it open). Why: read at once, a dead worker's last
    /// words could still be in the pipe and the error lose them (seen as an
    /// empty tail in a fresh-clone CI run).
    pub fn stderr_tail(&self) -> String {
        if self.exit.is_some() {
            let give_up = Instant::now() + Duration::from_secs(1);
            while !self.stderr_reader.is_finished() && Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
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
                kill_group(self.pid);
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.exit = Some(report.clone());
        report
    }
}

/// At most [`QUOTED_LINE_CHARS`] of a line, for an error message.
pub fn quoted(line: &str) -> String {
    match line.char_indices().nth(QUOTED_LINE_CHARS) {
        None => line.to_string(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &line[..end], line.len()),
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.kill_and_reap();
        }
    }
}

#[cfg(test)]
mod tests;
