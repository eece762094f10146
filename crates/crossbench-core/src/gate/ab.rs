//! Same-job A/B (`crossbench gate --against REF`): the base revision's and
//! the head's `bench` runs, alternated in one job on one machine, judged
//! head ÷ base per backend.
//!
//! Why this and not a committed baseline: a baseline is another machine on
//! another day, so a whole-run offset is invisible to its interval, and only
//! ratios to native-cpp could be gated, which hides every regression of the
//! code all backends share (the shim's `Session`, the model, MLX) and of
//! native-cpp itself. Here both revisions run in the same minutes, their runs
//! alternate base, head, head, base, ... (so a linear drift cancels), and rep
//! i of a backend in the k-th base run is paired with rep i of the same
//! backend in the k-th head run, which ran next to it: the same position in
//! the same balanced order, seconds to a minute apart. Each pair of runs
//! gives one ratio head ÷ base, the median of its rep ratios (the pair of
//! runs is the independent unit: `pair_units`); their Hodges–Lehmann
//! estimate, with the Wilcoxon signed-rank interval (`stats::signed_rank`:
//! ~18% narrower than the median's order-statistic interval for the same
//! rounds, and valid because a clean change's head ÷ base is symmetric by
//! construction), is the change. That makes absolute decode time gateable,
//! native-cpp's included: a slower shared core shows on every backend and on
//! native-cpp; a slower backend alone shows on its own decode ratio and on
//! its ratio to native-cpp (head ÷ base), which can fail the gate but, when
//! it straddles, does not hold a pass (`detector_only`).
//!
//! Verdicts (per check): regression when the whole interval lies above
//! 1 + threshold; pass when it lies below (an improvement when it lies below
//! 1 − threshold, reported as such); inconclusive when it straddles, or when
//! too few pairs give the asked confidence. Token counts, greedy ids and
//! crossings per token must be equal head vs base (same machine, same BLAS
//! and MLX, so ids are exact): a difference is a behaviour change and fails,
//! unless allowed, when it is a loud NOTE.

use std::collections::BTreeMap;

use super::exact::{exact_checks, memory_check};
use super::{
    environment_change, inputs, Check, GateConfig, GateError, GateReport, Method, Verdict,
};
use crate::backend::FLOOR;
use crate::baseline::{Baseline, BaselineBackend};
use crate::results::{describe_slowdowns, BackendStatus};
use crate::stats::signed_rank::signed_rank_ratio_ci;
use crate::stats::{median, paired_ratios, Interval};
use crate::units::fmt_confidence;

/// The series every A/B timing check pairs: consumer-side decode time of a
/// rep (tokens per rep are checked equal, so its ratio is the ratio of decode
/// time per token).
const DECODE: &str = "decode_ns";
/// Shown, not gated: one gated timing series per question keeps the number
/// of checks (and of chances to straddle) small.
const ITL: &str = "itl_median_ns";

/// One base run and the head run next to it in time (`bench` results).
#[derive(Debug, Clone)]
pub struct AbPair {
    pub base: Baseline,
    pub head: Baseline,
}

/// What one head ÷ base sample of the A/B is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AbUnit {
    /// A base run and the head run next to it (`pair_units`).
    #[default]
    RunPairs,
    /// One round of a rep-interleaved run: every base and head worker once,
    /// each head next to its base twin (`ab_rounds`).
    Rounds,
}

impl AbUnit {
    pub fn label(self) -> &'static str {
        match self {
            AbUnit::RunPairs => "pairs of runs",
            AbUnit::Rounds => "rounds",
        }
    }
}

/// What the A/B judges beyond `GateConfig`'s threshold and confidence.
#[derive(Debug, Clone, Default)]
pub struct AbOptions {
    /// What each pair in `compare_ab`'s input is.
    pub unit: AbUnit,
    /// Report names of the two sides, e.g. "base 1a2b3c (HEAD~1)".
    pub base_label: String,
    pub head_label: String,
    /// Token ids, token counts or crossings that differ become NOTEs, not
    /// regressions (an intended behaviour change).
    pub allow_behaviour_change: bool,
    /// Loud notes the caller knows (dirty head, order of the runs).
    pub notes: Vec<String>,
}

