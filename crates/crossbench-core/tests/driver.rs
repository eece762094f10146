//! The driver over real mock worker processes: results, exports, atomic
//! writes, failures, timeouts and token agreement.

mod common;

use std::time::Duration;

use common::{files_under, mock, plan, with_timeout};
use crossbench_core::results::RunStatus;
use crossbench_core::{run_bench, BackendStatus, StampSource, SCHEMA_VERSION};

#[test]
fn two_mocks_run_and_every_export_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_bench(plan(
        dir.path(),
        "generate",
        12,
        3,
        vec![mock("mock-a"), mock("mock-b")],
    ))
    .unwrap();
    let r = &outcome.results;
    assert_eq!(r.status, RunStatus::Complete);
    assert_eq!(r.backends.len(), 2);
    for b in &r.backends {
        assert_eq!(b.status, BackendStatus::Ok, "{:?}", b.error);
        assert_eq!(b.reps.len(), 3);
        assert_eq!(b.warmups_done, 1);
        assert_eq!(b.stamp_source, Some(StampSource::Worker));
        for rep in &b.reps {
            assert_eq!(rep.token_ids.len(), 12);
            assert_eq!(rep.consumer_ns.len(), 12);
            assert!(rep.consumer_ns[0] >= rep.request_sent_ns);
            assert_eq!(rep.ipc.messages_out, 1);
            assert_eq!(rep.ipc.messages_in, 13, "12 tokens + done");
            assert!(rep.counters.contains_key("worker_gen_ns"));
        }
        let itl = b.summaries.get("itl_ns").expect("itl summary");
        assert_eq!(itl.count, 3 * 11);
        assert!(b.summaries.contains_key("ttft_ns") && b.histograms.contains_key("e2e_ns"));
        assert!(
            b.memory.peak_rss_bytes.unwrap_or(0) > 0,
            "wait4 gives peak RSS"
        );
        assert!(b.load_ns.is_some());
        // The load's peak RSS, apart from the run's, never above it.
        let load = b
            .memory
            .load_peak_rss_bytes
            .expect("loaded events carry the load's peak");
        assert!(load <= b.memory.worker_reported_peak_rss_bytes.unwrap());
        assert_eq!(b.exit_status.as_deref(), Some("exit status 0"));
    }
    assert!(r.agreement.applicable && r.agreement.all_match);
    assert_eq!(r.agreement.reference.as_deref(), Some("mock-a"));

    // results.json: the schema, parsable.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(outcome.out_dir.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema_version"], SCHEMA_VERSION);
    assert_eq!(json["status"], "complete");
    assert_eq!(
        json["backends"][1]["reps"][2]["token_ids"]
            .as_array()
            .unwrap()
            .len(),
        12
    );
    assert!(json["environment"]["cores"].as_u64().unwrap() >= 1);
    assert_eq!(json["scenario"]["sha256"].as_str().unwrap().len(), 64);
    // The harness's own footprint, measured in this run.
    let h = &json["harness"];
    assert!(h["record_token_ns"].as_f64().unwrap() > 0.0, "{h}");
    assert!(h["driver_peak_rss_bytes"].as_u64().unwrap() > 0, "{h}");
    assert!(h["driver_cpu_user_ns"].is_u64(), "{h}");

    // results.csv: a header and one row per backend and metric.
    let csv = std::fs::read_to_string(outcome.out_dir.join("results.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("run_id,scenario,backend,status,metric,unit,count"));
    for backend in ["mock-a", "mock-b"] {
        for metric in [
            "ttft_ns",
            "itl_ns",
            "e2e_ns",
            "peak_rss_bytes",
            "ipc_messages_in",
        ] {
            let needle = format!(",{backend},ok,{metric},");
            assert_eq!(csv.matches(&needle).count(), 1, "{needle} in\n{csv}");
        }
    }

    // summary.md: the design note's table.
    let md = std::fs::read_to_string(outcome.out_dir.join("summary.md")).unwrap();
    assert!(
        md.contains("| Implementation | Time | Memory | Crossings |"),
        "{md}"
    );
    assert!(md.contains("| mock-a |") && md.contains("ITL p99"), "{md}");
    assert!(md.contains("All greedy token ids match"), "{md}");
    assert!(md.contains("harness: driver peak RSS"), "{md}");
    assert_eq!(md, outcome.summary_markdown);

    // Atomic writes leave no temp files behind.
    let mut names: Vec<String> = files_under(dir.path().join("results").as_path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "bencher.json",
            "gab-bigger.json",
            "gab-smaller.json",
            "results.csv",
            "results.json",
            "summary.md",
            "trace.json"
        ]
    );
    check_trace_events(&outcome.out_dir.join("trace.json"), r);
    check_bencher_metric_format(&outcome.out_dir.join("bencher.json"));
    check_github_action_benchmark(&outcome.out_dir.join("gab-smaller.json"), "ns");
    check_github_action_benchmark(&outcome.out_dir.join("gab-bigger.json"), "tokens/s");
}

