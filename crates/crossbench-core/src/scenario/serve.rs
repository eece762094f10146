//! The `[serve]` section of a `kind = "serve"` scenario: the request stream
//! (closed loop at concurrency C, or open loop at rate λ with gamma
//! burstiness), prompt and output lengths, warm-up requests, the engine's
//! options, the SLO that goodput is judged by, and the optional sweep grid.
//! Validated like the rest of the file: every error names the file and key.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ScenarioError, Validator, MAX_NEW_TOKENS, MAX_PROMPT_TOKENS, MAX_TIMEOUT_S};

/// Bounds that keep a trace's size and the engine's options sane: far above
/// anything a 2-core run (or a GPU) serves in minutes.
pub const MAX_SERVE_REQUESTS: u32 = 100_000;
pub const MAX_CONCURRENCY: u32 = 4096;
pub const MAX_BATCH: u32 = 4096;
pub const MAX_RATE_PER_S: f64 = 1e6;
pub const MAX_SWEEP_POINTS: usize = 64;

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// C requests in flight; each one that ends lets the next in.
    Closed,
    /// Requests arrive at scheduled times, whatever is in flight.
    Open,
}

/// One offered load: a closed loop's concurrency or an open loop's rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadPoint {
    Closed { concurrency: u32 },
    Open { rate_per_s: f64 },
}

impl LoadPoint {
    /// "C=4" or "λ=2/s": how tables and progress lines name the point.
    pub fn label(&self) -> String {
        match self {
            LoadPoint::Closed { concurrency } => format!("C={concurrency}"),
            LoadPoint::Open { rate_per_s } => format!("λ={rate_per_s}/s"),
        }
    }
}

/// A length drawn uniformly from `min..=max` (fixed when equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthRange {
    pub min: u32,
    pub max: u32,
}

/// The service-level objective a request must meet to count in goodput
/// (MLPerf's Llama server limits are TTFT ≤ 2 s, TPOT ≤ 100 ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub ttft_ms: f64,
    pub tpot_ms: f64,
}

/// A validated `[serve]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeParams {
    pub arrival: Arrival,
    /// The offered loads, in the order run: one, or the sweep's grid.
    pub points: Vec<LoadPoint>,
    /// True when the points come from `sweep_concurrency` / `sweep_rate`.
    pub swept: bool,
    /// Gamma shape of the open loop's inter-arrival times (1 = Poisson;
    /// smaller is burstier).
    pub burstiness: f64,
    /// Measured requests per run, after the warm-up ones.
    pub requests: u32,
    /// Served first in every run's trace (ids 0..warmup) and excluded from
    /// every metric.
    pub warmup_requests: u32,
    pub max_batch: u32,
    pub prompt_len: LengthRange,
    pub output_len: LengthRange,
    pub seed: u64,
    /// The engine's longest wait for a submission at a step boundary.
    pub admit_timeout: Duration,
    pub slo: Slo,
}

impl ServeParams {
    /// Requests in each run's trace: warm-up plus measured.
    pub fn trace_requests(&self) -> u32 {
        self.warmup_requests + self.requests
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    arrival: Arrival,
    concurrency: Option<i64>,
    rate_per_s: Option<f64>,
    burstiness: Option<f64>,
    requests: i64,
    #[serde(default)]
    warmup_requests: i64,
    max_batch: i64,
    prompt_len: RawLength,
    output_len: RawLength,
    #[serde(default)]
    seed: i64,
    admit_timeout_s: Option<f64>,
    slo: RawSlo,
    sweep_concurrency: Option<Vec<i64>>,
    sweep_rate: Option<Vec<f64>>,
}

/// `prompt_len = 32` or `prompt_len = { min = 16, max = 64 }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawLength {
    Fixed(i64),
    Range { min: i64, max: i64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    ttft_ms: f64,
    tpot_ms: f64,
}

/// The admit timeout when the file gives none: a resubmission never takes
/// anywhere near this; only a stuck client does.
const DEFAULT_ADMIT_TIMEOUT_S: f64 = 30.0;

impl Validator<'_> {
    pub(super) fn serve(&self, s: &RawServe) -> Result<ServeParams, ScenarioError> {
        let max_batch = self.int_in("serve.max_batch", s.max_batch, 1, MAX_BATCH.into())? as u32;
        let requests =
            self.int_in("serve.requests", s.requests, 1, MAX_SERVE_REQUESTS.into())? as u32;
        let warmup_requests = self.int_in(
            "serve.warmup_requests",
            s.warmup_requests,
            0,
            i64::from(MAX_SERVE_REQUESTS - requests),
        )? as u32;
        let (points, swept) = self.points(s)?;
        let burstiness = match (s.arrival, s.burstiness) {
            (Arrival::Closed, Some(_)) => {
                return Err(self.invalid("serve.burstiness", "applies to arrival = \"open\" only"))
            }
            (_, Some(b)) if !(b.is_finite() && b > 0.0 && b <= 1e3) => {
                return Err(self.invalid(
                    "serve.burstiness",
                    format!("= {b}: must be in (0, 1000] (gamma shape; 1 = Poisson)"),
                ))
            }
            (_, b) => b.unwrap_or(1.0),
        };
        let admit = s.admit_timeout_s.unwrap_or(DEFAULT_ADMIT_TIMEOUT_S);
        if !(0.001..=MAX_TIMEOUT_S).contains(&admit) {
            return Err(self.invalid(
                "serve.admit_timeout_s",
                format!("= {admit}: must be in [0.001, {MAX_TIMEOUT_S}] seconds"),
            ));
        }
        Ok(ServeParams {
            arrival: s.arrival,
            points,
            swept,
            burstiness,
            requests,
            warmup_requests,
            max_batch,
            prompt_len: self.length("serve.prompt_len", &s.prompt_len, MAX_PROMPT_TOKENS)?,
            output_len: self.length("serve.output_len", &s.output_len, MAX_NEW_TOKENS)?,
            seed: self.int_in("serve.seed", s.seed, 0, i64::MAX)? as u64,
            admit_timeout: Duration::from_secs_f64(admit),
            slo: self.slo(&s.slo)?,
        })
    }