/// Judges head ÷ base over `pairs`; Err when a run is incomplete or holds an
/// impossible sample, the sides ran different work, an option is out of
/// range, or nothing would be gated.
pub fn compare_ab(
    pairs: &[AbPair],
    cfg: &GateConfig,
    opts: &AbOptions,
) -> Result<GateReport, GateError> {
    inputs::check_config(cfg)?;
    for p in pairs {
        for (run, which) in [(&p.base, "base"), (&p.head, "head")] {
            inputs::check_complete(run, which)?;
            inputs::check_samples(run, which)?;
        }
        super::check_comparable(&p.base, &p.head)?;
    }
    let (base, head) = merge(pairs, opts)?;
    let mut report = GateReport {
        baseline: base.name.clone(),
        current: head.name.clone(),
        same_machine: true,
        threshold: cfg.threshold,
        absolute_threshold: cfg.threshold,
        confidence: cfg.confidence,
        method: Method::PairedAb,
        checks: Vec::new(),
        notes: ab_notes(pairs, &base, &head, opts),
    };
    let greedy = base.scenario.temperature == 0.0;
    for b in base.usable_backends() {
        match head
            .backend(&b.name)
            .filter(|h| h.status == BackendStatus::Ok)
        {
            Some(h) => {
                let units =
                    |series: &str, overhead: bool| pair_units(pairs, &b.name, series, overhead);
                exact(&mut report.checks, b, h, greedy, opts);
                timing_checks(&mut report.checks, &b.name, &units, cfg, opts.unit);
                if let (Some(bm), Some(hm)) = (b.peak_rss_bytes, h.peak_rss_bytes) {
                    report.checks.push(memory_check(&b.name, bm, hm, true, cfg));
                }
            }
            None => report.checks.push(Check {
                backend: b.name.clone(),
                metric: "status".into(),
                verdict: Verdict::Regression,
                ratio: None,
                detail: "ok in the base, missing or failed in the head".into(),
            }),
        }
    }
    inputs::check_judged(&report.checks, &base, &head)?;
    Ok(report)
}

/// Tokens per rep, greedy ids, crossings: equal, or a behaviour change.
fn exact(
    out: &mut Vec<Check>,
    base: &BaselineBackend,
    head: &BaselineBackend,
    greedy: bool,
    opts: &AbOptions,
) {
    let first = out.len();
    exact_checks(out, base, head, greedy, true);
    let (verdict, note) = if opts.allow_behaviour_change {
        (
            Verdict::Info,
            " (BEHAVIOUR CHANGE, allowed by --allow-behaviour-change)",
        )
    } else {
        (
            Verdict::Regression,
            " (BEHAVIOUR CHANGE head vs base; --allow-behaviour-change if intended)",
        )
    };
    for c in out[first..]
        .iter_mut()
        .filter(|c| c.verdict == Verdict::Regression)
    {
        c.verdict = verdict;
        c.detail.push_str(note);
    }
}

/// Decode time head ÷ base (native-cpp's is the shared core), the ratio to
/// native-cpp head ÷ base (this backend alone; a detector, `detector_only`),
/// ITL shown.
fn timing_checks(
    out: &mut Vec<Check>,
    backend: &str,
    units: &dyn Fn(&str, bool) -> Vec<f64>,
    cfg: &GateConfig,
    unit: AbUnit,
) {
    let what = if backend == FLOOR {
        "shared core: shim Session, model, MLX, BLAS"
    } else {
        "this backend and the shared core"
    };
    out.push(paired_check(
        backend,
        DECODE,
        &units(DECODE, false),
        Some(what),
        cfg,
        unit,
    ));
    // Only runs with native-cpp have ratios to it.
    let overhead = units(DECODE, true);
    if !overhead.is_empty() {
        out.push(detector_only(paired_check(
            backend,
            "overhead_vs_native.decode_ns",
            &overhead,
            Some("this backend alone: its ratio to native-cpp"),
            cfg,
            unit,
        )));
    }
    out.push(paired_check(
        backend,
        ITL,
        &units(ITL, false),
        None,
        cfg,
        unit,
    ));
}

