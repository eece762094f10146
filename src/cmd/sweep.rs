//! `crossbench sweep`: runs a scenario's generation on every rung of its model
//! ladder (`[sweep]` in the scenario file: presets of one architecture, from
//! small to large) and reports, per backend, the per-token overhead relative
//! to native-cpp against native-cpp's own per-token time. The design note
//! claims the crossing's share vanishes as the model grows; this measures it.
//!
//! Writes `<out>/<sweep-id>/sweep.json` (schema `crossbench.sweep/1`, see
//! `crossbench_report::sweep`), `sweep.md`, `report.html` with the overhead
//! chart, and each rung's full bench run under `<out>/<sweep-id>/rungs/<run-id>/`.

use crate::cmd::bench;
use crate::cmd::bench_args::{BenchArgs, RunOptions};
use crate::cmd::model_choice::dtype_name;
use crate::model::presets;
use crate::setup::first_use;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser};
use crossbench_core::backend::FLOOR;
use crossbench_core::overhead::rep_series;
use crossbench_core::scenario::{Dtype, SweepRung};
use crossbench_core::stats::median;
use crossbench_core::{load_scenario, BackendStatus, RunOutcome};
use crossbench_report::sweep::{
    markdown, write_sweep, Rung, RungBackend, SweepReport, SWEEP_SCHEMA,
};
use std::path::Path;

/// Per-token time: the median over reps of each rep's median inter-token gap.
const SERIES: &str = "itl_median_ns";

#[derive(Args)]
pub struct SweepArgs {
    /// Scenario with a `[sweep]` ladder (scenarios/NAME.toml or a path).
    #[arg(long, default_value = "sweep")]
    pub scenario: String,
    /// Run only these rungs of the ladder, 1-based as listed in the scenario
    /// (e.g. `--rungs 1,2,3`: the ladder scenario without its 7B rung on a CPU).
    #[arg(long, value_delimiter = ',')]
    pub rungs: Option<Vec<usize>>,
    /// The same run options as `bench`; `--out` holds <out>/<sweep-id>/.
    #[command(flatten)]
    pub run: RunOptions,
}

/// Lets `sweep` build each rung's BenchArgs through clap, so fields added to
/// BenchArgs later keep their defaults here.
#[derive(Parser)]
struct BenchOnly {
    #[command(flatten)]
    bench: BenchArgs,
}

pub fn run(args: SweepArgs) -> Result<i32> {
    let loaded = load_scenario(
        &args.scenario,
        &first_use::project_root()?.join("scenarios"),
    )?;
    if loaded.scenario.kind == crossbench_core::scenario::ScenarioKind::Serve {
        return serve_sweep(args);
    }
    let ladder = loaded.scenario.sweep.clone();
    if ladder.is_empty() {
        bail!(
            "{}: no [sweep] ladder (add `[sweep] rungs = [{{ preset = \"tiny\" }}, ...]`)",
            loaded.path.display()
        );
    }
    let ladder = pick_rungs(ladder, args.rungs.as_deref(), &loaded.path)?;
    let sweep_id = crossbench_core::results::new_run_id();
    let dir = args.run.out.join(&sweep_id);
    let mut report = SweepReport {
        schema: SWEEP_SCHEMA.into(),
        sweep_id,
        scenario: loaded.scenario.name.clone(),
        scenario_file: loaded.path.display().to_string(),
        max_new_tokens: loaded.scenario.generation.max_new_tokens,
        reference_backend: FLOOR.into(),
        series: SERIES.into(),
        reproduce: reproduce_command(&args),
        device: args.run.device.clone(),
        machine: String::new(),
        rungs: Vec::new(),
    };
    for (i, rung) in ladder.iter().enumerate() {
        let preset = presets::find(&rung.preset)?.with_layers(rung.layers)?;
        let dtype = rung.dtype.unwrap_or(loaded.scenario.dtype);
        eprintln!(
            "crossbench sweep: rung {}/{}: {} with {} layers ({:.0} M params)",
            i + 1,
            ladder.len(),
            preset.name,
            preset.layers,
            preset.parameters() as f64 / 1e6
        );
        let outcome = bench::execute(&rung_args(&args, &preset, dtype, &dir)?)?;
        if outcome.interrupted {
            bail!(
                "interrupted: completed rungs are in {}",
                dir.join("sweep.json").display()
            );
        }
        report.machine = machine_of(&outcome);
        report.rungs.push(summarize(&preset, dtype, &outcome));
        // After every rung, so an interrupted or failed sweep keeps what it measured.
        write_sweep(&dir, &report)?;
    }
    let page = dir.join(crossbench_report::REPORT_FILE);
    println!("{}", markdown(&report));
    eprintln!("report: {}", page.display());
    eprintln!("results: {}", dir.display());
    Ok(0)
}

