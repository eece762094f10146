//! `--device gpu`'s check before anything runs: that this machine has what
//! MLX needs to compute on a GPU, each missing piece named with where it was
//! looked for. Without it a CPU-only MLX fails inside every worker with
//! "device 'gpu' is not available", and a missing cuBLAS fails at the first
//! matrix product; `--device gpu` never falls back to the CPU.
//!
//! On Linux: the NVIDIA driver (its kernel module's /proc file and its
//! user-space libcuda.so.1), MLX's CUDA build (the `mlx-cuda-*` wheel, not
//! `mlx-cpu`) and the CUDA libraries that build links (cuBLAS, cuDNN, NVRTC,
//! NCCL, the CUDA runtime: `site-packages/nvidia/*/lib`, found through
//! libmlx's RUNPATH), as `ldd` resolves them. On macOS: MLX's Metal build.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the install steps are written up (also the error's last line).
pub const HOW_TO: &str = "docs/troubleshooting.md#gpu-runs-device-gpu";

/// Runs `ldd` on a library: its output, None where ldd cannot run.
pub type Ldd = Box<dyn Fn(&Path) -> Option<String>>;

/// What the check looks at; `gpu_device` probes this machine, tests build fakes.
pub struct Probe {
    pub os: String,
    /// /proc/driver/nvidia/version: present while NVIDIA's kernel module is loaded.
    pub proc_version: PathBuf,
    /// site-packages of the environment MLX comes from (None for MLX_DIR).
    pub site_packages: Option<PathBuf>,
    /// The libmlx every backend loads; None where no MLX was found.
    pub libmlx: Option<PathBuf>,
    /// Loads libcuda.so.1 (the driver's user-space half): Err(why) if it cannot.
    pub load_libcuda: Box<dyn Fn() -> Result<(), String>>,
    /// `ldd LIB`'s output; None where ldd cannot run.
    pub ldd: Ldd,
}

/// Which MLX build is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variant {
    /// `mlx-cuda-13 0.32.2`
    Cuda(String),
    /// `mlx-cpu 0.32.2`: no GPU backend.
    Cpu(String),
    Metal(String),
    /// No wheel names it (an MLX_DIR build): judged by what libmlx links.
    Unknown,
}

/// One thing a GPU run needs that is not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Driver {
        proc_file: PathBuf,
        libcuda: String,
    },
    Mlx,
    CpuOnlyMlx {
        package: String,
        site_packages: String,
    },
    CudaLibraries {
        libs: Vec<String>,
        libmlx: PathBuf,
        looked: Vec<String>,
    },
    MetalMlx {
        site_packages: String,
    },
    Os(String),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Driver { proc_file, libcuda } => write!(
                f,
                "NVIDIA driver: {} does not exist (no NVIDIA kernel module loaded) and libcuda.so.1 cannot be loaded ({libcuda})",
                proc_file.display()
            ),
            Missing::Mlx => write!(f, "MLX: no MLX found (MLX_DIR unset and no .venv/lib/python*/site-packages/mlx)"),
            Missing::CpuOnlyMlx { package, site_packages } => write!(
                f,
                "MLX's CUDA build: {site_packages} holds {package}, the CPU-only wheel (its libmlx has no GPU backend); install mlx-cuda-13 in its place"
            ),
            Missing::CudaLibraries { libs, libmlx, looked } => write!(
                f,
                "CUDA libraries: {} not found for {} (looked in its RUNPATH's site-packages/nvidia/*/lib: {}; and the system library path)",
                libs.join(", "),
                libmlx.display(),
                if looked.is_empty() { "none present".to_string() } else { looked.join(", ") }
            ),
            Missing::MetalMlx { site_packages } => write!(
                f,
                "MLX's Metal build: {site_packages} holds no mlx-metal wheel"
            ),
            Missing::Os(os) => write!(f, "a GPU backend of MLX for {os}: MLX runs on NVIDIA GPUs (Linux, CUDA) and Apple GPUs (macOS, Metal) only"),
        }
    }
}

/// What the check found: the driver's version and MLX's build, and what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub driver_version: Option<String>,
    pub variant: Variant,
    pub missing: Vec<Missing>,
}

/// "580.159.04" from /proc/driver/nvidia/version's "NVRM version: ... Kernel Module  580.159.04  Release Build ...".
pub fn parse_driver_version(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("NVRM version:"))?;
    line.split_whitespace()
        .find(|w| w.split('.').count() >= 2 && w.split('.').all(|p| p.parse::<u32>().is_ok()))
        .map(str::to_string)
}

/// The installed MLX build, from the wheels' .dist-info directories.
pub fn variant(site_packages: &Path) -> Variant {
    let Ok(entries) = std::fs::read_dir(site_packages) else {
        return Variant::Unknown;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".dist-info").map(str::to_string))
        .collect();
    names.sort();
    let find = |prefix: &str| {
        names
            .iter()
            .find_map(|n| Some((n.strip_prefix(prefix)?, n)))
            .map(|(version, n)| format!("{} {version}", n[..prefix.len() - 1].replace('_', "-")))
    };
    if let Some(v) = find("mlx_cuda_13-").or_else(|| find("mlx_cuda_12-")) {
        Variant::Cuda(v)
    } else if let Some(v) = find("mlx_metal-") {
        Variant::Metal(v)
    } else if let Some(v) = find("mlx_cpu-") {
        Variant::Cpu(v)
    } else {
        Variant::Unknown
    }
}

