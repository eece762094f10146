//! A model-free engine for testing the harness end to end.
//!
//! Configured from environment variables (all optional):
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `CROSSBENCH_MOCK_TOKEN_US` | 2000 | delay per generated token, µs |
//! | `CROSSBENCH_MOCK_PREFILL_US_PER_TOKEN` | 20 | prefill delay per prompt token, µs |
//! | `CROSSBENCH_MOCK_LOAD_MS` | 10 | load delay, ms |
//! | `CROSSBENCH_MOCK_SLOWDOWN_PCT` | 0 | extra slowdown added to every delay, percent |
//! | `CROSSBENCH_MOCK_WAIT` | spin | `spin` (busy-wait, precise) or `sleep` (kind to small machines) |
//! | `CROSSBENCH_MOCK_SALT` | 0 | mixed into token ids: two mocks with different salts disagree |
//! | `CROSSBENCH_MOCK_FAIL_AT` | – | generation fails with an error event at token N |
//! | `CROSSBENCH_MOCK_HANG_AT` | – | generation hangs forever at token N |
//! | `CROSSBENCH_MOCK_CRASH_AT` | – | the process exits abruptly (status 3) at token N |
//! | `CROSSBENCH_MOCK_FAULT_FROM` | 1 | faults apply from the N-th generation on (1-based, warmups count) |
//! | `CROSSBENCH_MOCK_FAIL_LOAD` | – | any value: load fails |
//!
//! Token ids are a hash of (salt, prompt, index), plus the seed when
//! temperature > 0, mod 32768: deterministic, so greedy runs agree.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::clock::monotonic_ns;
use crate::phases::{self, Phase, PhaseLog};
use crate::protocol::{codes, EngineError, GenRequest, GenStats, InProcessEngine, LoadInfo};

pub const MOCK_VOCAB: u64 = 32_768;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    Spin,
    Sleep,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    pub token_delay: Duration,
    pub prefill_delay_per_token: Duration,
    pub load_delay: Duration,
    pub slowdown_pct: f64,
    pub wait: WaitMode,
    pub salt: u64,
    pub fail_at: Option<u32>,
    pub hang_at: Option<u32>,
    pub crash_at: Option<u32>,
    pub fault_from_generation: u32,
    pub fail_load: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            token_delay: Duration::from_micros(2000),
            prefill_delay_per_token: Duration::from_micros(20),
            load_delay: Duration::from_millis(10),
            slowdown_pct: 0.0,
            wait: WaitMode::Spin,
            salt: 0,
            fail_at: None,
            hang_at: None,
            crash_at: None,
            fault_from_generation: 1,
            fail_load: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{var}={value}: {problem}")]
pub struct MockConfigError {
    pub var: String,
    pub value: String,
    pub problem: &'static str,
}

