//! The gate's exact checks (tokens per rep, greedy ids, crossings per
//! token: any change fails) and its peak-RSS check (its own tolerance).

use super::{Check, GateConfig, Verdict};
use crate::baseline::BaselineBackend;
use crate::stats::Interval;

pub(super) fn memory_check(
    backend: &str,
    base: u64,
    cur: u64,
    same: bool,
    cfg: &GateConfig,
) -> Check {
    let r = cur as f64 / base.max(1) as f64;
    let over = r > 1.0 + cfg.memory_tolerance;
    let verdict = match (same, over) {
        (false, _) => Verdict::Info,
        (true, true) => Verdict::Regression,
        (true, false) => Verdict::Pass,
    };
    let ratio = Interval {
        estimate: r,
        low: r,
        high: r,
        confidence: 1.0,
        samples: 1,
    };
    let detail = format!(
        "{:.1} -> {:.1} MiB (tolerance +{:.0}%)",
        base as f64 / 1048576.0,
        cur as f64 / 1048576.0,
        cfg.memory_tolerance * 100.0
    );
    Check {
        backend: backend.into(),
        metric: "peak_rss".into(),
        verdict,
        ratio: Some(ratio),
        detail,
    }
}

pub(super) fn exact_checks(
    out: &mut Vec<Check>,
    base: &BaselineBackend,
    cur: &BaselineBackend,
    greedy: bool,
    ids_gated: bool,
) {
    let mut push = |metric: &str, ok: bool, detail: String| {
        let verdict = match (ok, metric == "token_ids" && !ids_gated) {
            (_, true) => Verdict::Info,
            (true, false) => Verdict::Pass,
            (false, false) => Verdict::Regression,
        };
        out.push(Check {
            backend: base.name.clone(),
            metric: metric.into(),
            verdict,
            ratio: None,
            detail,
        });
    };
    let want = base.tokens_per_rep.first().copied().unwrap_or(0);
    let ok = cur.tokens_per_rep.iter().all(|&n| n == want);
    push(
        "tokens",
        ok,
        format!(
            "{want} per rep in baseline; current {:?}",
            dedup(&cur.tokens_per_rep)
        ),
    );
    if greedy {
        let (ok, detail) = token_id_difference(&base.token_ids, &cur.token_ids);
        let detail = if ids_gated {
            detail
        } else {
            format!("{detail} (other machine, BLAS or MLX: not gated)")
        };
        push("token_ids", ok, detail);
    }
    for (key, &b) in &base.crossings_per_token {
        match cur.crossings_per_token.get(key) {
            Some(&c) if (c - b).abs() <= 1e-9 * b.abs().max(1.0) => {
                push(&format!("crossings.{key}"), true, format!("{b:.3}/token"))
            }
            Some(&c) => push(
                &format!("crossings.{key}"),
                false,
                format!("{b:.3} -> {c:.3} per token"),
            ),
            None => push(
                &format!("crossings.{key}"),
                false,
                format!("{b:.3}/token in baseline, not reported now"),
            ),
        }
    }
}

/// Whether two greedy id sequences are identical, and where they first
/// differ when they are not.
fn token_id_difference(base: &[u32], cur: &[u32]) -> (bool, String) {
    let first = base.iter().zip(cur).position(|(a, b)| a != b);
    let ok = first.is_none() && base.len() == cur.len();
    let detail = match first {
        Some(i) => format!("first difference at token {i}: {} -> {}", base[i], cur[i]),
        None if ok => "greedy ids identical".into(),
        None => format!("length {} -> {}", base.len(), cur.len()),
    };
    (ok, detail)
}

fn dedup(v: &[usize]) -> Vec<usize> {
    let mut d = v.to_vec();
    d.sort_unstable();
    d.dedup();
    d
}
