//! What the driver does about a plan beyond its bounds (refused before
//! anything is created) and about a result file it cannot write mid-run
//! (the run stops and what was measured is kept, marked incomplete).

use std::path::Path;

use super::{BenchPlan, DriverError, Run};
use crate::clock::utc_now;
use crate::export::{all_exporters, write_atomic, ExportError, Exporter, JsonExporter};
use crate::results::RunStatus;
use crate::scenario::{MAX_GAP_S, MAX_PROMPT_TOKENS, MAX_REPETITIONS, MAX_TIMEOUT_S, MAX_WARMUP};

/// Test hook: with `CROSSBENCH_TEST_DISK_FULL_AFTER=N`, the snapshot written
/// after N good ones fails as a full disk would (ENOSPC), once. A full disk
/// cannot be made on every test machine (mounting a small tmpfs needs root),
/// and this is the path that must keep what was measured.
pub const DISK_FULL_ENV: &str = "CROSSBENCH_TEST_DISK_FULL_AFTER";

/// ENOSPC on Linux and macOS alike.
const ENOSPC: i32 = 28;

/// Refuses a plan whose numbers would overflow a deadline (`Instant + timeout`
/// panics) or a round count, or allocate without bound, before the run
/// directory exists. The callers check the same bounds naming their keys
/// and flags; this holds for any caller.
pub(super) fn check_plan(plan: &BenchPlan) -> Result<(), DriverError> {
    let out = |what: &'static str, value: String, allowed: String| {
        Err(DriverError::OutOfRange {
            what,
            value,
            allowed,
        })
    };
    if plan.warmup > MAX_WARMUP {
        return out(
            "warmup",
            plan.warmup.to_string(),
            format!("at most {MAX_WARMUP}"),
        );
    }
    if !(1..=MAX_REPETITIONS).contains(&plan.repetitions) {
        let allowed = format!("in 1..={MAX_REPETITIONS}");
        return out("repetitions", plan.repetitions.to_string(), allowed);
    }
    let timeout = plan.timeout.as_secs_f64();
    if !(timeout > 0.0 && timeout <= MAX_TIMEOUT_S) {
        let allowed = format!("in (0, {MAX_TIMEOUT_S}] seconds");
        return out("timeout", format!("{timeout} s"), allowed);
    }
    if plan.gap.as_secs_f64() > MAX_GAP_S {
        let allowed = format!("at most {MAX_GAP_S} seconds");
        return out("gap", format!("{} s", plan.gap.as_secs_f64()), allowed);
    }
    if plan.prompt_ids.len() > MAX_PROMPT_TOKENS as usize {
        let allowed = format!("at most {MAX_PROMPT_TOKENS} tokens");
        return out("prompt", plan.prompt_ids.len().to_string(), allowed);
    }
    Ok(())
}

/// Removes every result file but results.json; true if one was removed.
fn remove_derived_files(dir: &Path) -> bool {
    let mut removed = false;
    for exporter in all_exporters() {
        if exporter.file_name() != "results.json" {
            removed |= std::fs::remove_file(dir.join(exporter.file_name())).is_ok();
        }
    }
    removed
}

/// The injected full disk of `DISK_FULL_ENV`; counts good snapshots.
pub(super) fn injected_disk_full(written: &mut usize, dir: &Path) -> Result<(), ExportError> {
    let after = std::env::var(DISK_FULL_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    *written += 1;
    if after == Some(*written - 1) {
        return Err(ExportError::Write {
            file: dir.join("results.json").display().to_string(),
            source: std::io::Error::from_raw_os_error(ENOSPC),
        });
    }
    Ok(())
}

impl Run {
    /// A result file could not be written mid-run (disk full, directory
    /// gone): kills the workers, marks the run and every backend short of its
    /// reps incomplete, and rewrites results.json alone (the file the gate,
    /// baseline and report read) with every rep measured so far. On a full
    /// disk that needs room: the second try first removes the other result
    /// files, which only restate an older round of it. If even that fails, the
    /// last snapshot written stays, and it says `running`: not complete either.
    pub(super) fn abandon(mut self, cause: ExportError) -> DriverError {
        self.stop_workers(true, Some("stopped by a failed write"));
        self.progress.finish_and_clear();
        self.results.status = RunStatus::Incomplete;
        self.results.finished_at = Some(utc_now().1);
        self.refresh();
        let path = self.out_dir.join("results.json");
        let rewrite = || {
            JsonExporter
                .render(&self.results)
                .and_then(|bytes| write_atomic(&path, &bytes))
        };
        let status = if rewrite().is_ok() {
            "results.json says `incomplete`"
        } else if remove_derived_files(&self.out_dir) && rewrite().is_ok() {
            "results.json says `incomplete` (the other result files were removed to make room for it)"
        } else if path.is_file() {
            "results.json (its last good round) says `running`"
        } else {
            "no results.json could be written"
        };
        DriverError::Stopped {
            cause,
            dir: self.out_dir.display().to_string(),
            status,
        }
    }
}
