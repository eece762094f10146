//! build-support/mlx-rs/ensure-venv is this crate's bootstrap in shell, for
//! mlx-sys's CMake build, which can run before any crossbench build script:
//! it must serialise on the same lock and leave a ready environment alone.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ensure_venv() -> PathBuf {
    repo_root().join("build-support/mlx-rs/ensure-venv")
}

#[test]
fn the_shell_twin_takes_the_bootstraps_lock() {
    let rust = std::fs::read_to_string(repo_root().join("crates/mlx-locate/src/lib.rs")).unwrap();
    let shell = std::fs::read_to_string(ensure_venv()).unwrap();
    assert!(rust.contains(r#"project_root.join(".cache")"#) && rust.contains(r#""venv.lock""#));
    assert!(
        shell.contains(r#""$root/.cache/venv.lock""#),
        "ensure-venv locks elsewhere"
    );
}

#[test]
fn a_ready_environment_is_printed_and_left_alone() {
    let venv = std::env::temp_dir().join(format!("ensure-venv-test-{}", std::process::id()));
    let header = venv.join("lib/python3.11/site-packages/mlx/include/mlx");
    std::fs::create_dir_all(&header).unwrap();
    std::fs::write(header.join("mlx.h"), "").unwrap();
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    let cmake = venv.join("bin/cmake");
    std::fs::write(&cmake, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cmake, std::fs::Permissions::from_mode(0o755)).unwrap();
    // No Python anywhere: any attempt to create or install would fail.
    let out = Command::new(ensure_venv())
        .arg("cmake")
        .env("CROSSBENCH_VENV", &venv)
        .env("PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    std::fs::remove_dir_all(&venv).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        venv.to_str().unwrap()
    );
    assert_eq!(stderr, "", "nothing to do, nothing said");
}