/// The ratio to native-cpp fails the gate when wholly above the threshold
/// but does not hold a pass when it straddles (shown as Info then). Why: the
/// decode checks already answer "is any backend slower": a slowdown of this
/// backend alone raises its own decode ratio, and with both its and
/// native-cpp's decode below +t its ratio to native-cpp cannot be far above.
/// Requiring the ratio of ratios (~1.3x as spread) to pass too held 18–68%
/// of clean A/Bs inconclusive on the noisier VMs (simulated, 3 looks),
/// while as a second detector it still adds detection of a slowdown in one
/// backend (docs/measurements/gate-experiment.md, "The ratio to native-cpp
/// detects, it does not hold a pass").
fn detector_only(mut c: Check) -> Check {
    if c.verdict == Verdict::Inconclusive {
        c.verdict = Verdict::Info;
        c.detail.push_str(
            " (not held against a pass: a regression only when wholly above; the decode checks bound this backend)",
        );
    }
    c
}

/// One head ÷ base ratio per pair of runs: the median of its per-rep
/// ratios (rep i of the base run with rep i of the head run). The pair of
/// runs, not the rep, is the independent unit: reps of one run share its
/// minute of the machine (here, a worker's decode time flips between two
/// levels ~14% apart in stretches of tens of seconds), so rep-level ratios
/// are correlated within a pair, and an interval that counted them as
/// independent was too narrow (an A/A of one binary excluded 1.0 in 3 of 4
/// backends on this VM).
pub fn pair_units(pairs: &[AbPair], backend: &str, series: &str, overhead: bool) -> Vec<f64> {
    let values = |run: &Baseline| -> Vec<f64> {
        let b = run.backend(backend);
        let map = b.map(|b| {
            if overhead {
                &b.overhead_samples
            } else {
                &b.samples
            }
        });
        map.and_then(|m| m.get(series)).cloned().unwrap_or_default()
    };
    pairs
        .iter()
        .filter_map(|p| median(&paired_ratios(&values(&p.head), &values(&p.base))))
        .collect()
}

/// The verdict on paired head ÷ base ratios; `what: None` -> shown, not gated.
pub fn paired_check(
    backend: &str,
    metric: &str,
    ratios: &[f64],
    what: Option<&str>,
    cfg: &GateConfig,
    unit: AbUnit,
) -> Check {
    let label = unit.label();
    let ci = signed_rank_ratio_ci(ratios, cfg.confidence);
    let (verdict, detail) = match (ci, what) {
        (None, None) => (Verdict::Info, "no pairs".to_string()),
        (None, Some(_)) => (
            Verdict::Inconclusive,
            "no pairs: the backend has no such samples".to_string(),
        ),
        (Some(ci), None) => (Verdict::Info, format!("{} {label} (not gated)", ci.samples)),
        (Some(ci), Some(what)) => {
            let (v, d) = paired_verdict(&ci, cfg, unit);
            (v, format!("{d} [{what}]"))
        }
    };
    Check {
        backend: backend.into(),
        metric: metric.into(),
        verdict,
        ratio: ci,
        detail,
    }
}

/// Whole interval above 1 + t: regression; below it: pass (an improvement
/// when below 1 − t); straddling it, or short of the asked confidence (too
/// few pairs for the signed-rank interval): inconclusive.
pub fn paired_verdict(ci: &Interval, cfg: &GateConfig, unit: AbUnit) -> (Verdict, String) {
    let t = cfg.threshold;
    let n = ci.samples;
    let label = unit.label();
    if ci.confidence < cfg.confidence - 1e-9 {
        return (
            Verdict::Inconclusive,
            format!(
                "only {n} {label}: their range is a {} interval, {} asked",
                fmt_confidence(ci.confidence),
                fmt_confidence(cfg.confidence)
            ),
        );
    }
    if ci.low > 1.0 + t {
        (
            Verdict::Regression,
            format!("{n} {label}; whole interval above +{:.1}%", t * 100.0),
        )
    } else if ci.high < 1.0 - t {
        (
            Verdict::Pass,
            format!(
                "{n} {label}; IMPROVEMENT: whole interval below -{:.1}%",
                t * 100.0
            ),
        )
    } else if ci.high < 1.0 + t {
        (Verdict::Pass, format!("{n} {label}"))
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "{n} {label}; interval straddles +{:.1}%: cannot tell",
                t * 100.0
            ),
        )
    }
}

