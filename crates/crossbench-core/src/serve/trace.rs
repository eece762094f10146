//! The request trace of a serve run: generated from the scenario with its
//! seed, written to the file every worker reads (docs/protocol.md, "The
//! trace file"), and read back. The one definition of that format.
//!
//! Prompts and output lengths come from one random stream and arrival times
//! from another, both seeded by `serve.seed`, so every point of a sweep
//! serves the same requests and only their arrivals differ.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::scenario::{LengthRange, LoadPoint, ServeParams};
use crate::stats::bootstrap::SplitMix64;

/// The first line of every trace file.
pub const TRACE_HEADER: &str = "crossbench-serve-trace 1";
/// Synthetic prompt ids lie in 1000..9000, as `scenario::synthetic_prompt_ids`:
/// away from the special tokens, within any vocabulary above 9000.
pub const PROMPT_ID_MIN: u32 = 1000;
pub const PROMPT_ID_MAX: u32 = 9000;

/// Salts that split the seed into independent streams.
const LENGTH_STREAM: u64 = 0x5eed_1e97_0000_0001;
const ARRIVAL_STREAM: u64 = 0x5eed_a441_0000_0002;

/// How the client submits the trace's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceArrival {
    /// Closed loop at this concurrency (the engine's `fill_to`).
    Closed(u32),
    /// Open loop: each request at its `arrival_ns` after the client's start.
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRequest {
    pub id: u64,
    /// Open loop: when it is due after the client's start; 0 in a closed loop.
    pub arrival_ns: u64,
    pub max_new: u32,
    pub prompt: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub arrival: TraceArrival,
    pub max_batch: u32,
    pub admit_timeout_ms: u64,
    pub requests: Vec<TraceRequest>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TraceError {
    #[error("trace line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("trace ends after {got} of {expected} request lines")]
    Short { got: usize, expected: usize },
    #[error("cannot write the trace {file}: {message}")]
    Write { file: String, message: String },
}

impl Trace {
    /// The trace of one load point of `params`.
    pub fn generate(params: &ServeParams, point: &LoadPoint) -> Trace {
        let n = params.trace_requests() as usize;
        let mut lengths = SplitMix64::new(params.seed ^ LENGTH_STREAM);
        let mut requests: Vec<TraceRequest> = (0..n as u64)
            .map(|id| {
                let prompt_len = draw(&mut lengths, params.prompt_len);
                let max_new = draw(&mut lengths, params.output_len);
                let span = u64::from(PROMPT_ID_MAX - PROMPT_ID_MIN);
                let prompt = (0..prompt_len)
                    .map(|_| PROMPT_ID_MIN + (lengths.next_u64() % span) as u32)
                    .collect();
                TraceRequest {
                    id,
                    arrival_ns: 0,
                    max_new,
                    prompt,
                }
            })
            .collect();
        let arrival = match *point {
            LoadPoint::Closed { concurrency } => TraceArrival::Closed(concurrency),
            LoadPoint::Open { rate_per_s } => {
                let mut rng = SplitMix64::new(params.seed ^ ARRIVAL_STREAM);
                let mut t = 0.0f64;
                for (i, r) in requests.iter_mut().enumerate() {
                    // The first request arrives at the client's start.
                    if i > 0 {
                        t += gamma(&mut rng, params.burstiness) / (params.burstiness * rate_per_s);
                    }
                    r.arrival_ns = (t * 1e9).round().min(u64::MAX as f64) as u64;
                }
                TraceArrival::Open
            }
        };
        Trace {
            arrival,
            max_batch: params.max_batch,
            admit_timeout_ms: params.admit_timeout.as_millis().max(1) as u64,
            requests,
        }
    }

    /// Every request's `max_new` summed: the tokens a full serve hands out.
    pub fn total_new_tokens(&self) -> u64 {
        self.requests.iter().map(|r| u64::from(r.max_new)).sum()
    }

    /// The file's text, exactly as docs/protocol.md specifies it.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(64 + self.requests.len() * 64);
        let _ = writeln!(out, "{TRACE_HEADER}");
        match self.arrival {
            TraceArrival::Closed(c) => {
                let _ = writeln!(out, "arrival closed {c}");
            }
            TraceArrival::Open => out.push_str("arrival open\n"),
        }
        let _ = writeln!(out, "max_batch {}", self.max_batch);
        let _ = writeln!(out, "admit_timeout_ms {}", self.admit_timeout_ms);
        let _ = writeln!(out, "requests {}", self.requests.len());
        for r in &self.requests {
            let _ = write!(out, "request {} {} {} ", r.id, r.arrival_ns, r.max_new);
            push_ids(&mut out, &r.prompt);
            out.push('\n');
        }
        out
    }

    pub fn write_file(&self, path: &Path) -> Result<(), TraceError> {
        std::fs::write(path, self.to_text()).map_err(|e| TraceError::Write {
            file: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Reads a trace file's text; strict, since workers read the same text.
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let mut next = |what: &str| {
            lines.next().ok_or_else(|| TraceError::Line {
                line: 0,
                message: format!("missing the {what} line"),
            })
        };
        let (n, header) = next("header")?;
        if header != TRACE_HEADER {
            return Err(bad(n, format!("expected `{TRACE_HEADER}`, got `{header}`")));
        }
        let (n, arrival) = next("arrival")?;
        let arrival = match arrival.strip_prefix("arrival ") {
            Some("open") => TraceArrival::Open,
            Some(rest) => match rest.strip_prefix("closed ").map(|c| c.parse::<u32>()) {
                Some(Ok(c)) if c > 0 => TraceArrival::Closed(c),
                _ => return Err(bad(n, format!("bad arrival line `{arrival}`"))),
            },
            None => return Err(bad(n, format!("expected `arrival ...`, got `{arrival}`"))),
        };
        let (n, line) = next("max_batch")?;
        let max_batch = keyed(n, line, "max_batch")? as u32;
        let (n, line) = next("admit_timeout_ms")?;
        let admit_timeout_ms = keyed(n, line, "admit_timeout_ms")?;
        let (n, line) = next("requests")?;
        let count = keyed(n, line, "requests")? as usize;
        let mut requests = Vec::with_capacity(count.min(1 << 20));
        for (n, line) in lines.by_ref().take(count) {
            requests.push(parse_request(n, line, requests.len() as u64)?);
        }
        if requests.len() < count {
            return Err(TraceError::Short {
                got: requests.len(),
                expected: count,
            });
        }
        Ok(Trace {
            arrival,
            max_batch,
            admit_timeout_ms,
            requests,
        })
    }
}

fn bad(line: usize, message: String) -> TraceError {
    TraceError::Line { line, message }
}

/// `KEY N` with N a positive integer.
fn keyed(n: usize, line: &str, key: &str) -> Result<u64, TraceError> {
    line.strip_prefix(key)
        .and_then(|rest| rest.strip_prefix(' '))
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v > 0 && v <= u64::from(u32::MAX))
        .ok_or_else(|| bad(n, format!("expected `{key} N` (N >= 1), got `{line}`")))
}

/// `request <id> <arrival_ns> <max_new> <prompt>`, ids 0.. in order.
fn parse_request(n: usize, line: &str, expected_id: u64) -> Result<TraceRequest, TraceError> {
    let words: Vec<&str> = line.split(' ').collect();
    let parsed = match words.as_slice() {
        ["request", id, arrival, max_new, prompt] => (|| {
            let prompt = prompt
                .split(',')
                .map(|p| p.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some(TraceRequest {
                id: id.parse().ok()?,
                arrival_ns: arrival.parse().ok()?,
                max_new: max_new.parse().ok().filter(|&m: &u32| m > 0)?,
                prompt,
            })
        })(),
        _ => None,
    };
    match parsed {
        Some(r) if r.id == expected_id => Ok(r),
        Some(r) => Err(bad(
            n,
            format!("request id {} out of order (expected {expected_id})", r.id),
        )),
        None => Err(bad(n, format!("bad request line `{line}`"))),
    }
}

fn push_ids(out: &mut String, ids: &[u32]) {
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
}

/// Uniform in `range.min..=range.max`.
fn draw(rng: &mut SplitMix64, range: LengthRange) -> u32 {
    let width = u64::from(range.max - range.min) + 1;
    range.min + (rng.next_u64() % width) as u32
}

/// Uniform in (0, 1): never 0, so its logarithm is finite.
fn unit(rng: &mut SplitMix64) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// A standard normal (Box–Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let (u, v) = (unit(rng), unit(rng));
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Gamma(shape, scale 1), Marsaglia and Tsang's method; for shape < 1 the
/// usual boost `Gamma(shape + 1) · U^(1/shape)`. Its mean is `shape`, so
/// dividing by `shape · λ` gives gaps of mean 1/λ whatever the burstiness.
fn gamma(rng: &mut SplitMix64, shape: f64) -> f64 {
    if shape < 1.0 {
        return gamma(rng, shape + 1.0) * unit(rng).powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = unit(rng);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
