//! The run's experimental design: the order backends take within a round,
//! which workers stay resident, an optional idle gap, the A/A twin, and the
//! plan that adds rounds until a target resolution is reached.
//!
//! Why a Williams design: with A B C D / D C B A, B always follows A or C
//! and never itself or D, so whatever one backend leaves behind (a warm
//! cache, a pass still draining on the other core) always lands on the same
//! neighbour. In a Williams square every backend immediately follows every
//! other backend equally often, so such carryover is balanced over each
//! complete cycle of rounds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::stats::bootstrap::SplitMix64;

pub mod round_order;
pub use round_order::RoundOrder;

/// Order of backends `0..n` in measured round `round`: row `round mod
/// cycle` of a Williams design (cycle = n for even n, 2n for odd n).
pub fn williams_order(n: usize, round: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    // First row 0, 1, n-1, 2, n-2, ...; row r adds r mod n to every entry.
    let first: Vec<usize> = (0..n)
        .map(|j| match j {
            0 => 0,
            j if j % 2 == 1 => j.div_ceil(2),
            j => n - j / 2,
        })
        .collect();
    let row = round % williams_cycle(n);
    let shifted: Vec<usize> = first.iter().map(|&v| (v + row) % n).collect();
    if row >= n {
        // Odd n needs the reversed rows too for every ordered pair to occur.
        shifted.into_iter().rev().collect()
    } else {
        shifted
    }
}

/// The seed of `balanced_order` unless a run names another (`--order-seed`):
/// fixed, so a rerun (and each side of `gate --against`) takes the same orders.
pub const DEFAULT_ORDER_SEED: u64 = 0x5eed_0bde_c0c1_e5ed;

/// Order of backends `0..n` in measured round `round`: row `round mod cycle`
/// of the Williams design with the backends assigned to its positions by a
/// permutation drawn per cycle from `seed`. A relabelled Williams square is a
/// Williams square, so each complete cycle stays balanced (every backend
/// follows every other equally often, takes every position equally often);
/// redrawing the labels between cycles keeps a backend from always following
/// the same neighbour across the whole run, as the plain cyclic design does.
pub fn balanced_order(n: usize, round: usize, seed: u64) -> Vec<usize> {
    let labels = cycle_labels(n, round / williams_cycle(n.max(1)), seed);
    williams_order(n, round)
        .into_iter()
        .map(|position| labels[position])
        .collect()
}

/// The permutation of `0..n` for cycle `cycle`: Fisher–Yates driven by a
/// SplitMix64 seeded from (seed, cycle).
fn cycle_labels(n: usize, cycle: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed ^ (cycle as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut labels: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        labels.swap(i, rng.below(i + 1));
    }
    labels
}

/// `reps` rounded up to whole cycles of `n` backends (at least one cycle).
pub fn whole_cycles(reps: u32, n: usize) -> u32 {
    let cycle = williams_cycle(n.max(1)) as u32;
    reps.max(1).div_ceil(cycle).saturating_mul(cycle)
}

/// Rounds after which every ordered pair of backends has occurred equally
/// often as neighbours.
pub fn williams_cycle(n: usize) -> usize {
    if n % 2 == 0 {
        n.max(1)
    } else {
        2 * n
    }
}

/// Which workers stay loaded during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Residency {
    /// Every worker loaded once and kept: only one generates at a time, the
    /// others sit idle in memory.
    #[default]
    All,
    /// One worker at a time: loaded before its generation (plus its warm-ups)
    /// and quit after it, so models too big to coexist never do. Load time is
    /// recorded per rep and excluded from every generation figure.
    One,
}

impl Residency {
    pub fn as_str(self) -> &'static str {
        match self {
            Residency::All => "all",
            Residency::One => "one",
        }
    }
}

/// "Aim for every overhead interval to be at most `target` wide (half-width,
/// as a fraction) within `budget` of wall time": the plan is fixed once from
/// the pilot (`plan_after_pilot`), so the final width is an outcome, checked
/// and recorded after the run (`ResolutionPlan::record_achieved`), not a
/// guarantee.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolutionTarget {
    pub target: f64,
    pub budget: Duration,
}

