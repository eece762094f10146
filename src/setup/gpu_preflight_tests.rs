//! Every preflight message over fake machines: a fake /proc file, fake
//! site-packages trees, a fake loader and fake `ldd` output.

use super::*;
use std::fs;

const PROC: &str =
    include_str!("../../crates/crossbench-core/fixtures/nvidia-smi/proc-driver-nvidia-version.txt");

/// `ldd libmlx.so` of mlx-cuda-13 with every CUDA wheel present (the shape
/// of glibc's ldd; paths as the RUNPATH resolves them).
const LDD_OK: &str = "\tlinux-vdso.so.1 (0x00007ffd)\n\
\tlibcublas.so.13 => /sp/mlx/lib/../../nvidia/cublas/lib/libcublas.so.13 (0x1)\n\
\tlibcublasLt.so.13 => /sp/mlx/lib/../../nvidia/cublas/lib/libcublasLt.so.13 (0x2)\n\
\tlibcudnn.so.9 => /sp/mlx/lib/../../nvidia/cudnn/lib/libcudnn.so.9 (0x3)\n\
\tlibnvrtc.so.13 => /sp/mlx/lib/../../nvidia/cu13/lib/libnvrtc.so.13 (0x4)\n\
\tlibcuda.so.1 => /lib/x86_64-linux-gnu/libcuda.so.1 (0x5)\n\
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x6)\n";

/// A fake machine: `wheels` as .dist-info directories in site-packages,
/// `nvidia` as site-packages/nvidia/NAME/lib, the driver's /proc file when
/// `driver`, libcuda loadable when `driver`.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new(wheels: &[&str], nvidia: &[&str], driver: bool) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let sp = dir.path().join("site-packages");
        fs::create_dir_all(sp.join("mlx/lib")).unwrap();
        fs::write(sp.join("mlx/lib/libmlx.so"), b"\x7fELF").unwrap();
        for w in wheels {
            fs::create_dir_all(sp.join(format!("{w}.dist-info"))).unwrap();
        }
        for n in nvidia {
            fs::create_dir_all(sp.join(format!("nvidia/{n}/lib"))).unwrap();
        }
        if driver {
            fs::write(dir.path().join("version"), PROC).unwrap();
        }
        Fake { dir }
    }

    fn probe(&self, ldd: &'static str, driver: bool) -> Probe {
        let sp = self.dir.path().join("site-packages");
        Probe {
            os: "linux".into(),
            proc_version: self.dir.path().join("version"),
            libmlx: Some(sp.join("mlx/lib/libmlx.so")),
            site_packages: Some(sp),
            load_libcuda: Box::new(move || {
                if driver {
                    Ok(())
                } else {
                    Err(
                        "libcuda.so.1: cannot open shared object file: No such file or directory"
                            .into(),
                    )
                }
            }),
            ldd: Box::new(move |_| Some(ldd.to_string())),
        }
    }
}

#[test]
fn the_driver_version_is_read_from_proc() {
    assert_eq!(parse_driver_version(PROC).as_deref(), Some("580.159.04"));
    let closed = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n";
    assert_eq!(parse_driver_version(closed).as_deref(), Some("535.104.05"));
    assert_eq!(parse_driver_version("GCC version: 11.4.0"), None);
}

#[test]
fn a_cuda_machine_passes_and_reports_what_it_found() {
    let wheels = [
        "mlx-0.32.2",
        "mlx_cuda_13-0.32.2",
        "nvidia_cuda_runtime-13.5.37",
    ];
    let fake = Fake::new(&wheels, &["cublas", "cudnn", "cu13"], true);
    let d = diagnose(&fake.probe(LDD_OK, true));
    assert_eq!(d.missing, []);
    assert_eq!(d.variant, Variant::Cuda("mlx-cuda-13 0.32.2".into()));
    assert_eq!(d.driver_version.as_deref(), Some("580.159.04"));
    let sp = fake.dir.path().join("site-packages");
    assert_eq!(
        wheel_version(&sp, "nvidia_cuda_runtime").as_deref(),
        Some("13.5.37")
    );
}