/// The Chrome trace-event format (JSON object form): `traceEvents` of
/// complete events ("X": name, ts and dur in µs, pid, tid) and metadata
/// ("M": process and thread names); per backend a rep span, its prefill and
/// one span per inter-token interval, properly nested on one thread.
fn check_trace_events(path: &std::path::Path, r: &crossbench_core::BenchResults) {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    let named: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["mock-a", "mock-b"]);
    for (pid, b) in r.backends.iter().enumerate() {
        let spans: Vec<&serde_json::Value> = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"] == pid as u64 + 1)
            .collect();
        for e in &spans {
            assert!(
                e["ts"].as_f64().unwrap() >= 0.0 && e["dur"].as_f64().unwrap() >= 0.0,
                "{e}"
            );
            assert!(e["name"].is_string() && e["tid"].is_u64(), "{e}");
        }
        let tokens = spans
            .iter()
            .filter(|e| e["name"].as_str().unwrap().starts_with("token "))
            .count();
        let expected: usize = b.reps.iter().map(|r| r.consumer_ns.len() - 1).sum();
        assert_eq!(tokens, expected, "{}", b.name);
        let reps = spans
            .iter()
            .filter(|e| e["name"].as_str().unwrap().starts_with("rep "))
            .count();
        assert_eq!(reps, b.reps.len());
    }
}

/// The BMF JSON schema (bencher.dev/bmf.json): benchmark -> measure ->
/// {value, lower_value?, upper_value?}, numbers; slugs of at most 64
/// characters; here also lower <= value <= upper.
fn check_bencher_metric_format(path: &std::path::Path) {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let benchmarks = doc.as_object().expect("an object of benchmarks");
    assert_eq!(benchmarks.len(), 2, "one per backend: {doc}");
    for (name, measures) in benchmarks {
        assert!(
            name.ends_with("/mock-a") || name.ends_with("/mock-b"),
            "{name}"
        );
        assert!(name.len() <= 1024);
        let measures = measures.as_object().expect("an object of measures");
        for m in [
            "e2e-time",
            "ttft",
            "itl-p50",
            "itl-p99",
            "decode-throughput",
            "peak-rss",
        ] {
            assert!(
                measures.contains_key(m),
                "{name}: {m} missing: {measures:?}"
            );
        }
        for (slug, metric) in measures {
            assert!(slug.len() <= 64 && !slug.contains(' '), "{slug}");
            let metric = metric.as_object().unwrap();
            assert!(metric
                .keys()
                .all(|k| ["value", "lower_value", "upper_value"].contains(&k.as_str())));
            let v = metric["value"].as_f64().expect("value is a number");
            if let (Some(lo), Some(hi)) = (metric.get("lower_value"), metric.get("upper_value")) {
                let (lo, hi) = (lo.as_f64().unwrap(), hi.as_f64().unwrap());
                assert!(lo <= v && v <= hi, "{name}/{slug}: {lo} {v} {hi}");
            }
        }
    }
}

