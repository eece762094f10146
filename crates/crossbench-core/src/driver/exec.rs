//! One worker interaction at a time: start and wait for `loaded`, run one
//! generation and record it raw.

use std::time::{Duration, Instant};

use crate::backend::{StampSource, WorkerSpec};
use crate::clock::monotonic_ns;
use crate::protocol::{Event, GenRequest, Request};
use crate::results::{BackendStatus, RepRecord};
use crate::worker::{StampedEvent, WorkerError, WorkerProcess};

/// Why a backend stops being measured.
#[derive(Debug, Clone)]
pub(crate) struct RepFailure {
    pub status: BackendStatus,
    pub message: String,
}

impl RepFailure {
    fn failed(message: impl Into<String>) -> Self {
        RepFailure {
            status: BackendStatus::Failed,
            message: message.into(),
        }
    }

    /// Maps a worker error, adding the timeout and the stderr tail where
    /// they explain what happened.
    pub fn from_worker(e: WorkerError, timeout: Duration, worker: Option<&WorkerProcess>) -> Self {
        // Read only where used: a reaped worker's tail may wait for its pipe.
        let tailed =
            |msg: String| with_tail(msg, &worker.map(|w| w.stderr_tail()).unwrap_or_default());
        match e {
            WorkerError::Timeout => RepFailure {
                status: BackendStatus::TimedOut,
                message: tailed(format!(
                    "timed out after {:.1} s; worker killed",
                    timeout.as_secs_f64()
                )),
            },
            WorkerError::Interrupted => RepFailure {
                status: BackendStatus::Incomplete,
                message: "interrupted".into(),
            },
            // Died already carries the stderr tail.
            died @ WorkerError::Died { .. } => RepFailure::failed(died.to_string()),
            other => RepFailure::failed(tailed(other.to_string())),
        }
    }
}

/// `message`, then the worker's stderr tail where it has one.
pub(crate) fn with_tail(message: String, tail: &str) -> String {
    if tail.is_empty() {
        message
    } else {
        format!("{message}; stderr tail:\n{tail}")
    }
}

/// A started worker and what its start cost.
pub(crate) struct Started {
    pub worker: WorkerProcess,
    pub spawn_ns: u64,
    pub load_ns: u64,
    pub spawn_to_loaded_ns: u64,
    /// The device the worker says it runs on.
    pub device: Option<String>,
    /// The worker's peak RSS when loaded (its `loaded` event).
    pub load_peak_rss_bytes: Option<u64>,
}

/// Spawns the worker and waits for its `loaded` event.
pub(crate) fn start_worker(spec: &WorkerSpec, timeout: Duration) -> Result<Started, RepFailure> {
    let deadline = Instant::now() + timeout;
    let spawn_ns = monotonic_ns();
    let mut worker =
        WorkerProcess::spawn(spec).map_err(|e| RepFailure::from_worker(e, timeout, None))?;
    let first = worker.next_event(deadline);
    match first {
        Ok(StampedEvent {
            event:
                Event::Loaded {
                    load_ns,
                    device,
                    peak_rss_bytes,
                    ..
                },
            receipt_ns,
        }) => Ok(Started {
            worker,
            spawn_ns,
            load_ns,
            device,
            load_peak_rss_bytes: peak_rss_bytes,
            spawn_to_loaded_ns: receipt_ns.saturating_sub(spawn_ns),
        }),
        Ok(StampedEvent {
            event: Event::Error { code, message },
            ..
        }) => {
            // Ended first, so that the tail holds what it wrote before dying.
            worker.kill_and_reap();
            let tail = worker.stderr_tail();
            Err(RepFailure::failed(
                format!("load failed: {code}: {message} {tail}")
                    .trim_end()
                    .to_string(),
            ))
        }
        Ok(other) => {
            worker.kill_and_reap();
            Err(RepFailure::failed(format!(
                "expected a loaded event first, got {:?}",
                other.event
            )))
        }
        Err(e) => Err(RepFailure::from_worker(e, timeout, Some(&worker))),
    }
}

