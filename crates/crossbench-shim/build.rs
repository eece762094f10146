//! Compiles the C++ shim (`shims/src`) into a static library with the `cc` crate,
//! links it against MLX's shared library, and builds the native runner executable.
//! MLX is found (or bootstrapped) by `mlx-locate`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    let shims = root.join("shims");
    for var in ["MLX_DIR", "CROSSBENCH_VENV", "CROSSBENCH_MLX_VARIANT"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed={}", shims.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("scripts/requirements.txt").display()
    );

    let mlx = mlx_locate::find_or_bootstrap(&root, &mut |line| println!("cargo:warning={line}"))
        .unwrap_or_else(|e| panic!("crossbench-shim: cannot find MLX: {e}"));
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());

    let build = compile_shim(&shims, &mlx);
    // The Go workers link this static library with cgo (src/setup/go_build.rs).
    println!("cargo:rustc-env=CROSSBENCH_SHIM_LIB_DIR={}", out.display());

    link_mlx(&mlx);

    let blas = pypi_blas::build(&root, &shims, &out, &mlx);
    println!(
        "cargo:rustc-env=CROSSBENCH_PYPI_BLAS={}",
        blas.as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );

    let runner = link_cpp_exe(&build, &shims, "runner/native_runner.cpp", &out, &mlx);
    println!(
        "cargo:rustc-env=CROSSBENCH_NATIVE_RUNNER={}",
        runner.display()
    );
    // The Python serving design loads the engine through ctypes.
    let shared = link_shared_lib(&build, &out, &mlx);
    println!("cargo:rustc-env=CROSSBENCH_SHIM_SO={}", shared.display());
    // The C ABI exercised from C++ alone (tests/native_runner.rs runs it).
    let smoke = link_cpp_exe(&build, &shims, "tests/api_smoke.cpp", &out, &mlx);
    println!("cargo:rustc-env=CROSSBENCH_API_SMOKE={}", smoke.display());
    bindings::maybe_generate(&shims.join("include/crossbench_shim.h"), &out);
}

/// The static shim library from every `shims/src/*.cpp`, warnings as errors.
fn compile_shim(shims: &Path, mlx: &mlx_locate::MlxInstall) -> cc::Build {
    let sources = cpp_files(&shims.join("src"));
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++20")
        .include(shims.join("include"))
        .flag("-isystem")
        .flag(mlx.include_dir.to_str().unwrap())
        .flag("-Wall")
        .flag("-Wextra")
        .warnings_into_errors(true)
        .opt_level(2)
        .files(&sources);
    build.compile("crossbench_shim");
    build
}

/// Links libmlx and tells dependents and tests where it is.
fn link_mlx(mlx: &mlx_locate::MlxInstall) {
    println!("cargo:rustc-link-search=native={}", mlx.lib_dir.display());
    println!("cargo:rustc-link-lib=dylib=mlx");
    // This crate's own tests and benches find libmlx at run time through the rpath;
    // dependents read it from DEP_CROSSBENCH_SHIM_MLX_LIB_DIR (see the root build.rs).
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", mlx.lib_dir.display());
    println!("cargo:mlx_lib_dir={}", mlx.lib_dir.display());
    println!(
        "cargo:rustc-env=CROSSBENCH_MLX_LIB_DIR={}",
        mlx.lib_dir.display()
    );
    if let Some(py) = &mlx.python {
        println!("cargo:rustc-env=CROSSBENCH_BUILD_PYTHON={}", py.display());
    }
}

fn cpp_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    files.sort();
    files
}

