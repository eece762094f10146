//! `gate --against --looks K`: a rep-interleaved A/B that stays inconclusive
//! after its rounds runs another batch of as many rounds, up to K batches,
//! and judges all rounds so far after each ("looks"). A fixed count of rounds
//! large enough for a noisy machine would triple every A/B on a quiet one
//! (docs/measurements/gate-experiment.md: a round's spread was 2-5% on one
//! VM and 8-11% on others); looking again only while the intervals straddle
//! spends the extra rounds where they are needed.
//!
//! Looking repeatedly at growing data and stopping at the first decisive look
//! would inflate the error rates if every look used the asked confidence.
//! Each look's intervals are therefore at 1 − (1 − c)/K (Bonferroni over the
//! K planned looks): a false regression (or a false pass) needs some look's
//! interval to miss, and the K looks together miss with probability at most
//! 1 − c, whatever the correlation between looks.

use anyhow::{bail, Result};

/// Highest per-look confidence the gate's interval code accepts
/// (`gate::inputs::check_config`).
const MAX_CONFIDENCE: f64 = 0.999;

/// The looks an A/B may take and the confidence of each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Looks {
    /// Batches of rounds at most (1: one batch, judged once).
    pub planned: u32,
    /// The confidence the whole A/B keeps (`--confidence`).
    pub overall: f64,
    /// Each look's interval confidence, 1 − (1 − overall) / planned.
    pub per_look: f64,
}

impl Looks {
    /// Looks for `--looks planned` at `--confidence overall`; an error names
    /// the flag when the per-look confidence would exceed what the
    /// interval code computes.
    pub fn plan(planned: u32, overall: f64) -> Result<Looks> {
        if !(1..=10).contains(&planned) {
            bail!("--looks {planned}: must be 1 to 10");
        }
        let per_look = 1.0 - (1.0 - overall) / f64::from(planned);
        if per_look > MAX_CONFIDENCE + 1e-12 {
            bail!(
                "--looks {planned} with --confidence {overall}: each look would need {:.2}% (at most {}%); lower one of them",
                per_look * 100.0,
                MAX_CONFIDENCE * 100.0
            );
        }
        Ok(Looks {
            planned,
            overall,
            per_look,
        })
    }

    /// The same confidence for a single look (whole runs alternated, which
    /// never look again).
    pub fn single(overall: f64) -> Looks {
        Looks {
            planned: 1,
            overall,
            per_look: overall,
        }
    }

    /// The report's note on how the verdict was reached.
    pub fn note(&self, taken: u32, rounds: usize) -> String {
        if self.planned == 1 {
            return format!("one look at {rounds} rounds (--looks 1)");
        }
        format!(
            "sequential A/B: look {taken} of at most {} ({rounds} rounds so far; another batch only while a check straddles); every interval at {:.2}% so that the {} looks together keep {}% (Bonferroni)",
            self.planned,
            self.per_look * 100.0,
            self.planned,
            self.overall * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_look_spends_an_equal_share_of_the_error() {
        let l = Looks::plan(3, 0.95).unwrap();
        assert!((l.per_look - (1.0 - 0.05 / 3.0)).abs() < 1e-12);
        assert_eq!(Looks::plan(1, 0.95).unwrap(), Looks::single(0.95));
        assert!(l.note(2, 96).contains("look 2 of at most 3"));
        assert!(l.note(2, 96).contains("98.33%"));
    }

    #[test]
    fn impossible_looks_are_refused_naming_the_flag() {
        for bad in [0, 11] {
            let e = Looks::plan(bad, 0.95).unwrap_err().to_string();
            assert!(e.contains(&format!("--looks {bad}")), "{e}");
        }
        let e = Looks::plan(3, 0.999).unwrap_err().to_string();
        assert!(e.contains("--confidence 0.999"), "{e}");
    }
}
