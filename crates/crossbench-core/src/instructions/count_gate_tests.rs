use super::*;
use crate::instructions::{BackendCount, Counted, InstructionsFile, Outcome, Settings};
use std::collections::BTreeMap;

fn counted(name: &str, per_token: f64) -> BackendCount {
    BackendCount {
        name: name.into(),
        outcome: Outcome::Counted(Counted {
            per_token,
            spread_per_token: 0.0,
            own_objects: vec![],
            runs: vec![],
        }),
    }
}

fn not_counted(name: &str) -> BackendCount {
    BackendCount {
        name: name.into(),
        outcome: Outcome::NotCounted {
            reason: "Go's runtime".into(),
        },
    }
}

fn file(backends: Vec<BackendCount>) -> InstructionsFile {
    InstructionsFile {
        format: FORMAT.into(),
        toolchain: BTreeMap::from([("rustc".to_string(), "1.0".to_string())]),
        settings: Settings {
            tokens: [4, 36],
            prompt: vec![1],
            model: "none".into(),
            repeat: 1,
            valgrind_options: vec![],
            env: BTreeMap::new(),
            cpu: String::new(),
        },
        backends,
    }
}

#[test]
fn one_percent_more_fails_and_equal_passes() {
    let base = file(vec![
        counted("mock", 1000.0),
        counted("ffi-token", 30_000.0),
    ]);
    let same = gate(&base, &base, 0.005, false);
    assert_eq!(same.exit_code, EXIT_PASS, "{}", same.render());
    let worse = file(vec![
        counted("mock", 1010.0),
        counted("ffi-token", 30_000.0),
    ]);
    let out = gate(&base, &worse, 0.005, false);
    assert_eq!(out.exit_code, EXIT_REGRESSION);
    assert_eq!(out.rows[0].verdict, Verdict::Regression);
    assert_eq!(out.rows[1].verdict, Verdict::Pass);
    assert!(out.render().contains("+1.000%"), "{}", out.render());
}

#[test]
fn fewer_instructions_pass_and_say_the_baseline_is_stale() {
    let base = file(vec![counted("mock", 1000.0)]);
    let out = gate(&base, &file(vec![counted("mock", 900.0)]), 0.005, false);
    assert_eq!(out.exit_code, EXIT_PASS);
    assert_eq!(out.rows[0].verdict, Verdict::Improved);
}

#[test]
fn a_backend_no_longer_counted_is_an_error_not_a_pass() {
    let base = file(vec![counted("mock", 1000.0), counted("go-cgo-token", 9.0)]);
    let cur = file(vec![counted("mock", 1000.0), not_counted("go-cgo-token")]);
    let out = gate(&base, &cur, 0.005, false);
    assert_eq!(out.exit_code, EXIT_ERROR);
    assert!(out.render().contains("not counted now: Go's runtime"));
    let missing = gate(&base, &file(vec![counted("mock", 1000.0)]), 0.005, false);
    assert_eq!(missing.exit_code, EXIT_ERROR);
}

#[test]
fn not_counted_in_both_is_shown_not_gated() {
    let base = file(vec![counted("mock", 1000.0), not_counted("go-cgo-token")]);
    let out = gate(&base, &base, 0.005, false);
    assert_eq!(out.exit_code, EXIT_PASS);
    assert!(out
        .render()
        .contains("informational: not counted in the baseline: Go's runtime"));
}

#[test]
fn another_toolchain_is_refused_unless_allowed_then_informational() {
    let base = file(vec![counted("mock", 1000.0)]);
    let mut cur = file(vec![counted("mock", 2000.0)]);
    cur.toolchain.insert("rustc".into(), "2.0".into());
    let refused = gate(&base, &cur, 0.005, false);
    assert_eq!(refused.exit_code, EXIT_ERROR);
    assert!(
        refused.render().contains("rustc: 1.0 → 2.0"),
        "{}",
        refused.render()
    );
    let allowed = gate(&base, &cur, 0.005, true);
    assert_eq!(allowed.exit_code, EXIT_PASS);
    assert!(allowed.render().contains("informational only"));
}