/// The version of a wheel in site-packages ("nvidia_cuda_runtime" -> "13.5.37").
pub fn wheel_version(site_packages: &Path, dist: &str) -> Option<String> {
    std::fs::read_dir(site_packages)
        .ok()?
        .flatten()
        .find_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(dist)?.strip_prefix('-')?;
            rest.strip_suffix(".dist-info").map(str::to_string)
        })
}

/// The libraries `ldd` could not resolve ("libcublas.so.13 => not found").
pub fn unresolved(ldd_output: &str) -> Vec<String> {
    ldd_output
        .lines()
        .filter_map(|l| l.trim().strip_suffix("=> not found"))
        .map(|lib| lib.trim().to_string())
        .collect()
}

/// Whether libmlx links a CUDA library at all (an MLX_DIR build).
fn links_cuda(ldd_output: &str) -> bool {
    ["libcudart", "libcublas", "libcuda.so"]
        .iter()
        .any(|l| ldd_output.contains(l))
}

/// The `site-packages/nvidia/*/lib` directories present ("nvidia/cublas/lib").
fn nvidia_lib_dirs(site_packages: Option<&Path>) -> Vec<String> {
    let Some(nvidia) = site_packages.map(|s| s.join("nvidia")) else {
        return Vec::new();
    };
    let mut dirs: Vec<String> = std::fs::read_dir(&nvidia)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("lib").is_dir())
        .map(|e| format!("nvidia/{}/lib", e.file_name().to_string_lossy()))
        .collect();
    dirs.sort();
    dirs
}

/// Everything a GPU run lacks here, all at once.
pub fn diagnose(p: &Probe) -> Diagnosis {
    let shown = |s: &Option<PathBuf>| {
        s.as_ref()
            .map_or("MLX_DIR".to_string(), |s| s.display().to_string())
    };
    let variant = p.site_packages.as_deref().map_or(Variant::Unknown, variant);
    let mut d = Diagnosis {
        driver_version: None,
        variant,
        missing: Vec::new(),
    };
    match p.os.as_str() {
        "linux" => linux(p, &mut d, &shown(&p.site_packages)),
        "macos" if !matches!(d.variant, Variant::Metal(_) | Variant::Unknown) => {
            d.missing.push(Missing::MetalMlx {
                site_packages: shown(&p.site_packages),
            })
        }
        "macos" => {}
        other => d.missing.push(Missing::Os(other.to_string())),
    }
    if p.libmlx.is_none() {
        d.missing.push(Missing::Mlx);
    }
    d
}

fn linux(p: &Probe, d: &mut Diagnosis, site_packages: &str) {
    let proc_text = std::fs::read_to_string(&p.proc_version).ok();
    d.driver_version = proc_text.as_deref().and_then(parse_driver_version);
    if let Err(why) = (p.load_libcuda)() {
        if proc_text.is_none() {
            d.missing.push(Missing::Driver {
                proc_file: p.proc_version.clone(),
                libcuda: why,
            });
        } else {
            // The kernel module is there; its user-space library is not.
            d.missing.push(Missing::CudaLibraries {
                libs: vec![format!("libcuda.so.1 (the driver's own library: {why})")],
                libmlx: p.libmlx.clone().unwrap_or_default(),
                looked: Vec::new(),
            });
        }
    }
    let Some(libmlx) = &p.libmlx else { return };
    let ldd = (p.ldd)(libmlx).unwrap_or_default();
    if let Variant::Cpu(package) = &d.variant {
        d.missing.push(Missing::CpuOnlyMlx {
            package: package.clone(),
            site_packages: site_packages.to_string(),
        });
        return;
    }
    if d.variant == Variant::Unknown && !ldd.is_empty() && !links_cuda(&ldd) {
        d.missing.push(Missing::CpuOnlyMlx {
            package: format!("a libmlx without CUDA ({})", libmlx.display()),
            site_packages: site_packages.to_string(),
        });
        return;
    }
    // libcuda's absence is the driver's item above, not a CUDA library's.
    let libs: Vec<String> = unresolved(&ldd)
        .into_iter()
        .filter(|l| !l.starts_with("libcuda.so"))
        .collect();
    if !libs.is_empty() {
        d.missing.push(Missing::CudaLibraries {
            libs,
            libmlx: libmlx.clone(),
            looked: nvidia_lib_dirs(p.site_packages.as_deref()),
        });
    }
}

/// The error for a diagnosis with something missing.
pub fn explain(d: &Diagnosis) -> String {
    let mut text = String::from("--device gpu: this machine cannot run MLX on a GPU; missing:\n");
    for m in &d.missing {
        text.push_str(&format!("  - {m}\n"));
    }
    text.push_str(&format!(
        "How to install MLX's CUDA build: {HOW_TO}. --device gpu never falls back to the CPU."
    ));
    text
}

#[cfg(test)]
#[path = "gpu_preflight_tests.rs"]
mod tests;