/// Each side's runs as one run, for the exact and memory checks: every
/// run's token counts (each pair truncated to its shorter side), the head's
/// first ids and crossings that differ from its base run's (else its first
/// run's), the median over its pairs of the peak RSS (one fresh worker's
/// outlier, +22% in an A/A of one binary on 2026-12-06, is not a change of
/// the code). Timings are paired per pair of runs (`pair_units`), not here.
fn merge(pairs: &[AbPair], opts: &AbOptions) -> Result<(Baseline, Baseline), GateError> {
    let Some(first) = pairs.first() else {
        return Err(GateError::NothingToJudge {
            baseline: opts.base_label.clone(),
            current: opts.head_label.clone(),
            why: "no pair of runs".into(),
        });
    };
    let mut base = first.base.clone();
    let mut head = first.head.clone();
    base.name = opts.base_label.clone();
    head.name = opts.head_label.clone();
    for b in base.backends.iter_mut().chain(head.backends.iter_mut()) {
        clear_reps(b);
    }
    let mut peaks: BTreeMap<(bool, String), Vec<u64>> = BTreeMap::new();
    for p in pairs {
        for (head_side, run) in [(false, &p.base), (true, &p.head)] {
            for b in &run.backends {
                if let Some(peak) = b.peak_rss_bytes {
                    peaks
                        .entry((head_side, b.name.clone()))
                        .or_default()
                        .push(peak);
                }
            }
        }
        for b in base.backends.iter_mut() {
            let h = head.backends.iter_mut().find(|h| h.name == b.name);
            let (pb, ph) = (p.base.backend(&b.name), p.head.backend(&b.name));
            if let (Some(h), Some(pb), Some(ph)) = (h, pb, ph) {
                let n = pb.tokens_per_rep.len().min(ph.tokens_per_rep.len());
                append(b, pb, n);
                append(h, ph, n);
                if ph.token_ids != pb.token_ids || ph.crossings_per_token != pb.crossings_per_token
                {
                    h.token_ids = ph.token_ids.clone();
                    h.crossings_per_token = ph.crossings_per_token.clone();
                }
                h.status = worst(h.status, ph.status);
            }
        }
    }
    for (head_side, run) in [(false, &mut base), (true, &mut head)] {
        for b in run.backends.iter_mut() {
            b.peak_rss_bytes = peaks.get_mut(&(head_side, b.name.clone())).map(|v| {
                v.sort_unstable();
                v[v.len() / 2]
            });
        }
    }
    Ok((base, head))
}

fn clear_reps(b: &mut BaselineBackend) {
    b.tokens_per_rep.clear();
}

fn append(into: &mut BaselineBackend, from: &BaselineBackend, n: usize) {
    into.tokens_per_rep
        .extend(from.tokens_per_rep.iter().take(n).copied());
}

/// A backend that failed in any head run failed.
fn worst(a: BackendStatus, b: BackendStatus) -> BackendStatus {
    if a == BackendStatus::Ok {
        b
    } else {
        a
    }
}

fn ab_notes(pairs: &[AbPair], base: &Baseline, head: &Baseline, opts: &AbOptions) -> Vec<String> {
    let mut notes = opts.notes.clone();
    if let Some(p) = pairs.iter().find(|p| !p.head.injected_slowdowns.is_empty()) {
        notes.push(format!(
            "head runs have INJECTED slowdowns ({}): not a clean measurement",
            describe_slowdowns(&p.head.injected_slowdowns)
        ));
    }
    let changes = environment_change::changes(&base.environment, &head.environment);
    if !changes.is_empty() {
        let facts: Vec<String> = changes.iter().map(|c| c.describe()).collect();
        notes.push(format!(
            "base and head record another setup ({}): same machine and minutes, but the revisions differ in what they load",
            facts.join("; ")
        ));
    }
    notes
}

#[cfg(test)]
#[path = "ab_tests.rs"]
mod tests;
