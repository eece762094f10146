//! Reports of results files written by someone else: every string field
//! holds markup, and numbers are absurd but finite. The page must show the
//! strings as text (checked in the DOM headless Chromium builds, skipped
//! loudly without it) and must finish with a note where a chart cannot be
//! drawn.

#[path = "common/chromium.rs"]
mod chromium;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON")
}

/// Field `i`'s hostile text: markup for text and attribute context, a
/// script, a javascript: link, markdown table breakers, quotes, a newline.
fn hostile(i: usize) -> String {
    format!(
        "H{i}<img src=x onerror=alert({i}) id=inj{i}>\"><script id=inj{i}>alert(1)</script>' \
         onmouseover=alert(1) x='|`[l](javascript:alert(1))`\n&amp;<svg onload=alert(1)>H{i}"
    )
}

/// The real run with every optional part present, so that each string
/// field of results.json exists to be made hostile.
fn full_run() -> Value {
    let mut r = fixture("tiny-gen100.json");
    let phases: serde_json::Map<String, Value> = crossbench_core::phases::PHASE_NAMES
        .iter()
        .map(|p| (p.to_string(), json!(1000.0)))
        .chain([("extra phase".to_string(), json!(5.0))])
        .collect();
    r["backends"][0]["phase_split"] = json!({"tokens": 10, "itl_ns": 9000.0, "phases_ns": phases,
        "unattributed_ns": 10.0, "coverage_median": 0.99, "pipe_latency_ns": 50.0});
    r["backends"][0]["device"] = json!("cpu");
    r["backends"][1]["status"] = json!("failed");
    r["backends"][1]["error"] = json!("worker stderr");
    r["environment"]["boot_id"] = json!("boot");
    r["environment"]["cpu"] =
        json!({"vendor": "v", "family": 1, "model": 2, "stepping": 3, "simd": ["avx2"]});
    r["environment"]["extra"] = json!({"go_version": "go1", "key": "value"});
    r["injected_slowdowns"] = json!({"ffi-token": 5.0});
    r["profiling"] = json!({"phases": true, "perf_event": "cycles",
        "flame_graphs": {"native-cpp": "flame.svg"}});
    r["model"] = json!({"preset": "tiny", "dtype": "float32", "layers_override": 2, "dir": "/m/tiny",
        "config_sha256": "abc", "num_hidden_layers": 4, "hidden_size": 8, "vocab_size": 9,
        "quantization_bits": null, "weight_bytes": 100});
    r["design"] = json!({"order": "williams", "residency": "all", "residency_reason": "fits",
        "gap_s": 0.0, "aa": ["native-cpp", "native-cpp-aa"], "warmup_tokens": 4,
        "resolution_plan": {"target_half_width": 0.01, "budget_s": 60.0, "pilot_reps": 3,
            "pilot_half_width": 0.02, "needed_reps": 9, "planned_reps": 9, "outcome": "planned"}});
    r["resolution"] =
        json!({"half_width": 0.01, "widest": "ffi-token", "aa": null, "statement": "resolves 1%"});
    r["harness"] =
        json!({"driver_peak_rss_bytes": 1000, "record_token_ns": 30.0, "record_span_ns": 20.0});
    r["agreement"]["reference"] = json!("native-cpp");
    r
}

fn parses(v: &Value) -> bool {
    serde_json::from_value::<crossbench_core::results::BenchResults>(v.clone()).is_ok()
}

/// Replaces every string (map keys included) with `hostile(i)`, keeping
/// the original where the schema needs one of a few words (an enum) or a
/// key names a metric; returns the JSON paths made hostile.
fn make_hostile(root: &mut Value) -> Vec<String> {
    let mut paths = Vec::new();
    let mut counter = 0;
    let mut pointers = Vec::new();
    collect_strings(root, String::new(), &mut pointers);
    for pointer in pointers {
        let Some(slot) = root.pointer_mut(&pointer) else {
            continue;
        };
        let old = std::mem::replace(slot, Value::String(hostile(counter)));
        if parses(root) {
            paths.push(pointer);
            counter += 1;
        } else {
            *root.pointer_mut(&pointer).unwrap() = old;
        }
    }
    // Keys of free-form maps: the environment's extras, flame graphs,
    // injected slowdowns, counters, phases.
    for map in [
        "/environment/extra",
        "/profiling/flame_graphs",
        "/injected_slowdowns",
        "/backends/0/reps/0/counters",
        "/backends/0/phase_split/phases_ns",
    ] {
        let obj = root.pointer_mut(map).and_then(Value::as_object_mut);
        let obj = obj.unwrap_or_else(|| panic!("{map} is a map"));
        let value = obj.values().next().cloned().unwrap_or(json!(1));
        obj.insert(hostile(counter), value);
        paths.push(format!("{map}/<key>"));
        counter += 1;
    }
    assert!(parses(root), "hostile keys keep the schema");
    paths
}

fn collect_strings(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                collect_strings(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, x) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                collect_strings(x, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// Elements of a serialized DOM: (tag name, attribute names and values).
/// Chromium's serializer escapes `<` in text and quotes every attribute
/// value, so a `<` outside quotes starts a tag.
fn elements(dom: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        if rest.starts_with('/') || rest.starts_with('!') {
            continue;
        }
        let name_len = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_len].to_ascii_lowercase();
        rest = &rest[name_len..];
        let mut attrs = Vec::new();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            if rest.is_empty() || rest.starts_with('>') {
                break;
            }
            let end = rest
                .find(|c: char| c == '=' || c == '>' || c.is_whitespace())
                .unwrap_or(rest.len());
            let attr = rest[..end].to_ascii_lowercase();
            rest = &rest[end..];
            let mut value = String::new();
            if let Some(after) = rest.strip_prefix("=\"") {
                let close = after.find('"').expect("quoted attribute ends");
                value = after[..close].to_string();
                rest = &after[close + 1..];
            }
            attrs.push((attr, value));
        }
        out.push((name, attrs));
    }
    out
}

