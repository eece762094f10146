//! The HTML report in a real browser: reports of a real run (tiny preset,
//! four backends) and of a mock run, from results.json files `bench`
//! wrote (tests/fixtures), opened in headless Chromium. Checks: the charts
//! are in the rendered DOM with one series per backend, the page made no
//! network request, and a screenshot comes out. Skips loudly without
//! Chromium (CI installs it and sets CROSSBENCH_REQUIRE_CHROMIUM=1).

#[path = "common/chromium.rs"]
mod chromium;

use std::path::{Path, PathBuf};

use crossbench_core::results::{BackendStatus, BenchResults};
use crossbench_report::charts::{data_rects, series_lines};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture"))
        .expect("fixture is JSON")
}

/// Writes `results` as a run directory under `work` and renders its report.
fn report_of(results: &Value, work: &Path) -> (BenchResults, PathBuf) {
    let dir = work.join(results["run_id"].as_str().unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_vec(results).unwrap(),
    )
    .unwrap();
    let page = crossbench_report::write_run_report(&dir, None).expect("report renders");
    (
        crossbench_report::load_results(&dir.join("results.json")).unwrap(),
        page,
    )
}

/// Backends the charts must draw: ok and with at least two tokens.
fn drawn(r: &BenchResults) -> Vec<&str> {
    r.backends
        .iter()
        .filter(|b| b.status == BackendStatus::Ok && b.reps.iter().any(|x| x.consumer_ns.len() > 1))
        .map(|b| b.name.as_str())
        .collect()
}

/// Every check on one report; returns the rendered DOM.
fn check_in_browser(chromium: &Path, results: &BenchResults, page: &Path, work: &Path) -> String {
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'"));
    for forbidden in ["http://", "https://", "<script", "<link", "@import", "url("] {
        assert!(!html.contains(forbidden), "the page holds `{forbidden}`");
    }
    let rendered = chromium::render(chromium, page, work);
    assert!(
        rendered.page_requests.is_empty(),
        "the page fetched {:?}",
        rendered.page_requests
    );
    let dom = &rendered.dom;
    let ok = drawn(results);
    assert_eq!(
        series_lines(chromium::figure(dom, "itl-cdf")),
        ok.len(),
        "CDF: a line per backend"
    );
    assert_eq!(
        series_lines(chromium::figure(dom, "timeline")),
        ok.len(),
        "timeline: a line per backend"
    );
    for name in &ok {
        assert!(
            chromium::figure(dom, "itl-cdf").contains(&format!("\n{name}\n")),
            "legend names {name}"
        );
    }
    for id in ["bars-time", "bars-memory"] {
        assert_eq!(
            data_rects(chromium::figure(dom, id)),
            ok.len(),
            "{id}: a bar per backend that ran"
        );
    }
    // Backends without any counted crossing (the mock) get a label, no bar.
    assert!(data_rects(chromium::figure(dom, "bars-crossings")) <= ok.len());
    for b in results
        .backends
        .iter()
        .filter(|b| ok.contains(&b.name.as_str()))
    {
        let has_split = dom.contains(&format!("data-chart=\"ipc-split-{}\"", b.name));
        assert_eq!(
            has_split,
            b.reps.iter().any(|r| r.producer_ns.is_some()),
            "ipc split of {}",
            b.name
        );
    }
    let figures = dom.matches("<figure").count();
    assert_eq!(
        dom.matches("<svg").count(),
        figures,
        "one inline svg per figure"
    );
    let png = chromium::screenshot(chromium, page, work, 1280, 2400);
    assert_eq!(chromium::png_size(&png), (1280, 2400));
    assert!(
        png.len() > 20_000,
        "a blank page compresses to a few KB; got {} bytes",
        png.len()
    );
    if let Some(dir) = std::env::var_os("CROSSBENCH_SCREENSHOT_DIR") {
        std::fs::write(
            Path::new(&dir).join(format!("{}.png", results.run_id)),
            &png,
        )
        .unwrap();
    }
    rendered.dom
}

#[test]
fn real_run_report_renders_offline_in_chromium() {
    let Some(chromium) = chromium::find() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (results, page) = report_of(&fixture("tiny-gen100.json"), work.path());
    assert_eq!(
        drawn(&results).len(),
        4,
        "the fixture is a four-backend run"
    );
    let dom = check_in_browser(&chromium, &results, &page, work.path());
    assert!(
        dom.contains("The design note's claims")
            && dom.contains("data-chart=\"ipc-split-python-subprocess\"")
    );
}

#[test]
fn mock_run_report_renders_offline_in_chromium() {
    let Some(chromium) = chromium::find() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (results, page) = report_of(&fixture("mock.json"), work.path());
    let dom = check_in_browser(&chromium, &results, &page, work.path());
    assert!(dom.contains("none (mock engine)"));
}

#[test]
fn run_with_a_missing_and_a_failed_backend_still_renders() {
    let Some(chromium) = chromium::find() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let mut json = fixture("tiny-gen100.json");
    let backends = json["backends"].as_array_mut().unwrap();
    backends.retain(|b| b["name"] != "ffi-batched");
    let ffi = backends
        .iter_mut()
        .find(|b| b["name"] == "ffi-token")
        .unwrap();
    ffi["status"] = "failed".into();
    ffi["error"] = "worker exited with signal 9".into();
    json["run_id"] = "fixture-missing-backend".into();
    let (results, page) = report_of(&json, work.path());
    let dom = check_in_browser(&chromium, &results, &page, work.path());
    assert!(dom.contains("ffi-batched: absent from this run"));
    assert!(dom.contains("ffi-token: failed: worker exited with signal 9"));
}

/// The network check itself: a page that does fetch is caught.
#[test]
fn network_check_catches_a_page_that_fetches() {
    let Some(chromium) = chromium::find() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("leaky.html");
    std::fs::write(
        &page,
        "<html><body><img src=\"http://example.invalid/x.png\"></body></html>",
    )
    .unwrap();
    let rendered = chromium::render(&chromium, &page, work.path());
    assert_eq!(
        rendered.page_requests,
        vec!["http://example.invalid/x.png".to_string()]
    );
}