    /// The offered loads: the single value, or the sweep's grid, each
    /// allowed only with its own arrival process.
    fn points(&self, s: &RawServe) -> Result<(Vec<LoadPoint>, bool), ScenarioError> {
        let (single_key, sweep_key, wrong) = match s.arrival {
            Arrival::Closed => (
                "serve.concurrency",
                "serve.sweep_concurrency",
                [
                    ("serve.rate_per_s", s.rate_per_s.is_some()),
                    ("serve.sweep_rate", s.sweep_rate.is_some()),
                ],
            ),
            Arrival::Open => (
                "serve.rate_per_s",
                "serve.sweep_rate",
                [
                    ("serve.concurrency", s.concurrency.is_some()),
                    ("serve.sweep_concurrency", s.sweep_concurrency.is_some()),
                ],
            ),
        };
        let arrival = if s.arrival == Arrival::Closed {
            "closed"
        } else {
            "open"
        };
        if let Some((key, _)) = wrong.iter().find(|(_, given)| *given) {
            return Err(self.invalid(key, format!("does not apply to arrival = \"{arrival}\"")));
        }
        let single: Option<LoadPoint> = match s.arrival {
            Arrival::Closed => s
                .concurrency
                .map(|c| self.concurrency(single_key, c))
                .transpose()?,
            Arrival::Open => s.rate_per_s.map(|r| self.rate(single_key, r)).transpose()?,
        };
        let grid: Option<Vec<LoadPoint>> = match s.arrival {
            Arrival::Closed => s.sweep_concurrency.as_ref().map(|v| {
                v.iter()
                    .map(|&c| self.concurrency(sweep_key, c))
                    .collect::<Result<_, _>>()
            }),
            Arrival::Open => s.sweep_rate.as_ref().map(|v| {
                v.iter()
                    .map(|&r| self.rate(sweep_key, r))
                    .collect::<Result<_, _>>()
            }),
        }
        .transpose()?;
        match (single, grid) {
            (Some(_), Some(_)) => Err(self.invalid(
                single_key,
                format!("and `{sweep_key}` are both set; give exactly one"),
            )),
            (None, None) => Err(self.invalid(
                single_key,
                format!("or `{sweep_key}` is required for arrival = \"{arrival}\""),
            )),
            (Some(p), None) => Ok((vec![p], false)),
            (None, Some(grid)) => self.grid(sweep_key, grid).map(|g| (g, true)),
        }
    }

    fn grid(
        &self,
        key: &'static str,
        grid: Vec<LoadPoint>,
    ) -> Result<Vec<LoadPoint>, ScenarioError> {
        if grid.is_empty() || grid.len() > MAX_SWEEP_POINTS {
            return Err(self.invalid(key, format!("must list 1..={MAX_SWEEP_POINTS} values")));
        }
        for (i, p) in grid.iter().enumerate() {
            if grid[..i].contains(p) {
                return Err(self.invalid(key, format!("lists {} twice", p.label())));
            }
        }
        Ok(grid)
    }

    fn concurrency(&self, key: &'static str, c: i64) -> Result<LoadPoint, ScenarioError> {
        let concurrency = self.int_in(key, c, 1, MAX_CONCURRENCY.into())? as u32;
        Ok(LoadPoint::Closed { concurrency })
    }

    fn rate(&self, key: &'static str, r: f64) -> Result<LoadPoint, ScenarioError> {
        if !(r.is_finite() && r > 0.0 && r <= MAX_RATE_PER_S) {
            return Err(self.invalid(
                key,
                format!("= {r}: must be a rate in (0, {MAX_RATE_PER_S}] requests per second"),
            ));
        }
        Ok(LoadPoint::Open { rate_per_s: r })
    }

    fn length(
        &self,
        key: &'static str,
        l: &RawLength,
        max: u32,
    ) -> Result<LengthRange, ScenarioError> {
        let (min, hi) = match *l {
            RawLength::Fixed(n) => (n, n),
            RawLength::Range { min, max } => (min, max),
        };
        let min = self.int_in(key, min, 1, max.into())? as u32;
        let hi = self.int_in(key, hi, 1, max.into())? as u32;
        if min > hi {
            return Err(self.invalid(
                key,
                format!("= {{ min = {min}, max = {hi} }}: min must be <= max"),
            ));
        }
        Ok(LengthRange { min, max: hi })
    }

    fn slo(&self, s: &RawSlo) -> Result<Slo, ScenarioError> {
        for (key, v) in [
            ("serve.slo.ttft_ms", s.ttft_ms),
            ("serve.slo.tpot_ms", s.tpot_ms),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= MAX_TIMEOUT_S * 1e3) {
                return Err(self.invalid(
                    key,
                    format!("= {v}: must be a positive number of milliseconds"),
                ));
            }
        }
        Ok(Slo {
            ttft_ms: s.ttft_ms,
            tpot_ms: s.tpot_ms,
        })
    }
}