/// Links one C++ file of `shims/` against the static shim: a C++-only binary
/// (the native runner, the C ABI smoke test), named after the file.
fn link_cpp_exe(
    build: &cc::Build,
    shims: &Path,
    source: &str,
    out: &Path,
    mlx: &mlx_locate::MlxInstall,
) -> PathBuf {
    let stem = Path::new(source).file_stem().unwrap().to_string_lossy();
    let name = if stem == "native_runner" {
        "crossbench-native-runner".to_string()
    } else {
        format!("crossbench-{}", stem.replace('_', "-"))
    };
    let exe = out.join(name);
    let compiler = build.get_compiler();
    let mut cmd = Command::new(compiler.path());
    cmd.args(["-std=c++20", "-O2", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(shims.join("include"))
        .arg("-isystem")
        .arg(&mlx.include_dir)
        .arg(shims.join(source))
        .args(extra_sources(shims, source))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", out.display()))
        .arg("-lcrossbench_shim")
        .arg(format!("-L{}", mlx.lib_dir.display()))
        .arg("-lmlx")
        // A bundle's bin/ lies beside lib/mlx (its install.sh links it to the
        // wheel's libmlx): listed first, and `crossbench bundle` cuts the
        // RUNPATH before the build's absolute entry (src/cmd/bundle/runpath.rs).
        .arg("-Wl,-rpath,$ORIGIN/../lib/mlx")
        .arg(format!("-Wl,-rpath,{}", mlx.lib_dir.display()));
    let status = cmd.status().expect("cannot run the C++ compiler");
    assert!(status.success(), "building {source} failed: {cmd:?}");
    exe
}

/// `libcrossbench_shim.so`: the whole static shim as a shared library, for
/// callers that can only load one (python-subprocess's serving design, via
/// ctypes). cc compiles the objects position-independent (its default here).
fn link_shared_lib(build: &cc::Build, out: &Path, mlx: &mlx_locate::MlxInstall) -> PathBuf {
    // Its own directory: beside the .a, `-lcrossbench_shim` would pick it.
    let dir = out.join("shared");
    std::fs::create_dir_all(&dir).expect("creating OUT_DIR/shared");
    let so = dir.join("libcrossbench_shim.so");
    let mut cmd = Command::new(build.get_compiler().path());
    cmd.args(["-shared", "-o"])
        .arg(&so)
        .arg(format!("-L{}", out.display()))
        .args([
            "-Wl,--whole-archive",
            "-lcrossbench_shim",
            "-Wl,--no-whole-archive",
        ])
        .arg(format!("-L{}", mlx.lib_dir.display()))
        .arg("-lmlx")
        // In a bundle it lies in lib/, beside lib/mlx (see link_cpp_exe).
        .arg("-Wl,-rpath,$ORIGIN/mlx")
        .arg(format!("-Wl,-rpath,{}", mlx.lib_dir.display()));
    let status = cmd.status().expect("cannot run the C++ compiler");
    assert!(
        status.success(),
        "linking libcrossbench_shim.so failed: {cmd:?}"
    );
    so
}

/// The runner's other translation units (its serving client).
fn extra_sources(shims: &Path, source: &str) -> Vec<PathBuf> {
    if source != "runner/native_runner.cpp" {
        return Vec::new();
    }
    ["runner/serve_trace.cpp", "runner/serve_client.cpp"]
        .iter()
        .map(|f| shims.join(f))
        .collect()
}

#[cfg(feature = "buildtime_bindgen")]
mod bindings {
    use std::path::Path;
    /// Regenerates the bindings into OUT_DIR; the `bindings_match_header` test compares
    /// them with the checked-in `src/bindings.rs`.
    pub fn maybe_generate(header: &Path, out: &Path) {
        let text = bindgen::Builder::default()
            .header(header.to_str().unwrap())
            .allowlist_function("cb_.*")
            .allowlist_type("cb_.*")
            .allowlist_var("CB_.*")
            // Constants, not a Rust enum: a C value outside the enum must not be UB.
            .default_enum_style(bindgen::EnumVariation::ModuleConsts)
            .layout_tests(true)
            .generate()
            .expect("bindgen failed on the shim header")
            .to_string();
        std::fs::write(out.join("bindings.rs"), &text).unwrap();
        // scripts/regen-bindings.sh sets this to refresh the checked-in copy.
        if std::env::var_os("CROSSBENCH_REGEN_BINDINGS").is_some() {
            let dest = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bindings.rs");
            std::fs::write(dest, &text).unwrap();
        }
    }
}

#[cfg(not(feature = "buildtime_bindgen"))]
mod bindings {
    pub fn maybe_generate(_: &std::path::Path, _: &std::path::Path) {}
}

/// `libcrossbench_blas.so`: MLX's BLAS/LAPACK imports forwarded to PyPI's
/// scipy-openblas32 (shims/blas/forward.S), so a fast, runtime-dispatched
/// OpenBLAS needs no system package. None where the pinned environment has no
/// scipy-openblas32 and it cannot be installed, or on a platform without one.
mod pypi_blas {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    pub fn build(
        root: &Path,
        shims: &Path,
        out: &Path,
        mlx: &mlx_locate::MlxInstall,
    ) -> Option<PathBuf> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        // site-packages/mlx/lib -> site-packages/scipy_openblas32/lib
        let site = mlx.lib_dir.parent()?.parent()?;
        let lib_dir = site.join("scipy_openblas32").join("lib");
        if !lib_dir.join("libscipy_openblas.so").is_file() {
            install(root, mlx)?;
        }
        if !lib_dir.join("libscipy_openblas.so").is_file() {
            return None;
        }
        let so = out.join("libcrossbench_blas.so");
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&so)
            .arg(shims.join("blas/forward.S"))
            .arg(format!("-L{}", lib_dir.display()))
            .arg("-lscipy_openblas")
            // In a bundle: lib/openblas, linked by install.sh (see link_cpp_exe).
            .arg("-Wl,-rpath,$ORIGIN/openblas")
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
            .status()
            .ok()?;
        if !status.success() {
            println!("cargo:warning=building libcrossbench_blas.so failed; --blas openblas-pypi unavailable");
            return None;
        }
        Some(so)
    }

    /// pip-installs the pinned scipy-openblas32 into an environment made before it
    /// was part of scripts/requirements.txt.
    fn install(root: &Path, mlx: &mlx_locate::MlxInstall) -> Option<()> {
        let python = mlx.python.as_ref()?;
        let pin = mlx_locate::pinned_requirement(root, "scipy-openblas32")?;
        println!("cargo:warning=crossbench: installing {pin} (PyPI OpenBLAS, ~8 MB) into the pinned environment");
        let ok = mlx_locate::pip::install_pinned(python, root, "scipy-openblas32").is_ok();
        if !ok {
            println!("cargo:warning=pip install {pin} failed; --blas auto falls back to system OpenBLAS or the bundled BLAS");
        }
        Some(())
    }
}
