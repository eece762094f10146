//! Generate kind: warm-ups, then measured rounds in Williams order, with
//! all workers resident or one at a time, and the optional resolution plan.

use std::time::{Duration, Instant};

use super::exec::{run_generation, start_worker};
use super::{Run, QUIT_GRACE};
use crate::design::{plan_after_pilot, Residency};
use crate::interrupt::interrupt_requested;
use crate::protocol::GenRequest;
use crate::results::{BackendStatus, RepRecord};
use crate::DriverError;

/// Sleep granularity of the idle gap, so Ctrl-C is still seen within it.
const GAP_SLICE: Duration = Duration::from_millis(100);

/// Tokens of each warm-up generation in a fresh worker (`Residency::One`). A
/// warm-up there only has to fault the weights in and fill MLX's kernel and
/// buffer caches, which a few steps do; a full-length one would double the
/// cost of every rep (gen100: 5 s per warm-up vs 0.2 s per load).
pub const FRESH_WARMUP_TOKENS: u32 = 8;

impl Run {
    pub(super) fn generate_rounds(&mut self) -> Result<(), DriverError> {
        let req = self.gen_request();
        if self.plan.residency == Residency::All {
            self.load_long_lived_workers();
            for round in 0..self.plan.warmup as usize {
                for idx in self.order.order(round) {
                    if interrupt_requested() {
                        return Ok(());
                    }
                    self.idle_gap();
                    self.generate_once(idx, &req, None);
                }
            }
        }
        let mut total = self.plan.repetitions as usize;
        let measuring = Instant::now();
        let mut rep = 0;
        while rep < total {
            for idx in self.order.order(rep) {
                if interrupt_requested() {
                    return Ok(());
                }
                self.idle_gap();
                self.generate_once(idx, &req, Some(rep));
                if self.plan.residency == Residency::One
                    || self.plan.scenario.scenario.run.token_progress
                {
                    // A full-size generation takes minutes: keep each one on
                    // disk as soon as it is measured, not only per round.
                    self.write_snapshot()?;
                }
            }
            self.write_snapshot()?;
            rep += 1;
            if rep == self.plan.repetitions as usize {
                total = self.plan_more_rounds(measuring.elapsed() / rep as u32);
            }
        }
        Ok(())
    }

    /// After the pilot (the planned reps): with `--until-resolution`, fixes
    /// the total once from the pilot's widest interval; else keeps it.
    fn plan_more_rounds(&mut self, per_round: Duration) -> usize {
        let pilot = self.plan.repetitions;
        let Some(target) = self.plan.until_resolution else {
            return pilot as usize;
        };
        let remaining = target.budget.saturating_sub(self.began.elapsed());
        let pilot_hw = self.results.resolution.as_ref().map(|r| r.half_width);
        let mut plan = plan_after_pilot(target, pilot, pilot_hw, per_round, remaining);
        // Whole cycles, so the added rounds keep the order balanced.
        plan.planned_reps = self.order.whole_cycles(plan.planned_reps).max(pilot);
        let total = plan.planned_reps;
        self.progress.suspend(|| {
            eprintln!(
                "crossbench: resolution plan after {pilot} reps: {} ({total} reps in all)",
                plan.outcome
            )
        });
        self.progress
            .set_length(u64::from(total) * self.slots.len() as u64);
        self.results.design.resolution_plan = Some(plan);
        if let Some(ran) = self.results.plan.as_mut() {
            ran.repetitions = total;
        }
        total as usize
    }

    /// With `--until-resolution`: records and prints the final widest
    /// half-width against the target, since the plan made from the pilot's
    /// noise may fall short of it.
    pub(super) fn record_achieved_resolution(&mut self) {
        let achieved = self.results.resolution.as_ref().map(|r| r.half_width);
        let Some(plan) = self.results.design.resolution_plan.as_mut() else {
            return;
        };
        plan.record_achieved(achieved);
        let line = plan
            .achieved()
            .unwrap_or_else(|| "no interval at the end of the run".into());
        eprintln!("crossbench: --until-resolution: {line}");
    }

