//! `crossbench instructions`: deterministic host-side instruction counts per
//! token, one backend's worker at a time under Valgrind's callgrind
//! (crossbench-core's `instructions` module says what is counted), written to
//! a JSON file and, with `--baseline`, gated (exit 0 pass, 3 regression, 1
//! error). docs/methodology.md, "Instruction counts".

use crate::backends;
use crate::cmd::callgrind_run::{self, pinned_env, VALGRIND_OPTIONS};
use crate::cmd::instructions_ab;
use crate::model::make::ensure_preset_model;
use anyhow::{bail, Context, Result};
use clap::Args;
use crossbench_core::backend::{Backend, LaunchContext};
use crossbench_core::instructions::{
    self, gate, BackendCount, Counted, InstructionsFile, Outcome, Run, Settings, FORMAT,
    INJECT_HOST_WORK_ENV,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The backends counted by default: those a CI step counts in about two
/// minutes. python-subprocess is left out by default because importing
/// mlx-lm under callgrind takes ~3 minutes per worker start.
const DEFAULT_BACKENDS: &str = "mock,ffi-token,ffi-batched,native-cpp";

#[derive(Args)]
pub struct InstructionsArgs {
    /// Backends to count, comma-separated (python-subprocess and the go-cgo-*
    /// backends may be named; see docs/methodology.md for what they give).
    #[arg(long, default_value = DEFAULT_BACKENDS)]
    pub backends: String,
    /// The two generation lengths N1,N2: per token = (I(N2) − I(N1)) / (N2 − N1).
    #[arg(long, default_value = "4,36")]
    pub tokens: String,
    /// Runs per length; 2 or more also report how far repeats differ.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Model preset of the MLX backends (float32, seed 0).
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Output file [default: results/<run-id>/instructions.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Gate the counts against this file (e.g. results/baselines/instructions.json).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// With --baseline: gate this existing file instead of counting.
    #[arg(long, requires = "baseline")]
    pub current: Option<PathBuf>,
    /// A/B: build this git ref in a worktree (cached under target/ab/, as
    /// `gate --against`), count its workers with its own binary, and gate
    /// this tree's counts against them: same machine, same toolchain.
    #[arg(long, value_name = "REF", conflicts_with_all = ["baseline", "current"])]
    pub against: Option<String>,
    /// With --against: use this prebuilt binary as the base instead of
    /// building REF (tests; a base built elsewhere).
    #[arg(long, requires = "against")]
    pub base_bin: Option<PathBuf>,
    /// Percent more own-code instructions per token that fails the gate.
    #[arg(long, default_value_t = instructions::DEFAULT_THRESHOLD * 100.0)]
    pub threshold: f64,
    /// Compare with a baseline made with another toolchain, informational only.
    #[arg(long)]
    pub allow_toolchain_change: bool,
    /// BACKEND=ITERATIONS: that in-process worker (mock, ffi-token,
    /// ffi-batched) runs a loop of ITERATIONS extra steps per token in its
    /// token consumer (to show the gate catches it).
    #[arg(long)]
    pub inject_host_work: Option<String>,
}

pub fn run(args: InstructionsArgs) -> Result<i32> {
    if !(args.threshold > 0.0 && args.threshold <= 100.0) {
        bail!(
            "--threshold {}: must be in (0, 100] percent",
            args.threshold
        );
    }
    if let Some(reference) = &args.against {
        return instructions_ab::run(&args, reference);
    }
    let file = match &args.current {
        Some(path) => read(path)?,
        None => count(&args, &out_path(args.out.clone()))?,
    };
    let Some(baseline) = &args.baseline else {
        return Ok(0);
    };
    let base = read(baseline)?;
    let outcome = gate(
        &base,
        &file,
        args.threshold / 100.0,
        args.allow_toolchain_change,
    );
    println!("baseline: {}", baseline.display());
    print!("{}", outcome.render());
    Ok(outcome.exit_code)
}

pub(crate) fn read(path: &Path) -> Result<InstructionsFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: InstructionsFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not an instructions file", path.display()))?;
    if file.format != FORMAT {
        bail!(
            "{}: format `{}`, this crossbench reads `{FORMAT}` (record it again)",
            path.display(),
            file.format
        );
    }
    Ok(file)
}

/// Counts every backend named, writes the file to `out`, prints the counts.
pub(crate) fn count(args: &InstructionsArgs, out: &Path) -> Result<InstructionsFile> {
    let valgrind = callgrind_run::valgrind_version()?;
    let tokens = parse_tokens(&args.tokens)?;
    if args.repeat == 0 || args.repeat > 10 {
        bail!("--repeat {}: must be 1 to 10", args.repeat);
    }
    let inject = args
        .inject_host_work
        .as_deref()
        .map(parse_inject)
        .transpose()?;
    let names: Vec<String> = args
        .backends
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let backends = backends::resolve(&backends::registry(), &names)?;
    if let Some((name, _)) = &inject {
        if !names.contains(name) {
            bail!("--inject-host-work {name}=...: {name} is not in --backends");
        }
    }
    // The mock needs no model: a mock-only count (the tests') makes none.
    let needs_model = backends.iter().any(|b| !b.descriptor().is_mock());
    let model = match needs_model {
        true => Some(ensure_preset_model(&args.preset, None, "float32", 0)?),
        false => None,
    };
    let settings = settings(args, tokens, model.as_deref());
    let out_dir = parent_dir(out)?;
    let mut toolchain = toolchain(valgrind);
    let mut counts = Vec::new();
    for backend in &backends {
        let extra = match &inject {
            Some((name, iters)) if name == backend.name() => Some(*iters),
            _ => None,
        };
        let work = out_dir.join(format!("callgrind-{}", backend.name()));
        let outcome = count_backend(backend.as_ref(), model.as_deref(), &settings, extra, &work);
        print_outcome(backend.name(), &outcome);
        add_language_toolchain(&mut toolchain, backend.name());
        counts.push(BackendCount {
            name: backend.name().to_string(),
            outcome,
        });
    }
    let file = InstructionsFile {
        format: FORMAT.into(),
        toolchain,
        settings,
        backends: counts,
    };
    write(&file, out)?;
    Ok(file)
}

fn parse_tokens(spec: &str) -> Result<[u32; 2]> {
    let parsed: Vec<u32> = spec
        .split(',')
        .map(|s| s.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--tokens `{spec}`: expected N1,N2, e.g. 4,36"))?;
    match parsed[..] {
        [n1, n2] if n1 >= 1 && n2 > n1 && n2 <= 10_000 => Ok([n1, n2]),
        _ => bail!("--tokens `{spec}`: need 1 ≤ N1 < N2 ≤ 10000"),
    }
}

fn parse_inject(spec: &str) -> Result<(String, u64)> {
    let (name, iters) = spec.split_once('=').with_context(|| {
        format!("--inject-host-work `{spec}`: expected BACKEND=ITERATIONS, e.g. mock=4")
    })?;
    let iters: u64 = iters
        .trim()
        .parse()
        .with_context(|| format!("--inject-host-work `{spec}`: `{iters}` is not a whole number"))?;
    Ok((name.trim().to_string(), iters))
}

fn settings(args: &InstructionsArgs, tokens: [u32; 2], model: Option<&Path>) -> Settings {
    Settings {
        tokens,
        prompt: PROMPT.to_vec(),
        model: model
            .and_then(Path::file_name)
            .map_or("none".into(), |n| n.to_string_lossy().into_owned()),
        repeat: args.repeat,
        valgrind_options: VALGRIND_OPTIONS.iter().map(|s| s.to_string()).collect(),
        env: pinned_env(),
        cpu: crossbench_core::Environment::detect()
            .cpu
            .map_or_else(|| "unknown".into(), |c| c.describe()),
    }
}

/// A fixed prompt, valid for every model (ids below every vocabulary size).
const PROMPT: [u32; 8] = [1, 1100, 2200, 330, 440, 5500, 66, 7];

/// Every run of one backend; a backend that cannot be counted says why.
fn count_backend(
    backend: &dyn Backend,
    model: Option<&Path>,
    settings: &Settings,
    inject: Option<u64>,
    work: &Path,
) -> Outcome {
    match try_count(backend, model, settings, inject, work) {
        Ok(c) => Outcome::Counted(c),
        Err(e) => Outcome::NotCounted {
            reason: format!("{e:#}"),
        },
    }
}

fn try_count(
    backend: &dyn Backend,
    model: Option<&Path>,
    settings: &Settings,
    inject: Option<u64>,
    work: &Path,
) -> Result<Counted> {
    let ctx = LaunchContext {
        exe: std::env::current_exe().context("locating this crossbench binary")?,
        model_dir: model.map(Path::to_path_buf),
        device: "cpu".into(),
        extra_env: Vec::new(),
    };
    let spec = backend.launch(&ctx)?;
    let mut env = settings.env.clone();
    if let Some(iters) = inject {
        env.insert(INJECT_HOST_WORK_ENV.into(), iters.to_string());
    }
    // Beside the output, not under $TMPDIR (crossbench points it at the cache).
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let prompt: Vec<String> = settings.prompt.iter().map(u32::to_string).collect();
    let mut runs = Vec::new();
    let mut own_objects = Vec::new();
    for _ in 0..settings.repeat {
        for n in settings.tokens {
            let request = format!("generate max_new={n} prompt={}", prompt.join(","));
            let c = callgrind_run::run_worker(&spec, &env, &request, n, work)?;
            own_objects = own_objects_of(&c.program, &c.per_object);
            runs.push(run_record(n, &c.per_object, &own_objects));
        }
    }
    let _ = std::fs::remove_dir_all(work);
    let (per_token, spread_per_token) = instructions::per_token(&runs)?;
    Ok(Counted {
        per_token,
        spread_per_token,
        own_objects,
        runs,
    })
}

/// The worker's own code: its executable as callgrind names it (symlinks
/// resolved), and for Python the interpreter's shared library.
fn own_objects_of(program: &Path, per_object: &BTreeMap<String, u64>) -> Vec<String> {
    let exe = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    per_object
        .keys()
        .filter(|o| {
            Path::new(o) == exe
                || Path::new(o)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("libpython"))
        })
        .cloned()
        .collect()
}

fn run_record(tokens: u32, per_object: &BTreeMap<String, u64>, own: &[String]) -> Run {
    let own_ir = own.iter().filter_map(|o| per_object.get(o)).sum();
    // File names only: the paths differ between checkouts and say nothing more.
    let mut short: BTreeMap<String, u64> = BTreeMap::new();
    for (o, ir) in per_object {
        let name = Path::new(o)
            .file_name()
            .map_or(o.clone(), |n| n.to_string_lossy().into_owned());
        *short.entry(name).or_default() += ir;
    }
    Run {
        tokens,
        own: own_ir,
        per_object: short,
    }
}

fn print_outcome(name: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Counted(c) if c.own_objects.is_empty() => {
            eprintln!("{name:<18} counted, but no own object was found (program not in callgrind's objects)")
        }
        Outcome::Counted(c) => eprintln!(
            "{name:<18} {:>12.1} own-code instructions per token (repeats differ by {:.1}/token; {})",
            c.per_token,
            c.spread_per_token,
            c.own_objects
                .iter()
                .map(|o| Path::new(o).file_name().map_or(o.clone(), |n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Outcome::NotCounted { reason } => eprintln!("{name:<18} not counted: {reason}"),
    }
}

pub(crate) fn out_path(out: Option<PathBuf>) -> PathBuf {
    out.unwrap_or_else(|| {
        PathBuf::from("results")
            .join(crossbench_core::results::new_run_id())
            .join("instructions.json")
    })
}

/// The output's directory, made: the callgrind files go there while counting.
pub(crate) fn parent_dir(out: &Path) -> Result<PathBuf> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn write(file: &InstructionsFile, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(file)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("instruction counts: {}", path.display());
    Ok(())
}

/// The versions instruction counts depend on, besides the optional Python
/// and Go ones added when those backends are counted.
fn toolchain(valgrind: String) -> BTreeMap<String, String> {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    BTreeMap::from([
        ("valgrind".to_string(), valgrind),
        (
            "rustc".to_string(),
            env!("CROSSBENCH_RUSTC_VERSION").to_string(),
        ),
        ("c++".to_string(), first_line(&cxx, &["--version"])),
        ("mlx".to_string(), crossbench_shim::mlx_version()),
    ])
}

/// Python's and Go's versions matter only where those workers were tried.
fn add_language_toolchain(toolchain: &mut BTreeMap<String, String>, backend: &str) {
    if backend.starts_with("go-cgo") {
        toolchain.insert("go".into(), go_version());
    }
    if backend == "python-subprocess" {
        toolchain.insert("python".into(), python_version());
    }
}

fn python_version() -> String {
    crate::setup::first_use::python().map_or_else(
        |e| format!("unknown ({e})"),
        |p| first_line(&p.display().to_string(), &["--version"]),
    )
}

fn go_version() -> String {
    crate::setup::go_build::toolchain().map_or_else(|e| format!("unknown ({e})"), |tc| tc.version)
}

fn first_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("unknown (`{program}` did not run)"))
}
