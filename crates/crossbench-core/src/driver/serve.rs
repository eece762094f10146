//! Serve kind: for each load point (one, or the sweep's grid), the trace is
//! written into the run directory; then each rep runs every design once, in
//! Williams order, each in a fresh worker (loaded, the whole trace served,
//! quit), so reps are independent as in the generate path. Results are
//! written after every design run; a design whose run fails is marked with
//! the message and sits out the point's other reps, the others go on.

use std::path::Path;
use std::time::Instant;

use super::exec::{start_worker, with_tail, RepFailure, Started};
use super::{Run, QUIT_GRACE};
use crate::backend::{BackendRole, StampSource};
use crate::export::ExportError;
use crate::interrupt::interrupt_requested;
use crate::results::BackendStatus;
use crate::serve::inprocess::serve_in_process;
use crate::serve::metrics::run_metrics;
use crate::serve::pipe_client::serve_over_pipe;
use crate::serve::{
    analysis, ClientKind, ClientOutcome, DesignServe, EqualityCheck, ServePoint, ServeResults,
    ServeRun, ServeStop, Trace,
};
use crate::DriverError;

impl Run {
    /// The scenario's `[serve]` section (the plan builder refuses a serve
    /// scenario without one).
    fn serve_params(&self) -> &crate::scenario::ServeParams {
        self.plan
            .scenario
            .scenario
            .serve
            .as_ref()
            .expect("a serve scenario has a [serve] section")
    }

