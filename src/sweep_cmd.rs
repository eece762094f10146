//! `crossbench sweep`: runs a scenario's generation on every rung of its model
//! ladder (`[sweep]` in the scenario file: presets of one architecture, from
//! small to large) and reports, per backend, the per-token overhead relative
//! to native-cpp against native-cpp's own per-token time. The design note
//! claims the crossing's share vanishes as the model grows; this measures it.
//!
//! Writes `<out>/<sweep-id>/sweep.json` (schema `crossbench.sweep/1`, see
//! [`SweepReport`]), `sweep.md`, and each rung's full bench run under
//! `<out>/<sweep-id>/rungs/<run-id>/`.

use crate::bench_cmd::{self, BenchArgs};
use crate::{bootstrap, presets};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser};
use crossbench_core::overhead::{rep_series, REFERENCE_BACKEND};
use crossbench_core::stats::bootstrap::{median, Interval};
use crossbench_core::{load_scenario, BackendStatus, RunOutcome};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "crossbench.sweep/1";
/// Per-token time: the median over reps of each rep's median inter-token gap.
const SERIES: &str = "itl_median_ns";

#[derive(Args)]
pub struct SweepArgs {
    /// Scenario with a `[sweep]` ladder (scenarios/NAME.toml or a path).
    #[arg(long, default_value = "sweep")]
    pub scenario: String,
    /// Comma-separated backends (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    #[arg(long)]
    pub reps: Option<u32>,
    #[arg(long)]
    pub warmup: Option<u32>,
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long, default_value = "auto")]
    pub blas: String,
    #[arg(long)]
    pub no_progress: bool,
}

/// sweep.json. Ratios are paired per-rep ratios (backend / native-cpp in the
/// same round) with their 95% bootstrap interval, from the rung's results.
#[derive(Debug, Serialize)]
pub struct SweepReport {
    pub schema: &'static str,
    pub sweep_id: String,
    pub scenario: String,
    pub scenario_file: String,
    pub max_new_tokens: u32,
    pub reference_backend: &'static str,
    /// What `per_token_ns` is: "itl_median_ns".
    pub series: &'static str,
    pub reproduce: String,
    pub rungs: Vec<Rung>,
}

#[derive(Debug, Serialize)]
pub struct Rung {
    pub preset: String,
    pub layers: u32,
    pub hidden: u32,
    pub parameters: u64,
    pub run_id: String,
    pub run_dir: String,
    /// native-cpp's per-token time: the denominator of every overhead.
    pub native_per_token_ns: Option<f64>,
    pub backends: Vec<RungBackend>,
}

#[derive(Debug, Serialize)]
pub struct RungBackend {
    pub name: String,
    pub status: String,
    pub per_token_ns: Option<f64>,
    /// backend / native-cpp per-token time (1.0 = no overhead).
    pub overhead_ratio: Option<Interval>,
    /// (ratio - 1) × native per-token time: the overhead in ns per token.
    pub overhead_per_token_ns: Option<f64>,
    pub noisy: bool,
}

/// Lets `sweep` build each rung's BenchArgs through clap, so fields added to
/// BenchArgs later keep their defaults here.
#[derive(Parser)]
struct BenchOnly {
    #[command(flatten)]
    bench: BenchArgs,
}