/// What the run's design was, recorded in results.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunDesign {
    /// "williams": see `williams_order`.
    pub order: String,
    /// The seed of the per-cycle assignment of backends to positions
    /// (`balanced_order`); None in runs before the order was randomised
    /// between cycles (every cycle the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_seed: Option<u64>,
    pub residency: Residency,
    /// Why that residency (e.g. "auto: 4 workers x 0.9 GiB fit in 21 GiB").
    pub residency_reason: String,
    /// Idle seconds between two generations.
    pub gap_s: f64,
    /// (backend, its A/A twin) when the run measures itself with A/A.
    #[serde(default)]
    pub aa: Option<(String, String)>,
    #[serde(default)]
    pub resolution_plan: Option<ResolutionPlan>,
    /// With a fresh worker per rep: the most tokens of each warm-up generation
    /// (None: warm-ups are as long as the measured generations).
    #[serde(default)]
    pub warmup_tokens: Option<u32>,
}

/// The two-stage plan behind `--until-resolution`: a pilot of the planned
/// reps, then one fixed number of further rounds computed from the pilot's
/// widest interval (half-width shrinks as 1/sqrt(reps)), capped by the
/// budget. The intervals are looked at once after the pilot and never again,
/// so repeated looks cannot shop for a narrow interval; the consequence is
/// that the final width can miss the target (the pilot's width is itself
/// noisy), which the run reports (`achieved_half_width`, `reached`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolutionPlan {
    pub target_half_width: f64,
    pub budget_s: f64,
    pub pilot_reps: u32,
    /// Widest overhead half-width after the pilot; None when it had none.
    pub pilot_half_width: Option<f64>,
    /// Reps the pilot says the target needs.
    pub needed_reps: u32,
    /// Reps actually planned (needed, capped by the budget).
    pub planned_reps: u32,
    /// "target reached by the pilot", "planned to reach the target",
    /// "budget-limited: ...".
    pub outcome: String,
    /// Widest overhead half-width once the run ended (the Resolution's
    /// `half_width`); None before the run ends or when it had no interval.
    #[serde(default)]
    pub achieved_half_width: Option<f64>,
    /// Whether `achieved_half_width` is within `target_half_width`: planning
    /// from the pilot's noise does not make it so.
    #[serde(default)]
    pub reached: Option<bool>,
}

impl RunDesign {
    /// One line for summaries and reports: order, residency, gap, A/A twin.
    /// `backends` are the run's backend names (they decide the cycle).
    pub fn describe(&self, backends: &[&str]) -> String {
        let aa = self
            .aa
            .as_ref()
            .map_or(String::new(), |(o, t)| format!(" · A/A twin {t} of {o}"));
        let warm = self.warmup_tokens.map_or(String::new(), |n| {
            format!(", warm-ups of at most {n} tokens in each fresh worker")
        });
        let seed = self.order_seed.map_or(String::new(), |s| {
            format!(", backends reassigned to positions at random between cycles, seed {s}")
        });
        format!(
            "{} order (every backend follows every other equally often over each {} rounds{seed}) · residency {} ({}{warm}) · gap {} s{aa}",
            self.order,
            RoundOrder::new(backends, 0).cycle(),
            self.residency.as_str(),
            self.residency_reason,
            self.gap_s
        )
    }
}

impl ResolutionPlan {
    /// "target ±2.0%, budget 600 s: the 5-rep pilot had ±6.1%; planned ...;
    /// 47 reps planned; achieved half-width 2.3% vs target 2.0%: not reached".
    pub fn describe(&self) -> String {
        let mut line = format!(
            "target \u{b1}{:.1}%, budget {:.0} s: the {}-rep pilot had {}; {}; {} reps planned",
            self.target_half_width * 100.0,
            self.budget_s,
            self.pilot_reps,
            self.pilot_half_width
                .map_or("no interval".into(), |h| format!("\u{b1}{:.1}%", h * 100.0)),
            self.outcome,
            self.planned_reps
        );
        if let Some(achieved) = self.achieved() {
            line.push_str(&format!("; {achieved}"));
        }
        line
    }

