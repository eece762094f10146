//! Where a run happened. Core fills what it can read from the system
//! (/proc, /etc/os-release); the caller fills MLX versions, BLAS, git
//! commit, rustc version, model, device and GPU (`crate::gpu`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: Option<String>,
    pub cores: Option<u32>,
    pub ram_bytes: Option<u64>,
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub mlx_version: Option<String>,
    pub mlx_lm_version: Option<String>,
    pub blas: Option<String>,
    pub git_commit: Option<String>,
    pub rustc_version: Option<String>,
    pub model_dir: Option<String>,
    pub model_config_sha256: Option<String>,
    pub device: Option<String>,
    /// This boot of this machine (/proc/sys/kernel/random/boot_id). On cloud
    /// VMs a new boot may be a new host, and every CI run is a fresh VM: the
    /// gate compares absolute times only within one boot.
    #[serde(default)]
    pub boot_id: Option<String>,
    /// The CPU precisely enough to tell two machines with the same marketing
    /// name apart (a Zen 3 and a Zen 5 both say "AMD EPYC" on this cloud).
    #[serde(default)]
    pub cpu: Option<CpuIdentity>,
    /// The CPUs the run's driver could use, as the kernel lists them ("0-1";
    /// "1" under `gate --against --pin-cpu 1` or `taskset -c 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_affinity: Option<String>,
    /// The GPU of a `--device gpu` run (identity, and telemetry over the
    /// run); None on CPU runs and where none could be described.
    #[serde(default)]
    pub gpu: Option<crate::gpu::GpuInfo>,
    /// Why a GPU run has no `gpu` (e.g. nvidia-smi not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
    /// Anything else the caller wants on record.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// Vendor, family/model/stepping and the SIMD flags that select MLX's and
/// OpenBLAS's kernels, from /proc/cpuinfo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuIdentity {
    pub vendor: Option<String>,
    pub family: Option<u32>,
    pub model: Option<u32>,
    pub stepping: Option<u32>,
    /// The kernel-selecting flags present, in `KERNEL_FLAGS` order.
    pub simd: Vec<String>,
}

/// Flags that decide which SIMD kernels a BLAS or MLX build runs.
pub const KERNEL_FLAGS: [&str; 12] = [
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
];

impl CpuIdentity {
    /// "AuthenticAMD family 25 model 1 stepping 1, avx2 fma ..." for notes.
    pub fn describe(&self) -> String {
        let num = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
        format!(
            "{} family {} model {} stepping {}, {}",
            self.vendor.as_deref().unwrap_or("unknown vendor"),
            num(self.family),
            num(self.model),
            num(self.stepping),
            if self.simd.is_empty() {
                "no SIMD flags read".to_string()
            } else {
                self.simd.join(" ")
            }
        )
    }

    /// Parses the first processor block of /proc/cpuinfo's text.
    pub fn from_cpuinfo(info: &str) -> Option<CpuIdentity> {
        let field = |key: &str| {
            info.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_string())
        };
        let number = |key: &str| field(key).and_then(|v| v.parse().ok());
        let flags = field("flags").unwrap_or_default();
        let present: Vec<&str> = flags.split_whitespace().collect();
        let id = CpuIdentity {
            vendor: field("vendor_id"),
            family: number("cpu family"),
            model: number("model"),
            stepping: number("stepping"),
            simd: KERNEL_FLAGS
                .iter()
                .filter(|f| present.contains(f))
                .map(|f| f.to_string())
                .collect(),
        };
        (id != CpuIdentity::default()).then_some(id)
    }
}

impl Environment {
    /// The system facts; fields core cannot know stay None.
    pub fn detect() -> Self {
        Environment {
            cpu_model: cpu_model(),
            cores: std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() as u32),
            ram_bytes: ram_bytes(),
            os: os_name(),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
            cpu: std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|info| CpuIdentity::from_cpuinfo(&info)),
            cpu_affinity: crate::affinity::allowed_cpu_list(),
            ..Environment::default()
        }
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn ram_bytes() -> Option<u64> {
    meminfo_bytes("MemTotal")
}

/// A /proc/meminfo field (e.g. "MemTotal", "MemAvailable") in bytes.
pub fn meminfo_bytes(key: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info
        .lines()
        .find(|l| l.split_once(':').is_some_and(|(k, _)| k == key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn os_name() -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok();
    let pretty = release.as_deref().and_then(|r| {
        r.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    pretty.or_else(|| Some(std::env::consts::OS.to_string()))
}

#[cfg(test)]
mod tests {
    use super::CpuIdentity;

    #[test]
    fn cpuinfo_identity_tells_zen3_from_zen5() {
        let block = |model: u32, flags: &str| {
            format!("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: {model}\nmodel name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: fpu sse4_2 avx avx2 fma {flags}\n\nprocessor\t: 1\n")
        };
        let zen3 = CpuIdentity::from_cpuinfo(&block(1, "")).unwrap();
        let zen5 = CpuIdentity::from_cpuinfo(&block(17, "avx512f avx512bw")).unwrap();
        assert_eq!(zen3.vendor.as_deref(), Some("AuthenticAMD"));
        assert_eq!(
            (zen3.family, zen3.model, zen3.stepping),
            (Some(25), Some(1), Some(1))
        );
        assert_eq!(zen3.simd, ["sse4_2", "avx", "avx2", "fma"]);
        assert!(zen5.simd.contains(&"avx512f".to_string()));
        assert_ne!(zen3, zen5);
        assert!(zen5.describe().contains("model 17"), "{}", zen5.describe());
        assert!(CpuIdentity::from_cpuinfo("").is_none());
    }

    #[test]
    fn detect_reads_the_system() {
        let env = super::Environment::detect();
        assert!(env.cores.unwrap_or(0) >= 1);
        assert!(env.os.is_some());
        if cfg!(target_os = "linux") {
            assert!(env.ram_bytes.unwrap_or(0) > 0);
            assert!(env.kernel.is_some());
        }
    }
}
