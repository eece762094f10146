use super::*;
use crate::baseline::{Baseline, BaselineBackend};
use crate::stats::bootstrap::SplitMix64;
use std::collections::BTreeMap;

/// Per-rep values around `center` with +-`amp` uniform noise.
fn noisy_reps(center: f64, n: usize, seed: u64, amp: f64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            center
                * (1.0 + amp * (2.0 * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) - 1.0))
        })
        .collect()
}

/// Per-rep values around `center` with +-1% noise: intervals narrow enough
/// to decide against a 3% threshold.
fn reps(center: f64, n: usize, seed: u64) -> Vec<f64> {
    noisy_reps(center, n, seed, 0.01)
}

fn backend(name: &str, overhead: f64, seed: u64) -> BaselineBackend {
    let series = |v: Vec<f64>| BTreeMap::from([("decode_ns".to_string(), v)]);
    BaselineBackend {
        name: name.into(),
        status: BackendStatus::Ok,
        samples: series(reps(1e8 * overhead, 10, seed)),
        overhead_samples: if name == "native-cpp" {
            BTreeMap::new()
        } else {
            series(reps(overhead, 10, seed + 100))
        },
        overhead_vs_native: BTreeMap::new(),
        decode_cv: None,
        tokens_per_rep: vec![8; 10],
        token_ids: vec![1, 2, 3, 4, 5, 6, 7, 8],
        crossings_per_token: BTreeMap::from([("rust_to_c_calls".to_string(), 1.0)]),
        peak_rss_bytes: Some(100 << 20),
    }
}

fn run(name: &str, ffi_overhead: f64, seed: u64) -> Baseline {
    let json = serde_json::json!({
        "name": "s", "file": "f", "sha256": "h", "description": "", "kind": "generate",
        "model": {"preset": "tiny"}, "dtype": "float32", "prompt_tokens": 4, "max_new_tokens": 8,
        "temperature": 0.0, "top_p": 1.0, "seed": 0, "warmup": 0, "repetitions": 10,
        "timeout_s": 1.0, "detokenize": false});
    let environment = crate::Environment {
        cpu_model: Some("cpu".into()),
        cores: Some(2),
        ram_bytes: Some(1 << 34),
        model_config_sha256: Some("abc".into()),
        boot_id: Some("boot-1".into()),
        ..Default::default()
    };
    Baseline {
        baseline_format: crate::baseline::BASELINE_FORMAT,
        name: name.into(),
        source_run_id: name.into(),
        results_schema_version: 1,
        status: Some(crate::results::RunStatus::Complete),
        scenario: serde_json::from_value(json).unwrap(),
        environment,
        injected_slowdowns: BTreeMap::new(),
        profiling: None,
        noisy: false,
        backends: vec![
            backend("ffi-token", ffi_overhead, seed),
            backend("native-cpp", 1.0, seed + 1),
        ],
        design: None,
    }
}

fn verdict_of(r: &GateReport, backend: &str, metric: &str) -> Verdict {
    r.checks
        .iter()
        .find(|c| c.backend == backend && c.metric == metric)
        .map(|c| c.verdict)
        .unwrap()
}

#[test]
fn same_distribution_passes() {
    let r = compare(
        &run("base", 1.02, 1),
        &run("cur", 1.02, 7),
        &GateConfig::default(),
    )
    .unwrap();
    assert_eq!(r.exit_code(), EXIT_PASS, "{}", r.render_text());
}

#[test]
fn twenty_percent_overhead_growth_is_a_regression() {
    let r = compare(
        &run("base", 1.02, 1),
        &run("cur", 1.02 * 1.2, 7),
        &GateConfig::default(),
    )
    .unwrap();
    assert_eq!(
        verdict_of(&r, "ffi-token", "overhead_vs_native.decode_ns"),
        Verdict::Regression
    );
    assert_eq!(r.exit_code(), EXIT_REGRESSION);
    assert!(r.render_markdown().contains("REGRESSION"));
}

