//! results.json and baselines: the report's loader
//! (`crossbench_report::load::parse_results`), the page it renders from it,
//! and the gate's loader (`Baseline::parse`, which takes a baseline or a
//! results.json). Accepted input must round-trip through its own
//! serialization unchanged, and hostile strings must not reach the page as
//! markup.
#![no_main]

use std::path::Path;

use crossbench_core::baseline::{Baseline, BASELINE_FORMAT};
use crossbench_report::load::parse_results;
use libfuzzer_sys::fuzz_target;

const FILE: &str = "fuzz/results.json";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_results(text, FILE) {
        Ok(results) => {
            let again = serde_json::to_string(&results).expect("results serialize");
            let back = parse_results(&again, FILE).expect("serialized results reload");
            assert_eq!(back, results);
            // The report is a page for reviewers: nothing from the file may
            // become markup (lib.rs: no scripts, strict CSP).
            if let Ok(page) = crossbench_report::render_run(&results, None) {
                assert!(!page.to_ascii_lowercase().contains("<script"));
            }
        }
        Err(e) => assert!(e.to_string().contains(FILE), "{e}"),
    }
    match Baseline::parse(text, Path::new(FILE)) {
        Ok(b) => {
            assert_eq!(b.baseline_format, BASELINE_FORMAT);
            let again = serde_json::to_string(&b).expect("baselines serialize");
            let back = Baseline::parse(&again, Path::new(FILE)).expect("baseline reloads");
            assert_eq!(back, b);
        }
        Err(e) => assert!(e.to_string().contains(FILE), "{e}"),
    }
});
