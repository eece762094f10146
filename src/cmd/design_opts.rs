//! The run-design flags of `bench` and `sweep` read into values: residency,
//! idle gap, resolution on demand and its budget (`plan_builder` puts them
//! into the plan).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use crossbench_core::scenario::MAX_GAP_S;
use crossbench_core::{Residency, ResolutionTarget};

/// Per-worker memory beyond the weights (MLX's buffers, the KV cache, and
/// for python-subprocess the interpreter): ~70 MiB measured for the Python
/// worker on the small model (docs/measurements/gen100.md); 256 MiB leaves
/// room for the KV cache.
const WORKER_OVERHEAD_BYTES: u64 = 256 << 20;
/// Share of the currently available memory all resident workers may take
/// before `--residency auto` loads them one at a time.
const RESIDENT_SHARE: f64 = 0.6;

/// `--gap` and `--until-resolution/--budget`, each finite and in range
/// (read with the other flags before anything runs: `run_flags::check`).
pub fn gap_and_resolution(
    opts: &crate::cmd::bench_args::RunOptions,
) -> Result<(Duration, Option<ResolutionTarget>)> {
    if !(opts.gap.is_finite() && (0.0..=MAX_GAP_S).contains(&opts.gap)) {
        bail!("--gap {}: seconds between 0 and {MAX_GAP_S}", opts.gap);
    }
    let until = match (opts.until_resolution, &opts.budget) {
        (None, None) => None,
        (None, Some(_)) => bail!("--budget needs --until-resolution PCT"),
        (Some(pct), budget) => {
            if !(pct.is_finite() && pct > 0.0 && pct < 100.0) {
                bail!("--until-resolution {pct}: a percent in (0, 100), e.g. 2");
            }
            let budget = parse_duration(budget.as_deref().unwrap_or("10m"))?;
            Some(ResolutionTarget {
                target: pct / 100.0,
                budget,
            })
        }
    };
    Ok((Duration::from_secs_f64(opts.gap), until))
}

/// auto: all workers resident when they fit in `RESIDENT_SHARE` of the
/// memory available now, else one at a time.
///
/// The default is one: with each worker kept for the whole run, its reps share
/// one process's scheduling state, so they are not independent (docs/methodology.md,
/// "Run design": lag-1 autocorrelation ~0.45, A/A coverage 14/20).
pub fn residency(
    arg: Option<&str>,
    workers: usize,
    weights: Option<u64>,
) -> Result<(Residency, String)> {
    match arg {
        None => Ok((
            Residency::One,
            "default: a fresh worker per rep, so reps are independent".into(),
        )),
        Some("all") => Ok((Residency::All, "--residency all".into())),
        Some("one") => Ok((Residency::One, "--residency one".into())),
        Some("auto") => {
            let (Some(weights), Some(avail)) = (weights, mem_available()) else {
                return Ok((
                    Residency::All,
                    "auto: model size or free memory unknown".into(),
                ));
            };
            let need = workers as u64 * (weights + WORKER_OVERHEAD_BYTES);
            let room = (avail as f64 * RESIDENT_SHARE) as u64;
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            let what = format!(
                "{workers} workers x {:.2} GiB (weights + {} MiB) vs {:.0}% of {:.1} GiB available",
                gib(weights + WORKER_OVERHEAD_BYTES),
                WORKER_OVERHEAD_BYTES >> 20,
                RESIDENT_SHARE * 100.0,
                gib(avail)
            );
            Ok(if need <= room {
                (Residency::All, format!("auto: {what}: all fit"))
            } else {
                (Residency::One, format!("auto: {what}: one at a time"))
            })
        }
        Some(other) => bail!("--residency {other}: expected one, all or auto"),
    }
}

fn mem_available() -> Option<u64> {
    crossbench_core::environment::meminfo_bytes("MemAvailable")
}

/// "90", "90s", "10m", "1h" -> Duration.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let value: f64 = num
        .parse()
        .with_context(|| format!("--budget {text}: expected e.g. 90s, 10m or 1h"))?;
    let secs = match unit {
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => bail!("--budget {text}: unit must be s, m or h"),
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 7.0 * 86400.0) {
        bail!("--budget {text}: must be positive and at most a week");
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_residency_parse_with_clear_errors() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("10d")
            .unwrap_err()
            .to_string()
            .contains("unit"));
        assert!(parse_duration("-1s").is_err());
        let (r, why) = residency(Some("auto"), 4, Some(1 << 50)).unwrap();
        if mem_available().is_some() {
            assert_eq!(r, Residency::One, "{why}");
            assert!(why.contains("one at a time"), "{why}");
            assert_eq!(
                residency(Some("auto"), 4, Some(1 << 20)).unwrap().0,
                Residency::All
            );
        }
        assert_eq!(residency(Some("one"), 4, None).unwrap().0, Residency::One);
        assert_eq!(residency(None, 4, None).unwrap().0, Residency::One);
        assert_eq!(residency(Some("all"), 4, None).unwrap().0, Residency::All);
        assert!(residency(Some("some"), 4, None)
            .unwrap_err()
            .to_string()
            .contains("--residency"));
    }
}
