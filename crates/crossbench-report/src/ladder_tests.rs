use super::*;
use crate::sweep::{Rung, RungBackend};
use crossbench_core::stats::Interval;

fn ci(estimate: f64, low: f64, high: f64) -> Option<Interval> {
    Some(Interval {
        estimate,
        low,
        high,
        confidence: 0.95,
        samples: 10,
    })
}

fn rung(preset: &str, native_ms: f64, ratio: Option<Interval>) -> Rung {
    let b = |name: &str, ratio| RungBackend {
        name: name.into(),
        status: "ok".into(),
        per_token_ns: Some(native_ms * 1e6),
        overhead_ratio: ratio,
        overhead_per_token_ns: None,
        noisy: false,
    };
    Rung {
        preset: preset.into(),
        dtype: "float32".into(),
        layers: 2,
        hidden: 256,
        parameters: 1_000_000,
        run_id: format!("run-{preset}"),
        run_dir: String::new(),
        native_per_token_ns: Some(native_ms * 1e6),
        backends: vec![
            b("native-cpp", ci(1.0, 1.0, 1.0)),
            b("python-subprocess", ratio),
        ],
    }
}

fn sweep(device: &str, rungs: Vec<Rung>) -> SweepReport {
    SweepReport {
        schema: SWEEP_SCHEMA.into(),
        sweep_id: format!("sweep-{device}"),
        scenario: "ladder".into(),
        scenario_file: "scenarios/ladder.toml".into(),
        max_new_tokens: 32,
        reference_backend: "native-cpp".into(),
        series: "itl_median_ns".into(),
        reproduce: "cargo run --release -- sweep --scenario ladder".into(),
        device: device.into(),
        machine: format!("{device} machine"),
        rungs,
    }
}

fn two_devices() -> Vec<SweepReport> {
    vec![
        sweep(
            "cpu",
            vec![
                rung("tiny", 10.0, ci(1.10, 1.06, 1.15)),
                rung("small", 80.0, ci(1.01, 0.98, 1.03)),
            ],
        ),
        sweep("gpu", vec![rung("tiny", 0.7, ci(1.40, 1.20, 1.60))]),
    ]
}

#[test]
fn one_series_per_backend_and_device() {
    let series = ladder_series(&two_devices());
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["python-subprocess · cpu", "python-subprocess · gpu"]
    );
    assert_eq!(series[0].points.len(), 2);
    assert_eq!(series[1].device.as_deref(), Some("gpu"));
    let svg = charts::overhead_vs_size(&series).unwrap();
    assert_eq!(charts::series_lines(&svg), 2);
}

#[test]
fn regimes_sorted_by_floor_time_and_judged_by_the_whole_interval() {
    let rows = regime_rows(&two_devices());
    let verdicts: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[2].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("0.70 ms", "not negligible"),
            ("10.00 ms", "not negligible"),
            ("80.00 ms", "negligible")
        ]
    );
    let mut straddling = two_devices();
    straddling[1].rungs[0].backends[1].overhead_ratio = ci(1.03, 0.99, 1.08);
    assert_eq!(regime_rows(&straddling)[0][5], "inconclusive");
}

#[test]
fn page_and_markdown_hold_every_regime() {
    let sweeps = two_devices();
    let page = render_ladder(&sweeps).unwrap();
    assert!(page.contains("<svg class=\"chart\""));
    assert_eq!(page.matches("<tr>").count(), 1 + 3);
    assert!(page.contains("gpu machine") && page.contains("sweep-cpu"));
    let md = ladder_markdown(&sweeps);
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 2 + 3);
    for row in table {
        assert_eq!(crossbench_core::export::md_cells(row).len(), 7, "{row}");
    }
    assert!(md.contains("gpu machine") && md.contains("--scenario ladder"));
}

#[test]
fn load_sweep_names_the_file_and_the_schema() {
    let dir = std::env::temp_dir().join(format!("cb-ladder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = load_sweep(&dir).unwrap_err().to_string();
    assert!(err.contains("sweep.json"), "{err}");
    let mut bad = two_devices().remove(0);
    bad.schema = "other/1".into();
    std::fs::write(dir.join("sweep.json"), serde_json::to_string(&bad).unwrap()).unwrap();
    let err = load_sweep(&dir).unwrap_err().to_string();
    assert!(err.contains("other/1"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