    /// Records the run's final widest half-width against the target.
    pub fn record_achieved(&mut self, achieved_half_width: Option<f64>) {
        self.achieved_half_width = achieved_half_width;
        self.reached = achieved_half_width.map(|h| h <= self.target_half_width);
    }

    /// "achieved half-width 2.3% vs target 2.0%: not reached", once recorded.
    pub fn achieved(&self) -> Option<String> {
        let (h, reached) = (self.achieved_half_width?, self.reached?);
        Some(format!(
            "achieved half-width {:.1}% vs target {:.1}%: {}",
            h * 100.0,
            self.target_half_width * 100.0,
            if reached { "reached" } else { "not reached" }
        ))
    }
}

/// Decides the total reps after a pilot of `pilot_reps` reps that took
/// `pilot_elapsed` per round on average, with `remaining` budget left.
pub fn plan_after_pilot(
    t: ResolutionTarget,
    pilot_reps: u32,
    pilot_half_width: Option<f64>,
    per_round: Duration,
    remaining: Duration,
) -> ResolutionPlan {
    let mut plan = ResolutionPlan {
        target_half_width: t.target,
        budget_s: t.budget.as_secs_f64(),
        pilot_reps,
        pilot_half_width,
        needed_reps: pilot_reps,
        planned_reps: pilot_reps,
        outcome: String::new(),
        achieved_half_width: None,
        reached: None,
    };
    let Some(hw) = pilot_half_width else {
        plan.outcome = "no overhead interval after the pilot: nothing to plan".into();
        return plan;
    };
    if hw <= t.target {
        plan.outcome = "target reached by the pilot".into();
        return plan;
    }
    let needed = (f64::from(pilot_reps) * (hw / t.target).powi(2)).ceil();
    plan.needed_reps = needed.min(f64::from(u32::MAX)) as u32;
    let secs = per_round.as_secs_f64().max(1e-9);
    let affordable = pilot_reps as f64 + (remaining.as_secs_f64() / secs).floor();
    plan.planned_reps = plan.needed_reps.min(affordable as u32).max(pilot_reps);
    plan.outcome = if plan.planned_reps >= plan.needed_reps {
        "planned to reach the target".into()
    } else {
        format!(
            "budget-limited: the target needs ~{} reps, the budget allows {}",
            plan.needed_reps, plan.planned_reps
        )
    };
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Counts how often backend b immediately follows a within rounds.
    fn follows(n: usize, rounds: usize) -> BTreeMap<(usize, usize), usize> {
        let mut count = BTreeMap::new();
        for r in 0..rounds {
            let row = williams_order(n, r);
            let mut sorted = row.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                (0..n).collect::<Vec<_>>(),
                "row {r} is a permutation"
            );
            for w in row.windows(2) {
                *count.entry((w[0], w[1])).or_insert(0) += 1;
            }
        }
        count
    }

    #[test]
    fn every_backend_follows_every_other_equally_often() {
        for n in 2..=7 {
            let cycle = williams_cycle(n);
            let count = follows(n, cycle);
            assert_eq!(count.len(), n * (n - 1), "n={n}: every ordered pair occurs");
            let per = count.values().copied().collect::<Vec<_>>();
            assert!(per.iter().all(|&c| c == per[0]), "n={n}: {count:?}");
        }
        assert_eq!(williams_order(4, 0), [0, 1, 3, 2]);
        assert_eq!(williams_order(1, 3), [0]);
        assert!(williams_order(0, 0).is_empty());
    }

    #[test]
    fn every_cycle_of_the_randomised_order_is_balanced_and_cycles_differ() {
        for n in 2..=7 {
            let cycle = williams_cycle(n);
            let mut rows = Vec::new();
            for c in 0..6 {
                let mut count = BTreeMap::new();
                let mut position = vec![vec![0usize; n]; n];
                for r in c * cycle..(c + 1) * cycle {
                    let row = balanced_order(n, r, DEFAULT_ORDER_SEED);
                    for w in row.windows(2) {
                        *count.entry((w[0], w[1])).or_insert(0) += 1;
                    }
                    for (p, &b) in row.iter().enumerate() {
                        position[b][p] += 1;
                    }
                    rows.push(row);
                }
                assert_eq!(count.len(), n * (n - 1), "n={n} cycle {c}: every pair");
                let per: Vec<usize> = count.values().copied().collect();
                assert!(per.iter().all(|&k| k == per[0]), "n={n}: {count:?}");
                let per_pos = cycle / n;
                assert!(
                    position.iter().flatten().all(|&k| k == per_pos),
                    "n={n}: {position:?}"
                );
            }
            // Not one cycle repeated six times (n = 2 has only two labellings).
            let first = &rows[..cycle];
            let repeats = (1..6)
                .filter(|c| &rows[c * cycle..(c + 1) * cycle] == first)
                .count();
            assert!(repeats < 5, "n={n}: every cycle identical");
        }
        // Seeded: the same seed gives the same run, another seed another.
        let run = |seed| {
            (0..16)
                .map(|r| balanced_order(4, r, seed))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn reps_round_up_to_whole_cycles() {
        assert_eq!(whole_cycles(9, 4), 12);
        assert_eq!(whole_cycles(9, 5), 10);
        assert_eq!(whole_cycles(40, 4), 40);
        assert_eq!(whole_cycles(9, 3), 12);
        assert_eq!(whole_cycles(2, 1), 2);
        assert_eq!(whole_cycles(0, 4), 4);
    }

    #[test]
    fn each_backend_takes_each_position_equally_often() {
        let n = 4;
        let mut first = [0usize; 4];
        for r in 0..williams_cycle(n) {
            first[williams_order(n, r)[0]] += 1;
        }
        assert_eq!(first, [1, 1, 1, 1]);
    }

    #[test]
    fn pilot_plan_scales_with_the_square_of_the_width() {
        let t = ResolutionTarget {
            target: 0.01,
            budget: Duration::from_secs(600),
        };
        let round = Duration::from_secs(1);
        let p = plan_after_pilot(t, 10, Some(0.02), round, Duration::from_secs(500));
        assert_eq!((p.needed_reps, p.planned_reps), (40, 40));
        assert_eq!(p.outcome, "planned to reach the target");
        let p = plan_after_pilot(t, 10, Some(0.02), round, Duration::from_secs(5));
        assert_eq!(p.planned_reps, 15);
        assert!(p.outcome.starts_with("budget-limited"), "{}", p.outcome);
        let p = plan_after_pilot(t, 10, Some(0.005), round, Duration::ZERO);
        assert_eq!(p.planned_reps, 10);
        assert_eq!(p.outcome, "target reached by the pilot");
    }

    #[test]
    fn the_achieved_width_is_judged_against_the_target() {
        let t = ResolutionTarget {
            target: 0.02,
            budget: Duration::from_secs(600),
        };
        let mut p = plan_after_pilot(t, 5, Some(0.04), Duration::ZERO, t.budget);
        assert!(
            p.achieved().is_none(),
            "nothing achieved before the run ends"
        );
        p.record_achieved(Some(0.023));
        assert_eq!(p.reached, Some(false));
        assert!(
            p.describe()
                .ends_with("achieved half-width 2.3% vs target 2.0%: not reached"),
            "{}",
            p.describe()
        );
        p.record_achieved(Some(0.019));
        assert_eq!(
            p.achieved().as_deref(),
            Some("achieved half-width 1.9% vs target 2.0%: reached")
        );
        p.record_achieved(None);
        assert_eq!(p.reached, None, "no interval, no verdict");
    }
}
