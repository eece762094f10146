//! What the gate refuses to judge, as errors and never as a pass: options
//! out of range, a run that did not finish, a sample no timing can have, and
//! a comparison that would end with nothing gated.

use super::{Check, GateConfig, GateError, Verdict};
use crate::baseline::Baseline;

/// Every option finite and in range: a NaN CV limit would silence the noise
/// check (`cv > NaN` is false), a NaN threshold every timing verdict.
pub(super) fn check_config(cfg: &GateConfig) -> Result<(), GateError> {
    let fields: [(&'static str, f64, f64, f64); 5] = [
        ("threshold", cfg.threshold, 0.0, 1.0),
        ("absolute_threshold", cfg.absolute_threshold, 0.0, 1.0),
        ("confidence", cfg.confidence, 0.5, 0.999),
        ("memory_tolerance", cfg.memory_tolerance, 0.0, 10.0),
        ("cv_limit", cfg.cv_limit, 1e-9, 10.0),
    ];
    for (field, value, min, max) in fields {
        // NaN fails both comparisons.
        if !(value >= min && value <= max) {
            return Err(GateError::Config {
                field,
                value,
                range: format!("[{min}, {max}]"),
            });
        }
    }
    Ok(())
}

/// A run still `running` (killed, or stopped by a full disk) or `incomplete`
/// (interrupted) is missing reps; judging it would compare what it happened
/// to finish.
pub(super) fn check_complete(run: &Baseline, which: &'static str) -> Result<(), GateError> {
    match run.unfinished() {
        Some(status) => Err(GateError::NotComplete {
            which,
            name: run.name.clone(),
            status: status.as_str(),
        }),
        None => Ok(()),
    }
}

/// Every timing sample of a usable backend finite and positive: a zero or
/// negative one has no logarithm and used to turn its check into "info".
pub(super) fn check_samples(run: &Baseline, which: &'static str) -> Result<(), GateError> {
    for b in run.usable_backends() {
        let series = b.samples.iter().chain(&b.overhead_samples);
        for (metric, values) in series {
            if let Some((rep, &value)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v > 0.0))
            {
                return Err(GateError::BadSample {
                    which,
                    name: run.name.clone(),
                    backend: b.name.clone(),
                    metric: metric.clone(),
                    rep,
                    value,
                });
            }
        }
    }
    Ok(())
}

/// Err when no check was gated (none, or all informational): a gate that
/// judged nothing must not exit as a pass.
pub(super) fn check_judged(
    checks: &[Check],
    baseline: &Baseline,
    current: &Baseline,
) -> Result<(), GateError> {
    if checks.iter().any(|c| c.verdict != Verdict::Info) {
        return Ok(());
    }
    let why = if baseline.usable_backends().next().is_none() {
        "the baseline has no backend with status ok and measured reps".to_string()
    } else {
        format!("all {} checks are informational", checks.len())
    };
    Err(GateError::NothingToJudge {
        baseline: baseline.name.clone(),
        current: current.name.clone(),
        why,
    })
}