#[test]
fn absolute_times_from_another_machine_are_informational() {
    let base = run("base", 1.0, 1);
    let mut cur = run("cur", 1.0, 7);
    cur.environment.cpu_model = Some("other cpu".into());
    for b in &mut cur.backends {
        for v in b.samples.values_mut() {
            v.iter_mut().for_each(|x| *x *= 2.0); // a slower machine, same overhead
        }
        b.peak_rss_bytes = Some(300 << 20);
    }
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert_eq!(
        verdict_of(&r, "native-cpp", "absolute.decode_ns"),
        Verdict::Info
    );
    assert_eq!(verdict_of(&r, "native-cpp", "peak_rss"), Verdict::Info);
    assert_eq!(r.exit_code(), EXIT_PASS, "{}", r.render_text());
    // On the same machine the same doubling is a regression.
    cur.environment.cpu_model = Some("cpu".into());
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert_eq!(
        verdict_of(&r, "native-cpp", "absolute.decode_ns"),
        Verdict::Regression
    );
    assert_eq!(
        verdict_of(&r, "native-cpp", "peak_rss"),
        Verdict::Regression
    );
    // The same hardware after a reboot (or a fresh CI VM) may be another host.
    cur.environment.boot_id = Some("boot-2".into());
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert_eq!(
        verdict_of(&r, "native-cpp", "absolute.decode_ns"),
        Verdict::Info
    );
}

#[test]
fn interval_straddling_the_threshold_is_inconclusive_not_passed() {
    let base = run("base", 1.0, 1);
    let mut cur = run("cur", 1.0, 7);
    // +2% with +-6% noise: the interval reaches both sides of +3%.
    let wide = noisy_reps(1.02, 10, 11, 0.06);
    cur.backends[0]
        .overhead_samples
        .insert("decode_ns".into(), wide);
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    let check = r
        .checks
        .iter()
        .find(|c| c.backend == "ffi-token" && c.metric == "overhead_vs_native.decode_ns")
        .unwrap();
    let ci = check.ratio.unwrap();
    assert!(ci.low < 1.03 && ci.high > 1.03, "{ci:?}");
    assert_eq!(check.verdict, Verdict::Inconclusive, "{}", check.detail);
    assert!(check.detail.contains("cannot tell"), "{}", check.detail);
    assert_eq!(r.exit_code(), EXIT_INCONCLUSIVE);
}

#[test]
fn noisy_current_run_is_inconclusive_not_passed() {
    let base = run("base", 1.0, 1);
    let mut cur = run("cur", 1.0, 7);
    let ffi = &mut cur.backends[0];
    // Every other rep is 80% off: CV 30%, far above the 20% limit.
    let noisy: Vec<f64> = (0..10)
        .map(|i| if i % 2 == 0 { 1.0 } else { 1.8 })
        .collect();
    ffi.overhead_samples.insert("decode_ns".into(), noisy);
    let r = compare(
        &base,
        &cur,
        &GateConfig {
            threshold: 0.5,
            ..GateConfig::default()
        },
    )
    .unwrap();
    assert_eq!(
        verdict_of(&r, "ffi-token", "overhead_vs_native.decode_ns"),
        Verdict::Inconclusive
    );
    assert_eq!(r.exit_code(), EXIT_INCONCLUSIVE);
}

#[test]
fn exact_quantities_fail_on_any_change() {
    let mut base = run("base", 1.0, 1);
    let mut cur = run("cur", 1.0, 1);
    cur.backends[0].token_ids[3] = 99;
    cur.backends[1]
        .crossings_per_token
        .insert("rust_to_c_calls".into(), 2.0);
    cur.backends[1].tokens_per_rep[4] = 7;
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert_eq!(
        verdict_of(&r, "ffi-token", "token_ids"),
        Verdict::Regression
    );
    assert_eq!(
        verdict_of(&r, "native-cpp", "crossings.rust_to_c_calls"),
        Verdict::Regression
    );
    assert_eq!(verdict_of(&r, "native-cpp", "tokens"), Verdict::Regression);
    assert_eq!(verdict_of(&r, "native-cpp", "token_ids"), Verdict::Pass);
    // Another BLAS core may round a near-tie differently: ids are then shown, not gated.
    base.environment.blas = Some("LD_PRELOAD=/b.so (OpenBLAS core SkylakeX)".into());
    cur.environment.blas = Some("LD_PRELOAD=/b.so (OpenBLAS core Haswell)".into());
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert_eq!(verdict_of(&r, "ffi-token", "token_ids"), Verdict::Info);
    assert_eq!(
        verdict_of(&r, "native-cpp", "crossings.rust_to_c_calls"),
        Verdict::Regression
    );
}

#[test]
fn incomparable_runs_are_errors_naming_the_difference() {
    let base = run("base", 1.0, 1);
    let mut cur = run("cur", 1.0, 1);
    cur.scenario.name = "gen100".into();
    let e = compare(&base, &cur, &GateConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("scenario") && e.contains("gen100"), "{e}");
    let mut injected = run("base", 1.0, 1);
    injected.injected_slowdowns.insert("ffi-token".into(), 5.0);
    assert!(matches!(
        compare(&injected, &base, &GateConfig::default()),
        Err(GateError::InjectedBaseline(_))
    ));
}