/// Text as the serializer writes it inside an element.
fn as_dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

#[test]
fn hostile_strings_in_every_field_render_as_text_in_chromium() {
    let mut json = full_run();
    let paths = make_hostile(&mut json);
    assert!(paths.len() >= 60, "strings made hostile: {paths:?}");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("results.json"), serde_json::to_vec(&json).unwrap()).unwrap();
    let page = crossbench_report::write_run_report(&dir, None).expect("report renders");
    let html = std::fs::read_to_string(&page).unwrap();
    // In the file itself: the markup only ever escaped.
    for raw in ["<img", "<script", "<svg onload"] {
        assert!(!html.contains(raw), "`{raw}` unescaped in the page");
    }
    let Some(chromium) = chromium::find() else {
        return;
    };
    let rendered = chromium::render(&chromium, &page, work.path());
    assert!(
        rendered.page_requests.is_empty(),
        "{:?}",
        rendered.page_requests
    );
    let dom = &rendered.dom;
    let els = elements(dom);
    assert!(els.len() > 200, "the DOM was read: {} elements", els.len());
    for (name, attrs) in &els {
        assert!(
            !matches!(
                name.as_str(),
                "img" | "script" | "iframe" | "object" | "embed"
            ),
            "injected <{name}> {attrs:?}"
        );
        for (attr, value) in attrs {
            assert!(!attr.starts_with("on"), "injected {attr} on <{name}>");
            assert!(
                !(attr == "id" && value.starts_with("inj")),
                "injected id on <{name}>"
            );
            if attr == "href" {
                assert!(!value.contains(':'), "link to {value}");
            }
            if attr == "data-chart" {
                assert!(
                    value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "chart id `{value}`"
                );
            }
        }
    }
    // Each field the page shows in full appears as literal text.
    let shown = (0..paths.len())
        .filter(|&i| dom.contains(&as_dom_text(&hostile(i))))
        .count();
    for field in [
        "/scenario/name",
        "/scenario/description",
        "/environment/cpu_model",
        "/backends/0/name",
        "/backends/1/error",
        "/profiling/flame_graphs/<key>",
    ] {
        let i = paths.iter().position(|p| p == field).expect(field);
        assert!(
            dom.contains(&as_dom_text(&hostile(i))),
            "{field} not shown literally"
        );
    }
    assert!(
        shown >= 25,
        "fields shown literally: {shown} of {}",
        paths.len()
    );
}

/// Numbers no run produces but a results.json may hold: the report must
/// finish (not spin in plotters' axis layout, not panic) and say which
/// charts it left out.
#[test]
fn absurd_numbers_render_within_bounded_time_with_a_note() {
    let mut r = fixture("tiny-gen100.json");
    for b in r["backends"].as_array_mut().unwrap() {
        // One crossing kind: its bar is 1.7e308, the axis past it (room for
        // the label) infinite.
        b["crossings"] = json!({"rust_to_c_calls": 1.7e308});
        b["memory"]["peak_rss_bytes"] = json!(u64::MAX);
        b["decode_cv"] = json!(1e308);
        for s in b["summaries"].as_object_mut().unwrap().values_mut() {
            for k in ["p50", "p90", "p99", "max", "mean"] {
                s[k] = json!(1.7e308);
            }
        }
        b["histograms"] = json!({});
        let rep = &mut b["reps"][0];
        rep["consumer_ns"] = json!([0u64, 1u64, u64::MAX - 1, u64::MAX]);
        rep["producer_ns"] = json!([0u64, 1u64, u64::MAX - 1, u64::MAX]);
        b["phase_split"] = json!({"tokens": 1, "itl_ns": 1e308, "phases_ns": {"wait": 1.7e308, "build": 1.7e308},
            "unattributed_ns": 1e308, "coverage_median": 1e308});
    }
    r["cv_limit"] = json!(1e308);
    // Byte 12 of this hash is inside an `é`: shortening it must not slice there.
    r["model"] = json!({"preset": null, "dtype": null, "layers_override": null, "dir": "/m",
        "config_sha256": "aéééééééééééé", "num_hidden_layers": u64::MAX, "hidden_size": null,
        "vocab_size": null, "quantization_bits": null, "weight_bytes": u64::MAX});
    r["scenario"]["timeout_s"] = json!(1e308);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("absurd");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("results.json"), serde_json::to_vec(&r).unwrap()).unwrap();
    let (tx, rx) = mpsc::channel();
    let run_dir = dir.clone();
    std::thread::spawn(move || {
        let _ =
            tx.send(crossbench_report::write_run_report(&run_dir, None).map_err(|e| e.to_string()));
    });
    let page = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(result) => result.expect("report renders"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("report did not finish within 60 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("report panicked"),
    };
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains("Chart left out"),
        "a note says what was left out"
    );
    assert!(html.contains("data-left-out=\"bars\""));
    for svg in html.split("<svg").skip(1) {
        let svg = &svg[..svg.find("</svg>").unwrap_or(svg.len())];
        assert!(
            !svg.contains("inf") && !svg.contains("NaN"),
            "axis label: {svg}"
        );
    }
}
