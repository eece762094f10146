//! The fast BLAS without system packages: libcrossbench_blas.so forwards
//! every BLAS/LAPACK routine libmlx imports to PyPI's scipy-openblas32, and a
//! run with it records which BLAS and kernel it used.

mod common;

use common::{bench_cmd, crossbench_cmd, only_results};
use std::path::Path;
use std::process::Command;

fn dynamic_symbols(lib: &Path, undefined: bool) -> Vec<String> {
    let flag = if undefined {
        "--undefined-only"
    } else {
        "--defined-only"
    };
    let out = Command::new("nm")
        .args(["-D", flag])
        .arg(lib)
        .output()
        .expect("nm (binutils)");
    assert!(out.status.success(), "nm {}", lib.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

/// cblas_* and LAPACK's Fortran names (`sgetrf_`): what a BLAS must provide.
fn is_blas(sym: &str) -> bool {
    sym.starts_with("cblas_")
        || (sym.ends_with('_')
            && sym.len() >= 6
            && sym.starts_with(['s', 'd', 'c', 'z'])
            && sym[..sym.len() - 1].chars().all(|c| c.is_ascii_lowercase()))
}

fn forwarder() -> &'static Path {
    crossbench_shim::pypi_blas_path().expect(
        "this build made no libcrossbench_blas.so: scipy-openblas32 (scripts/requirements.txt) \
         is missing from the pinned environment",
    )
}

#[test]
fn the_forwarder_covers_every_blas_routine_libmlx_imports() {
    let mlx = crossbench_shim::mlx_lib_dir().join(mlx_locate::mlx_lib_file());
    let needed: Vec<String> = dynamic_symbols(&mlx, true)
        .into_iter()
        .filter(|s| is_blas(s))
        .collect();
    assert!(needed.iter().any(|s| s == "cblas_sgemm"), "{needed:?}");
    let provided = dynamic_symbols(forwarder(), false);
    let missing: Vec<&String> = needed.iter().filter(|s| !provided.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "libmlx imports these, the forwarder lacks them: {missing:?}"
    );
}

#[test]
fn a_run_on_the_pypi_openblas_records_it_and_its_kernel() {
    let core = crossbench_cmd()
        .arg("blas-core")
        .arg(forwarder())
        .output()
        .unwrap();
    let core = String::from_utf8_lossy(&core.stdout).trim().to_string();
    assert!(
        !core.is_empty(),
        "OpenBLAS reports its kernel through the forwarder"
    );
    let out = tempfile::tempdir().unwrap();
    let o = bench_cmd(out.path())
        .args([
            "--scenario",
            "gen100",
            "--preset",
            "tiny",
            "--reps",
            "1",
            "--warmup",
            "0",
        ])
        .args([
            "--backends",
            "native-cpp,ffi-batched",
            "--blas",
            "openblas-pypi",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = only_results(out.path());
    let blas = r["environment"]["blas"].as_str().unwrap();
    assert!(
        blas.contains("scipy-openblas32") && blas.contains(&core),
        "{blas}"
    );
    assert_eq!(r["agreement"]["all_match"], true);
}