/// github-action-benchmark's custom tools: an array of {name, unit, value,
/// range?, extra?} with a string name and unit and a number value.
fn check_github_action_benchmark(path: &std::path::Path, some_unit: &str) {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let entries = doc.as_array().expect("an array");
    assert!(!entries.is_empty());
    for e in entries {
        let e = e.as_object().unwrap();
        assert!(
            e.keys()
                .all(|k| ["name", "unit", "value", "range", "extra"].contains(&k.as_str())),
            "{e:?}"
        );
        assert!(
            e["name"].is_string() && e["unit"].is_string() && e["value"].is_number(),
            "{e:?}"
        );
        for k in ["range", "extra"] {
            assert!(e.get(k).map_or(true, |v| v.is_string()), "{e:?}");
        }
    }
    assert!(entries.iter().any(|e| e["unit"] == some_unit));
}

#[test]
fn a_backend_failing_mid_run_is_marked_and_others_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    // Generation 3 = the second measured rep (after 1 warmup) fails at token 4.
    let failing = mock("flaky")
        .with_env("CROSSBENCH_MOCK_FAIL_AT", "4")
        .with_env("CROSSBENCH_MOCK_FAULT_FROM", "3");
    let crashing = mock("crashy")
        .with_env("CROSSBENCH_MOCK_CRASH_AT", "2")
        .with_env("CROSSBENCH_MOCK_FAULT_FROM", "2");
    let outcome = run_bench(plan(
        dir.path(),
        "generate",
        8,
        3,
        vec![mock("good"), failing, crashing],
    ))
    .unwrap();
    let by_name = |n: &str| {
        outcome
            .results
            .backends
            .iter()
            .find(|b| b.name == n)
            .unwrap()
    };
    assert_eq!(by_name("good").status, BackendStatus::Ok);
    assert_eq!(by_name("good").reps.len(), 3);
    let flaky = by_name("flaky");
    assert_eq!(flaky.status, BackendStatus::Failed);
    assert_eq!(flaky.reps.len(), 1, "the rep before the failure is kept");
    assert!(
        flaky
            .error
            .as_deref()
            .unwrap()
            .contains("CB_ERR_MOCK_FAULT"),
        "{:?}",
        flaky.error
    );
    let crashy = by_name("crashy");
    assert_eq!(crashy.status, BackendStatus::Failed);
    assert!(crashy.reps.is_empty());
    let error = crashy.error.as_deref().unwrap();
    assert!(
        error.contains("exit status 3") && error.contains("crashing at token 2"),
        "{error}"
    );
    let md = std::fs::read_to_string(outcome.out_dir.join("summary.md")).unwrap();
    assert!(
        md.contains("flaky (failed)") && md.contains("Backends that did not finish"),
        "{md}"
    );
}

#[test]
fn a_hanging_backend_times_out_while_results_are_written_each_round() {
    let dir = tempfile::tempdir().unwrap();
    let hanging = mock("hangs")
        .with_env("CROSSBENCH_MOCK_HANG_AT", "3")
        .with_env("CROSSBENCH_MOCK_FAULT_FROM", "3");
    let plan = with_timeout(
        plan(dir.path(), "generate", 6, 3, vec![mock("good"), hanging]),
        Duration::from_secs(3),
    );
    let results_root = plan.out_root.clone();
    // Watch for a snapshot written while the hang is pending.
    let watcher = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            for file in files_under(&results_root)
                .iter()
                .filter(|f| f.ends_with("results.json"))
            {
                if let Ok(text) = std::fs::read_to_string(file) {
                    if text.contains("\"status\": \"running\"") {
                        return true;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    });
    let started = std::time::Instant::now();
    let outcome = run_bench(plan).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "timeout not enforced"
    );
    assert!(
        watcher.join().unwrap(),
        "no results.json written before the run ended"
    );
    let hangs = outcome
        .results
        .backends
        .iter()
        .find(|b| b.name == "hangs")
        .unwrap();
    assert_eq!(hangs.status, BackendStatus::TimedOut);
    assert_eq!(hangs.reps.len(), 1);
    assert!(
        hangs
            .error
            .as_deref()
            .unwrap()
            .contains("timed out after 3.0 s"),
        "{:?}",
        hangs.error
    );
    assert_eq!(hangs.exit_status.as_deref(), Some("killed by signal 9"));
    let good = &outcome.results.backends[0];
    assert_eq!((good.status, good.reps.len()), (BackendStatus::Ok, 3));
}

