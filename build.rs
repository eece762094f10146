//! Root build script: makes the crossbench binary, its tests and benches find
//! libmlx at run time (rpath from the shim's `links` metadata; in a bundle,
//! relative to the binary), and records the
//! git commit and rustc version for the results' environment metadata.

use std::process::Command;

fn main() {
    if let Ok(dir) = std::env::var("DEP_CROSSBENCH_SHIM_MLX_LIB_DIR") {
        // First the bundle's place (bin/../lib/mlx, linked by its install.sh);
        // `crossbench bundle` cuts the RUNPATH before the absolute entry.
        println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../lib/mlx");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    let commit = command_output("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    let commit = if dirty && !commit.is_empty() {
        format!("{commit}-dirty")
    } else {
        commit
    };
    println!("cargo:rustc-env=CROSSBENCH_GIT_COMMIT={commit}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = command_output(&rustc, &["--version"]).unwrap_or_default();
    println!("cargo:rustc-env=CROSSBENCH_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