    fn idle_gap(&self) {
        let end = Instant::now() + self.plan.gap;
        while !interrupt_requested() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(GAP_SLICE));
        }
    }

    /// Starts each worker in turn (sequentially, so loads do not compete).
    fn load_long_lived_workers(&mut self) {
        for idx in 0..self.slots.len() {
            self.load_worker(idx);
        }
    }

    /// Starts slot `idx`'s worker; returns false (slot failed) if it could not.
    fn load_worker(&mut self, idx: usize) -> bool {
        let slot = &mut self.slots[idx];
        if !slot.alive() {
            return false;
        }
        self.progress
            .set_message(format!("loading {}", slot.result.name));
        let spec = slot.spec.as_ref().expect("alive slots have a spec");
        match start_worker(spec, self.plan.timeout) {
            Ok(started) => {
                slot.result.load_ns.get_or_insert(started.load_ns);
                slot.result.load_peak_rss_bytes = slot
                    .result
                    .load_peak_rss_bytes
                    .max(started.load_peak_rss_bytes);
                slot.result.device = started.device.clone();
                slot.last_load = Some((
                    started.load_ns,
                    started.spawn_to_loaded_ns,
                    started.load_peak_rss_bytes,
                ));
                slot.worker = Some(started.worker);
                true
            }
            Err(failure) => {
                slot.fail(failure, &self.progress);
                false
            }
        }
    }

    /// One measured generation (or a warm-up when `measured` is None). With
    /// one worker resident, the worker is loaded and warmed up first and
    /// quit after, its load and peak RSS recorded on the rep.
    fn generate_once(&mut self, idx: usize, req: &GenRequest, measured: Option<usize>) {
        let one = self.plan.residency == Residency::One;
        if one && measured.is_some() {
            if !self.load_worker(idx) {
                return;
            }
            let warm = GenRequest {
                max_new: req.max_new.min(FRESH_WARMUP_TOKENS),
                ..req.clone()
            };
            for _ in 0..self.plan.warmup {
                self.generate_on(idx, &warm, None);
            }
        }
        let Some(mut rep) = self.generate_on(idx, req, measured) else {
            return;
        };
        let slot = &mut self.slots[idx];
        if one {
            if let Some(mut worker) = slot.worker.take() {
                let report = worker.finish(QUIT_GRACE);
                rep.peak_rss_bytes = report.peak_rss_bytes;
                slot.result.exit_status = Some(report.status);
            }
            if let Some((load, spawn_to_loaded, load_peak)) = slot.last_load.take() {
                rep.load_ns = Some(load);
                rep.spawn_to_loaded_ns = Some(spawn_to_loaded);
                rep.load_peak_rss_bytes = load_peak;
            }
        }
        let rate = super::records::rep_rate(&rep);
        let i = rep.index as usize;
        slot.result.reps.push(rep);
        self.progress.inc(1);
        self.progress.set_message(format!(
            "{} rep {} {rate:.0} tok/s",
            slot.result.name,
            i + 1
        ));
    }

    /// Runs one generation on slot `idx`'s live worker; a warm-up is counted
    /// and returns None, a failure marks the slot and returns None.
    fn generate_on(
        &mut self,
        idx: usize,
        req: &GenRequest,
        measured: Option<usize>,
    ) -> Option<RepRecord> {
        let timeout = self.plan.timeout;
        let slot = &mut self.slots[idx];
        let worker = slot
            .worker
            .as_mut()
            .filter(|_| slot.result.status == BackendStatus::Ok)?;
        let stamp = slot
            .result
            .stamp_source
            .unwrap_or(crate::StampSource::Worker);
        let index = measured.unwrap_or(0) as u32;
        // A full-size token takes seconds: say what is running while it runs
        // (the bar's clock ticks on; the tokens themselves are only seen at the end).
        let what = measured.map_or("warm-up".to_string(), |i| format!("rep {}", i + 1));
        self.progress.set_message(format!(
            "{} {what}: generating {} tokens",
            slot.result.name, req.max_new
        ));
        if self.plan.scenario.scenario.run.token_progress {
            let (bar, name, max) = (self.progress.clone(), slot.result.name.clone(), req.max_new);
            worker.watch_tokens(Box::new(move |n| {
                bar.set_message(format!("{name} {what}: token {n}/{max}"))
            }));
        }
        match run_generation(worker, stamp, req, timeout, index) {
            Ok(rep) if measured.is_some() => Some(rep),
            Ok(_) => {
                slot.result.warmups_done += 1;
                None
            }
            Err(failure) => {
                slot.fail(failure, &self.progress);
                None
            }
        }
    }
}