    pub(super) fn serve_rounds(&mut self) -> Result<(), DriverError> {
        let params = self.serve_params().clone();
        self.results.serve = Some(ServeResults {
            arrival: params.arrival,
            warmup_requests: params.warmup_requests,
            requests: params.requests,
            max_batch: params.max_batch,
            slo: params.slo,
            floor: crate::backend::FLOOR.into(),
            points: Vec::new(),
        });
        // Every design run starts its own worker, whatever --residency says.
        self.results.design.residency = crate::design::Residency::One;
        self.results.design.residency_reason = "serve: a fresh worker for every design run".into();
        let runs = params.points.len() * self.plan.repetitions as usize * self.slots.len();
        self.progress.set_length(runs as u64);
        for (p, load) in params.points.iter().enumerate() {
            let trace = Trace::generate(&params, load);
            let file = format!("serve-trace-{p}.txt");
            let path = self.out_dir.join(&file);
            trace.write_file(&path).map_err(|e| ExportError::Write {
                file: path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
            let point = self.new_point(load, &file, &trace);
            self.serve_results().points.push(point);
            for rep in 0..self.plan.repetitions as usize {
                for idx in self.order.order(rep) {
                    if interrupt_requested() {
                        return Ok(());
                    }
                    self.serve_once(p, idx, rep as u32, &trace, &path);
                    self.write_snapshot()?;
                }
            }
        }
        Ok(())
    }

    fn serve_results(&mut self) -> &mut ServeResults {
        self.results.serve.as_mut().expect("set by serve_rounds")
    }

    fn new_point(
        &self,
        load: &crate::scenario::LoadPoint,
        file: &str,
        trace: &Trace,
    ) -> ServePoint {
        let designs = self
            .slots
            .iter()
            .map(|slot| DesignServe {
                name: slot.result.name.clone(),
                shim_engine: !matches!(
                    slot.backend.descriptor().role,
                    BackendRole::OtherEngine | BackendRole::Mock
                ),
                client: client_of(slot.spec.as_ref().map(|s| s.stamp)),
                status: slot.result.status,
                error: slot.result.error.clone(),
                runs: Vec::new(),
                summary: Default::default(),
                vs_floor: Default::default(),
            })
            .collect();
        ServePoint {
            load: *load,
            label: load.label(),
            trace_file: file.to_string(),
            trace_requests: trace.requests.len(),
            trace_new_tokens: trace.total_new_tokens(),
            designs,
            schedule_check: EqualityCheck::default(),
            ids_check: EqualityCheck::default(),
        }
    }

    /// One design's serve of the point's trace in a fresh worker.
    fn serve_once(&mut self, p: usize, idx: usize, rep: u32, trace: &Trace, path: &Path) {
        let timeout = self.plan.timeout;
        let params = self.serve_params().clone();
        let label = self.serve_results().points[p].label.clone();
        let slot = &mut self.slots[idx];
        let design = &self.results.serve.as_ref().expect("serve").points[p].designs[idx];
        if design.status != BackendStatus::Ok || slot.spec.is_none() {
            return;
        }
        let spec = slot.spec.clone().expect("checked above");
        let name = slot.result.name.clone();
        let began = Instant::now();
        self.progress
            .suspend(|| eprintln!("crossbench serve {label} rep {}: {name} ...", rep + 1));
        let (run, failure) = match start_worker(&spec, timeout) {
            Ok(started) => serve_in_worker(started, spec.stamp, trace, path, timeout, rep),
            Err(failure) => (failed_run(rep, &failure), Some(failure)),
        };
        let mut run = run;
        let max_new: Vec<u32> = trace.requests.iter().map(|r| r.max_new).collect();
        run.metrics = Some(run_metrics(
            &run,
            &max_new,
            params.warmup_requests,
            &params.slo,
        ));
        let done = run.metrics.as_ref().map_or(0, |m| m.completed_requests);
        let secs = began.elapsed().as_secs_f64();
        let what = failure.as_ref().map_or("ok".to_string(), |f| {
            format!("{}: {}", f.status.as_str(), f.message)
        });
        self.progress.suspend(|| {
            eprintln!(
                "crossbench serve {label} rep {}: {name} {done}/{} measured requests in {secs:.1} s ({what})",
                rep + 1,
                params.requests
            )
        });
        let design = &mut self.serve_results().points[p].designs[idx];
        if let Some(f) = &failure {
            design.status = f.status;
            design.error = Some(f.message.clone());
        }
        design.runs.push(run);
        if let Some(f) = failure {
            self.slots[idx]
                .result
                .mark(f.status, format!("{label} rep {}: {}", rep + 1, f.message));
        }
        self.progress.inc(1);
    }
}

/// Runs the serve on a started worker and quits it; the run keeps whatever
/// arrived, and the failure says why it stopped early.
fn serve_in_worker(
    mut started: Started,
    stamp: StampSource,
    trace: &Trace,
    path: &Path,
    timeout: std::time::Duration,
    rep: u32,
) -> (ServeRun, Option<RepFailure>) {
    let deadline = Instant::now() + timeout;
    let ipc_before = started.worker.ipc();
    let outcome: ClientOutcome = match stamp {
        StampSource::DriverReceipt => serve_over_pipe(&mut started.worker, trace, deadline),
        StampSource::Worker => serve_in_process(&mut started.worker, trace, path, deadline),
    };
    let ipc = started.worker.ipc().since(&ipc_before);
    let failure = outcome.stop.map(|stop| match stop {
        ServeStop::Worker(e) => RepFailure::from_worker(e, timeout, Some(&started.worker)),
        other => {
            // The worker still runs: ended first, so that the tail holds all
            // it wrote (a live worker's stderr may still be in the pipe).
            started.worker.kill_and_reap();
            RepFailure {
                status: BackendStatus::Failed,
                message: with_tail(other.to_string(), &started.worker.stderr_tail()),
            }
        }
    });
    let report = if failure.is_some() {
        started.worker.kill_and_reap()
    } else {
        started.worker.finish(QUIT_GRACE)
    };
    let c = outcome.capture;
    let run = ServeRun {
        rep,
        status: failure.as_ref().map_or(BackendStatus::Ok, |f| f.status),
        error: failure.as_ref().map(|f| f.message.clone()),
        start_ns: c.start_ns,
        requests: c.requests,
        schedule: c.schedule,
        served: c.served,
        ipc,
        client_cpu_ns: c.client_cpu_ns,
        peak_rss_bytes: report.peak_rss_bytes,
        exit_status: Some(report.status),
        load_ns: Some(started.load_ns),
        metrics: None,
    };
    (run, failure)
}

fn failed_run(rep: u32, failure: &RepFailure) -> ServeRun {
    ServeRun {
        rep,
        status: failure.status,
        error: Some(failure.message.clone()),
        start_ns: None,
        requests: Vec::new(),
        schedule: Vec::new(),
        served: None,
        ipc: Default::default(),
        client_cpu_ns: None,
        peak_rss_bytes: None,
        exit_status: None,
        load_ns: None,
        metrics: None,
    }
}

/// Pipe designs stamp on the driver's receipt; in-process ones in the worker.
fn client_of(stamp: Option<StampSource>) -> ClientKind {
    match stamp {
        Some(StampSource::DriverReceipt) => ClientKind::Pipe,
        _ => ClientKind::InProcess,
    }
}

/// Recomputes the serve section (after every design run and at the end).
pub(super) fn refresh(results: &mut crate::results::BenchResults) {
    if let Some(serve) = results.serve.as_mut() {
        analysis::refresh(serve);
    }
}