impl MockConfig {
    /// Reads the `CROSSBENCH_MOCK_*` variables of this process.
    pub fn from_env() -> Result<Self, MockConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as `from_env`, from any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, MockConfigError> {
        let d = MockConfig::default();
        let num = |var: &str| -> Result<Option<u64>, MockConfigError> {
            lookup(var)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| MockConfigError {
                        var: var.to_string(),
                        value: v.clone(),
                        problem: "expected a non-negative integer",
                    })
                })
                .transpose()
        };
        let slowdown_pct = match lookup("CROSSBENCH_MOCK_SLOWDOWN_PCT") {
            None => 0.0,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(p) if p >= 0.0 && p.is_finite() => p,
                _ => {
                    return Err(cfg_err(
                        "CROSSBENCH_MOCK_SLOWDOWN_PCT",
                        v,
                        "expected a percentage >= 0",
                    ))
                }
            },
        };
        let wait = match lookup("CROSSBENCH_MOCK_WAIT").as_deref() {
            None | Some("spin") => WaitMode::Spin,
            Some("sleep") => WaitMode::Sleep,
            Some(other) => {
                return Err(cfg_err(
                    "CROSSBENCH_MOCK_WAIT",
                    other.into(),
                    "expected spin or sleep",
                ))
            }
        };
        let as_u32 = |v: Option<u64>| v.map(|n| n.min(u64::from(u32::MAX)) as u32);
        Ok(MockConfig {
            token_delay: num("CROSSBENCH_MOCK_TOKEN_US")?
                .map_or(d.token_delay, Duration::from_micros),
            prefill_delay_per_token: num("CROSSBENCH_MOCK_PREFILL_US_PER_TOKEN")?
                .map_or(d.prefill_delay_per_token, Duration::from_micros),
            load_delay: num("CROSSBENCH_MOCK_LOAD_MS")?.map_or(d.load_delay, Duration::from_millis),
            slowdown_pct,
            wait,
            salt: num("CROSSBENCH_MOCK_SALT")?.unwrap_or(0),
            fail_at: as_u32(num("CROSSBENCH_MOCK_FAIL_AT")?),
            hang_at: as_u32(num("CROSSBENCH_MOCK_HANG_AT")?),
            crash_at: as_u32(num("CROSSBENCH_MOCK_CRASH_AT")?),
            fault_from_generation: as_u32(num("CROSSBENCH_MOCK_FAULT_FROM")?).unwrap_or(1),
            fail_load: lookup("CROSSBENCH_MOCK_FAIL_LOAD").is_some(),
        })
    }
}

fn cfg_err(var: &str, value: String, problem: &'static str) -> MockConfigError {
    MockConfigError {
        var: var.to_string(),
        value,
        problem,
    }
}

pub struct MockEngine {
    config: MockConfig,
    generations: u32,
}

impl MockEngine {
    pub fn new(config: MockConfig) -> Self {
        MockEngine {
            config,
            generations: 0,
        }
    }

    /// The id the mock produces at `index` for this request.
    pub fn token_id(&self, req: &GenRequest, index: u32) -> u32 {
        let mut h = mix(self.config.salt ^ 0x9e37_79b9_7f4a_7c15);
        for &id in &req.prompt {
            h = mix(h ^ u64::from(id));
        }
        if req.temperature > 0.0 {
            h = mix(h ^ req.seed);
        }
        (mix(h ^ u64::from(index)) % MOCK_VOCAB) as u32
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(1.0 + self.config.slowdown_pct / 100.0)
    }

    fn wait(&self, d: Duration) {
        let d = self.scaled(d);
        match self.config.wait {
            WaitMode::Sleep => std::thread::sleep(d),
            WaitMode::Spin => {
                let until = Instant::now() + d;
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
            }
        }
    }

    fn faults_active(&self) -> bool {
        self.generations >= self.config.fault_from_generation
    }

    fn inject_fault(&self, index: u32) -> Result<(), EngineError> {
        if !self.faults_active() {
            return Ok(());
        }
        if self.config.crash_at == Some(index) {
            eprintln!("mock: crashing at token {index} as configured");
            std::process::exit(3);
        }
        if self.config.hang_at == Some(index) {
            eprintln!("mock: hanging at token {index} as configured");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        if self.config.fail_at == Some(index) {
            return Err(EngineError::new(
                codes::MOCK_FAULT,
                format!("mock failure injected at token {index}"),
            ));
        }
        Ok(())
    }
}

/// splitmix64 finalizer: cheap and well mixed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl InProcessEngine for MockEngine {
    fn load(&mut self) -> Result<LoadInfo, EngineError> {
        let start = monotonic_ns();
        if self.config.fail_load {
            // Its last words, which the driver's error must carry (stderr tail).
            eprintln!("mock: failing the load as configured");
            return Err(EngineError::new(codes::LOAD, "mock load failure injected"));
        }
        self.wait(self.config.load_delay);
        Ok(LoadInfo {
            load_ns: monotonic_ns() - start,
            device: None, // no MLX
        })
    }

