//! What `nvidia-smi` says about one GPU: its identity once, at the start of
//! a run, and its clocks and power every 250 ms while the run goes (the
//! sampler in `telemetry`). Its CSV form (`--format=csv,noheader,nounits`)
//! is stable across drivers; a field it cannot read is `[N/A]`, parsed as
//! absent rather than failing the line.

use std::path::PathBuf;
use std::process::Command;

use super::GpuInfo;

/// Where nvidia-smi is: `CROSSBENCH_NVIDIA_SMI` (a path; tests point it at a
/// script replaying fixtures), else `nvidia-smi` on PATH.
pub const PROGRAM_ENV: &str = "CROSSBENCH_NVIDIA_SMI";

/// The identity query, in the order `parse_identity` reads.
pub const IDENTITY_FIELDS: &str =
    "index,name,driver_version,memory.total,uuid,pci.bus_id,clocks.max.sm,clocks.max.mem,power.limit";

/// The sampled query, in the order `parse_sample` reads.
pub const SAMPLE_FIELDS: &str =
    "clocks.sm,clocks.mem,power.draw,temperature.gpu,memory.used,utilization.gpu";

#[derive(Debug, thiserror::Error)]
pub enum SmiError {
    #[error("cannot run {program}: {cause} (it comes with the NVIDIA driver; set {PROGRAM_ENV} to its path)")]
    Spawn { program: String, cause: String },
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("cannot read nvidia-smi's line {line:?}: {why}")]
    Parse { line: String, why: String },
}

/// One reading of the sampled fields; None where nvidia-smi said [N/A].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    pub sm_clock_mhz: Option<f64>,
    pub mem_clock_mhz: Option<f64>,
    pub power_w: Option<f64>,
    pub temperature_c: Option<f64>,
    pub memory_used_mib: Option<f64>,
    pub utilization_pct: Option<f64>,
}

pub fn program() -> PathBuf {
    std::env::var_os(PROGRAM_ENV).map_or_else(|| PathBuf::from("nvidia-smi"), PathBuf::from)
}

/// The GPU MLX uses: the first of CUDA_VISIBLE_DEVICES when it is an index
/// (nvidia-smi itself ignores that variable), else GPU 0.
pub fn visible_index() -> u32 {
    std::env::var("CUDA_VISIBLE_DEVICES")
        .ok()
        .and_then(|v| v.split(',').next()?.trim().parse().ok())
        .unwrap_or(0)
}

fn field(raw: &str) -> Option<&str> {
    let v = raw.trim();
    // nvidia-smi's words for "cannot read this here".
    let absent = v.is_empty() || v.starts_with('[') || v == "N/A";
    (!absent).then_some(v)
}

fn number(raw: &str) -> Option<f64> {
    field(raw)?.parse().ok()
}

/// One line of the identity query (`IDENTITY_FIELDS`).
pub fn parse_identity(line: &str) -> Result<GpuInfo, SmiError> {
    let cols: Vec<&str> = line.split(',').collect();
    let bad = |why: &str| SmiError::Parse {
        line: line.to_string(),
        why: why.to_string(),
    };
    if cols.len() != IDENTITY_FIELDS.split(',').count() {
        return Err(bad("expected the 9 identity fields"));
    }
    let name = field(cols[1]).ok_or_else(|| bad("no GPU name"))?;
    Ok(GpuInfo {
        api: "cuda".into(),
        name: name.to_string(),
        index: field(cols[0]).and_then(|v| v.parse().ok()),
        driver_version: field(cols[2]).map(str::to_string),
        memory_total_bytes: number(cols[3]).map(|mib| (mib as u64) << 20),
        uuid: field(cols[4]).map(str::to_string),
        pci_bus_id: field(cols[5]).map(str::to_string),
        max_sm_clock_mhz: number(cols[6]),
        max_mem_clock_mhz: number(cols[7]),
        power_limit_w: number(cols[8]),
        ..GpuInfo::default()
    })
}

/// One line of the sampled query (`SAMPLE_FIELDS`); None for a line that is
/// not one (a blank line between `-lms` batches, a warning).
pub fn parse_sample(line: &str) -> Option<Sample> {
    let cols: Vec<&str> = line.split(',').collect();
    if cols.len() != SAMPLE_FIELDS.split(',').count() {
        return None;
    }
    let s = Sample {
        sm_clock_mhz: number(cols[0]),
        mem_clock_mhz: number(cols[1]),
        power_w: number(cols[2]),
        temperature_c: number(cols[3]),
        memory_used_mib: number(cols[4]),
        utilization_pct: number(cols[5]),
    };
    (s != Sample::default()).then_some(s)
}

/// The CUDA version the driver supports, from nvidia-smi's banner
/// ("... CUDA Version: 13.0 |") or `nvidia-smi -q` ("CUDA Version : 13.0").
pub fn parse_cuda_version(text: &str) -> Option<String> {
    let rest = text.split("CUDA Version").nth(1)?;
    let rest = rest.trim_start_matches([' ', ':']);
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!version.is_empty()).then_some(version)
}

fn run(args: &[&str]) -> Result<String, SmiError> {
    let program = program();
    let shown = program.display().to_string();
    let out = Command::new(&program)
        .args(args)
        .output()
        .map_err(|e| SmiError::Spawn {
            program: shown.clone(),
            cause: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(SmiError::Failed {
            program: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The identity of GPU `index`, with the driver's CUDA version from the
/// banner (absent, not an error, where the banner cannot be read).
pub fn identity(index: u32) -> Result<GpuInfo, SmiError> {
    let i = index.to_string();
    let query = format!("--query-gpu={IDENTITY_FIELDS}");
    let text = run(&["-i", &i, &query, "--format=csv,noheader,nounits"])?;
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut info = parse_identity(line)?;
    info.cuda_driver_version = run(&["-i", &i]).ok().and_then(|t| parse_cuda_version(&t));
    Ok(info)
}

/// The sampling command: `nvidia-smi` itself repeats the query every
/// `every_ms` (`-lms`), so one process serves the whole run.
pub fn sampler_command(index: u32, every_ms: u64) -> Command {
    let mut cmd = Command::new(program());
    cmd.args([
        "-i",
        &index.to_string(),
        &format!("--query-gpu={SAMPLE_FIELDS}"),
        "--format=csv,noheader,nounits",
        "-lms",
        &every_ms.to_string(),
    ]);
    cmd
}
