//! `bench` writes report.html; `report` and `compare` on mock runs (no MLX);
//! malformed and older results are clear errors naming the file.

mod common;

use common::{bench_cmd, crossbench, only_run, root};
use std::path::{Path, PathBuf};

fn mock_run(out: &Path) -> PathBuf {
    let o = bench_cmd(out)
        .args(["--scenario", "mock"])
        .output()
        .expect("run crossbench");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    only_run(out)
}

#[test]
fn bench_writes_the_report_and_report_rewrites_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = mock_run(tmp.path());
    let page = run.join("report.html");
    let html = std::fs::read_to_string(&page).expect("bench wrote report.html");
    assert!(html.contains("<h2>Headline</h2>") && html.contains("data-chart=\"itl-cdf\""));
    assert!(!html.contains("http://") && !html.contains("https://"));
    std::fs::remove_file(&page).unwrap();
    let o = crossbench(&["report", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(page.is_file());
}

#[test]
fn compare_prints_markdown_and_writes_html() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ra, rb) = (mock_run(a.path()), mock_run(b.path()));
    let out = a.path().join("cmp.html");
    let o = crossbench(&[
        "compare",
        ra.to_str().unwrap(),
        rb.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(
        md.contains("| Backend | Metric | A | B | B vs A (95% CI) |"),
        "{md}"
    );
    assert!(md.contains("| mock | end-to-end time |"), "{md}");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("Changes against A"));
}

#[test]
fn malformed_and_older_results_name_the_file_and_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("{\"schema_version\": 1, \"run_id\": ", "not valid JSON"),
        (
            "{\"run_id\": \"old\", \"backends\": []}",
            "no `schema_version`",
        ),
        ("{\"schema_version\": 0}", "schema_version 0"),
        (
            "{\"schema_version\": 1, \"run_id\": \"x\"}",
            "missing field",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("run{i}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("results.json"), text).unwrap();
        let o = crossbench(&["report", dir.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(
            err.contains(&format!("run{i}/results.json")) && err.contains(expected),
            "{err}"
        );
    }
}

/// `sweep` over a two-rung ladder of the tiny preset (1 and 2 layers) on the
/// in-process backends: sweep.json with an overhead interval per rung,
/// sweep.md, and report.html with the chart.
#[test]
fn sweep_writes_its_json_table_and_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("ladder.toml");
    let text = std::fs::read_to_string(root().join("scenarios/sweep.toml")).unwrap();
    let rungs = text
        .find("[sweep]")
        .expect("sweep.toml has a [sweep] table");
    let ladder = "[sweep]\nrungs = [{ preset = \"tiny\", layers = 1, dtype = \"float16\" }, { preset = \"tiny\" }]\n";
    let text = text[..rungs].replace("max_new_tokens = 32", "max_new_tokens = 8") + ladder;
    std::fs::write(&scenario, text).unwrap();
    let out = tmp.path().join("out");
    let o = crossbench(&[
        "sweep",
        "--scenario",
        scenario.to_str().unwrap(),
        "--backends",
        "ffi-batched,native-cpp",
        "--reps",
        "3",
        "--timeout",
        "120",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = only_run(&out);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "crossbench.sweep/1");
    let rungs = json["rungs"].as_array().unwrap();
    assert_eq!(rungs.len(), 2);
    for rung in rungs {
        assert!(rung["native_per_token_ns"].as_f64().unwrap() > 0.0);
        let ffi = rung["backends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == "ffi-batched");
        let ratio = &ffi.expect("ffi-batched measured")["overhead_ratio"];
        assert!(ratio["low"].as_f64().unwrap() <= ratio["high"].as_f64().unwrap());
    }
    assert!(std::fs::read_to_string(dir.join("sweep.md"))
        .unwrap()
        .contains("| tiny-L1 |"));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("<svg class=\"chart\"") && page.contains("ffi-batched"));
    assert_eq!(json["device"], "cpu");
    assert_eq!(
        rungs[0]["dtype"], "float16",
        "a rung's dtype overrides the scenario's"
    );
    assert_eq!(rungs[1]["dtype"], "float32");
    assert!(json["machine"].as_str().unwrap().contains("cores"));

    // `ladder` draws the sweep (twice: as two devices would be) on one page.
    let html = tmp.path().join("ladder.html");
    let sweep_dir = dir.to_str().unwrap();
    let o = crossbench(&[
        "ladder",
        sweep_dir,
        sweep_dir,
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        table.matches("| cpu | tiny-L1 float16 |").count(),
        2,
        "{table}"
    );
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("<svg class=\"chart\""));

    // --rungs outside the ladder names the flag and the file, runs nothing.
    let o = crossbench(&[
        "sweep",
        "--scenario",
        scenario.to_str().unwrap(),
        "--rungs",
        "3",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("--rungs 3") && err.contains("ladder.toml"),
        "{err}"
    );
}

/// `embed` on the tiny preset: both delivery paths agree bit for bit, and it
/// writes embed.json (with the BLAS it ran with), embed.md and report.html.
#[test]
fn embed_writes_both_paths_and_its_page() {
    let tmp = tempfile::tempdir().unwrap();
    let o = crossbench(&[
        "embed",
        "--preset",
        "tiny",
        "--prompt-tokens",
        "8",
        "--reps",
        "2",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = only_run(tmp.path());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("embed.json")).unwrap()).unwrap();
    assert_eq!(json["identical"], true);
    assert_eq!(json["hidden"], 256);
    assert!(!json["blas"].as_str().unwrap().is_empty());
    assert!(json["copy"]["median_ns"].as_u64().unwrap() > 0);
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("bit-for-bit") && page.contains("<svg class=\"chart\""));
    assert!(dir.join("embed.md").is_file());
}
