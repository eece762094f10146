//! `crossbench claims`: collects the criterion microbenchmarks
//! (`cargo bench -p crossbench-shim`) into `results/microbench.json`, with
//! the design note's claims set beside the numbers measured here. The Go
//! family (`go_cgo`, written by `crossbench gobench`) shares the file: each
//! command replaces its own families and keeps the others.
//!
//! Schema `crossbench.microbench/1` (stable; its types are
//! `crossbench_core::microbench`, which the HTML report reads too):
//! - `benchmarks[]`: `id` (criterion's full id, "group/function[/param]"),
//!   `family` (the bench target), `median_ns`, `ci_low_ns`, `ci_high_ns`
//!   (criterion's bootstrap interval of the median, `confidence`),
//!   `mean_ns`, `command` (reruns just this benchmark), `measured_unix_s`
//!   (when criterion wrote it; estimates older than their family's latest
//!   run by over an hour are left out as stale).
//! - `claims[]`: `claim` (the note's words), `source`, `measured` and
//!   `baseline` (benchmark ids), their `*_median_ns`, `difference_ns`
//!   (measured − baseline) and `ratio`; null where a benchmark is missing.
//! - `environment` (its `extra.go_version` once the Go family is in),
//!   `generated_at`, `reproduce`.

use anyhow::{bail, Context, Result};
use clap::Args;
use crossbench_core::microbench::Microbench;
use crossbench_core::Environment;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cmd::claims_table::{claims, markdown};

// The schema's one definition is core's; these names keep this module's
// callers (gobench_cmd, tests) as they were.
pub use crossbench_core::microbench::{Benchmark, MICROBENCH_SCHEMA as SCHEMA};
const REPRODUCE: &str = "cargo bench -p crossbench-shim && cargo run --release -- claims; \
     cargo run --release -- gobench";

#[derive(Args)]
pub struct ClaimsArgs {
    /// Where criterion wrote its estimates (default: <target dir>/criterion).
    #[arg(long)]
    pub criterion_dir: Option<PathBuf>,
    /// The summary to write.
    #[arg(long, default_value = "results/microbench.json")]
    pub out: PathBuf,
}

/// The bench targets of crates/crossbench-shim/benches (what `claims` replaces).
const CRITERION_FAMILIES: [&str; 6] = [
    "crossing_call",
    "prompt_pass",
    "float_handoff",
    "receive_vector",
    "python_pipe",
    "mlx_eval",
];

/// Criterion group -> the bench target (family) that defines it.
fn family_of(group: &str) -> &'static str {
    match group {
        "rust_to_c" | "c_to_rust" => "crossing_call",
        "prompt_pass" => "prompt_pass",
        "float_handoff_1MiB" => "float_handoff",
        "receive_vector" | "embed_tiny" => "receive_vector",
        "pipe_round_trip" => "python_pipe",
        "mlx_eval_one" => "mlx_eval",
        _ => "unknown",
    }
}

pub fn run(args: ClaimsArgs) -> Result<i32> {
    let dir = args
        .criterion_dir
        .clone()
        .unwrap_or_else(default_criterion_dir);
    let (benchmarks, stale) = collect(&dir)?;
    if !stale.is_empty() {
        eprintln!(
            "left out {} estimates older than their family's latest run: {}",
            stale.len(),
            stale.join(", ")
        );
    }
    if benchmarks.is_empty() {
        bail!(
            "no criterion estimates under {} (run `cargo bench -p crossbench-shim` first)",
            dir.display()
        );
    }
    write_summary(&args.out, &CRITERION_FAMILIES, benchmarks, BTreeMap::new())?;
    Ok(0)
}

/// Writes `out` with `fresh` in place of every benchmark of `families`, the
/// other families' benchmarks kept from the file already there, the claims
/// recomputed over all of them. An unreadable existing file is an error (it
/// may hold measurements), not overwritten.
pub fn write_summary(
    out: &Path,
    families: &[&str],
    fresh: Vec<Benchmark>,
    extra: BTreeMap<String, String>,
) -> Result<()> {
    let (mut benchmarks, mut env_extra) = kept_from(out, families)?;
    benchmarks.extend(fresh);
    benchmarks.sort_by(|a, b| (&a.family, &a.id).cmp(&(&b.family, &b.id)));
    env_extra.extend(extra);
    let claims = claims(&benchmarks);
    let mut env = Environment::detect();
    env.mlx_version = Some(crossbench_shim::mlx_version());
    env.rustc_version = Some(env!("CROSSBENCH_RUSTC_VERSION").to_string());
    env.extra = env_extra;
    let doc = Microbench {
        schema: SCHEMA.into(),
        generated_at: Some(crossbench_core::clock::utc_now().1),
        reproduce: Some(REPRODUCE.into()),
        environment: Some(env),
        benchmarks,
        claims,
    };
    // Through a Value, whose keys are sorted: the file's layout as before.
    let value = serde_json::to_value(&doc)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = out.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&value)? + "\n")
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    print!("{}", markdown(&doc.claims));
    eprintln!(
        "wrote {} ({} benchmarks)",
        out.display(),
        doc.benchmarks.len()
    );
    Ok(())
}