pub fn run(args: SweepArgs) -> Result<i32> {
    let loaded = load_scenario(&args.scenario, &bootstrap::project_root().join("scenarios"))?;
    let ladder = loaded.scenario.sweep.clone();
    if ladder.is_empty() {
        bail!(
            "{}: no [sweep] ladder (add `[sweep] rungs = [{{ preset = \"tiny\" }}, ...]`)",
            loaded.path.display()
        );
    }
    let sweep_id = crossbench_core::results::new_run_id();
    let dir = args.out.join(&sweep_id);
    let mut rungs = Vec::new();
    for (i, rung) in ladder.iter().enumerate() {
        let preset = presets::find(&rung.preset)?.with_layers(rung.layers)?;
        eprintln!(
            "crossbench sweep: rung {}/{}: {} with {} layers ({:.0} M params)",
            i + 1,
            ladder.len(),
            preset.name,
            preset.layers,
            preset.parameters() as f64 / 1e6
        );
        let outcome = bench_cmd::execute(&rung_args(&args, &preset, &dir)?)?;
        if outcome.interrupted {
            bail!("interrupted: completed rungs are under {}", dir.display());
        }
        rungs.push(summarize(&preset, &outcome));
    }
    let report = SweepReport {
        schema: SCHEMA,
        sweep_id,
        scenario: loaded.scenario.name.clone(),
        scenario_file: loaded.path.display().to_string(),
        max_new_tokens: loaded.scenario.generation.max_new_tokens,
        reference_backend: REFERENCE_BACKEND,
        series: SERIES,
        reproduce: format!("cargo run --release -- sweep --scenario {}", args.scenario),
        rungs,
    };
    let md = markdown(&report);
    std::fs::write(
        dir.join("sweep.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )
    .with_context(|| format!("writing {}", dir.join("sweep.json").display()))?;
    std::fs::write(dir.join("sweep.md"), &md)?;
    println!("{md}");
    eprintln!("results: {}", dir.display());
    Ok(0)
}

fn rung_args(a: &SweepArgs, preset: &presets::Preset, dir: &Path) -> Result<BenchArgs> {
    let mut argv: Vec<String> = vec!["bench".into(), "--scenario".into(), a.scenario.clone()];
    let mut push = |k: &str, v: String| argv.extend([k.to_string(), v]);
    push("--preset", preset.name.into());
    push("--layers", preset.layers.to_string());
    push("--out", dir.join("rungs").display().to_string());
    push("--device", a.device.clone());
    push("--blas", a.blas.clone());
    if let Some(b) = &a.backends {
        push("--backends", b.join(","));
    }
    if let Some(r) = a.reps {
        push("--reps", r.to_string());
    }
    if let Some(w) = a.warmup {
        push("--warmup", w.to_string());
    }
    if a.no_progress {
        argv.push("--no-progress".into());
    }
    Ok(BenchOnly::try_parse_from(argv)
        .context("building a rung's bench arguments")?
        .bench)
}

fn summarize(preset: &presets::Preset, outcome: &RunOutcome) -> Rung {
    let per_token = |name: &str| {
        let b = outcome.results.backends.iter().find(|b| b.name == name)?;
        median(&rep_series(b, SERIES))
    };
    let native = per_token(REFERENCE_BACKEND);
    let backends = outcome
        .results
        .backends
        .iter()
        .map(|b| {
            let ratio = b.overhead_vs_native.get(SERIES).copied();
            RungBackend {
                name: b.name.clone(),
                status: b.status.as_str().to_string(),
                per_token_ns: per_token(&b.name).filter(|_| b.status == BackendStatus::Ok),
                overhead_per_token_ns: ratio.zip(native).map(|(r, n)| (r.estimate - 1.0) * n),
                overhead_ratio: ratio,
                noisy: b.noisy,
            }
        })
        .collect();
    Rung {
        preset: preset.name.to_string(),
        layers: preset.layers,
        hidden: preset.hidden,
        parameters: preset.parameters(),
        run_id: outcome.results.run_id.clone(),
        run_dir: outcome.out_dir.display().to_string(),
        native_per_token_ns: native,
        backends,
    }
}

/// One row per rung and backend: per-token time, overhead vs native-cpp.
pub fn markdown(r: &SweepReport) -> String {
    let mut s = format!(
        "sweep `{}`: gen{} per rung; per-token time = median inter-token latency; overhead = paired \
         ratio to {} [95% CI]\n\n| model | params | native per token | backend | per token | overhead | per token Δ |\n\
         |---|---|---|---|---|---|---|\n",
        r.scenario, r.max_new_tokens, r.reference_backend
    );
    let ms = |v: Option<f64>| {
        v.map(|ns| format!("{:.2} ms", ns / 1e6))
            .unwrap_or_else(|| "—".into())
    };
    for rung in &r.rungs {
        for b in rung
            .backends
            .iter()
            .filter(|b| b.name != r.reference_backend)
        {
            let overhead = b
                .overhead_ratio
                .as_ref()
                .map(crossbench_core::overhead::fmt_ratio_ci);
            let delta = b
                .overhead_per_token_ns
                .map(|ns| format!("{:+.1} µs", ns / 1e3));
            s += &format!(
                "| {}-L{} | {:.0} M | {} | {}{} | {} | {} | {} |\n",
                rung.preset,
                rung.layers,
                rung.parameters as f64 / 1e6,
                ms(rung.native_per_token_ns),
                b.name,
                if b.noisy { " (noisy)" } else { "" },
                ms(b.per_token_ns),
                overhead.unwrap_or_else(|| b.status.clone()),
                delta.unwrap_or_else(|| "—".into())
            );
        }
    }
    s
}
