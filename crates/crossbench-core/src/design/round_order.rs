//! The order the driver runs backends in within each round: the balanced
//! (Williams) order over *units*, where a unit is one backend or, in a
//! rep-interleaved A/B (`gate --against --interleave rep`), a head backend
//! `X` and its base build's worker `X@base` run back to back.
//!
//! Why pairs back to back: on the 2-core VMs the noise a fresh worker sees
//! drifts over seconds to minutes and is shared by whatever runs then (an
//! A/A of one binary in the plain order over 8 workers gave head/base
//! correlations of 0.5-0.7 per round); the closer in time the two members
//! of a pair, the more of that drift cancels in their ratio. Which member
//! leads alternates from round to round (and between units within a
//! round), so over each cycle head and base lead equally often.

use super::{balanced_order, williams_cycle};
use crate::backend::ForeignWorkerBackend;

/// The within-round order for a run's backends (by index in the plan).
#[derive(Debug, Clone, PartialEq)]
pub struct RoundOrder {
    /// Each unit: one backend index, or [head, base].
    units: Vec<Vec<usize>>,
    seed: u64,
}

impl RoundOrder {
    /// Units from the backends' names: `X@base` joins `X` when both are in
    /// the run; every other backend is a unit of its own.
    pub fn new(names: &[&str], seed: u64) -> Self {
        let base_of = |head: &str| {
            names
                .iter()
                .position(|n| ForeignWorkerBackend::original_of(n) == Some(head))
        };
        let paired_bases: Vec<usize> = names.iter().filter_map(|n| base_of(n)).collect();
        let units = (0..names.len())
            .filter(|i| !paired_bases.contains(i))
            .map(|i| match base_of(names[i]) {
                Some(base) => vec![i, base],
                None => vec![i],
            })
            .collect();
        RoundOrder { units, seed }
    }

    /// Whether some head backend runs back to back with its base twin.
    pub fn paired(&self) -> bool {
        self.units.iter().any(|u| u.len() == 2)
    }

    /// Rounds after which the order is balanced: a Williams cycle of the
    /// units (always even, so each pair's lead also balances).
    pub fn cycle(&self) -> usize {
        williams_cycle(self.units.len().max(1))
    }

    /// `reps` rounded up to whole cycles (at least one).
    pub fn whole_cycles(&self, reps: u32) -> u32 {
        let cycle = self.cycle() as u32;
        reps.max(1).div_ceil(cycle).saturating_mul(cycle)
    }

    /// Backend indices in the order of round `round`.
    pub fn order(&self, round: usize) -> Vec<usize> {
        balanced_order(self.units.len(), round, self.seed)
            .into_iter()
            .flat_map(|u| {
                let mut unit = self.units[u].clone();
                if (round + u) % 2 == 1 {
                    unit.reverse();
                }
                unit
            })
            .collect()
    }

    /// The design's name as results.json records it.
    pub fn name(&self) -> &'static str {
        if self.paired() {
            "williams, head/base pairs back to back"
        } else {
            "williams"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["a", "b", "a@base", "b@base"];

    #[test]
    fn without_base_workers_it_is_the_balanced_order() {
        let order = RoundOrder::new(&["a", "b", "c"], 7);
        assert!(!order.paired());
        assert_eq!(order.cycle(), 6);
        for round in 0..12 {
            assert_eq!(order.order(round), balanced_order(3, round, 7));
        }
    }

    #[test]
    fn each_head_runs_next_to_its_base_and_each_leads_half_the_cycle() {
        let order = RoundOrder::new(&NAMES, 3);
        assert!(order.paired());
        assert_eq!(order.cycle(), 2);
        assert_eq!(order.whole_cycles(5), 6);
        let mut head_leads = [0; 2];
        for round in 0..order.cycle() * 4 {
            let o = order.order(round);
            let mut sorted = o.clone();
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2, 3], "round {round}: {o:?}");
            for (head, base) in [(0, 2), (1, 3)] {
                let (h, b) = (pos(&o, head), pos(&o, base));
                assert_eq!(h.abs_diff(b), 1, "round {round}: {o:?}");
                head_leads[head] += usize::from(h < b);
            }
        }
        assert_eq!(head_leads, [4, 4]);
    }

    #[test]
    fn an_unpaired_base_or_twin_is_a_unit_of_its_own() {
        let order = RoundOrder::new(&["a", "a~aa", "a@base", "z@base"], 0);
        assert_eq!(order.units, vec![vec![0, 2], vec![1], vec![3]]);
    }

    fn pos(order: &[usize], x: usize) -> usize {
        order.iter().position(|&i| i == x).unwrap()
    }
}