/// The benchmarks of other families in an existing summary, and its
/// environment's extra facts (e.g. the Go version of the Go family).
fn kept_from(out: &Path, families: &[&str]) -> Result<(Vec<Benchmark>, BTreeMap<String, String>)> {
    if !out.exists() {
        return Ok((Vec::new(), BTreeMap::new()));
    }
    let doc = read_json(out)?;
    if doc["schema"] != SCHEMA {
        bail!(
            "{} is not a {SCHEMA} summary; move it away first",
            out.display()
        );
    }
    let all: Vec<Benchmark> = serde_json::from_value(doc["benchmarks"].clone())
        .with_context(|| format!("{}: benchmarks", out.display()))?;
    let kept: Vec<Benchmark> = all
        .into_iter()
        .filter(|b| !families.contains(&b.family.as_str()))
        .collect();
    let go_kept = kept
        .iter()
        .any(|b| b.family == crossbench_core::microbench::GO_CGO_FAMILY);
    let extra: BTreeMap<String, String> =
        serde_json::from_value(doc["environment"]["extra"].clone()).unwrap_or_default();
    // Facts about a family that is being replaced go with it.
    let extra = extra
        .into_iter()
        .filter(|(k, _)| go_kept || !k.starts_with("go_"))
        .collect();
    Ok((kept, extra))
}

fn default_criterion_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t).join("criterion"),
        None => crate::setup::first_use::project_root()
            .unwrap_or_default()
            .join("target/criterion"),
    }
}

/// A family's estimates are one `cargo bench` run; one older than its
/// family's newest by more than this is left over from an earlier run (a
/// renamed or removed benchmark criterion never deletes).
const STALE_AFTER_S: u64 = 3600;

/// Every current `<...>/new/estimates.json` under `dir`, named by its
/// benchmark.json, and the ids of stale ones (see `STALE_AFTER_S`), left out.
pub fn collect(dir: &Path) -> Result<(Vec<Benchmark>, Vec<String>)> {
    let mut found = Vec::new();
    walk(dir, &mut found)?;
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let mut newest: std::collections::BTreeMap<&str, u64> = Default::default();
    for b in &found {
        let t = newest.entry(b.family.as_str()).or_default();
        *t = (*t).max(b.measured_unix_s);
    }
    let stale: Vec<bool> = found
        .iter()
        .map(|b| b.measured_unix_s + STALE_AFTER_S < newest[b.family.as_str()])
        .collect();
    let (mut current, mut left_out) = (Vec::new(), Vec::new());
    for (b, old) in found.into_iter().zip(stale) {
        if old {
            left_out.push(b.id);
        } else {
            current.push(b);
        }
    }
    Ok((current, left_out))
}