#[test]
fn disagreeing_backends_are_reported_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let other = mock("salted").with_env("CROSSBENCH_MOCK_SALT", "1");
    let outcome = run_bench(plan(
        dir.path(),
        "generate",
        5,
        1,
        vec![mock("plain"), other],
    ))
    .unwrap();
    let agreement = &outcome.results.agreement;
    assert!(agreement.applicable && !agreement.all_match);
    assert_eq!(agreement.reference.as_deref(), Some("plain"));
    let lines = agreement.mismatch_lines();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("TOKEN MISMATCH: salted rep 0"),
        "{}",
        lines[0]
    );
    let md = std::fs::read_to_string(outcome.out_dir.join("summary.md")).unwrap();
    assert!(
        md.contains("WARNING: token ids disagree") && md.contains("TOKEN MISMATCH"),
        "{md}"
    );
    let json = std::fs::read_to_string(outcome.out_dir.join("results.json")).unwrap();
    assert!(json.contains("\"all_match\": false"));
}

#[test]
fn load_kind_starts_a_fresh_worker_per_rep() {
    let dir = tempfile::tempdir().unwrap();
    let failing_load = mock("noload").with_env("CROSSBENCH_MOCK_FAIL_LOAD", "1");
    let outcome = run_bench(plan(
        dir.path(),
        "load",
        1,
        2,
        vec![mock("m"), failing_load],
    ))
    .unwrap();
    let m = &outcome.results.backends[0];
    assert_eq!(m.status, BackendStatus::Ok);
    assert_eq!(m.reps.len(), 2);
    assert!(m
        .reps
        .iter()
        .all(|r| r.load_ns.is_some() && r.peak_rss_bytes.is_some()));
    assert!(m.summaries.contains_key("spawn_to_loaded_ns"));
    let noload = &outcome.results.backends[1];
    assert_eq!(noload.status, BackendStatus::Failed);
    let message = noload.error.as_deref().unwrap();
    assert!(message.contains("load failed"), "{message}");
    // What the worker wrote to stderr before its error event.
    assert!(
        message.contains("mock: failing the load as configured"),
        "{message}"
    );
    assert!(!outcome.results.agreement.applicable);
}

#[test]
fn missing_worker_binary_fails_that_backend_only() {
    let dir = tempfile::tempdir().unwrap();
    let ghost = crossbench_core::MockBackend::new("ghost").with_worker_exe("/nonexistent/worker");
    let outcome = run_bench(plan(
        dir.path(),
        "generate",
        3,
        1,
        vec![mock("real"), ghost],
    ))
    .unwrap();
    assert_eq!(outcome.results.backends[0].status, BackendStatus::Ok);
    let ghost = &outcome.results.backends[1];
    assert_eq!(ghost.status, BackendStatus::Failed);
    assert!(ghost
        .error
        .as_deref()
        .unwrap()
        .contains("/nonexistent/worker"));
}

#[test]
fn unwritable_output_dir_fails_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(dir.path(), "generate", 3, 1, vec![mock("m")]);
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a dir").unwrap();
    p.out_root = blocker.join("results");
    let err = run_bench(p).unwrap_err();
    assert!(
        err.to_string().contains("not writable") && err.to_string().contains("file"),
        "{err}"
    );
}
