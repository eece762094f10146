//! Deterministic host-side instruction counts per token (`crossbench
//! instructions`; docs/methodology.md, "Instruction counts").
//!
//! Each backend's worker runs under Valgrind's callgrind twice, generating N1
//! and then N2 tokens from the same prompt with everything else equal; the
//! instructions per token are (I(N2) − I(N1)) / (N2 − N1), so loading,
//! prefill and exit cancel. I counts only the worker's *own* code: the
//! instructions executed inside its executable (the caller's loop, the
//! crossing glue and the shim statically linked into it; for Python the
//! interpreter), in every thread. MLX, BLAS, libc, libstdc++ and the loader
//! are left out: what they execute per token depends on how MLX's compute
//! thread and the caller interleave (malloc's arena state, whether a wait
//! blocked), which varies by a few hundred thousand instructions between
//! identical runs, while the own-code count repeats to a few hundred. The
//! per-object totals of every run are kept in the file for diagnosis.

pub mod callgrind;
mod count_gate;

pub use crate::host_work::{host_work, injected_host_work, INJECT_HOST_WORK_ENV};
pub use count_gate::{gate, GateOutcome, GateRow, Verdict};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file's format tag; a different one is refused by the gate.
pub const FORMAT: &str = "crossbench-instructions/1";

/// The gate's default threshold: 0.5% more own-code instructions per token
/// fails. Counts repeat to within ~0.05% here (docs/methodology.md), so a
/// 1% increase always crosses it and a clean rerun never does.
pub const DEFAULT_THRESHOLD: f64 = 0.005;

/// One `crossbench instructions` run: what was counted, how, with what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InstructionsFile {
    pub format: String,
    /// Versions the counts depend on (valgrind, rustc, c++, mlx, python,
    /// go): compared by the gate, which refuses a baseline made with others.
    pub toolchain: BTreeMap<String, String>,
    pub settings: Settings,
    pub backends: Vec<BackendCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// The two generation lengths (N1 < N2).
    pub tokens: [u32; 2],
    /// Prompt token ids (the same for both lengths and every backend).
    pub prompt: Vec<u32>,
    /// The model directory's name (a preset's cache name) or "none".
    pub model: String,
    /// How often each length ran per backend (≥ 2 checks determinism).
    pub repeat: u32,
    /// The valgrind command line's options.
    pub valgrind_options: Vec<String>,
    /// The pinned variables every worker got (threads, hash seeds, ...).
    pub env: BTreeMap<String, String>,
    /// Informational: the CPU the counts were taken on.
    pub cpu: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackendCount {
    pub name: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Counted(Counted),
    /// Tried and not countable here, with why (never silently skipped).
    NotCounted {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Counted {
    /// Own-code instructions per generated token: the gated number.
    pub per_token: f64,
    /// Largest difference between repeats of one length, per token
    /// ((max − min at N1 + max − min at N2) / (N2 − N1)); 0 when repeat is 1.
    pub spread_per_token: f64,
    /// The objects counted as the worker's own code.
    pub own_objects: Vec<String>,
    pub runs: Vec<Run>,
}

/// One worker process under callgrind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Run {
    pub tokens: u32,
    /// Instructions in the own objects.
    pub own: u64,
    /// Instructions per object (file name only), every thread.
    pub per_object: BTreeMap<String, u64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CountError {
    #[error("need runs at two different lengths, got lengths {0:?}")]
    Lengths(Vec<u32>),
    #[error("the own-code count fell from N1 to N2 ({0} → {1}): not a per-token cost")]
    Negative(u64, u64),
}

/// Per-token count and spread from the runs of one backend (any number of
/// repeats at exactly two lengths): the difference of the medians.
pub fn per_token(runs: &[Run]) -> Result<(f64, f64), CountError> {
    let mut lengths: Vec<u32> = runs.iter().map(|r| r.tokens).collect();
    lengths.sort_unstable();
    lengths.dedup();
    let [n1, n2] = lengths[..] else {
        return Err(CountError::Lengths(lengths));
    };
    let at = |n: u32| {
        let mut v: Vec<u64> = runs
            .iter()
            .filter(|r| r.tokens == n)
            .map(|r| r.own)
            .collect();
        v.sort_unstable();
        (v[v.len() / 2], v[v.len() - 1] - v[0])
    };
    let ((i1, s1), (i2, s2)) = (at(n1), at(n2));
    if i2 < i1 {
        return Err(CountError::Negative(i1, i2));
    }
    let dn = f64::from(n2 - n1);
    Ok(((i2 - i1) as f64 / dn, (s1 + s2) as f64 / dn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tokens: u32, own: u64) -> Run {
        Run {
            tokens,
            own,
            per_object: BTreeMap::new(),
        }
    }

    #[test]
    fn per_token_is_the_slope_between_the_lengths() {
        let (pt, spread) = per_token(&[run(4, 1000), run(36, 33_000)]).unwrap();
        assert_eq!((pt, spread), (1000.0, 0.0));
        let runs = [run(4, 1000), run(4, 1032), run(36, 33_000), run(36, 33_000)];
        let (pt, spread) = per_token(&runs).unwrap();
        assert_eq!(spread, 1.0);
        assert!((pt - 999.0).abs() < 1e-9, "{pt}");
    }

    #[test]
    fn refuses_one_length_and_a_falling_count() {
        assert!(matches!(
            per_token(&[run(4, 1)]),
            Err(CountError::Lengths(_))
        ));
        assert_eq!(
            per_token(&[run(4, 10), run(8, 5)]),
            Err(CountError::Negative(10, 5))
        );
    }
}
