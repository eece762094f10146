//! Where a run happened. Core fills what it can read from the system
//! (/proc, /etc/os-release); the caller fills MLX versions, BLAS, git
//! commit, rustc version, model and device.

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
    /// Anything else the caller wants on record.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
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
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
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
