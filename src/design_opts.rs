//! The run-design flags of `bench` and `sweep` (residency, idle gap, A/A
//! twin, resolution on demand) and the record of the model that ran.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use crossbench_core::results::ModelRun;
use crossbench_core::scenario::MAX_GAP_S;
use crossbench_core::{Backend, BenchPlan, Residency, ResolutionTarget, TwinBackend};
use sha2::{Digest, Sha256};

/// Per-worker memory beyond the weights (MLX's buffers, the KV cache, and
/// for python-subprocess the interpreter): ~70 MiB measured for the Python
/// worker on the small model (docs/measurements/gen100.md); 256 MiB leaves
/// room for the KV cache.
const WORKER_OVERHEAD_BYTES: u64 = 256 << 20;
/// Share of the currently available memory all resident workers may take
/// before `--residency auto` loads them one at a time.
const RESIDENT_SHARE: f64 = 0.6;

/// Applies `--residency`, `--gap`, `--aa` and `--until-resolution/--budget`.
pub fn apply(plan: &mut BenchPlan, opts: &crate::bench_cmd::RunOptions) -> Result<()> {
    if let Some(name) = &opts.aa {
        add_twin(plan, name)?;
    }
    let weights = plan.model.as_ref().and_then(|m| m.weight_bytes);
    (plan.residency, plan.residency_reason) =
        residency(opts.residency.as_deref(), plan.backends.len(), weights)?;
    (plan.gap, plan.until_resolution) = gap_and_resolution(opts)?;
    Ok(())
}

/// `--gap` and `--until-resolution/--budget`, each finite and in range (also
/// checked with the other flags before anything runs: `run_flags::check`).
pub fn gap_and_resolution(
    opts: &crate::bench_cmd::RunOptions,
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

/// The plan's backend called `name`, or an error naming `flag` and the
/// backends the run has.
pub fn run_backend<'a>(
    plan: &'a BenchPlan,
    flag: &str,
    name: &str,
) -> Result<&'a Arc<dyn Backend>> {
    plan.backends
        .iter()
        .find(|b| b.name() == name)
        .with_context(|| {
            let names: Vec<&str> = plan.backends.iter().map(|b| b.name()).collect();
            format!(
                "{flag} {name}: not a backend of this run ({})",
                names.join(", ")
            )
        })
}

fn add_twin(plan: &mut BenchPlan, name: &str) -> Result<()> {
    let original = Arc::clone(run_backend(plan, "--aa", name)?);
    let twin = TwinBackend::new(original);
    plan.aa = Some((name.to_string(), twin.name().to_string()));
    plan.backends.push(Arc::new(twin));
    Ok(())
}

/// auto: all workers resident when they fit in `RESIDENT_SHARE` of the
/// memory available now, else one at a time.
///
/// The default is one: with each worker kept for the whole run, its reps share
/// one process's scheduling state, so they are not independent (docs/methodology.md,
/// "Run design": lag-1 autocorrelation ~0.45, A/A coverage 14/20).
fn residency(
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

/// What model ran, read from its directory: the ask (preset, dtype, layers)
/// and what config.json and the weight files say.
pub fn model_run(
    dir: &Path,
    preset: Option<String>,
    dtype: Option<String>,
    layers: Option<u32>,
) -> ModelRun {
    let config_bytes = std::fs::read(dir.join("config.json")).ok();
    let config: serde_json::Value = config_bytes
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let num = |key: &str| config.get(key).and_then(|v| v.as_u64());
    let bits = config
        .get("quantization")
        .and_then(|q| q.get("bits"))
        .and_then(|v| v.as_u64());
    let weight_bytes = std::fs::read_dir(dir).ok().map(|entries| {
        entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
            // Follow symlinks: Hugging Face cache snapshots link to ../../blobs/.
            .filter_map(|e| std::fs::metadata(e.path()).ok())
            .map(|m| m.len())
            .sum()
    });
    ModelRun {
        preset,
        dtype: dtype.or_else(|| {
            config
                .get("torch_dtype")
                .and_then(|v| v.as_str())
                .map(String::from)
        }),
        layers_override: layers,
        dir: dir.display().to_string(),
        config_sha256: config_bytes.map(|b| format!("{:x}", Sha256::digest(b))),
        num_hidden_layers: num("num_hidden_layers"),
        hidden_size: num("hidden_size"),
        vocab_size: num("vocab_size"),
        quantization_bits: bits,
        weight_bytes,
    }
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

    #[test]
    fn weight_bytes_follow_symlinked_shards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blob"), vec![0u8; 4096]).unwrap();
        std::os::unix::fs::symlink("blob", dir.path().join("model.safetensors")).unwrap();
        let run = model_run(dir.path(), None, None, None);
        assert_eq!(
            run.weight_bytes,
            Some(4096),
            "the target's size, not the link's"
        );
    }
}
