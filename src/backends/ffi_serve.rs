//! ffi-batched's serving client (docs/protocol.md, "Serving"): a Rust thread
//! per request that submits it and receives its tokens over a channel, the
//! engine stepped on one Rust thread, tokens delivered by the engine's
//! callback per request. A consumer that panics or leaves 64 tokens unread
//! ends with an error; the other requests finish.

use crossbench_core::clock::monotonic_ns;
use crossbench_core::serve::{ServeEvent, Served, Step, Trace, TraceArrival, TraceRequest};
use crossbench_shim::{EngineOptions, Flow, Model, ScheduledStep};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::Duration;

/// Tokens a consumer may leave unread before it counts as stalled.
const CHANNEL_TOKENS: usize = 64;
/// A consumer that has not taken its request's last token this long after
/// the engine delivered it counts as stalled (a request shorter than the
/// channel never fills it).
const STALL_GRACE_NS: u64 = 2_000_000_000;

/// CROSSBENCH_SERVE_FAULT=<backend>:panic@<id> (the consumer of request id
/// panics at its 2nd token) or stall@<id> (it stops reading).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ServeFault {
    Panic(u64),
    Stall(u64),
}

fn serve_fault(backend: &str) -> Option<ServeFault> {
    let spec = std::env::var("CROSSBENCH_SERVE_FAULT").ok()?;
    let (kind, id) = spec
        .strip_prefix(backend)?
        .strip_prefix(':')?
        .split_once('@')?;
    let id = id.parse().ok()?;
    match kind {
        "panic" => Some(ServeFault::Panic(id)),
        "stall" => Some(ServeFault::Stall(id)),
        _ => None,
    }
}

#[derive(Default)]
struct RequestLog {
    submit_ns: u64,
    ids: Vec<u32>,
    stamps: Vec<u64>,
    error: Option<String>,
}

/// A request's channel end on the engine side: (token id, last), taken
/// (None) once the request ends.
type TokenSender = Mutex<Option<SyncSender<(u32, bool)>>>;

/// What the request threads, the callback and the dispatcher share.
struct Shared {
    senders: Vec<TokenSender>,
    stalled: Vec<AtomicBool>,
    /// When the engine was done with the request (its last token sent, or
    /// cancelled); 0 while it runs.
    engine_done_ns: Vec<AtomicU64>,
    /// Set by the first end of a request: its consumer's, or the watchdog's.
    ended: Vec<AtomicBool>,
    logs: Vec<Mutex<RequestLog>>,
    fault: Option<ServeFault>,
}

impl Shared {
    fn new(trace: &Trace, fault: Option<ServeFault>) -> Shared {
        let n = trace.requests.len();
        let logs = trace
            .requests
            .iter()
            .map(|r| {
                Mutex::new(RequestLog {
                    ids: Vec::with_capacity(r.max_new as usize),
                    stamps: Vec::with_capacity(r.max_new as usize),
                    ..RequestLog::default()
                })
            })
            .collect();
        Shared {
            senders: (0..n).map(|_| Mutex::new(None)).collect(),
            stalled: (0..n).map(|_| AtomicBool::new(false)).collect(),
            engine_done_ns: (0..n).map(|_| AtomicU64::new(0)).collect(),
            ended: (0..n).map(|_| AtomicBool::new(false)).collect(),
            logs,
            fault,
        }
    }