    fn generate(
        &mut self,
        req: &GenRequest,
        on_token: &mut dyn FnMut(u32),
    ) -> Result<GenStats, EngineError> {
        self.generations += 1;
        let start = monotonic_ns();
        self.wait(self.config.prefill_delay_per_token * req.prompt.len() as u32);
        let prefill_ns = monotonic_ns() - start;
        let decode_start = monotonic_ns();
        // Its decode step is a wait, its consumer the token stamp: the phases it has.
        let mut phases = PhaseLog::new(phases::requested(), 2 * req.max_new as usize);
        for index in 0..req.max_new {
            self.inject_fault(index)?;
            // The first token comes out of prefill; later ones cost a decode step.
            if index > 0 {
                let begin = phases.mark();
                self.wait(self.config.token_delay);
                phases.close(Phase::Wait, begin);
            }
            let begin = phases.mark();
            on_token(self.token_id(req, index));
            phases.close(Phase::Consumer, begin);
        }
        // No crossing counters: the mock crosses no C boundary and runs no
        // MLX, so calls/callbacks/evals would be made-up figures.
        let mut counters = BTreeMap::new();
        if phases.enabled() {
            counters.insert(phases::DROPPED.to_string(), phases.dropped());
        }
        Ok(GenStats {
            prefill_ns,
            decode_ns: monotonic_ns() - decode_start,
            counters,
            phases: phases.enabled().then(|| phases.into_spans([])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn req(prompt: Vec<u32>) -> GenRequest {
        GenRequest {
            max_new: 8,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            prompt,
        }
    }

    fn fast(salt: u64) -> MockEngine {
        MockEngine::new(MockConfig {
            token_delay: Duration::ZERO,
            prefill_delay_per_token: Duration::ZERO,
            salt,
            ..MockConfig::default()
        })
    }

    fn run(engine: &mut MockEngine, r: &GenRequest) -> Result<Vec<u32>, EngineError> {
        let mut ids = Vec::new();
        engine.generate(r, &mut |id| ids.push(id))?;
        Ok(ids)
    }

    #[test]
    fn ids_are_deterministic_and_salt_changes_them() {
        let r = req(vec![1, 2, 3]);
        let a = run(&mut fast(0), &r).unwrap();
        assert_eq!(a, run(&mut fast(0), &r).unwrap());
        assert_ne!(a, run(&mut fast(1), &r).unwrap());
        assert_ne!(a, run(&mut fast(0), &req(vec![1, 2, 4])).unwrap());
        assert!(a.iter().all(|&id| u64::from(id) < MOCK_VOCAB));
    }

    #[test]
    fn fail_at_applies_from_the_configured_generation() {
        let mut engine = fast(0);
        engine.config.fail_at = Some(3);
        engine.config.fault_from_generation = 2;
        let r = req(vec![1]);
        assert_eq!(run(&mut engine, &r).unwrap().len(), 8);
        let err = run(&mut engine, &r).unwrap_err();
        assert_eq!(err.code, codes::MOCK_FAULT);
    }

    #[test]
    fn config_reads_variables_and_rejects_garbage() {
        let vars: HashMap<&str, &str> = [
            ("CROSSBENCH_MOCK_TOKEN_US", "5"),
            ("CROSSBENCH_MOCK_SLOWDOWN_PCT", "12.5"),
            ("CROSSBENCH_MOCK_WAIT", "sleep"),
            ("CROSSBENCH_MOCK_HANG_AT", "4"),
        ]
        .into_iter()
        .collect();
        let cfg = MockConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(cfg.token_delay, Duration::from_micros(5));
        assert_eq!(cfg.slowdown_pct, 12.5);
        assert_eq!(cfg.wait, WaitMode::Sleep);
        assert_eq!(cfg.hang_at, Some(4));
        let err = MockConfig::from_lookup(|k| (k == "CROSSBENCH_MOCK_FAIL_AT").then(|| "x".into()))
            .unwrap_err();
        assert!(err.to_string().contains("CROSSBENCH_MOCK_FAIL_AT"));
    }
}
