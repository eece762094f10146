//! `crossbench bundle` end to end, without wheels (the wheels' own install is
//! .ci/run's "bundle with wheels" step): bundle into a temporary directory,
//! move it, run its install.sh over this checkout's environment, then run the
//! mock scenario and the tiny model over native-cpp, ffi-token,
//! python-subprocess and go-cgo-token from the moved bundle, with the source
//! checkout made unreachable (CROSSBENCH_NO_SOURCE_FALLBACK): any path still
//! pointing into the checkout fails the test.

mod common;

use common::{crossbench_cmd, only_results, root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ok(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A command with the source checkout out of reach: no home or cache
/// override, no source fallback, started outside the checkout. The Python
/// environment is this checkout's (the bundle was made without wheels).
fn unreachable_checkout(program: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd)
        .env_remove("CROSSBENCH_HOME")
        .env_remove("CROSSBENCH_ROOT")
        .env_remove("CROSSBENCH_CACHE")
        .env("CROSSBENCH_NO_SOURCE_FALLBACK", "1")
        .env("CROSSBENCH_VENV", root().join(".venv"));
    cmd
}

/// Every ELF file of bin/ and lib/ finds its libraries relative to itself only.
fn assert_relative_runpaths(bundle: &Path) {
    for dir in ["bin", "lib"] {
        for entry in std::fs::read_dir(bundle.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_symlink() {
                continue; // lib/mlx, lib/openblas: install.sh's links
            }
            let Ok(out) = Command::new("readelf").arg("-d").arg(&path).output() else {
                return; // no binutils here: the bench runs below still check
            };
            let text = String::from_utf8_lossy(&out.stdout);
            for line in text
                .lines()
                .filter(|l| l.contains("RUNPATH") || l.contains("RPATH"))
            {
                let paths = line.rsplit('[').next().unwrap_or("");
                assert!(
                    paths.split(':').all(|p| p.starts_with("$ORIGIN")),
                    "{} keeps an absolute RUNPATH: {line}",
                    path.display()
                );
            }
        }
    }
}

/// `crossbench bundle --no-wheels` into `base/made`, moved to a path with a space.
fn make_and_move(base: &Path) -> PathBuf {
    let made = base.join("made");
    let made_arg = made.to_str().unwrap();
    let out = crossbench_cmd()
        .args(["bundle", "--no-wheels", "--out", made_arg])
        .output();
    ok("crossbench bundle", out.unwrap());
    let bundle = base.join("moved elsewhere");
    std::fs::rename(&made, &bundle).unwrap();
    bundle
}

/// The tiny model over four backends (every kind of worker) from the bundle.
fn run_tiny(bundle: &Path, cwd: &Path) {
    let out = cwd.join("out-tiny");
    let backends = "native-cpp,ffi-token,python-subprocess,go-cgo-token";
    let tiny = unreachable_checkout(&bundle.join("bin/crossbench"), cwd)
        .args([
            "bench",
            "--scenario",
            "gen100",
            "--preset",
            "tiny",
            "--reps",
            "1",
        ])
        .args([
            "--warmup",
            "0",
            "--backends",
            backends,
            "--no-progress",
            "--out",
        ])
        .arg(&out)
        .output();
    ok("bench --preset tiny from the bundle", tiny.unwrap());
    let r = only_results(&out);
    assert_eq!(r["status"], "complete");
    assert_eq!(r["agreement"]["all_match"], true, "{}", r["agreement"]);
    assert_eq!(r["backends"].as_array().unwrap().len(), 4);
    // The model was made on first use inside the bundle, not in the checkout's cache.
    let model = r["environment"]["model_dir"].as_str().unwrap();
    assert!(Path::new(model).starts_with(bundle), "model in {model}");
    let go = r["environment"]["extra"]["go_version"]
        .as_str()
        .unwrap_or("");
    assert!(
        go.starts_with("go1."),
        "Go version from the manifest: {go:?}"
    );
}

#[test]
fn a_moved_bundle_runs_without_the_checkout() {
    let t = tempfile::tempdir().unwrap();
    let bundle = make_and_move(t.path());
    assert_relative_runpaths(&bundle);

    let install = unreachable_checkout(&bundle.join("install.sh"), t.path()).output();
    ok("install.sh", install.unwrap());
    assert!(bundle.join("lib/mlx/libmlx.so").is_file());

    let out = t.path().join("out-mock");
    let mock = unreachable_checkout(&bundle.join("bin/crossbench"), t.path())
        .args(["bench", "--scenario", "mock", "--no-progress", "--out"])
        .arg(&out)
        .output();
    ok("bench --scenario mock from the bundle", mock.unwrap());
    assert_eq!(only_results(&out)["status"], "complete");

    run_tiny(&bundle, t.path());
}

#[test]
fn a_lone_binary_says_where_it_looked() {
    let t = tempfile::tempdir().unwrap();
    let lone = t.path().join("crossbench");
    std::fs::copy(env!("CARGO_BIN_EXE_crossbench"), &lone).unwrap();
    let out = unreachable_checkout(&lone, t.path())
        .args(["bench", "--list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot find crossbench's home"), "{err}");
    assert!(err.contains("CROSSBENCH_NO_SOURCE_FALLBACK"), "{err}");
    assert!(
        err.contains(&t.path().display().to_string()),
        "where it looked: {err}"
    );
}
