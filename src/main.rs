//! crossbench: what does crossing the language boundary into MLX cost during LLM
//! generation, and which API shape makes it vanish? A thin binary over the crates
//! in `crates/`: the CLI, the backend registry and the in-process FFI worker.

mod backends;
mod bench_args;
mod bench_cmd;
mod blas_choice;
mod blas_probe;
mod bootstrap;
mod claims_cmd;
mod claims_table;
mod design_opts;
mod embed_cmd;
mod ffi_worker;
mod gate_cmd;
mod go_build;
mod gobench_cmd;
mod inject;
#[cfg(feature = "mlx-rs")]
mod mlx_rs_engine;
mod model_choice;
mod model_make;
mod plan_builder;
mod presets;
mod profile_cmd;
mod report_cmd;
mod run_flags;
mod sweep_cmd;
mod tokenizer;
mod write_progress;

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
    Bench(bench_args::BenchArgs),
    /// Compare a run with a baseline: exit 0 pass, 3 regression, 4 inconclusive, 1 error.
    Gate(gate_cmd::GateArgs),
    /// Save a run as a regression-gate baseline (results/baselines/NAME.json).
    Baseline {
        #[command(subcommand)]
        command: gate_cmd::BaselineCommand,
    },
    /// Run a scenario with every backend's worker under `perf record` (cpu-clock) and
    /// the phase timeline on; write a flame graph SVG per backend beside results.json.
    Profile(profile_cmd::ProfileArgs),
    /// Run a scenario's generation on each rung of its model ladder ([sweep]) and
    /// write results/<sweep-id>/sweep.json: overhead vs native-cpp per model size.
    Sweep(sweep_cmd::SweepArgs),
    /// Deliver a prompt's final hidden state by copy and by zero-copy view; time,
    /// memory and a bitwise check (results/<run-id>/embed.json).
    Embed(embed_cmd::EmbedArgs),
    /// Collect the criterion microbenchmarks (cargo bench -p crossbench-shim)
    /// into results/microbench.json beside the design note's claims.
    Claims(claims_cmd::ClaimsArgs),
    /// Run the Go microbenchmarks of the note's cgo claims (go/cgobench) and
    /// collect them into results/microbench.json (family go_cgo).
    Gobench(gobench_cmd::GobenchArgs),
    /// Write RUN_DIR/report.html: charts, the design note's claims beside the run's
    /// measurements, metadata and warnings (self-contained, no network).
    Report(report_cmd::ReportArgs),
    /// Compare runs of one scenario (commits, machines, model sizes): one HTML file
    /// and a Markdown table of each metric's change with its interval.
    Compare(report_cmd::CompareArgs),
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
        if let Ok(dir) = bootstrap::private_tmpdir() {
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
        Command::Bench(args) => bench_cmd::run(args),
        Command::Profile(args) => profile_cmd::run(args),
        Command::Sweep(args) => sweep_cmd::run(args),
        Command::Embed(args) => embed_cmd::run(args),
        Command::Claims(args) => claims_cmd::run(args),
        Command::Gobench(args) => gobench_cmd::run(args),
        Command::Report(args) => report_cmd::run_report(args),
        Command::Compare(args) => report_cmd::run_compare(args),
        Command::Gate(args) => gate_cmd::run_gate(args),
        Command::Baseline { command } => gate_cmd::run_baseline(command),
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
        Command::Worker(a) => ffi_worker::serve(&a.backend, a.model.as_deref(), &a.device),
        Command::BlasCore { path } => blas_probe::print_core_name(&path),
        Command::GoWorker => {
            let (exe, tc) =
                go_build::worker().map_err(|e| anyhow::anyhow!("{e}\n{}", go_build::GO_HOW))?;
            eprintln!("Go worker built with {} ({})", tc.version, tc.go.display());
            println!("{}", exe.display());
            Ok(0)
        }
    }
}
