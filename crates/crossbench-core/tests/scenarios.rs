//! Scenario files: validation errors name the file and the key; the shipped
//! scenarios all load.

mod common;

use std::path::Path;

use crossbench_core::scenario::{ModelSource, PromptSpec, ScenarioKind};
use crossbench_core::{list_scenarios, load_scenario, ScenarioError};

fn error_for(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_scenario(dir.path(), "broken", text);
    let err = load_scenario(path.to_str().unwrap(), dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("broken.toml"),
        "no file name in: {message}"
    );
    message
}

fn valid() -> String {
    common::scenario_text("generate", 10, 3, &["mock"])
}

#[test]
fn unknown_key_is_named_with_allowed_keys() {
    let text = valid().replace("warmup = 1", "warmup = 1\nwarmups = 2");
    let message = error_for(&text);
    assert!(message.contains("warmups"), "{message}");
    assert!(
        message.contains("repetitions"),
        "allowed keys missing: {message}"
    );
}

#[test]
fn zero_tokens_is_rejected_naming_the_key() {
    let message = error_for(&valid().replace("max_new_tokens = 10", "max_new_tokens = 0"));
    assert!(message.contains("generation.max_new_tokens"), "{message}");
}

#[test]
fn negative_repetitions_are_rejected_naming_the_key() {
    let message = error_for(&valid().replace("repetitions = 3", "repetitions = -2"));
    assert!(message.contains("run.repetitions"), "{message}");
    assert!(message.contains("-2"), "{message}");
}

#[test]
fn preset_and_path_together_are_rejected() {
    let message =
        error_for(&valid().replace("preset = \"small\"", "preset = \"small\"\npath = \"/m\""));
    assert!(
        message.contains("model.preset") && message.contains("model.path"),
        "{message}"
    );
}

#[test]
fn bad_enum_value_lists_the_allowed_ones() {
    let message = error_for(&valid().replace("dtype = \"float32\"", "dtype = \"int3\""));
    assert!(
        message.contains("bfloat16") && message.contains("q4"),
        "{message}"
    );
}

#[test]
fn other_range_checks() {
    let cases = [
        (
            "max_new_tokens = 10",
            "max_new_tokens = 10\ntop_p = 0",
            "generation.top_p",
        ),
        (
            "max_new_tokens = 10",
            "max_new_tokens = 10\ntemperature = -1",
            "generation.temperature",
        ),
        ("timeout_s = 20", "timeout_s = 0", "run.timeout_s"),
        ("backends = [\"mock\"]", "backends = []", "run.backends"),
        ("length = 8", "length = 8\ntext = \"hi\"", "prompt.text"),
        (
            "timeout_s = 20",
            "timeout_s = 20\nblas_threads = 0",
            "run.blas_threads",
        ),
    ];
    for (from, to, key) in cases {
        let message = error_for(&valid().replace(from, to));
        assert!(message.contains(key), "{key}: {message}");
    }
}

#[test]
fn unknown_name_lists_available_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    common::write_scenario(dir.path(), "alpha", &valid());
    let err = load_scenario("beta", dir.path()).unwrap_err();
    assert!(matches!(err, ScenarioError::NotFound { .. }));
    assert!(err.to_string().contains("alpha"), "{err}");
    let loaded = load_scenario("alpha", dir.path()).unwrap();
    assert_eq!(loaded.scenario.name, "alpha");
    assert_eq!(loaded.sha256.len(), 64);
}

#[test]
fn shipped_scenarios_all_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let listed = list_scenarios(&dir).unwrap();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "gen100",
        "cgo100",
        "load",
        "mock",
        "prefill512",
        "stream100",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    for (name, description) in &listed {
        assert!(
            !description.starts_with("(invalid"),
            "{name}: {description}"
        );
    }
    let gen100 = load_scenario("gen100", &dir).unwrap().scenario;
    assert_eq!(gen100.generation.max_new_tokens, 100);
    assert_eq!(gen100.model, ModelSource::Preset("small".into()));
    assert!(matches!(gen100.prompt, Some(PromptSpec::Text(_))));
    assert!(
        load_scenario("stream100", &dir)
            .unwrap()
            .scenario
            .detokenize
    );
    assert_eq!(
        load_scenario("load", &dir).unwrap().scenario.kind,
        ScenarioKind::Load
    );
    let prefill = load_scenario("prefill512", &dir).unwrap().scenario;
    assert_eq!(prefill.prompt, Some(PromptSpec::Length(512)));
    // ci, the gate's scenario, runs one BLAS thread per worker; gen100 the default.
    let ci = load_scenario("ci", &dir).unwrap().scenario;
    assert_eq!(ci.run.blas_threads, Some(1));
    assert_eq!(gen100.run.blas_threads, None);
}

