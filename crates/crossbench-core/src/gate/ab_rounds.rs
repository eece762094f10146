//! The rep-interleaved A/B: one `bench` run whose backends are the head's
//! workers and the base revision's (`X@base`, `ForeignWorkerBackend`), each
//! head worker back to back with its base twin in a balanced order
//! (`design::RoundOrder`), a fresh worker per rep. Each round (one rep of
//! every worker) becomes one base/head pair for `compare_ab`.
//!
//! Why: on the 2-core VMs the machine's speed drifts with a memory of
//! seconds to tens of seconds, and every backend of a run moves with it.
//! Alternating whole runs (~13 s each) pairs a base rep with a head rep
//! taken in another state of the machine; within one round both sides run
//! in the same few seconds, so the drift cancels in their ratio and every
//! round is a sample (docs/measurements/gate-experiment.md).

use super::ab::AbPair;
use crate::backend::ForeignWorkerBackend;
use crate::baseline::Baseline;
use crate::environment::Environment;
use crate::results::BenchResults;

/// `name` as one side sees it: a base worker's original name on the base
/// side, a head worker's own on the head side, None for the other side's.
fn on_side(name: &str, base: bool) -> Option<&str> {
    match ForeignWorkerBackend::original_of(name) {
        Some(original) => base.then_some(original),
        None => (!base).then_some(name),
    }
}

/// One (base, head) pair per round of `run`, in round order. The base side
/// holds the `X@base` workers renamed `X`, with `base_env` (what the base
/// build recorded of its setup) as its environment, so the gate's
/// comparability checks see both builds; the head side holds the rest.
/// Each side's overheads vs native-cpp pair its own workers. A round in
/// which a worker has no rep gives that worker no sample there.
pub fn pairs_from_rounds(run: &BenchResults, base_env: &Environment) -> Vec<AbPair> {
    let mut rounds: Vec<u32> = run
        .backends
        .iter()
        .flat_map(|b| b.reps.iter().map(|r| r.index))
        .collect();
    rounds.sort_unstable();
    rounds.dedup();
    let head_all = side(run, false);
    let mut base_all = side(run, true);
    base_all.environment = base_env.clone();
    rounds
        .into_iter()
        .map(|r| AbPair {
            base: one_round(&base_all, r, "base"),
            head: one_round(&head_all, r, "head"),
        })
        .collect()
}

/// `run` with only one side's backends and injections (the base's renamed
/// to the head's names).
fn side(run: &BenchResults, base: bool) -> BenchResults {
    let mut out = run.clone();
    out.backends.retain_mut(|b| match on_side(&b.name, base) {
        Some(name) => {
            b.name = name.to_string();
            true
        }
        None => false,
    });
    out.injected_slowdowns = run
        .injected_slowdowns
        .iter()
        .filter_map(|(k, v)| Some((on_side(k, base)?.to_string(), *v)))
        .collect();
    out
}

/// The side's reps of round `r` only, as a baseline named after the round.
fn one_round(side: &BenchResults, r: u32, which: &str) -> Baseline {
    let mut round = side.clone();
    for b in &mut round.backends {
        b.reps.retain(|rep| rep.index == r);
        // The run records one peak per backend, the largest over all its
        // reps; this round's fresh worker has its own (wait4).
        let own = b.reps.first().and_then(|rep| rep.peak_rss_bytes);
        if own.is_some() {
            b.memory.peak_rss_bytes = own;
        }
    }
    Baseline::from_results(&round, &format!("round {r} {which} {}", side.run_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{backend, results};

    /// Head ffi-token 10% slower than base in every round; each side's
    /// overhead pairs its own native-cpp.
    #[test]
    fn each_round_is_one_pair_and_each_side_pairs_its_own_floor() {
        let mut run = results(vec![
            backend("ffi-token", &[110, 220, 330]),
            backend("native-cpp", &[100, 200, 300]),
            backend("ffi-token@base", &[100, 200, 300]),
            backend("native-cpp@base", &[50, 100, 150]),
        ]);
        run.injected_slowdowns.insert("ffi-token".into(), 10.0);
        let env = Environment {
            git_commit: Some("base".into()),
            ..Default::default()
        };
        let pairs = pairs_from_rounds(&run, &env);
        assert_eq!(pairs.len(), 3);
        let decode = |b: &Baseline, n: &str| b.backend(n).unwrap().samples["decode_ns"].clone();
        let over =
            |b: &Baseline| b.backend("ffi-token").unwrap().overhead_samples["decode_ns"].clone();
        for (k, p) in pairs.iter().enumerate() {
            let names: Vec<&str> = p.base.backends.iter().map(|b| b.name.as_str()).collect();
            assert_eq!(names, ["ffi-token", "native-cpp"]);
            assert_eq!(p.base.environment.git_commit.as_deref(), Some("base"));
            assert!(
                p.base.injected_slowdowns.is_empty(),
                "the head's injection stays the head's"
            );
            assert_eq!(p.head.injected_slowdowns.len(), 1);
            let scale = (k + 1) as f64;
            assert_eq!(decode(&p.head, "ffi-token"), [110.0 * scale]);
            assert_eq!(decode(&p.base, "ffi-token"), [100.0 * scale]);
            assert!((over(&p.head)[0] - 1.1).abs() < 1e-12);
            assert_eq!(
                over(&p.base),
                [2.0],
                "base ffi over base native, not the head's"
            );
        }
    }
}
