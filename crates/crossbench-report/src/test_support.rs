//! Synthetic runs for unit tests: real schema, made-up stamps.

use crossbench_core::results::{BackendResult, BenchResults, RepRecord};

/// A complete generate run: each backend (name, ms per token) with `reps`
/// reps of `tokens` tokens; rep i of every backend is slower by i% (drift
/// that paired ratios cancel).
pub fn run(backends: &[(&str, f64)], reps: u32, tokens: usize) -> BenchResults {
    let json = serde_json::json!({
        "schema_version": 1, "run_id": "20260101T000000Z-1-00000000", "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:01:00Z", "status": "complete",
        "scenario": {"name": "gen100", "file": "scenarios/gen100.toml", "sha256": "00", "description": "test run",
            "kind": "generate", "model": {"preset": "tiny"}, "dtype": "float32", "prompt_tokens": 21,
            "max_new_tokens": tokens, "temperature": 0.0, "top_p": 1.0, "seed": 0, "warmup": 0,
            "repetitions": reps, "timeout_s": 60.0, "detokenize": false},
        "environment": {"cpu_model": "Test CPU", "cores": 2, "git_commit": "abc123"},
        "backends": [],
        "agreement": {"applicable": true, "all_match": true, "reference": null, "note": "", "entries": []}
    });
    let mut r: BenchResults = serde_json::from_value(json).expect("fixture parses");
    for (name, ms) in backends {
        let mut b = BackendResult::new(name, "synthetic");
        b.ipc_per_token = *name == "python-subprocess" || *name == "native-cpp";
        for i in 0..reps {
            b.reps.push(rep(
                i,
                ms * 1e6 * (1.0 + i as f64 / 100.0),
                tokens,
                b.ipc_per_token,
            ));
        }
        b.memory.peak_rss_bytes = Some((100.0 * ms * 1e6) as u64);
        b.load_ns = Some(3_000_000_000);
        b.recompute(21);
        r.backends.push(b);
    }
    crossbench_core::overhead::annotate(&mut r);
    r
}

fn rep(index: u32, step_ns: f64, tokens: usize, producer: bool) -> RepRecord {
    let start = 1_000_000_000u64 * (index as u64 + 1);
    let first = start + (step_ns * 5.0) as u64;
    let consumer: Vec<u64> = (0..tokens)
        .map(|t| first + (step_ns * t as f64) as u64)
        .collect();
    RepRecord {
        index,
        request_sent_ns: start,
        token_ids: vec![7; tokens],
        producer_ns: producer.then(|| {
            consumer
                .iter()
                .map(|c| c - (step_ns * 0.05) as u64)
                .collect()
        }),
        consumer_ns: consumer,
        prefill_ns: (step_ns * 4.0) as u64,
        decode_ns: (step_ns * (tokens - 1) as f64) as u64,
        ..RepRecord::default()
    }
}
