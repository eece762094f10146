//! `crossbench gate --against REF` end to end on the mock backend (no MLX).
//! The base build is skipped with `--base-bin` (this very binary: a clean
//! A/B of the code against itself); a full release build of a base
//! worktree takes minutes and is exercised by .ci/run's A/B step. Timing
//! verdicts are asserted only where no machine can change them: the mock
//! engine slowed 3x in the head's runs.

mod common;

use common::crossbench;
use std::path::Path;

fn gate_ab(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "gate",
        "--against",
        "HEAD",
        "--scenario",
        "mock",
        "--pairs",
        "6",
        "--reps-per-run",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    crossbench(&args)
}

/// The A/B's `--json` report.
fn gate_report(json: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

/// A rep-interleaved A/B of this binary against itself in batches of 4
/// rounds, up to 3 looks, its report to `json`.
fn looks_of_4_rounds(runs: &Path, json: &Path, extra: &[&str]) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_crossbench");
    let mut args = vec![
        "--interleave",
        "rep",
        "--rounds",
        "4",
        "--looks",
        "3",
        "--base-bin",
        bin,
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gate_ab(runs, &args)
}

#[test]
fn a_3x_slowdown_in_the_head_is_a_regression_naming_the_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_crossbench");
    let json = tmp.path().join("ab.json");
    let o = gate_ab(
        &tmp.path().join("runs"),
        &[
            "--interleave",
            "run",
            "--base-bin",
            bin,
            "--inject-shared-slowdown",
            "200",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = regression_outputs(&o);
    let line = stdout
        .lines()
        .skip_while(|l| *l != "mock:")
        .find(|l| l.contains("decode_ns") && !l.contains("overhead"))
        .unwrap_or_else(|| panic!("no mock decode check in {stdout}"));
    assert!(line.contains("REGRESSION"), "{line}");
    assert!(stdout.contains("INJECTED"), "{stdout}");
    assert!(stderr.contains("run 12/12 (base of pair 6/6)"), "{stderr}");
    // Every run kept, and the report.
    for run in ["01-base", "01-head", "02-head", "02-base", "06-base"] {
        let dir = common::only_run(&tmp.path().join("runs").join(run));
        assert!(dir.join("results.json").is_file(), "{}", dir.display());
    }
    assert!(tmp.path().join("runs/gate.txt").is_file());
    let report = gate_report(&json);
    assert_eq!(report["method"], "paired-ab");
    // The base ran clean: only the head's runs carry the injection.
    let base = common::results(&common::only_run(&tmp.path().join("runs/01-base")));
    assert!(base["injected_slowdowns"].as_object().unwrap().is_empty());
}

#[test]
fn an_unknown_ref_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let o = crossbench(&[
        "gate",
        "--against",
        "no-such-ref-xyz",
        "--scenario",
        "mock",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--against `no-such-ref-xyz`: unknown git ref"),
        "{stderr}"
    );
}

/// A stand-in base binary: a shell script.
fn fake_base(dir: &Path, script: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-base");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_base_without_the_backend_or_that_cannot_run_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let lacks = fake_base(tmp.path(), "echo backends:; echo '  other  a backend'");
    let o = gate_ab(&tmp.path().join("a"), &["--base-bin", &lacks]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has no backend mock (its backends: other)"),
        "{stderr}"
    );

    let fails = fake_base(
        tmp.path(),
        "[ \"$2\" = --list ] && { echo backends:; echo '  mock x'; exit 0; }; echo 'scenario: unknown field `kind2`' >&2; exit 1",
    );
    let o = gate_ab(
        &tmp.path().join("b"),
        &["--base-bin", &fails, "--interleave", "run"],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the base run 1 wrote no results"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown field `kind2`"),
        "log tail: {stderr}"
    );
    // Rep by rep (the default) it fails where the base writes its workers.
    let o = gate_ab(&tmp.path().join("c"), &["--base-bin", &fails]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bench --print-worker-specs failed")
            && stderr.contains("unknown field `kind2`"),
        "{stderr}"
    );
}

#[test]
fn an_odd_number_of_pairs_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_crossbench");
    let o = crossbench(&[
        "gate",
        "--against",
        "HEAD",
        "--scenario",
        "mock",
        "--pairs",
        "3",
        "--base-bin",
        bin,
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--pairs 3: must be even"), "{stderr}");
}

/// Reps default to whole balanced cycles: a scenario's 3 reps over two
/// backends (mock and its A/A twin, a cycle of 2) become 4, and the run says
/// so; the order's seed is recorded.
#[test]
fn scenario_reps_round_up_to_whole_cycles() {
    let tmp = tempfile::tempdir().unwrap();
    let mock = std::fs::read_to_string(common::root().join("scenarios/mock.toml")).unwrap();
    let scenario = tmp.path().join("three.toml");
    std::fs::write(
        &scenario,
        mock.replace("repetitions = 2", "repetitions = 3"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = common::bench_cmd(&out)
        .args(["--scenario", scenario.to_str().unwrap(), "--aa", "mock"])
        .args(["--warmup", "0", "--order-seed", "11"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("reps rounded up from the scenario's 3 to 4"),
        "{stderr}"
    );
    let r = common::results(&common::only_run(&out));
    assert_eq!(r["backends"][0]["reps"].as_array().unwrap().len(), 4);
    assert_eq!(r["design"]["order_seed"], 11);
}

/// `--interleave rep`: the base build writes its workers' commands, and one
/// bench run of the head holds them (`mock@base`) beside its own, rep by
/// rep; each round is one head / base sample. The head alone is slowed.
#[test]
fn rep_interleaving_runs_the_bases_workers_beside_the_heads_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_crossbench");
    let runs = tmp.path().join("runs");
    let o = gate_ab(
        &runs,
        &[
            "--interleave",
            "rep",
            "--rounds",
            "6",
            "--looks",
            "1",
            "--base-bin",
            bin,
            "--inject-shared-slowdown",
            "200",
        ],
    );
    let (stdout, _) = regression_outputs(&o);
    let line = stdout
        .lines()
        .find(|l| l.contains("decode_ns") && !l.contains("overhead"))
        .unwrap_or_else(|| panic!("no decode check in {stdout}"));
    assert!(
        line.contains("REGRESSION") && line.contains("6 rounds"),
        "{line}"
    );
    assert!(stdout.contains("interleaved rep by rep"), "{stdout}");
    let specs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runs.join("base-worker-specs.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(specs["specs"][0]["backend"], "mock");
    let r = common::results(&common::only_run(&runs.join("interleaved")));
    let names: Vec<&str> = r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mock", "mock@base"]);
    assert_eq!(
        r["design"]["order"], "williams, head/base pairs back to back",
        "each head worker runs next to its base twin"
    );
    let injected = r["injected_slowdowns"].as_object().unwrap();
    assert_eq!(
        injected.keys().collect::<Vec<_>>(),
        ["mock"],
        "the base's workers run clean"
    );
    assert_eq!(r["backends"][1]["reps"].as_array().unwrap().len(), 6);
}

/// `--looks`: an A/B still inconclusive after its rounds runs another batch
/// and judges all rounds so far. 4 rounds cannot give a median interval at
/// the 98.33% each of 3 looks needs (at most 87.5%), so the first look is
/// inconclusive whatever the machine does; 8 rounds can (99.2%), and the
/// head slowed 3x is then a regression: the A/B stops at look 2 of 3.
#[test]
fn an_inconclusive_look_runs_another_batch_and_stops_when_decided() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let json = tmp.path().join("ab.json");
    let o = looks_of_4_rounds(&runs, &json, &["--inject-shared-slowdown", "200"]);
    let (stdout, stderr) = regression_outputs(&o);
    assert!(
        stderr.contains("inconclusive after 4 rounds (mock decode_ns")
            && stderr.contains("): batch 2 of at most 3"),
        "{stderr}"
    );
    assert!(
        stdout.contains("look 2 of at most 3 (8 rounds so far"),
        "{stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("decode_ns") && !l.contains("overhead"))
        .unwrap_or_else(|| panic!("no decode check in {stdout}"));
    assert!(
        line.contains("REGRESSION") && line.contains("8 rounds"),
        "{line}"
    );
    for batch in ["interleaved", "interleaved-2"] {
        let r = common::results(&common::only_run(&runs.join(batch)));
        assert_eq!(
            r["backends"][1]["reps"].as_array().unwrap().len(),
            4,
            "{batch}"
        );
    }
    assert!(
        !runs.join("interleaved-3").exists(),
        "no third batch once decided"
    );
    let report = gate_report(&json);
    let confidence = report["confidence"].as_f64().unwrap();
    assert!(
        (confidence - (1.0 - 0.05 / 3.0)).abs() < 1e-9,
        "{confidence}"
    );
}

/// A later batch that cannot run loses nothing measured: the A/B ends with
/// the previous look's report (inconclusive, never a pass) and says why. The
/// second batch is made to fail by a directory where its log must go.
#[test]
fn a_later_batch_that_fails_keeps_the_previous_look_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    std::fs::create_dir_all(runs.join("interleaved-2.log")).unwrap();
    let json = tmp.path().join("ab.json");
    let o = looks_of_4_rounds(&runs, &json, &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("gate --against: batch 2 failed: creating ")
            && stderr.contains("interleaved-2.log"),
        "{stderr}"
    );
    assert!(stdout.contains("98.3% asked"), "{stdout}");
    let report = gate_report(&json);
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| {
            let n = n.as_str().unwrap();
            n.starts_with("batch 2 failed (")
                && n.ends_with("the verdict is look 1's, over the 4 rounds before it")
        }),
        "{notes:?}"
    );
    let r = common::results(&common::only_run(&runs.join("interleaved")));
    assert_eq!(r["backends"][1]["reps"].as_array().unwrap().len(), 4);
    assert!(!runs.join("interleaved-3").exists(), "no third batch");
}

/// `--looks` out of range, or too many for the asked confidence, is refused
/// before anything is built or run.
#[test]
fn impossible_looks_are_refused_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_crossbench");
    for (looks, confidence, said) in [
        ("0", "0.95", "--looks 0: must be 1 to 10"),
        ("3", "0.999", "--looks 3 with --confidence 0.999"),
    ] {
        let o = gate_ab(
            &tmp.path().join("runs"),
            &[
                "--base-bin",
                bin,
                "--looks",
                looks,
                "--confidence",
                confidence,
            ],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(said), "{stderr}");
    }
    assert!(!tmp.path().join("runs").exists(), "nothing ran");
}

/// A base that predates `bench --print-worker-specs` cannot share the head's
/// driver: the A/B says so and alternates whole runs instead.
#[test]
fn a_base_without_worker_specs_falls_back_to_whole_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_crossbench");
    let old = fake_base(
        tmp.path(),
        &format!(
            "for a in \"$@\"; do [ \"$a\" = --print-worker-specs ] && {{ echo \"error: unexpected argument '--print-worker-specs' found\" >&2; exit 2; }}; done; exec {bin} \"$@\""
        ),
    );
    let o = gate_ab(
        &tmp.path().join("runs"),
        &[
            "--interleave",
            "rep",
            "--base-bin",
            &old,
            "--inject-shared-slowdown",
            "200",
        ],
    );
    let (stdout, _) = regression_outputs(&o);
    assert!(
        stdout
            .contains("not interleaved rep by rep: the base predates `bench --print-worker-specs`"),
        "{stdout}"
    );
    assert!(stdout.contains("6 pairs of runs"), "{stdout}");
}

/// The gate's stdout and stderr, once its exit code is 3 (a regression).
fn regression_outputs(o: &std::process::Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(3), "{stdout}\n{stderr}");
    (stdout, stderr)
}