#[test]
fn sweep_ladder_is_parsed_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let text = valid()
        + "\n[sweep]\nrungs = [{ preset = \"tiny\" }, { preset = \"small\", layers = 2 }]\n";
    let path = common::write_scenario(dir.path(), "ladder", &text);
    let s = load_scenario(path.to_str().unwrap(), dir.path())
        .unwrap()
        .scenario;
    assert_eq!(s.sweep.len(), 2);
    assert_eq!(
        (s.sweep[1].preset.as_str(), s.sweep[1].layers),
        ("small", Some(2))
    );
    assert!(load_scenario(
        common::write_scenario(dir.path(), "plain", &valid())
            .to_str()
            .unwrap(),
        dir.path()
    )
    .unwrap()
    .scenario
    .sweep
    .is_empty());
    let message =
        error_for(&(valid() + "\n[sweep]\nrungs = [{ preset = \"tiny\", layers = 0 }]\n"));
    assert!(message.contains("sweep.rungs.layers"), "{message}");
    let message = error_for(&(valid() + "\n[sweep]\nrungs = []\n"));
    assert!(message.contains("sweep.rungs"), "{message}");
}

/// Values that parse but would panic later (`Duration::from_secs_f64(1e300)`
/// used to panic inside `load_scenario`; `Instant + a year-long timeout` in
/// the driver) or allocate gigabytes (a 2^32-token prompt) are refused here,
/// naming the key.
#[test]
fn numeric_extremes_are_refused_naming_the_key() {
    let cases = [
        ("timeout_s = 20", "timeout_s = 1e300", "run.timeout_s"),
        ("timeout_s = 20", "timeout_s = inf", "run.timeout_s"),
        ("timeout_s = 20", "timeout_s = nan", "run.timeout_s"),
        ("timeout_s = 20", "timeout_s = 604801", "run.timeout_s"),
        ("length = 8", "length = 4294967295", "prompt.length"),
        ("length = 8", "length = 1048577", "prompt.length"),
        ("repetitions = 3", "repetitions = 100001", "run.repetitions"),
        ("warmup = 1", "warmup = 1001", "run.warmup"),
    ];
    for (from, to, key) in cases {
        let text = valid().replace(from, to);
        let message = std::panic::catch_unwind(|| error_for(&text))
            .unwrap_or_else(|_| panic!("{to}: panicked instead of an error naming {key}"));
        assert!(message.contains(key), "{to}: {message}");
    }
    // The bounds themselves are accepted.
    let dir = tempfile::tempdir().unwrap();
    let text = valid()
        .replace("timeout_s = 20", "timeout_s = 604800")
        .replace("length = 8", "length = 1048576");
    let path = common::write_scenario(dir.path(), "edge", &text);
    let s = load_scenario(path.to_str().unwrap(), dir.path()).unwrap();
    assert_eq!(s.scenario.run.timeout.as_secs(), 604_800);
}

/// Found by fuzzing (fuzz/fuzz_targets/scenario.rs): values that become
/// nothing when converted. Sampling values go to workers as f32, where 1e300
/// became inf and 1e-50 became 0, both refused by every worker mid-run; a
/// timeout below 1 ns became a zero Duration. Each is refused, naming the key.
#[test]
fn values_lost_in_conversion_are_refused_naming_the_key() {
    let cases = [
        (
            "max_new_tokens = 10",
            "max_new_tokens = 10\ntemperature = 1e300",
            "generation.temperature",
        ),
        (
            "max_new_tokens = 10",
            "max_new_tokens = 10\ntop_p = 1e-50",
            "generation.top_p",
        ),
        ("timeout_s = 20", "timeout_s = 1.2e-47", "run.timeout_s"),
    ];
    for (from, to, key) in cases {
        let message = error_for(&valid().replace(from, to));
        assert!(message.contains(key), "{to}: {message}");
    }
}
