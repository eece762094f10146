use super::*;

fn ci(estimate: f64, low: f64, high: f64) -> Option<Interval> {
    Some(Interval {
        estimate,
        low,
        high,
        confidence: 0.95,
        samples: 5,
    })
}

fn backend(name: &str, per_token_ms: f64, ratio: Option<Interval>) -> RungBackend {
    RungBackend {
        name: name.into(),
        status: "ok".into(),
        per_token_ns: Some(per_token_ms * 1e6),
        overhead_per_token_ns: ratio.map(|r| (r.estimate - 1.0) * per_token_ms * 1e6),
        overhead_ratio: ratio,
        noisy: false,
    }
}

fn rung(preset: &str, native_ms: Option<f64>, others: Vec<RungBackend>) -> Rung {
    let mut backends = others;
    if let Some(ms) = native_ms {
        backends.push(backend("native-cpp", ms, ci(1.0, 1.0, 1.0)));
    }
    Rung {
        preset: preset.into(),
        dtype: "float32".into(),
        layers: 2,
        hidden: 256,
        parameters: 12_000_000,
        run_id: format!("run-{preset}"),
        run_dir: format!("results/x/rungs/run-{preset}"),
        native_per_token_ns: native_ms.map(|ms| ms * 1e6),
        backends,
    }
}

/// Larger rung listed first, one rung without native-cpp, one backend failed.
fn report() -> SweepReport {
    let mut failed = backend("ffi-token", 90.0, None);
    failed.status = "failed".into();
    failed.per_token_ns = None;
    SweepReport {
        schema: SWEEP_SCHEMA.into(),
        sweep_id: "s1".into(),
        scenario: "sweep".into(),
        scenario_file: "scenarios/sweep.toml".into(),
        max_new_tokens: 32,
        reference_backend: "native-cpp".into(),
        series: "itl_median_ns".into(),
        reproduce: "cargo run --release -- sweep".into(),
        device: "cpu".into(),
        machine: "test CPU".into(),
        rungs: vec![
            rung(
                "small",
                Some(88.0),
                vec![
                    backend("python-subprocess", 90.0, ci(1.02, 0.99, 1.05)),
                    failed,
                ],
            ),
            rung(
                "tiny",
                Some(11.0),
                vec![
                    backend("python-subprocess", 12.0, ci(1.10, 1.05, 1.20)),
                    backend("ffi-token", 11.1, ci(1.01, 0.97, 1.04)),
                ],
            ),
            rung(
                "medium",
                None,
                vec![backend("python-subprocess", 300.0, None)],
            ),
        ],
    }
}

#[test]
fn series_hold_measured_rungs_in_per_token_order_as_percent() {
    let series = overhead_series(&report());
    assert_eq!(series.len(), 2, "{series:?}");
    let python = &series[0];
    assert_eq!(python.name, "python-subprocess");
    assert_eq!(
        python.points.len(),
        2,
        "the rung without native-cpp has no point"
    );
    let (x, lo, est, hi) = python.points[0];
    assert_eq!(x, 11.0);
    assert!((lo - 5.0).abs() < 1e-9 && (est - 10.0).abs() < 1e-9 && (hi - 20.0).abs() < 1e-9);
    assert_eq!(python.points[1].0, 88.0);
    // ffi-token failed on the small rung: only its tiny point remains.
    assert_eq!(series[1].points.len(), 1);
}

#[test]
fn chart_draws_one_line_per_compared_backend() {
    let svg = charts::overhead_vs_size(&overhead_series(&report())).unwrap();
    assert_eq!(charts::series_lines(&svg), 2);
    assert!(svg.contains("python-subprocess") && svg.contains("ffi-token"));
    assert!(
        !svg.contains("xmlns"),
        "inline SVG carries no namespace URL"
    );
}

#[test]
fn page_has_chart_and_a_row_per_rung_and_backend() {
    let page = render_sweep(&report()).unwrap();
    assert!(page.contains("<svg class=\"chart\""));
    assert_eq!(
        page.matches("<tr>").count(),
        1 + 7,
        "header + one row per backend"
    );
    assert!(page.contains("+10.0% [+5.0%, +20.0%] (n=5)"));
    assert!(page.contains("failed") && page.contains("reference"));
    assert!(!page.contains("http:") && !page.contains("<script"));
}

#[test]
fn page_without_any_comparable_rung_says_so() {
    let mut r = report();
    r.rungs.truncate(0);
    let page = render_sweep(&r).unwrap();
    assert!(page.contains("no chart"));
    assert!(!page.contains("<svg"));
}

#[test]
fn markdown_skips_the_reference_backend() {
    let md = markdown(&report());
    assert_eq!(md.lines().filter(|l| l.starts_with("| small")).count(), 2);
    assert!(!md.contains("| native-cpp |"));
    assert!(md.contains("failed"));
}

#[test]
fn json_round_trips() {
    let r = report();
    let text = serde_json::to_string(&r).unwrap();
    let back: SweepReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back.rungs.len(), 3);
    assert_eq!(
        back.rungs[1].backends[0].overhead_ratio,
        r.rungs[1].backends[0].overhead_ratio
    );
}

#[test]
fn absurd_times_leave_the_chart_out_with_a_note_and_finish() {
    let mut r = report();
    r.rungs[0].native_per_token_ns = Some(1e-300);
    r.rungs[1].native_per_token_ns = Some(1e308);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(render_sweep(&r).map_err(|e| e.to_string())));
    let page = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the sweep page finished within 60 s")
        .unwrap();
    assert!(
        page.contains("Chart left out: per-token time (ms) holds"),
        "{page}"
    );
}

#[test]
fn hostile_backend_name_stays_in_its_markdown_cell() {
    let mut r = report();
    r.rungs[1].backends[1].name = "a|b\n<img src=x>".into();
    let md = markdown(&r);
    let row = md.lines().find(|l| l.contains("a\\|b")).expect(&md);
    assert_eq!(crossbench_core::export::md_cells(row).len(), 8, "{row}");
    assert!(row.contains("a\\|b \\<img src=x\\>"), "{row}");
}
