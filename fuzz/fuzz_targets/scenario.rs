//! Scenario files (`crossbench_core::scenario::parse_scenario`): any text is
//! refused with an error naming the file, or yields a scenario whose values
//! are all in range and whose generation request a worker accepts.
#![no_main]

use std::path::Path;

use crossbench_core::protocol::{GenRequest, Request};
use crossbench_core::scenario::{self, parse_scenario, PromptSpec, Scenario};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("scenarios/fuzz.toml");
    match parse_scenario(text, file) {
        Ok(s) => check(&s),
        Err(e) => assert!(e.to_string().contains("scenarios/fuzz.toml"), "{e}"),
    }
});

fn check(s: &Scenario) {
    assert_eq!(s.name, "fuzz");
    let (run, g) = (&s.run, &s.generation);
    assert!(run.warmup <= scenario::MAX_WARMUP);
    assert!((1..=scenario::MAX_REPETITIONS).contains(&run.repetitions));
    assert!(!run.timeout.is_zero() && run.timeout.as_secs_f64() <= scenario::MAX_TIMEOUT_S);
    assert!(!run.backends.is_empty());
    assert!((1..=scenario::MAX_NEW_TOKENS).contains(&g.max_new_tokens));
    if let Some(PromptSpec::Length(n)) = s.prompt {
        assert!((1..=scenario::MAX_PROMPT_TOKENS).contains(&n));
    }
    // The driver sends these values to every worker: what the scenario
    // accepted, the worker's request parser must accept too, unchanged.
    let req = Request::Generate(GenRequest {
        max_new: g.max_new_tokens,
        temperature: g.temperature,
        top_p: g.top_p,
        seed: g.seed,
        prompt: vec![1, 2, 3],
    });
    let line = req.to_line();
    assert_eq!(Request::parse(&line).as_ref(), Ok(&req), "{line}");
}
