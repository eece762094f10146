//! `kind = "serve"` scenarios: the shipped ones load, and every mistake in
//! `[serve]` is refused naming the file and the key.

mod common;

use std::path::Path;
use std::time::Duration;

use crossbench_core::scenario::{Arrival, LengthRange, LoadPoint, ScenarioKind};
use crossbench_core::{load_scenario, Scenario};

const VALID: &str = r#"description = "s"
kind = "serve"
[model]
preset = "tiny"
dtype = "float32"
[run]
warmup = 0
repetitions = 2
timeout_s = 60
backends = ["native-cpp"]
[serve]
arrival = "closed"
concurrency = 4
requests = 16
warmup_requests = 2
max_batch = 8
prompt_len = { min = 8, max = 32 }
output_len = 24
slo = { ttft_ms = 2000, tpot_ms = 100 }
"#;

fn parse(text: &str) -> Result<Scenario, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_scenario(dir.path(), "broken", text);
    load_scenario(path.to_str().unwrap(), dir.path())
        .map(|l| l.scenario)
        .map_err(|e| e.to_string())
}

/// The error for VALID with `from` replaced by `to`: names the file and `key`.
fn refused(from: &str, to: &str, key: &str) -> String {
    assert!(VALID.contains(from), "{from}");
    let message = parse(&VALID.replacen(from, to, 1)).expect_err(to);
    assert!(message.contains("broken.toml"), "no file in: {message}");
    assert!(
        message.contains(&format!("`{key}`")),
        "{key} not named in: {message}"
    );
    message
}

#[test]
fn a_valid_serve_section_is_read_with_its_defaults() {
    let s = parse(VALID).unwrap();
    assert_eq!(s.kind, ScenarioKind::Serve);
    let p = s.serve.expect("serve params");
    assert_eq!(p.arrival, Arrival::Closed);
    assert_eq!(p.points, vec![LoadPoint::Closed { concurrency: 4 }]);
    assert!(!p.swept);
    assert_eq!(
        (p.requests, p.warmup_requests, p.trace_requests()),
        (16, 2, 18)
    );
    assert_eq!(p.prompt_len, LengthRange { min: 8, max: 32 });
    assert_eq!(p.output_len, LengthRange { min: 24, max: 24 });
    assert_eq!(
        (p.seed, p.burstiness, p.admit_timeout),
        (0, 1.0, Duration::from_secs(30))
    );
    assert_eq!(s.generation.temperature, 0.0);
    assert_eq!(s.generation.max_new_tokens, 24);
    assert!(s.prompt.is_none());
    let open = VALID.replace(
        "arrival = \"closed\"\nconcurrency = 4",
        "arrival = \"open\"\nsweep_rate = [0.5, 2.0]\nburstiness = 0.5",
    );
    let p = parse(&open).unwrap().serve.unwrap();
    assert!(p.swept && p.burstiness == 0.5);
    assert_eq!(p.points[1], LoadPoint::Open { rate_per_s: 2.0 });
}

#[test]
fn serve_mistakes_are_refused_naming_the_key() {
    refused("concurrency = 4", "concurrency = 0", "serve.concurrency");
    refused("concurrency = 4", "", "serve.concurrency");
    refused(
        "concurrency = 4",
        "concurrency = 4\nsweep_concurrency = [1, 2]",
        "serve.concurrency",
    );
    refused(
        "concurrency = 4",
        "sweep_concurrency = []",
        "serve.sweep_concurrency",
    );
    refused(
        "concurrency = 4",
        "sweep_concurrency = [2, 2]",
        "serve.sweep_concurrency",
    );
    refused(
        "concurrency = 4",
        "concurrency = 4\nrate_per_s = 2.0",
        "serve.rate_per_s",
    );
    refused(
        "concurrency = 4",
        "concurrency = 4\nburstiness = 2.0",
        "serve.burstiness",
    );
    refused(
        "arrival = \"closed\"",
        "arrival = \"open\"",
        "serve.concurrency",
    );
    refused(
        "arrival = \"closed\"\nconcurrency = 4",
        "arrival = \"open\"\nrate_per_s = -1.0",
        "serve.rate_per_s",
    );
    refused(
        "arrival = \"closed\"\nconcurrency = 4",
        "arrival = \"open\"\nrate_per_s = 1.0\nburstiness = 0.0",
        "serve.burstiness",
    );
    refused("requests = 16", "requests = 0", "serve.requests");
    refused(
        "warmup_requests = 2",
        "warmup_requests = -1",
        "serve.warmup_requests",
    );
    refused("max_batch = 8", "max_batch = 0", "serve.max_batch");
    refused(
        "prompt_len = { min = 8, max = 32 }",
        "prompt_len = { min = 33, max = 32 }",
        "serve.prompt_len",
    );
    refused("output_len = 24", "output_len = 0", "serve.output_len");
    refused("ttft_ms = 2000", "ttft_ms = 0", "serve.slo.ttft_ms");
    refused("tpot_ms = 100", "tpot_ms = nan", "serve.slo.tpot_ms");
    refused(
        "output_len = 24",
        "output_len = 24\nadmit_timeout_s = 0",
        "serve.admit_timeout_s",
    );
    refused("warmup = 0", "warmup = 1", "run.warmup");
    refused(
        "[serve]",
        "[generation]\nmax_new_tokens = 4\ntemperature = 0.7\n[serve]",
        "generation.temperature",
    );
    refused("[serve]", "[prompt]\nlength = 8\n[serve]", "prompt");
    let no_section = VALID.split("[serve]").next().unwrap().to_string();
    let message = parse(&no_section).unwrap_err();
    assert!(message.contains("`serve` is required"), "{message}");
    let message = parse(&VALID.replace("kind = \"serve\"", "kind = \"load\"")).unwrap_err();
    assert!(
        message.contains("`serve` applies to kind = \"serve\" only"),
        "{message}"
    );
    let message = parse(&VALID.replace("max_batch = 8", "max_batch = 8\nbatch = 2")).unwrap_err();
    assert!(
        message.contains("batch"),
        "unknown keys are refused: {message}"
    );
}

#[test]
fn the_shipped_serve_scenarios_load_with_every_design() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    for (name, points) in [("serve", 1), ("serve-sweep", 5), ("serve-tiny", 1)] {
        let s = load_scenario(name, &dir).unwrap().scenario;
        assert_eq!(s.kind, ScenarioKind::Serve, "{name}");
        assert_eq!(s.serve.as_ref().unwrap().points.len(), points, "{name}");
        for design in [
            "python-subprocess",
            "mlx-lm-batch",
            "ffi-batched",
            "native-cpp",
            "go-cgo-token",
            "go-cgo-stream",
        ] {
            assert!(
                s.run.backends.iter().any(|b| b == design),
                "{name} lacks {design}"
            );
        }
    }
}
