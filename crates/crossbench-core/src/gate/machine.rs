//! Whether two runs ran on the same machine, and if not, what differs.
//!
//! Why so strict: on this cloud two VMs both call their CPU "AMD EPYC" while
//! one is a Zen 3 with AVX2 and the other a Zen 5 with AVX-512, and their
//! absolute times differ by ~45%. A rebooted VM, or a fresh CI VM from the
//! same image, may also land on another host with other neighbours.

use crate::environment::Environment;

/// RAM sizes within this fraction count as the same machine (the kernel's
/// reserved memory moves by a few MiB between boots).
const RAM_TOLERANCE: f64 = 0.02;

/// Same machine for absolute timings: same boot, CPU (name, vendor, family,
/// model, stepping, SIMD flags), core count, RAM within 2%, and GPU (model,
/// driver, memory; `GpuInfo::identity`) where either run recorded one.
pub fn same_machine(a: &Environment, b: &Environment) -> bool {
    a.boot_id.is_some()
        && a.cpu_model.is_some()
        && a.cores.is_some()
        && differences(a, b).is_empty()
}

/// One line per machine fact that differs, naming both values:
/// "cpu: AuthenticAMD family 25 model 1 ... vs ... model 17 ...".
pub fn differences(a: &Environment, b: &Environment) -> Vec<String> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "unknown".into());
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what}: {x} vs {y}"));
        }
    };
    differ("cpu name", opt(&a.cpu_model), opt(&b.cpu_model));
    let cpu = |e: &Environment| {
        e.cpu
            .as_ref()
            .map_or("not recorded".into(), |c| c.describe())
    };
    differ("cpu", cpu(a), cpu(b));
    let cores = |e: &Environment| e.cores.map_or("unknown".into(), |c| c.to_string());
    differ("cores", cores(a), cores(b));
    let gib = |e: &Environment| e.ram_bytes.map(|r| r as f64 / (1u64 << 30) as f64);
    match (gib(a), gib(b)) {
        (Some(x), Some(y)) if (x - y).abs() <= RAM_TOLERANCE * x.max(y) => {}
        (x, y) => {
            let show = |g: Option<f64>| g.map_or("unknown".into(), |g| format!("{g:.1} GiB"));
            differ("ram", show(x), show(y));
        }
    }
    differ("boot", opt(&a.boot_id), opt(&b.boot_id));
    // Another GPU model or driver changes every kernel's time and the
    // dispatch path a token crosses: not the same machine for GPU timings.
    let gpu = |e: &Environment| e.gpu.as_ref().map_or("none".into(), |g| g.identity());
    differ("gpu", gpu(a), gpu(b));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::CpuIdentity;

    fn env(model: u32, simd: &[&str]) -> Environment {
        Environment {
            cpu_model: Some("AMD EPYC".into()),
            cores: Some(2),
            ram_bytes: Some(24 << 30),
            boot_id: Some("b".into()),
            cpu: Some(CpuIdentity {
                vendor: Some("AuthenticAMD".into()),
                family: Some(25),
                model: Some(model),
                stepping: Some(1),
                simd: simd.iter().map(|s| s.to_string()).collect(),
            }),
            ..Environment::default()
        }
    }

    #[test]
    fn same_name_other_cpu_is_another_machine_and_says_why() {
        let zen3 = env(1, &["avx2"]);
        let zen5 = env(17, &["avx2", "avx512f"]);
        assert!(same_machine(&zen3, &zen3.clone()));
        assert!(!same_machine(&zen3, &zen5));
        let d = differences(&zen3, &zen5);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].contains("model 1 ") && d[0].contains("model 17") && d[0].contains("avx512f"),
            "{d:?}"
        );
    }

    #[test]
    fn another_gpu_or_driver_is_another_machine() {
        let mut h200 = env(1, &["avx2"]);
        h200.gpu = Some(crate::gpu::GpuInfo {
            api: "cuda".into(),
            name: "NVIDIA H200".into(),
            driver_version: Some("580.159.04".into()),
            memory_total_bytes: Some(143771 << 20),
            ..Default::default()
        });
        // Telemetry differs between any two runs: not part of the identity.
        let mut again = h200.clone();
        again.gpu.as_mut().unwrap().telemetry = Some(Default::default());
        assert!(same_machine(&h200, &again));
        let mut driver = h200.clone();
        driver.gpu.as_mut().unwrap().driver_version = Some("570.86.15".into());
        assert!(!same_machine(&h200, &driver));
        assert_eq!(
            differences(&h200, &driver),
            ["gpu: NVIDIA H200 (cuda, driver 580.159.04, 143771 MiB) vs NVIDIA H200 (cuda, driver 570.86.15, 143771 MiB)"]
        );
        let mut h100 = h200.clone();
        h100.gpu.as_mut().unwrap().name = "NVIDIA H100 80GB HBM3".into();
        assert!(differences(&h200, &h100)[0].contains("H100"));
        let cpu_only = env(1, &["avx2"]);
        assert_eq!(
            differences(&cpu_only, &h200),
            ["gpu: none vs NVIDIA H200 (cuda, driver 580.159.04, 143771 MiB)"]
        );
    }

    #[test]
    fn ram_within_tolerance_and_boot_are_judged() {
        let a = env(1, &[]);
        let mut b = a.clone();
        b.ram_bytes = Some((24 << 30) - (100 << 20));
        assert!(same_machine(&a, &b));
        b.boot_id = Some("other".into());
        assert_eq!(differences(&a, &b), ["boot: b vs other"]);
    }
}
