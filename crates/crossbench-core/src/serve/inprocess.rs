//! The in-process designs (native-cpp, ffi-batched, go-cgo-token,
//! go-cgo-stream): the client runs inside the worker, in the caller's
//! language, so the driver only sends `serve trace=PATH` and reads what the
//! worker wrote after the serve: a `request` event per request, the
//! `schedule`, then `served` (or an `error` after the requests so far).

use std::path::Path;
use std::time::Instant;

use super::{
    check_request, Capture, ClientOutcome, RequestRecord, ServeEvent, ServeStop, Trace,
    TraceArrival,
};
use crate::protocol::max_serve_event_line_bytes;
use crate::worker::{quoted, WorkerProcess};

/// Serves `trace` (already written to `trace_path`) in the worker.
pub fn serve_in_process(
    worker: &mut WorkerProcess,
    trace: &Trace,
    trace_path: &Path,
    deadline: Instant,
) -> ClientOutcome {
    let mut capture = Capture::default();
    let stop = collect(worker, trace, trace_path, deadline, &mut capture).err();
    capture.requests.sort_by_key(|r| r.id);
    set_arrivals(&mut capture, trace);
    ClientOutcome { capture, stop }
}

fn collect(
    worker: &mut WorkerProcess,
    trace: &Trace,
    trace_path: &Path,
    deadline: Instant,
    capture: &mut Capture,
) -> Result<(), ServeStop> {
    let path = trace_path.display().to_string();
    if path.is_empty() || path.contains(char::is_whitespace) {
        // A request line's words are split at white space (docs/protocol.md).
        return Err(ServeStop::Protocol(format!(
            "the trace path `{path}` contains white space; choose an --out without any"
        )));
    }
    let limit = max_serve_event_line_bytes(trace.total_new_tokens());
    worker
        .send_line(&format!("serve trace={path}"), Some(limit), deadline)
        .map_err(ServeStop::Worker)?;
    loop {
        let (line, _) = worker.next_line(deadline).map_err(ServeStop::Worker)?;
        let event = ServeEvent::parse(&line).map_err(|e| {
            ServeStop::Protocol(format!("not a serve event ({e}): `{}`", quoted(&line)))
        })?;
        match event {
            ServeEvent::Request {
                id,
                submit_ns,
                ids,
                t_ns,
                error,
            } => {
                let r = RequestRecord {
                    id,
                    submit_ns,
                    arrival_ns: submit_ns,
                    ids,
                    t_ns,
                    error,
                };
                check_request(trace, &capture.requests, &r).map_err(ServeStop::Protocol)?;
                capture.requests.push(r);
            }
            ServeEvent::Schedule { steps } => capture.schedule = steps,
            ServeEvent::Served(served) => {
                capture.start_ns = served.u64("start_ns");
                capture.served = Some(served);
                return Ok(());
            }
            ServeEvent::Error { code, message } => return Err(ServeStop::Engine { code, message }),
            other => {
                return Err(ServeStop::Protocol(format!(
                    "unexpected event from an in-process serve: {other:?}"
                )))
            }
        }
    }
}

/// Open loop: arrival = the client's start + the trace's arrival. The start
/// is `served.start_ns` when the worker reports it; else the latest start
/// consistent with every submit (a submit is never early), which at worst
/// forgives the first request's lateness. Closed loop: arrival = submit.
fn set_arrivals(capture: &mut Capture, trace: &Trace) {
    if trace.arrival != TraceArrival::Open {
        return;
    }
    let due = |id: u64| trace.requests.get(id as usize).map_or(0, |t| t.arrival_ns);
    let start = capture.start_ns.or_else(|| {
        capture
            .requests
            .iter()
            .map(|r| r.submit_ns.saturating_sub(due(r.id)))
            .min()
    });
    capture.start_ns = start;
    if let Some(start) = start {
        for r in &mut capture.requests {
            r.arrival_ns = start.saturating_add(due(r.id));
        }
    }
}
