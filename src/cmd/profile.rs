//! `crossbench profile`: a scenario's backends each run under Linux `perf
//! record`, sampling the software event `cpu-clock` (VMs often expose no
//! hardware counters), then one flame graph SVG per backend rendered with
//! inferno, written beside results.json and linked from the report. The run
//! also records the phase timeline (as `--phases`), and is marked as a
//! profiling run: never a baseline or a gate input.

use crate::cmd::bench;
use crate::cmd::bench_args::BenchArgs;
use crate::cmd::plan_builder::{self, ProfilerRequest};
use anyhow::{bail, Context, Result};
use clap::Args;
use crossbench_core::backend::WorkerSpec;
use inferno::collapse::Collapse;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

#[derive(Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub bench: BenchArgs,
    /// Samples per second and CPU (`perf record -F`).
    #[arg(long, default_value_t = 999)]
    pub frequency: u32,
}

/// The sampled event: a software clock, present wherever perf is permitted.
const EVENT: &str = "cpu-clock";

const HOW_TO_GET_PERF: &str = "install Debian's linux-perf (apt-get install linux-perf); as a \
    non-root user also allow sampling: sysctl kernel.perf_event_paranoid=1. Without perf, \
    `bench --phases` still records the phase timeline";

pub fn run(mut args: ProfileArgs) -> Result<i32> {
    if args.frequency == 0 {
        bail!("--frequency must be at least 1 Hz");
    }
    let work = std::env::temp_dir().join(format!("crossbench-perf-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    check_perf(&work)?;
    if args.bench.run.residency.as_deref() == Some("one") {
        bail!(
            "--residency one: crossbench profile keeps every worker loaded (one perf record each)"
        );
    }
    args.bench.run.residency = Some("all".into());
    args.bench.run.phases = true;
    let (data, frequency) = (work.clone(), args.frequency);
    let profiler = ProfilerRequest {
        perf_event: format!("{EVENT} at {frequency} Hz, frame-pointer call graphs"),
        wrap_worker: Arc::new(move |backend: &str, spec: WorkerSpec| {
            under_perf(spec, &perf_data(&data, backend), frequency)
        }),
    };
    let plan = plan_builder::build(&args.bench, Some(profiler))?;
    let outcome = bench::run_plan(plan)?;
    let mut results = outcome.results.clone();
    for b in &results.backends {
        let data = perf_data(&work, &b.name);
        let file = format!("flame-{}.svg", b.name);
        match flame_graph(&data, &outcome.out_dir.join(&file), &b.name) {
            Ok(cpu_ns) => {
                let ms = cpu_ns as f64 / 1e6;
                eprintln!(
                    "flame graph: {} ({ms:.0} ms of CPU sampled)",
                    outcome.out_dir.join(&file).display()
                );
                let graphs = &mut results
                    .profiling
                    .get_or_insert_with(Default::default)
                    .flame_graphs;
                graphs.insert(b.name.clone(), file);
            }
            Err(e) => eprintln!("warning: no flame graph for {}: {e:#}", b.name),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    crossbench_core::export::write_results(&outcome.out_dir, &results)
        .with_context(|| format!("rewriting the results in {}", outcome.out_dir.display()))?;
    println!("{}", outcome.summary_markdown);
    eprintln!("results: {}", outcome.out_dir.display());
    crate::cmd::report::write_after_bench(&outcome.out_dir);
    bench::exit_code(&outcome)
}

fn perf_data(dir: &Path, backend: &str) -> PathBuf {
    dir.join(format!("{backend}.perf.data"))
}

/// perf must exist and be allowed to sample here: a one-command probe.
fn check_perf(work: &Path) -> Result<()> {
    let probe = work.join("probe.perf.data");
    let out = Command::new("perf")
        .args(["record", "-q", "-e", EVENT, "-o"])
        .arg(&probe)
        .args(["--", "true"])
        .output();
    let _ = std::fs::remove_file(&probe);
    match out {
        Err(e) => bail!("perf cannot be run ({e}): {HOW_TO_GET_PERF}"),
        Ok(o) if !o.status.success() => {
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map_or("unknown".into(), |s| s.trim().to_string());
            bail!(
                "perf record -e {EVENT} is not permitted here (kernel.perf_event_paranoid = {paranoid}): {}; {HOW_TO_GET_PERF}",
                String::from_utf8_lossy(&o.stderr).trim()
            )
        }
        Ok(_) => Ok(()),
    }
}

/// The worker's command line run by `perf record` (which passes its stdin,
/// stdout and environment through to the worker it starts).
fn under_perf(spec: WorkerSpec, data: &Path, frequency: u32) -> WorkerSpec {
    let mut args = vec!["record".into(), "-q".into(), "-e".into(), EVENT.into()];
    args.extend(["-F".into(), frequency.to_string(), "-g".into(), "-o".into()]);
    args.push(data.display().to_string());
    args.push("--".into());
    // fork clears the parent-death signal the driver gives perf, so the
    // worker, perf's child, gets its own: a hung worker then dies with perf,
    // which dies with the driver (docs/protocol.md, "Limits").
    if setpriv_sets_pdeathsig() {
        args.extend(["setpriv", "--pdeathsig", "KILL", "--"].map(String::from));
    }
    args.push(spec.program.display().to_string());
    args.extend(spec.args);
    WorkerSpec {
        program: PathBuf::from("perf"),
        args,
        ..spec
    }
}

/// Whether util-linux's `setpriv --pdeathsig` (2.33+) runs here.
fn setpriv_sets_pdeathsig() -> bool {
    Command::new("setpriv")
        .args(["--pdeathsig", "KILL", "--", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `perf script` → inferno's perf collapser → an SVG flame graph; returns
/// the CPU time drawn. inferno weighs each sample by its period, which for
/// `cpu-clock` is nanoseconds of CPU.
fn flame_graph(data: &Path, svg: &Path, backend: &str) -> Result<u64> {
    if !data.is_file() {
        bail!("{} was not written (did the worker start?)", data.display());
    }
    let script = Command::new("perf")
        .args(["script", "-i"])
        .arg(data)
        .output()
        .context("running perf script")?;
    if !script.status.success() {
        bail!(
            "perf script -i {}: {}",
            data.display(),
            String::from_utf8_lossy(&script.stderr).trim()
        );
    }
    let mut folded = Vec::new();
    inferno::collapse::perf::Folder::from(inferno::collapse::perf::Options::default())
        .collapse(&script.stdout[..], &mut folded)
        .context("collapsing perf's stacks")?;
    let folded = String::from_utf8_lossy(&folded);
    let cpu_ns: u64 = folded
        .lines()
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    if cpu_ns == 0 {
        bail!("perf recorded no samples in {}", data.display());
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = format!("{backend}: where its worker's CPU time went ({EVENT} samples)");
    options.count_name = "ns of CPU".into();
    let file = std::fs::File::create(svg).with_context(|| format!("creating {}", svg.display()))?;
    inferno::flamegraph::from_lines(&mut options, folded.lines(), std::io::BufWriter::new(file))
        .with_context(|| format!("writing {}", svg.display()))?;
    Ok(cpu_ns)
}
