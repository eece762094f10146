//! crossbench: what does crossing the language boundary into MLX cost during LLM
//! generation, and which API shape makes it vanish? A thin binary over the crates
//! in `crates/`: the CLI. Subcommands live in `cmd/`, the real backends and the
//! in-process worker in `backends/`, first-use setup in `setup/`, synthetic
//! models in `model/`.

mod backends;
mod cmd;
mod model;
mod setup;

use backends::in_process_worker;
use cmd::{bench, claims, embed, gate, gobench, instructions, profile, report, sweep};
use model::{make as model_make, presets};
use setup::{blas_probe, first_use, go_build};

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "crossbench",
    version,
    about = "Measures what crossing into MLX costs during LLM generation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario over several backends and write results/<run-id>/.
    Bench(cmd::bench_args::BenchArgs),
    /// The regression gate: exit 0 pass, 3 regression, 4 inconclusive, 1 error.
    ///
    /// `--against REF`: same-job A/B. REF is built in its own worktree (cached by
    /// commit under target/ab/), its `bench` runs alternate with this binary's on
    /// this machine (base, head, head, base, ...; fresh workers, identical flags),
    /// and head / base is judged per backend from paired reps: decode time
    /// (native-cpp's is the shared core) and the ratio to native-cpp; equal
    /// tokens, ids and crossings. Regression when the whole interval is above
    /// 1 + threshold, pass when below, inconclusive when it straddles.
    ///
    /// `--baseline FILE --current RUN`: a run against a committed baseline.
    /// Runs on another setup (core count, MLX version, BLAS library, device) are an
    /// error naming each change unless --allow-environment-change is given; another
    /// CPU model or OpenBLAS core is noted, with absolute times informational.
    /// Details: docs/methodology.md, "Regression gate".
    Gate(gate::GateArgs),
    /// Count each backend's own-code instructions per token under Valgrind's
    /// callgrind (deterministic); with --baseline, gate them: exit 0 pass,
    /// 3 regression, 1 error. Details: docs/methodology.md, "Instruction counts".
    Instructions(instructions::InstructionsArgs),
    /// Save a run as a regression-gate baseline (results/baselines/NAME.json).
    Baseline {
        #[command(subcommand)]
        command: gate::BaselineCommand,
    },
    /// Run a scenario with every backend's worker under `perf record` (cpu-clock) and
    /// the phase timeline on; write a flame graph SVG per backend beside results.json.
    Profile(profile::ProfileArgs),
    /// Run a scenario's generation on each rung of its model ladder ([sweep]) and
    /// write results/<sweep-id>/sweep.json: overhead vs native-cpp per model size.
    Sweep(sweep::SweepArgs),
    /// Deliver a prompt's final hidden state by copy and by zero-copy view; time,
    /// memory and a bitwise check (results/<run-id>/embed.json).
    Embed(embed::EmbedArgs),
    /// Collect the criterion microbenchmarks (cargo bench -p crossbench-shim)
    /// into results/microbench.json beside the design note's claims.
    Claims(claims::ClaimsArgs),
    /// Run the Go microbenchmarks of the note's cgo claims (go/cgobench) and
    /// collect them into results/microbench.json (family go_cgo).
    Gobench(gobench::GobenchArgs),
    /// Write RUN_DIR/report.html: charts, the design note's claims beside the run's
    /// measurements, metadata and warnings (self-contained, no network).
    Report(report::ReportArgs),
    /// Compare runs of one scenario (commits, machines, model sizes): one HTML file
    /// and a Markdown table of each metric's change with its interval.
    Compare(report::CompareArgs),
    /// Draw sweeps of several devices (a CPU ladder, a GPU ladder) on one chart of
    /// overhead vs native-cpp against the floor's per-token time, with the note's
    /// "negligible" (whole interval within ±5%) judged per regime.
    Ladder(report::LadderArgs),
    /// Write a self-contained, relocatable bundle (binaries, workers, wheels,
    /// tokenizer, scenarios, an offline install.sh) for a machine without a
    /// registry: ./install.sh, then bin/crossbench bench. Details: docs/bundle.md.
    Bundle(cmd::bundle::BundleArgs),
    /// Make or list synthetic models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Internal: serve one in-process backend over stdin/stdout (started by `bench`).
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// Internal: build the Go worker (once per change) and print its path.
    #[command(hide = true)]
    GoWorker,
    /// Internal: print the kernel ("core") an OpenBLAS library picks here.
    #[command(hide = true)]
    BlasCore { path: String },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Write a model directory (mlx-community layout) with deterministic random weights.
    Make(MakeArgs),
    /// List the presets with their parameter counts.
    Presets,
}

#[derive(Args)]
struct MakeArgs {
    /// tiny | small | medium | mistral-7b
    #[arg(long)]
    preset: String,
    /// Override the number of layers of the preset.
    #[arg(long)]
    layers: Option<u32>,
    /// float32 | float16 | bfloat16 | q4 | q8
    #[arg(long, default_value = "float32")]
    dtype: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory (must not exist or be empty, unless --force).
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct WorkerArgs {
    /// ffi-token | ffi-batched | mock
    #[arg(long)]
    backend: String,
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn main() {
    // MLX caches compiled CPU kernels under $TMPDIR (machine-wide /tmp/mlx by default):
    // our own directory keeps runs reproducible. Set before any thread starts.
    if std::env::var_os("CROSSBENCH_KEEP_TMPDIR").is_none() {
        if let Ok(dir) = first_use::private_tmpdir() {
            std::env::set_var("TMPDIR", dir);
        }
    }
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Profile(args) => profile::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Claims(args) => claims::run(args),
        Command::Gobench(args) => gobench::run(args),
        Command::Bundle(args) => cmd::bundle::run(args),
        Command::Report(args) => report::run_report(args),
        Command::Compare(args) => report::run_compare(args),
        Command::Ladder(args) => report::run_ladder(args),
        Command::Gate(args) => gate::run_gate(args),
        Command::Baseline { command } => gate::run_baseline(command),
        Command::Instructions(args) => instructions::run(args),
        Command::Model {
            command: ModelCommand::Make(a),
        } => {
            let preset = presets::find(&a.preset)?.with_layers(a.layers)?;
            model_make::make_model(&preset, &a.dtype, a.seed, &a.out, a.force)?;
            eprintln!("wrote {}", a.out.display());
            Ok(0)
        }
        Command::Model {
            command: ModelCommand::Presets,
        } => {
            for p in presets::PRESETS {
                println!(
                    "{:<11} {:>7.0} M params  {}",
                    p.name,
                    p.parameters() as f64 / 1e6,
                    p.summary
                );
            }
            Ok(0)
        }
        Command::Worker(a) => in_process_worker::serve(&a.backend, a.model.as_deref(), &a.device),
        Command::BlasCore { path } => blas_probe::print_core_name(&path),
        Command::GoWorker => {
            let w = go_build::worker().map_err(|e| anyhow::anyhow!("{e}\n{}", go_build::GO_HOW))?;
            eprintln!("Go worker built with {} ({})", w.go_version, w.built_by);
            println!("{}", w.exe.display());
            Ok(0)
        }
    }
}