    fn log(&self, id: u64) -> std::sync::MutexGuard<'_, RequestLog> {
        self.logs[id as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The engine's callback: hand the token to the request's consumer.
    fn deliver(&self, request: u64, token: u32, finished: bool) -> Flow {
        let mut slot = self.senders[request as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let sent = match slot.as_ref() {
            Some(tx) => tx.try_send((token, finished)),
            None => return Flow::Stop,
        };
        match sent {
            Ok(()) if !finished => return Flow::Continue,
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.log(request).error =
                    Some(format!("consumer stalled: {CHANNEL_TOKENS} tokens unread"));
                self.stalled[request as usize].store(true, Ordering::Release);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
        *slot = None; // the consumer's recv() ends once it drained the channel
        self.engine_done_ns[request as usize].store(monotonic_ns(), Ordering::Release);
        if finished {
            Flow::Continue
        } else {
            Flow::Stop
        }
    }

    /// Marks a request ended; true only the first time.
    fn end(&self, id: u64) -> bool {
        !self.ended[id as usize].swap(true, Ordering::AcqRel)
    }

    /// The watchdog: a consumer still holding unread tokens STALL_GRACE_NS
    /// after the engine was done with its request is stalled.
    fn find_stalled(&self) -> Option<u64> {
        let now = monotonic_ns();
        (0..self.ended.len() as u64).find(|&id| {
            let done = self.engine_done_ns[id as usize].load(Ordering::Acquire);
            let late = done != 0 && now.saturating_sub(done) > STALL_GRACE_NS;
            if !late || !self.end(id) {
                return false;
            }
            self.log(id).error = Some(format!(
                "consumer stalled: its last tokens unread {} s after the engine sent them",
                STALL_GRACE_NS / 1_000_000_000
            ));
            self.stalled[id as usize].store(true, Ordering::Release);
            true
        })
    }

    /// Waits for the next request to end (its consumer, or the watchdog).
    fn next_end(&self, ended: &Receiver<u64>) -> Option<u64> {
        loop {
            match ended.recv_timeout(Duration::from_millis(100)) {
                Ok(id) => return Some(id),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(id) = self.find_stalled() {
                        return Some(id);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// Ends a request when dropped, also while its thread unwinds from a panic,
/// so the dispatcher never waits for a request that is gone.
struct EndNotice<'a> {
    id: u64,
    shared: &'a Shared,
    ended: &'a mpsc::Sender<u64>,
}

impl Drop for EndNotice<'_> {
    fn drop(&mut self) {
        if self.shared.end(self.id) {
            let _ = self.ended.send(self.id);
        }
    }
}

/// The body of one request's thread: submit, then receive and stamp tokens.
fn run_request(
    shared: &Shared,
    engine: &crossbench_shim::Engine<'_>,
    req: &TraceRequest,
    ended: &mpsc::Sender<u64>,
) {
    let _notice = EndNotice {
        id: req.id,
        shared,
        ended,
    };
    let (tx, rx) = mpsc::sync_channel(CHANNEL_TOKENS);
    *shared.senders[req.id as usize]
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(tx);
    shared.log(req.id).submit_ns = monotonic_ns();
    if let Err(e) = engine.submit(req.id, &req.prompt, req.max_new) {
        shared.log(req.id).error = Some(format!("submit failed: {e}"));
        // The engine would wait for this request: let it finish the others.
        let _ = engine.close();
        return;
    }
    consume(shared, req, &rx);
}

fn consume(shared: &Shared, req: &TraceRequest, rx: &Receiver<(u32, bool)>) {
    let id = req.id;
    while let Ok((token, finished)) = rx.recv() {
        let t = monotonic_ns();
        let n = {
            let mut log = shared.log(id);
            log.ids.push(token); // within the reserved capacity
            log.stamps.push(t);
            log.ids.len()
        };
        match shared.fault {
            Some(ServeFault::Panic(f)) if f == id && n == 2 => {
                shared.log(id).error = Some("consumer panicked: injected fault".into());
                panic!("injected panic in the consumer of request {id}");
            }
            Some(ServeFault::Stall(f)) if f == id => {
                // Stop reading until the engine gives up on this consumer.
                while !shared.stalled[id as usize].load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return;
            }
            _ => {}
        }
        if finished {
            return;
        }
    }
    let mut log = shared.log(id);
    if log.error.is_none() && log.ids.len() < req.max_new as usize {
        log.error = Some("the engine ended the request early".into());
    }
}

/// Serves the trace and returns its events (docs/protocol.md): request
/// events in id order, then `schedule` and `served`, or an `error` event
/// after the request events when the engine itself failed.
pub fn serve_trace(model: &mut Model, trace: &Trace, backend: &str) -> String {
    let shared = Shared::new(trace, serve_fault(backend));
    let options = EngineOptions {
        max_batch: trace.max_batch,
        fill_to: concurrency(trace).unwrap_or(0),
        expected_requests: trace.requests.len() as u64,
        admit_timeout: Duration::from_millis(trace.admit_timeout_ms),
    };
    let mut engine = match model.engine(options, |req, tok, _, fin| shared.deliver(req, tok, fin)) {
        Ok(e) => e,
        Err(e) => return error_line(e.kind().code(), &e.to_string()),
    };
    let calls0 = crossbench_shim::abi_calls_total();
    let (cpu0, t0) = (process_cpu_ns(), monotonic_ns());
    let engine_result = run_all(&shared, &engine, trace, t0);
    let (serve_ns, cpu_ns) = (monotonic_ns() - t0, process_cpu_ns() - cpu0);
    let calls = crossbench_shim::abi_calls_total() - calls0;
    for (id, msg) in engine.take_panics() {
        shared.log(id).error = Some(format!("consumer panicked: {msg}"));
    }
    let mut out = request_lines(&shared);
    match engine_result.and_then(|()| engine.stats()) {
        Err(e) => out.push_str(&error_line(e.kind().code(), &e.to_string())),
        Ok(stats) => {
            out.push_str(&schedule_line(&engine.schedule()));
            out.push_str(&served_line(
                &stats,
                trace.requests.len(),
                calls,
                (t0, serve_ns, cpu_ns),
            ));
        }
    }
    out
}

fn concurrency(trace: &Trace) -> Option<u32> {
    match trace.arrival {
        TraceArrival::Closed(c) => Some(c),
        TraceArrival::Open => None,
    }
}

/// The engine's thread, the dispatcher (this thread) and a thread per request.
fn run_all(
    shared: &Shared,
    engine: &crossbench_shim::Engine<'_>,
    trace: &Trace,
    t0: u64,
) -> crossbench_shim::Result<()> {
    let (ended_tx, ended_rx) = mpsc::channel::<u64>();
    std::thread::scope(|scope| {
        let stepper = scope.spawn(|| step_until_done(shared, engine));
        let mut consumers = Vec::with_capacity(trace.requests.len());
        let requests: &[TraceRequest] = &trace.requests;
        let spawn = |r: &'_ TraceRequest| {
            let r = &requests[r.id as usize]; // borrowed for the whole scope
            let ended = ended_tx.clone();
            consumers.push(scope.spawn(move || run_request(shared, engine, r, &ended)));
        };
        let taken = dispatch(shared, trace, t0, &ended_rx, spawn);
        drop(ended_tx);
        // Every request ends exactly once, through the channel or the watchdog.
        for _ in taken..trace.requests.len() {
            if shared.next_end(&ended_rx).is_none() {
                break;
            }
        }
        // Joined here, not by the scope, which would re-raise a consumer's
        // panic; the panic is already in that request's log.
        for c in consumers {
            let _ = c.join();
        }
        stepper.join().unwrap_or(Ok(()))
    })
}

/// The engine's loop: steps until every request has finished or a step
/// fails; on failure closes the engine (later submissions fail at once) and
/// every request's sender, so no consumer waits for tokens that will not come.
fn step_until_done(
    shared: &Shared,
    engine: &crossbench_shim::Engine<'_>,
) -> crossbench_shim::Result<()> {
    let mut sink = Vec::new();
    let result = loop {
        sink.clear();
        match engine.step(&mut sink) {
            Ok(true) => break Ok(()),
            Ok(false) => {}
            Err(e) => break Err(e),
        }
    };
    if result.is_err() {
        let _ = engine.close();
        for s in &shared.senders {
            *s.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
    result
}

/// Starts every request by the trace's arrival process: `concurrency`
/// requests at once and one more at each end (closed loop), or each at its
/// arrival time (open loop). Returns how many ends it waited for.
fn dispatch(
    shared: &Shared,
    trace: &Trace,
    t0: u64,
    ended_rx: &mpsc::Receiver<u64>,
    mut spawn: impl FnMut(&TraceRequest),
) -> usize {
    let mut taken = 0;
    match concurrency(trace) {
        Some(c) => {
            let first = (c as usize).min(trace.requests.len());
            trace.requests[..first].iter().for_each(&mut spawn);
            for r in &trace.requests[first..] {
                shared.next_end(ended_rx);
                taken += 1;
                spawn(r);
            }
        }
        None => {
            for r in &trace.requests {
                let due = t0 + r.arrival_ns;
                let now = monotonic_ns();
                if due > now {
                    std::thread::sleep(Duration::from_nanos(due - now));
                }
                spawn(r);
            }
        }
    }
    taken
}

fn request_lines(shared: &Shared) -> String {
    let mut out = String::new();
    for (id, log) in shared.logs.iter().enumerate() {
        let log = log.lock().unwrap_or_else(|p| p.into_inner());
        let ev = ServeEvent::Request {
            id: id as u64,
            submit_ns: log.submit_ns,
            ids: log.ids.clone(),
            t_ns: log.stamps.clone(),
            error: log.error.clone(),
        };
        out.push_str(&ev.to_line());
    }
    out
}

fn schedule_line(steps: &[ScheduledStep]) -> String {
    let steps = steps
        .iter()
        .map(|s| Step(s.start_ns, s.prefilled.clone(), s.decoded.clone()))
        .collect();
    ServeEvent::Schedule { steps }.to_line()
}

fn served_line(
    s: &crossbench_shim::EngineStats,
    requests: usize,
    calls: u64,
    (start_ns, serve_ns, cpu_ns): (u64, u64, u64),
) -> String {
    let fields = json!({"requests": requests, "tokens": s.generated_tokens,
        "steps": s.steps, "forward_passes": s.forward_passes, "evals": s.evals,
        "syncs": s.syncs, "calls": calls, "callbacks": s.callbacks,
        "requests_cancelled": s.requests_cancelled, "admit_wait_ns": s.admit_wait_ns,
        "max_active": s.max_active, "start_ns": start_ns, "serve_ns": serve_ns, "process_cpu_ns": cpu_ns,
        "os_threads": os_threads(),
        "peak_rss_bytes": crossbench_core::protocol::self_peak_rss_bytes().unwrap_or(0),
        "mlx_peak_bytes": crossbench_shim::mlx_peak_memory()});
    let serde_json::Value::Object(map) = fields else {
        unreachable!("json! of an object literal is an object")
    };
    ServeEvent::Served(Served(map.into_iter().collect())).to_line()
}

fn error_line(code: &str, message: &str) -> String {
    let (code, message) = (code.to_string(), message.to_string());
    ServeEvent::Error { code, message }.to_line()
}

/// User + system CPU of this process, 0 where unknown.
fn process_cpu_ns() -> u64 {
    crossbench_core::serve::self_cpu_ns().unwrap_or(0)
}

/// The process's OS threads now (/proc/self/status), 0 where unknown.
fn os_threads() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}
