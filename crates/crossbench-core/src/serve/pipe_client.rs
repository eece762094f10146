//! The designs behind a pipe (python-subprocess, mlx-lm-batch): the driver
//! is the client. It opens the serve (`serve_open`, answered by `serving`),
//! submits each request when it is due (open loop: at its arrival time;
//! closed loop: the first C at once, then one per request whose last token
//! it read), stamps every `token` line on receipt (the moment the client
//! holds the token), closes (`serve_close`) after the last submit, and reads
//! the `schedule` and `served` events that end the serve.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::{
    self_cpu_ns, Capture, ClientOutcome, RequestRecord, ServeEvent, ServeStop, Trace, TraceArrival,
};
use crate::clock::monotonic_ns;
use crate::protocol::max_serve_event_line_bytes;
use crate::worker::{quoted, WorkerProcess};

struct Client<'a> {
    worker: &'a mut WorkerProcess,
    trace: &'a Trace,
    deadline: Instant,
    capture: Capture,
    /// Next trace id to submit.
    next: usize,
    /// The client's start as an Instant, for the open loop's schedule.
    began: Instant,
    closed: bool,
}

/// Serves `trace` through the worker's pipe, the driver as client.
pub fn serve_over_pipe(
    worker: &mut WorkerProcess,
    trace: &Trace,
    deadline: Instant,
) -> ClientOutcome {
    let cpu_before = self_cpu_ns();
    let mut client = Client {
        worker,
        trace,
        deadline,
        capture: Capture::default(),
        next: 0,
        began: Instant::now(),
        closed: false,
    };
    let stop = client.run().err();
    let mut capture = client.capture;
    capture.client_cpu_ns = cpu_before
        .zip(self_cpu_ns())
        .map(|(a, b)| b.saturating_sub(a));
    ClientOutcome { capture, stop }
}

impl Client<'_> {
    fn run(&mut self) -> Result<(), ServeStop> {
        self.open()?;
        self.began = Instant::now();
        self.capture.start_ns = Some(monotonic_ns());
        if let TraceArrival::Closed(c) = self.trace.arrival {
            for _ in 0..(c as usize).min(self.trace.requests.len()) {
                self.submit()?;
            }
        }
        loop {
            let until = self.due_until();
            let Some((line, receipt_ns)) = self
                .worker
                .poll_line(until, self.deadline)
                .map_err(ServeStop::Worker)?
            else {
                self.submit()?;
                continue;
            };
            if self.handle(&line, receipt_ns)? {
                return Ok(());
            }
        }
    }

    /// `serve_open ...`, then waits for `serving`.
    fn open(&mut self) -> Result<(), ServeStop> {
        let t = self.trace;
        let fill_to = match t.arrival {
            TraceArrival::Closed(c) => c,
            TraceArrival::Open => 0,
        };
        let line = format!(
            "serve_open max_batch={} fill_to={fill_to} requests={} admit_timeout_ms={}",
            t.max_batch,
            t.requests.len(),
            t.admit_timeout_ms
        );
        let limit = max_serve_event_line_bytes(t.total_new_tokens());
        self.worker
            .send_line(&line, Some(limit), self.deadline)
            .map_err(ServeStop::Worker)?;
        let (line, _) = self
            .worker
            .next_line(self.deadline)
            .map_err(ServeStop::Worker)?;
        match parse(&line)? {
            ServeEvent::Serving {} => Ok(()),
            ServeEvent::Error { code, message } => Err(ServeStop::Engine { code, message }),
            other => Err(ServeStop::Protocol(format!(
                "expected `serving`, got {other:?}"
            ))),
        }
    }

    /// Until when to wait for a line: the open loop's next arrival, or the
    /// deadline when nothing is due (closed loop, or all submitted).
    fn due_until(&self) -> Instant {
        match (self.trace.arrival, self.trace.requests.get(self.next)) {
            (TraceArrival::Open, Some(r)) => self.began + Duration::from_nanos(r.arrival_ns),
            _ => self.deadline,
        }
    }

    /// Submits the next request (and closes after the last one).
    fn submit(&mut self) -> Result<(), ServeStop> {
        let Some(r) = self.trace.requests.get(self.next) else {
            return Ok(());
        };
        let mut line = format!("submit id={} max_new={} prompt=", r.id, r.max_new);
        for (i, id) in r.prompt.iter().enumerate() {
            let _ = write!(line, "{}{id}", if i == 0 { "" } else { "," });
        }
        let submit_ns = self
            .worker
            .send_line(&line, None, self.deadline)
            .map_err(ServeStop::Worker)?;
        let arrival_ns = match self.trace.arrival {
            TraceArrival::Open => self
                .capture
                .start_ns
                .unwrap_or(submit_ns)
                .saturating_add(r.arrival_ns),
            TraceArrival::Closed(_) => submit_ns,
        };
        self.capture.requests.push(RequestRecord {
            id: r.id,
            submit_ns,
            arrival_ns,
            ids: Vec::with_capacity(r.max_new as usize),
            t_ns: Vec::with_capacity(r.max_new as usize),
            error: None,
        });
        self.next += 1;
        if self.next == self.trace.requests.len() && !self.closed {
            self.worker
                .send_line("serve_close", None, self.deadline)
                .map_err(ServeStop::Worker)?;
            self.closed = true;
        }
        Ok(())
    }

    /// One line from the worker; true once the serve has ended (`served`).
    fn handle(&mut self, line: &str, receipt_ns: u64) -> Result<bool, ServeStop> {
        match parse(line)? {
            ServeEvent::Token { req, i, id } => {
                let finished = self.token(req, i, id, receipt_ns)?;
                if finished && matches!(self.trace.arrival, TraceArrival::Closed(_)) {
                    self.submit()?;
                }
                Ok(false)
            }
            ServeEvent::Schedule { steps } => {
                self.capture.schedule = steps;
                Ok(false)
            }
            ServeEvent::Served(served) => {
                self.capture.served = Some(served);
                Ok(true)
            }
            ServeEvent::Error { code, message } => Err(ServeStop::Engine { code, message }),
            other => Err(ServeStop::Protocol(format!(
                "unexpected event while serving: {other:?}"
            ))),
        }
    }

    /// Records a token; true when it was its request's last.
    fn token(&mut self, req: u64, i: u32, id: u32, receipt_ns: u64) -> Result<bool, ServeStop> {
        let max_new = self.trace.requests.get(req as usize).map(|r| r.max_new);
        // Submitted in id order, so a request's record sits at its id.
        let Some(r) = self
            .capture
            .requests
            .get_mut(req as usize)
            .filter(|r| r.id == req)
        else {
            return Err(ServeStop::Protocol(format!(
                "token for request {req}, which was not submitted"
            )));
        };
        let max_new = max_new.unwrap_or(0) as usize;
        if r.ids.len() >= max_new {
            return Err(ServeStop::Protocol(format!(
                "worker sent more than max_new={max_new} token events for request {req}"
            )));
        }
        if i as usize != r.ids.len() {
            return Err(ServeStop::Protocol(format!(
                "request {req}: token event i={i} out of order (expected {})",
                r.ids.len()
            )));
        }
        r.ids.push(id);
        r.t_ns.push(receipt_ns);
        Ok(r.ids.len() == max_new)
    }
}

fn parse(line: &str) -> Result<ServeEvent, ServeStop> {
    ServeEvent::parse(line)
        .map_err(|e| ServeStop::Protocol(format!("not a serve event ({e}): `{}`", quoted(line))))
}
