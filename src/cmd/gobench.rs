//! `crossbench gobench`: the Go microbenchmarks of every cgo claim in the
//! design note (`go/cgobench`, `testing.B` in the style of Go's own
//! src/internal/runtime/cgobench), built with the pinned toolchain against
//! the same shim, run with `-count` repetitions, and collected into
//! `results/microbench.json` as family `go_cgo` beside the criterion
//! families. Each benchmark's interval is the distribution-free 95% interval
//! of the median of its repetitions; the raw `go test` output is kept beside.

use crate::cmd::claims::{self, Benchmark};
use crate::setup::go_build;
use anyhow::{bail, Context, Result};
use clap::Args;
use crossbench_core::stats::order::median_ci;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

pub use crossbench_core::microbench::GO_CGO_FAMILY as FAMILY;

#[derive(Args)]
pub struct GobenchArgs {
    /// Repetitions of each benchmark (go test -count): the samples of its interval.
    #[arg(long, default_value_t = 10)]
    pub count: u32,
    /// Time per repetition (go test -benchtime).
    #[arg(long, default_value = "300ms")]
    pub benchtime: String,
    /// Only the benchmarks matching this pattern (go test -bench).
    #[arg(long, default_value = ".")]
    pub bench: String,
    /// The summary to update (its other families are kept).
    #[arg(long, default_value = "results/microbench.json")]
    pub out: PathBuf,
}

pub fn run(args: GobenchArgs) -> Result<i32> {
    if args.count < 3 {
        bail!(
            "--count {} is too few repetitions for an interval (at least 3)",
            args.count
        );
    }
    let tc = go_build::toolchain().with_context(|| go_build::GO_HOW)?;
    let exe = build_test_binary(&tc)?;
    eprintln!(
        "crossbench: running the Go microbenchmarks ({} × {} each, {}; nothing else should run now)",
        args.count, args.benchtime, tc.version
    );
    let raw = run_benchmarks(&exe, &args)?;
    let raw_path = args.out.with_file_name("gobench.txt");
    write_file(&raw_path, &raw)?;
    let samples = parse(&raw);
    if samples.is_empty() {
        bail!(
            "go test printed no benchmark lines (raw output in {})",
            raw_path.display()
        );
    }
    let benchmarks = summarize(&samples, &args);
    let mut extra = BTreeMap::new();
    extra.insert("go_version".to_string(), tc.version.clone());
    extra.insert("go_raw_output".to_string(), raw_path.display().to_string());
    claims::write_summary(&args.out, &[FAMILY], benchmarks, extra)?;
    Ok(0)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `go test -c` of go/cgobench into the cache (Go's build cache makes a rerun quick).
fn build_test_binary(tc: &go_build::Toolchain) -> Result<PathBuf> {
    let go_dir = crate::setup::first_use::project_root()?.join("go");
    let shim_lib = crossbench_shim::shim_lib_dir().join("libcrossbench_shim.a");
    let exe = crate::setup::first_use::cache_dir()?
        .join("go")
        .join("cgobench.test");
    eprintln!(
        "crossbench: building the Go microbenchmarks with {}",
        tc.version
    );
    let out = go_build::go_command(tc, &go_dir, &shim_lib)?
        .args(["test", "-c", "-o"])
        .arg(&exe)
        .arg("./cgobench")
        .output()
        .with_context(|| format!("cannot run {}", tc.go.display()))?;
    if !out.status.success() {
        bail!(
            "building go/cgobench failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(exe)
}

/// Runs the test binary, echoing each line to stderr as it comes (progress).
fn run_benchmarks(exe: &Path, args: &GobenchArgs) -> Result<String> {
    let mut child = std::process::Command::new(exe)
        .args(["-test.run", "^$", "-test.bench", &args.bench])
        .arg(format!("-test.count={}", args.count))
        .arg(format!("-test.benchtime={}", args.benchtime))
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let mut raw = String::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        eprintln!("  {line}");
        raw.push_str(&line);
        raw.push('\n');
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{} failed ({status})", exe.display());
    }
    Ok(raw)
}

/// ns/op samples per benchmark, named as `go/<Name>[/<sub>]` (the
/// `Benchmark` prefix and the `-GOMAXPROCS` suffix dropped).
pub fn parse(raw: &str) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in raw.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(name) = words.first().and_then(|w| w.strip_prefix("Benchmark")) else {
            continue;
        };
        let Some(ns) = words
            .windows(2)
            .find(|w| w[1] == "ns/op")
            .and_then(|w| w[0].parse::<f64>().ok())
        else {
            continue;
        };
        let name = match name.rsplit_once('-') {
            Some((base, procs)) if procs.chars().all(|c| c.is_ascii_digit()) => base,
            _ => name,
        };
        out.entry(format!("go/{name}")).or_default().push(ns);
    }
    out
}

fn summarize(samples: &BTreeMap<String, Vec<f64>>, args: &GobenchArgs) -> Vec<Benchmark> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    samples
        .iter()
        .filter_map(|(id, xs)| {
            let ci = median_ci(xs, 0.95)?;
            let name = id.trim_start_matches("go/");
            let pattern: Vec<String> = name.split('/').map(|p| format!("^{p}$")).collect();
            let pattern = format!("^Benchmark{}", &pattern.join("/")[1..]);
            Some(Benchmark {
                id: id.clone(),
                family: FAMILY.to_string(),
                median_ns: ci.estimate,
                ci_low_ns: ci.low,
                ci_high_ns: ci.high,
                confidence: ci.confidence,
                mean_ns: xs.iter().sum::<f64>() / xs.len() as f64,
                command: format!(
                    "cargo run --release -- gobench --bench '{pattern}' --count {} --benchtime {}",
                    args.count, args.benchtime
                ),
                measured_unix_s: now,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "goos: linux\ncpu: AMD EPYC\n\
BenchmarkGoCall-2   \t 7411929\t         6.350 ns/op\n\
BenchmarkCgoCall-2  \t  434060\t       100.5 ns/op\n\
BenchmarkCgoCall-2  \t  434060\t       90.5 ns/op\n\
BenchmarkFloatHandoff1MiB/per_element_call-2 \t 1\t  25658291 ns/op\n\
PASS\n";

    #[test]
    fn go_test_output_is_read_per_benchmark() {
        let s = parse(RAW);
        assert_eq!(s["go/GoCall"], vec![6.35]);
        assert_eq!(s["go/CgoCall"], vec![100.5, 90.5]);
        assert_eq!(s["go/FloatHandoff1MiB/per_element_call"], vec![25658291.0]);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn each_benchmark_gets_its_interval_and_rerun_command() {
        let mut s = BTreeMap::new();
        s.insert(
            "go/Prompt/bytes_len".to_string(),
            vec![5.0, 1.0, 3.0, 2.0, 4.0, 6.0],
        );
        let args = GobenchArgs {
            count: 6,
            benchtime: "1s".into(),
            bench: ".".into(),
            out: "x.json".into(),
        };
        let b = &summarize(&s, &args)[0];
        assert_eq!((b.median_ns, b.ci_low_ns, b.ci_high_ns), (3.5, 1.0, 6.0));
        assert!(b.confidence > 0.95);
        assert!(
            b.command
                .contains("--bench '^BenchmarkPrompt$/^bytes_len$'"),
            "{}",
            b.command
        );
    }
}