fn walk(dir: &Path, out: &mut Vec<Benchmark>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(b) = read_one(&path)? {
                out.push(b);
            }
        } else if path.is_dir()
            && path
                .file_name()
                .is_some_and(|n| n != "report" && n != "base")
        {
            walk(&path, out)?;
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn read_one(new_dir: &Path) -> Result<Option<Benchmark>> {
    let (est, meta) = (
        new_dir.join("estimates.json"),
        new_dir.join("benchmark.json"),
    );
    if !est.is_file() || !meta.is_file() {
        return Ok(None);
    }
    let measured_unix_s = std::fs::metadata(&est)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let (est, meta) = (read_json(&est)?, read_json(&meta)?);
    let id = meta["full_id"]
        .as_str()
        .context("benchmark.json without full_id")?
        .to_string();
    let group = meta["group_id"].as_str().unwrap_or_default();
    let num = |v: &Value| v.as_f64().context("estimates.json: missing number");
    let median = &est["median"];
    let family = family_of(group).to_string();
    if family == "unknown" {
        return Ok(None); // another crate's benchmark in the shared target dir
    }
    Ok(Some(Benchmark {
        command: format!("cargo bench -p crossbench-shim --bench {family} -- --exact '{id}'"),
        median_ns: num(&median["point_estimate"])?,
        ci_low_ns: num(&median["confidence_interval"]["lower_bound"])?,
        ci_high_ns: num(&median["confidence_interval"]["upper_bound"])?,
        confidence: num(&median["confidence_interval"]["confidence_level"])?,
        mean_ns: num(&est["mean"]["point_estimate"])?,
        measured_unix_s,
        family,
        id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, group: &str, func: &str, median: f64) {
        let new = dir.join(group).join(func).join("new");
        std::fs::create_dir_all(&new).unwrap();
        let meta = serde_json::json!({"group_id": group, "function_id": func, "value_str": null,
            "full_id": format!("{group}/{func}"), "directory_name": format!("{group}/{func}")});
        let ci = serde_json::json!({"confidence_level": 0.95, "lower_bound": median - 0.1, "upper_bound": median + 0.1});
        let est = serde_json::json!({"median": {"point_estimate": median, "confidence_interval": ci, "standard_error": 0.01},
            "mean": {"point_estimate": median + 0.05, "confidence_interval": ci, "standard_error": 0.01}});
        std::fs::write(new.join("benchmark.json"), meta.to_string()).unwrap();
        std::fs::write(new.join("estimates.json"), est.to_string()).unwrap();
    }

    #[test]
    fn collects_estimates_and_pairs_claims() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "rust_to_c", "ffi_noop", 1.6);
        write(dir.path(), "rust_to_c", "rust_noop", 0.4);
        write(dir.path(), "someone_elses_group", "x", 9.0);
        // criterion's `base` copy and its report folder must be ignored.
        std::fs::create_dir_all(dir.path().join("rust_to_c/ffi_noop/base")).unwrap();
        let (got, stale) = collect(dir.path()).unwrap();
        assert_eq!(got.len(), 2);
        assert!(stale.is_empty());
        assert_eq!(got[0].id, "rust_to_c/ffi_noop");
        assert_eq!(got[0].family, "crossing_call");
        assert!((got[0].ci_low_ns - 1.5).abs() < 1e-9);
        assert!(got[0].command.contains("--bench crossing_call"));
        let c = claims(&got);
        let rust = c
            .iter()
            .find(|c| c.measured == "rust_to_c/ffi_noop")
            .unwrap();
        assert!((rust.difference_ns.unwrap() - 1.2).abs() < 1e-9);
        assert!((rust.ratio.unwrap() - 4.0).abs() < 1e-9);
        assert!(
            c[0].measured_median_ns.is_none(),
            "missing benchmarks stay null"
        );
    }

    #[test]
    fn estimates_left_from_an_earlier_run_of_the_family_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "prompt_pass", "old_name", 5.0);
        write(dir.path(), "prompt_pass", "new_name", 6.0);
        let old = dir.path().join("prompt_pass/old_name/new/estimates.json");
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        let (got, stale) = collect(dir.path()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "prompt_pass/new_name");
        assert_eq!(stale, vec!["prompt_pass/old_name".to_string()]);
    }

    fn bench(id: &str, family: &str, median: f64) -> Benchmark {
        Benchmark {
            id: id.into(),
            family: family.into(),
            median_ns: median,
            ci_low_ns: median,
            ci_high_ns: median,
            confidence: 0.95,
            mean_ns: median,
            command: String::new(),
            measured_unix_s: 0,
        }
    }

    #[test]
    fn each_command_replaces_its_own_families_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("microbench.json");
        let go = vec![
            bench("go/CgoCall", "go_cgo", 30.0),
            bench("go/GoCall", "go_cgo", 1.5),
        ];
        let mut extra = BTreeMap::new();
        extra.insert("go_version".to_string(), "go1.27.3".to_string());
        write_summary(&out, &["go_cgo"], go, extra).unwrap();
        let rust = vec![bench("rust_to_c/ffi_noop", "crossing_call", 2.0)];
        write_summary(&out, &CRITERION_FAMILIES, rust, BTreeMap::new()).unwrap();
        let doc = read_json(&out).unwrap();
        let ids: Vec<&str> = doc["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["rust_to_c/ffi_noop", "go/CgoCall", "go/GoCall"]);
        assert_eq!(doc["environment"]["extra"]["go_version"], "go1.27.3");
        let cgo = &doc["claims"][0];
        assert_eq!(
            (cgo["measured"].as_str(), cgo["ratio"].as_f64()),
            (Some("go/CgoCall"), Some(20.0))
        );
        // A fresh Go run replaces the Go family only.
        write_summary(
            &out,
            &["go_cgo"],
            vec![bench("go/GoCall", "go_cgo", 2.0)],
            BTreeMap::new(),
        )
        .unwrap();
        let doc = read_json(&out).unwrap();
        assert_eq!(doc["benchmarks"].as_array().unwrap().len(), 2);
        std::fs::write(&out, "{not json").unwrap();
        let e = write_summary(&out, &["go_cgo"], vec![], BTreeMap::new()).unwrap_err();
        assert!(format!("{e:#}").contains("microbench.json"), "{e:#}");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{not json",
            "not overwritten"
        );
    }
}