/// Runs one generation and records it raw.
pub(crate) fn run_generation(
    worker: &mut WorkerProcess,
    stamp: StampSource,
    req: &GenRequest,
    timeout: Duration,
    index: u32,
) -> Result<RepRecord, RepFailure> {
    let ipc_before = worker.ipc();
    let deadline = Instant::now() + timeout;
    let request = Request::Generate(req.clone());
    let sent_ns = worker
        .send(&request, deadline)
        .map_err(|e| RepFailure::from_worker(e, timeout, Some(worker)))?;
    let capacity = req.max_new as usize;
    let mut rep = RepRecord {
        index,
        request_sent_ns: sent_ns,
        token_ids: Vec::with_capacity(capacity),
        consumer_ns: Vec::with_capacity(capacity),
        producer_ns: (stamp == StampSource::DriverReceipt).then(|| Vec::with_capacity(capacity)),
        ..RepRecord::default()
    };
    let mut token_receipts: Vec<u64> = Vec::with_capacity(capacity);
    loop {
        let StampedEvent { event, receipt_ns } = worker
            .next_event(deadline)
            .map_err(|e| RepFailure::from_worker(e, timeout, Some(worker)))?;
        match event {
            Event::Token { i, id, t_ns } => record_token(
                &mut rep,
                &mut token_receipts,
                (i, id, t_ns),
                receipt_ns,
                req.max_new,
            )?,
            Event::Phases { names, spans } => {
                check_phase_names(&names)?;
                rep.phases = Some(spans);
            }
            Event::Done {
                tokens,
                prefill_ns,
                decode_ns,
                counters,
            } => {
                if tokens as usize != rep.token_ids.len() {
                    return Err(RepFailure::failed(format!(
                        "done says {tokens} tokens but {} token events came",
                        rep.token_ids.len()
                    )));
                }
                rep.done_receipt_ns = Some(receipt_ns);
                rep.prefill_ns = prefill_ns;
                rep.decode_ns = decode_ns;
                rep.counters = counters;
                rep.ipc = worker.ipc().since(&ipc_before);
                rep.messages_in_generation = Some(messages_in_generation(&rep, &token_receipts));
                return Ok(rep);
            }
            Event::Error { code, message } => {
                return Err(RepFailure::failed(format!(
                    "rep {index} failed after {} tokens: {code}: {message}",
                    rep.token_ids.len()
                )));
            }
            Event::Loaded { .. } => {
                return Err(RepFailure::failed(
                    "unexpected loaded event during generation",
                ));
            }
        }
    }
}

/// Appends one token event to `rep`: refused, not stored, past `max_new`
/// (a worker cannot grow the driver's memory past what was asked for) or
/// out of order. `(i, id, t_ns)` is the event as the worker sent it.
#[inline]
fn record_token(
    rep: &mut RepRecord,
    receipts: &mut Vec<u64>,
    (i, id, t_ns): (u32, u32, u64),
    receipt_ns: u64,
    max_new: u32,
) -> Result<(), RepFailure> {
    if rep.token_ids.len() >= max_new as usize {
        return Err(RepFailure::failed(format!(
            "protocol error: worker sent more than max_new={max_new} token events \
             (token event i={i})"
        )));
    }
    if i as usize != rep.token_ids.len() {
        return Err(RepFailure::failed(format!(
            "token event i={i} out of order (expected {})",
            rep.token_ids.len()
        )));
    }
    rep.token_ids.push(id);
    receipts.push(receipt_ns);
    match rep.producer_ns.as_mut() {
        None => rep.consumer_ns.push(t_ns),
        Some(producer) => {
            producer.push(t_ns);
            rep.consumer_ns.push(receipt_ns);
        }
    }
    Ok(())
}

/// A phases event must name exactly the phases the results know.
fn check_phase_names(names: &[String]) -> Result<(), RepFailure> {
    if names
        .iter()
        .map(String::as_str)
        .ne(crate::phases::PHASE_NAMES)
    {
        return Err(RepFailure::failed(format!(
            "phases event names {names:?}, expected {:?}",
            crate::phases::PHASE_NAMES
        )));
    }
    Ok(())
}

/// Token lines the driver received while the worker was still generating: those
/// that arrived before the worker stamped the generation's last token. Only a
/// design with per-token IPC (python-subprocess) has any; a worker that holds
/// its stamps until the generation ends has none. Counted, not assumed.
fn messages_in_generation(rep: &RepRecord, receipts: &[u64]) -> u32 {
    let worker_stamps = rep.producer_ns.as_ref().unwrap_or(&rep.consumer_ns);
    let Some(&last_stamp) = worker_stamps.last() else {
        return 0;
    };
    receipts.iter().filter(|&&r| r < last_stamp).count() as u32
}