/// The command that repeats this sweep: its scenario, rungs and device.
fn reproduce_command(args: &SweepArgs) -> String {
    let mut cmd = format!("cargo run --release -- sweep --scenario {}", args.scenario);
    if let Some(rungs) = &args.rungs {
        let list: Vec<String> = rungs.iter().map(usize::to_string).collect();
        cmd += &format!(" --rungs {}", list.join(","));
    }
    if args.run.device != "cpu" {
        cmd += &format!(" --device {}", args.run.device);
    }
    cmd
}

/// The rungs `--rungs` names (1-based), in the ladder's order; all without it.
fn pick_rungs(
    ladder: Vec<SweepRung>,
    pick: Option<&[usize]>,
    file: &Path,
) -> Result<Vec<SweepRung>> {
    let Some(pick) = pick else {
        return Ok(ladder);
    };
    if let Some(bad) = pick.iter().find(|&&i| i == 0 || i > ladder.len()) {
        bail!(
            "--rungs {bad}: {} has rungs 1 to {}",
            file.display(),
            ladder.len()
        );
    }
    Ok(ladder
        .into_iter()
        .enumerate()
        .filter(|(i, _)| pick.contains(&(i + 1)))
        .map(|(_, r)| r)
        .collect())
}

/// A serve scenario sweeps its load (`serve.sweep_concurrency` or
/// `serve.sweep_rate`), not a model ladder: one bench runs every load point,
/// in one results.json whose summary has a table per design over the grid.
fn serve_sweep(args: SweepArgs) -> Result<i32> {
    let argv = ["bench".to_string(), format!("--scenario={}", args.scenario)];
    let mut bench_args = BenchOnly::try_parse_from(argv)
        .context("building the serve sweep's bench arguments")?
        .bench;
    bench_args.run = args.run;
    eprintln!(
        "crossbench sweep: {} is a serve scenario: its load points run as one bench",
        args.scenario
    );
    bench::run(bench_args)
}

/// The rung's bench: the sweep's own run options, its model, and its
/// results under <sweep-dir>/rungs/.
fn rung_args(
    a: &SweepArgs,
    preset: &presets::Preset,
    dtype: Dtype,
    dir: &Path,
) -> Result<BenchArgs> {
    let argv = [
        "bench".to_string(),
        format!("--scenario={}", a.scenario),
        format!("--preset={}", preset.name),
        format!("--layers={}", preset.layers),
        format!("--dtype={}", dtype_name(dtype)),
    ];
    let mut bench = BenchOnly::try_parse_from(argv)
        .context("building a rung's bench arguments")?
        .bench;
    bench.run = RunOptions {
        out: dir.join("rungs"),
        ..a.run.clone()
    };
    Ok(bench)
}

/// What the ladder ran on, for the combined `ladder` chart: the device and
/// the CPU with its BLAS, or the GPU (name, driver, CUDA) and its host.
fn machine_of(outcome: &RunOutcome) -> String {
    let env = &outcome.results.environment;
    let cpu = match &env.cpu {
        Some(id) => format!(
            "{} ({})",
            env.cpu_model.as_deref().unwrap_or("CPU"),
            id.describe()
        ),
        None => env
            .cpu_model
            .clone()
            .unwrap_or_else(|| "unknown CPU".into()),
    };
    let cores = env.cores.map_or(String::new(), |n| format!(", {n} cores"));
    let blas = env.blas.as_deref().unwrap_or("BLAS not recorded");
    match &env.gpu {
        Some(gpu) => format!("{}; host {cpu}{cores}", gpu.describe()),
        None => format!("{cpu}{cores}; {blas}"),
    }
}

fn summarize(preset: &presets::Preset, dtype: Dtype, outcome: &RunOutcome) -> Rung {
    let per_token = |name: &str| {
        let b = outcome.results.backends.iter().find(|b| b.name == name)?;
        median(&rep_series(b, SERIES))
    };
    let native = per_token(FLOOR);
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
        dtype: dtype_name(dtype).to_string(),
        layers: preset.layers,
        hidden: preset.hidden,
        parameters: preset.parameters(),
        run_id: outcome.results.run_id.clone(),
        run_dir: outcome.out_dir.display().to_string(),
        native_per_token_ns: native,
        backends,
    }
}
