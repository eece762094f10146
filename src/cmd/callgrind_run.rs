//! One worker process under Valgrind's callgrind: start it with a pinned
//! environment, send one `generate` and `quit`, check that it generated what
//! was asked, and read back its instructions per object file.

use anyhow::{bail, Context, Result};
use crossbench_core::backend::WorkerSpec;
use crossbench_core::instructions::callgrind;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// callgrind's options: no per-line or per-instruction detail (only the
/// per-object sums are read), and no cache simulation (instructions only).
pub const VALGRIND_OPTIONS: [&str; 4] = [
    "--tool=callgrind",
    "--dump-line=no",
    "--dump-instr=no",
    "--cache-sim=no",
];

pub const HOW_TO_GET_VALGRIND: &str =
    "install Debian's valgrind (apt-get install valgrind), or put a valgrind 3.19+ on PATH";

/// The variables every counted worker gets, whatever the caller's shell has:
/// one thread wherever a library would start a pool sized by the machine,
/// fixed hash seeds, no bytecode written on first import, and the mock's
/// delays off (its spin-wait would count a variable number of loop turns).
pub fn pinned_env() -> BTreeMap<String, String> {
    [
        ("OMP_NUM_THREADS", "1"),
        ("OPENBLAS_NUM_THREADS", "1"),
        ("PYTHONHASHSEED", "0"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("GOMAXPROCS", "1"),
        ("GOGC", "off"),
        ("GODEBUG", "asyncpreemptoff=1"),
        ("LC_ALL", "C"),
        ("CROSSBENCH_MOCK_TOKEN_US", "0"),
        ("CROSSBENCH_MOCK_PREFILL_US_PER_TOKEN", "0"),
        ("CROSSBENCH_MOCK_LOAD_MS", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `valgrind --version`, or an error naming valgrind and how to get it.
pub fn valgrind_version() -> Result<String> {
    let out = Command::new("valgrind").arg("--version").output();
    match out {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => bail!(
            "`valgrind --version` failed ({}): {HOW_TO_GET_VALGRIND}",
            o.status
        ),
        Err(e) => bail!("valgrind cannot be run ({e}): {HOW_TO_GET_VALGRIND}"),
    }
}

/// What one counted run produced.
pub struct Counted {
    pub per_object: BTreeMap<String, u64>,
    pub program: PathBuf,
}

/// Runs `spec` under callgrind for one generation of `tokens` tokens.
pub fn run_worker(
    spec: &WorkerSpec,
    env: &BTreeMap<String, String>,
    request: &str,
    tokens: u32,
    work: &Path,
) -> Result<Counted> {
    let out_file = work.join(format!("callgrind.{tokens}.out"));
    let log_file = work.join(format!("valgrind.{tokens}.log"));
    let mut cmd = valgrind_command(spec, env, &out_file, &log_file);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting valgrind for {}", spec.program.display()))?;
    let mut stdin = child.stdin.take().context("worker stdin")?;
    stdin
        .write_all(format!("{request}\nquit\n").as_bytes())
        .context("writing the request to the worker")?;
    drop(stdin);
    let out = child.wait_with_output().context("waiting for the worker")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    check_generation(&stdout, tokens, out.status.success()).map_err(|e| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        e.context(format!(
            "worker {} under valgrind ({}): {}; stderr: `{}`; valgrind log {}",
            spec.program.display(),
            out.status,
            valgrind_failure(&log),
            stderr.trim(),
            log_file.display(),
        ))
    })?;
    let text = std::fs::read_to_string(&out_file)
        .with_context(|| format!("reading {}", out_file.display()))?;
    let per_object = callgrind::ir_per_object(&text)
        .with_context(|| format!("parsing {}", out_file.display()))?;
    Ok(Counted {
        per_object,
        program: spec.program.clone(),
    })
}

fn valgrind_command(
    spec: &WorkerSpec,
    env: &BTreeMap<String, String>,
    out_file: &Path,
    log_file: &Path,
) -> Command {
    // valgrind hands its client a file-descriptor hard limit equal to its own
    // soft limit and refuses any setrlimit that names another; mlx-lm sets
    // (2048, 4096) on import, so valgrind starts with a soft limit of 4096.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ulimit -Sn 4096 2>/dev/null; exec "$@""#)
        .arg("sh")
        .arg("valgrind")
        .args(VALGRIND_OPTIONS)
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(format!("--log-file={}", log_file.display()))
        .arg(&spec.program)
        .args(&spec.args);
    cmd.env_clear();
    for key in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    cmd.envs(env);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The line of valgrind's log that says why it stopped (an assertion of the
/// tool, a fatal signal), or its last line.
fn valgrind_failure(log: &str) -> String {
    let why = log.lines().find(|l| {
        l.contains("Assertion") || l.contains("Process terminating") || l.contains("valgrind: ")
    });
    why.or_else(|| log.lines().last())
        .map_or("valgrind wrote no log".into(), |l| l.trim().to_string())
}

/// The worker must have answered `loaded`, then `done` with `tokens` tokens,
/// and exited 0: a count of a failed or short generation means nothing.
fn check_generation(stdout: &str, tokens: u32, exited_ok: bool) -> Result<()> {
    let mut done = None;
    for line in stdout.lines() {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => bail!("not a protocol line on stdout: `{line}`"),
        };
        match v["ev"].as_str() {
            Some("error") => bail!("the worker answered an error: {line}"),
            Some("done") => done = v["tokens"].as_u64(),
            _ => {}
        }
    }
    match done {
        Some(n) if n == u64::from(tokens) && exited_ok => Ok(()),
        Some(n) if n != u64::from(tokens) => bail!("generated {n} tokens, asked for {tokens}"),
        Some(_) => bail!("the worker did not exit cleanly after quit"),
        None => bail!("no `done` event for the request"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_short_or_failed_generation_is_refused() {
        let ok = "{\"ev\":\"loaded\"}\n{\"ev\":\"done\",\"tokens\":4}\n";
        assert!(super::check_generation(ok, 4, true).is_ok());
        assert!(super::check_generation(ok, 5, true).is_err());
        assert!(super::check_generation(ok, 4, false).is_err());
        let err = "{\"ev\":\"error\",\"code\":\"X\"}\n";
        assert!(super::check_generation(err, 4, true).is_err());
    }
}
