//! Minimal results for unit tests of the analyses (test builds only): one
//! definition of a run and of a backend whose reps span given decode times.

use crate::results::{BackendResult, BenchResults, RepRecord};

/// A backend whose rep i spans `decode[i]` ns from its first to its last token.
pub(crate) fn backend(name: &str, decode: &[u64]) -> BackendResult {
    let mut b = BackendResult::new(name, "");
    for (index, &span) in (0..).zip(decode) {
        b.reps.push(RepRecord {
            index,
            token_ids: vec![1, 2, 3],
            consumer_ns: vec![1_000, 1_000 + span / 2, 1_000 + span],
            ..RepRecord::default()
        });
    }
    b
}

/// A complete run of a tiny generate scenario holding `backends`.
pub(crate) fn results(backends: Vec<BackendResult>) -> BenchResults {
    let json = serde_json::json!({
        "schema_version": 1, "run_id": "r", "started_at": "t", "finished_at": null,
        "status": "complete",
        "scenario": {"name": "s", "file": "f", "sha256": "h", "description": "", "kind": "generate",
            "model": {"preset": "tiny"}, "dtype": "float32", "prompt_tokens": 1, "max_new_tokens": 3,
            "temperature": 0.0, "top_p": 1.0, "seed": 0, "warmup": 0, "repetitions": 3,
            "timeout_s": 1.0, "detokenize": false},
        "environment": {}, "backends": [],
        "agreement": {"applicable": false, "all_match": true, "reference": null, "note": "", "entries": []}
    });
    let mut r: BenchResults = serde_json::from_value(json).expect("minimal results parse");
    r.backends = backends;
    r
}