#[test]
fn this_machine_no_driver_and_the_cpu_wheel_are_both_named() {
    let fake = Fake::new(&["mlx-0.32.2", "mlx_cpu-0.32.2"], &[], false);
    let d = diagnose(&fake.probe("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n", false));
    assert_eq!(d.missing.len(), 2, "{:?}", d.missing);
    let text = explain(&d);
    assert!(
        text.starts_with("--device gpu: this machine cannot run MLX on a GPU; missing:\n"),
        "{text}"
    );
    assert!(text.contains("  - NVIDIA driver: "), "{text}");
    assert!(text.contains("/version does not exist (no NVIDIA kernel module loaded) and libcuda.so.1 cannot be loaded (libcuda.so.1: cannot open shared object file"), "{text}");
    assert!(
        text.contains("holds mlx-cpu 0.32.2, the CPU-only wheel (its libmlx has no GPU backend)"),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "How to install MLX's CUDA build: {HOW_TO}. --device gpu never falls back to the CPU."
        )),
        "{text}"
    );
}

#[test]
fn missing_cuda_libraries_are_named_with_where_they_were_looked_for() {
    let ldd = "\tlibcublas.so.13 => not found\n\tlibcudnn.so.9 => not found\n\tlibnvrtc.so.13 => /sp/nvidia/cu13/lib/libnvrtc.so.13 (0x1)\n\tlibcuda.so.1 => /lib/libcuda.so.1 (0x2)\n";
    let fake = Fake::new(&["mlx_cuda_13-0.32.2"], &["cu13"], true);
    let d = diagnose(&fake.probe(ldd, true));
    assert_eq!(d.missing.len(), 1, "{:?}", d.missing);
    let line = d.missing[0].to_string();
    assert!(
        line.starts_with("CUDA libraries: libcublas.so.13, libcudnn.so.9 not found for "),
        "{line}"
    );
    assert!(line.ends_with("mlx/lib/libmlx.so (looked in its RUNPATH's site-packages/nvidia/*/lib: nvidia/cu13/lib; and the system library path)"), "{line}");
    assert_eq!(unresolved(ldd), ["libcublas.so.13", "libcudnn.so.9"]);
}

#[test]
fn a_kernel_module_without_libcuda_is_named_as_the_driver_library() {
    let fake = Fake::new(&["mlx_cuda_13-0.32.2"], &["cublas"], true);
    let d = diagnose(&fake.probe(LDD_OK, false));
    assert_eq!(d.missing.len(), 1, "{:?}", d.missing);
    let line = d.missing[0].to_string();
    assert!(
        line.contains("libcuda.so.1 (the driver's own library: libcuda.so.1: cannot open"),
        "{line}"
    );
}

#[test]
fn an_mlx_dir_build_is_judged_by_what_its_libmlx_links() {
    let fake = Fake::new(&[], &[], true);
    let mut probe = fake.probe("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n", true);
    probe.site_packages = None;
    let d = diagnose(&probe);
    assert_eq!(d.variant, Variant::Unknown);
    let line = d.missing[0].to_string();
    assert!(
        line.contains("MLX_DIR holds a libmlx without CUDA ("),
        "{line}"
    );
    let probe = Probe {
        ldd: Box::new(|_| Some(LDD_OK.into())),
        ..fake.probe("", true)
    };
    let mut probe = probe;
    probe.site_packages = None;
    assert_eq!(diagnose(&probe).missing, []);
}

#[test]
fn no_mlx_other_systems_and_macos_without_metal() {
    let fake = Fake::new(&["mlx_cpu-0.32.2"], &[], true);
    let mut probe = fake.probe(LDD_OK, true);
    probe.libmlx = None;
    assert!(diagnose(&probe).missing.contains(&Missing::Mlx));
    probe.os = "freebsd".into();
    let text = explain(&diagnose(&probe));
    assert!(text.contains("a GPU backend of MLX for freebsd"), "{text}");
    let mac = Fake::new(&["mlx_cpu-0.32.2"], &[], false);
    let mut probe = mac.probe("", false);
    probe.os = "macos".into();
    let text = explain(&diagnose(&probe));
    assert!(text.contains("holds no mlx-metal wheel"), "{text}");
    let metal = Fake::new(&["mlx-0.32.2", "mlx_metal-0.32.2"], &[], false);
    let mut probe = metal.probe("", false);
    probe.os = "macos".into();
    let d = diagnose(&probe);
    assert_eq!(
        (d.variant, d.missing),
        (Variant::Metal("mlx-metal 0.32.2".into()), vec![])
    );
}