#[test]
fn missing_backend_is_a_regression() {
    let base = run("base", 1.0, 1);
    let mut cur = run("cur", 1.0, 1);
    cur.backends[0].status = BackendStatus::Failed;
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert_eq!(verdict_of(&r, "ffi-token", "status"), Verdict::Regression);
}

#[test]
fn verdicts_are_reproducible() {
    let (a, b) = (run("base", 1.0, 1), run("cur", 1.03, 9));
    let x = compare(&a, &b, &GateConfig::default())
        .unwrap()
        .render_text();
    let y = compare(&a, &b, &GateConfig::default())
        .unwrap()
        .render_text();
    assert_eq!(x, y);
}

#[test]
fn a_change_of_run_design_is_noted() {
    use crate::design::{Residency, RunDesign};
    let design = |residency| RunDesign {
        residency,
        ..Default::default()
    };
    let (mut base, mut cur) = (run("base", 1.0, 1), run("cur", 1.0, 7));
    let has_note = |b: &Baseline, c: &Baseline| {
        let r = compare(b, c, &GateConfig::default()).unwrap();
        r.notes.iter().any(|n| n.starts_with("run design differs"))
    };
    assert!(!has_note(&base, &cur), "no design recorded on either side");
    base.design = Some(design(Residency::All));
    cur.design = Some(design(Residency::One));
    assert!(has_note(&base, &cur), "residency all vs one");
    base.design = Some(design(Residency::One));
    assert!(!has_note(&base, &cur));
    base.environment.blas = Some("LD_PRELOAD=/b.so".into());
    cur.environment.blas = Some("LD_PRELOAD=/b.so, OPENBLAS_THREAD_TIMEOUT=4 (sleep)".into());
    assert!(has_note(&base, &cur), "BLAS thread wait changed");
}

/// The header names the interval that actually judged the timings (it once
/// named the bootstrap while the rank shift ran).
#[test]
fn header_names_the_method_that_ran() {
    let (base, cur) = (run("base", 1.02, 1), run("cur", 1.02, 7));
    let rank = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert!(
        rank.render_text().contains("rank-shift"),
        "{}",
        rank.render_text()
    );
    let boot = GateConfig {
        method: Method::MedianBootstrap,
        ..GateConfig::default()
    };
    let boot = compare(&base, &cur, &boot).unwrap();
    assert!(
        boot.render_text().contains("bootstrap interval"),
        "{}",
        boot.render_text()
    );
    assert!(!boot.render_text().contains("rank-shift"));
}

#[test]
fn nothing_to_judge_is_an_error_not_a_pass() {
    let mut base = run("base", 1.02, 1);
    for b in &mut base.backends {
        b.status = BackendStatus::Failed;
    }
    let err = compare(&base, &run("cur", 1.02, 7), &GateConfig::default()).unwrap_err();
    assert!(matches!(err, GateError::NothingToJudge { .. }), "{err}");
    assert!(
        err.to_string().contains("no backend with status ok"),
        "{err}"
    );
}

#[test]
fn an_unfinished_run_is_never_judged() {
    use crate::results::RunStatus;
    for status in [RunStatus::Running, RunStatus::Incomplete] {
        let mut cur = run("cur", 1.02, 7);
        cur.status = Some(status);
        let err = compare(&run("base", 1.02, 1), &cur, &GateConfig::default()).unwrap_err();
        assert!(matches!(err, GateError::NotComplete { .. }), "{err}");
        assert!(err.to_string().contains(status.as_str()), "{err}");
        let err = compare(&cur, &run("base", 1.02, 1), &GateConfig::default()).unwrap_err();
        assert!(err.to_string().starts_with("baseline run cur"), "{err}");
    }
}

#[test]
fn an_impossible_sample_is_an_error_not_info() {
    for bad in [0.0, -5.0, f64::NAN, f64::INFINITY] {
        let mut cur = run("cur", 1.02, 7);
        cur.backends[0].samples.get_mut("decode_ns").unwrap()[2] = bad;
        let err = compare(&run("base", 1.02, 1), &cur, &GateConfig::default()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, GateError::BadSample { rep: 2, .. }), "{text}");
        assert!(
            text.contains("current run cur: ffi-token decode_ns"),
            "{text}"
        );
    }
}

#[test]
fn an_empty_sample_is_inconclusive_not_info() {
    let mut cur = run("cur", 1.02, 7);
    cur.backends[0]
        .overhead_samples
        .insert("decode_ns".into(), Vec::new());
    let r = compare(&run("base", 1.02, 1), &cur, &GateConfig::default()).unwrap();
    assert_eq!(
        verdict_of(&r, "ffi-token", "overhead_vs_native.decode_ns"),
        Verdict::Inconclusive
    );
}

#[test]
fn non_finite_or_out_of_range_options_are_errors() {
    type Set = fn(&mut GateConfig);
    let cases: [(&str, Set); 5] = [
        ("cv_limit", |c| c.cv_limit = f64::NAN),
        ("cv_limit", |c| c.cv_limit = 0.0),
        ("threshold", |c| c.threshold = f64::INFINITY),
        ("memory_tolerance", |c| c.memory_tolerance = f64::NAN),
        ("confidence", |c| c.confidence = 1.0),
    ];
    for (field, set) in cases {
        let mut cfg = GateConfig::default();
        set(&mut cfg);
        let err = compare(&run("base", 1.02, 1), &run("cur", 1.02, 7), &cfg).unwrap_err();
        assert!(
            matches!(err, GateError::Config { field: f, .. } if f == field),
            "{field}: {err}"
        );
    }
}

/// Another core count, MLX version, BLAS library or device used to be judged
/// as if nothing had changed: now an error naming every change, unless
/// allowed, and then a loud note with absolute times informational.
#[test]
fn a_changed_setup_is_refused_unless_allowed_and_then_noted() {
    let base = run("base", 1.0, 1);
    type Edit = fn(&mut crate::Environment);
    let edits: [(&str, Edit); 4] = [
        ("cores: 2 (baseline) vs 4 (current)", |e| e.cores = Some(4)),
        (
            "MLX version: unrecorded (baseline) vs 0.33.0 (current)",
            |e| e.mlx_version = Some("0.33.0".into()),
        ),
        (
            "BLAS library: unrecorded (baseline) vs LD_PRELOAD=/o.so",
            |e| e.blas = Some("LD_PRELOAD=/o.so".into()),
        ),
        ("device: unrecorded (baseline) vs gpu (current)", |e| {
            e.device = Some("gpu".into())
        }),
    ];
    let allowed = GateConfig {
        allow_environment_change: true,
        same_machine: Some(true),
        ..GateConfig::default()
    };
    for (named, edit) in edits {
        let mut cur = run("cur", 1.0, 7);
        edit(&mut cur.environment);
        let e = compare(&base, &cur, &GateConfig::default()).unwrap_err();
        assert!(matches!(e, GateError::EnvironmentChanged { .. }), "{e}");
        let e = e.to_string();
        assert!(
            e.contains(named) && e.contains("--allow-environment-change"),
            "{e}"
        );
        let r = compare(&base, &cur, &allowed).unwrap();
        assert!(
            !r.same_machine,
            "absolute times informational after {named}"
        );
        let note = r
            .notes
            .iter()
            .find(|n| n.starts_with("ENVIRONMENT CHANGED"));
        assert!(note.is_some_and(|n| n.contains(named)), "{:?}", r.notes);
        assert_eq!(
            verdict_of(&r, "ffi-token", "absolute.decode_ns"),
            Verdict::Info
        );
        assert_eq!(
            verdict_of(&r, "ffi-token", "overhead_vs_native.decode_ns"),
            Verdict::Pass
        );
        assert!(r.render_markdown().contains("**ENVIRONMENT CHANGED"));
    }
}

/// Another OpenBLAS core (same library, another CPU: the CI case) and
/// another CPU model are judged, with a note naming each.
#[test]
fn another_openblas_core_or_cpu_is_judged_with_a_note_naming_it() {
    let (mut base, mut cur) = (run("base", 1.0, 1), run("cur", 1.0, 7));
    base.environment.blas = Some("LD_PRELOAD=/b.so (OpenBLAS core SkylakeX)".into());
    cur.environment.blas = Some("LD_PRELOAD=/b.so (OpenBLAS core Haswell)".into());
    cur.environment.cpu_model = Some("AMD EPYC".into());
    let r = compare(&base, &cur, &GateConfig::default()).unwrap();
    assert!(!r.same_machine);
    let text = r.render_text();
    assert!(
        text.contains(
            "NOTE: setup differs (OpenBLAS core: SkylakeX (baseline) vs Haswell (current))"
        ),
        "{text}"
    );
    assert!(text.contains("cpu name: cpu vs AMD EPYC"), "{text}");
    assert_eq!(r.exit_code(), EXIT_PASS, "{text}");
}
