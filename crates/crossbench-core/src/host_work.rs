//! Deterministic extra host work per token, for showing that the
//! instruction-count gate (`crate::instructions`) catches a small increase.
//! A leaf module: the in-process token consumer (`crate::protocol`) calls it
//! without depending on the instruction counting itself.

/// The variable that makes an in-process worker do extra host work per token
/// (a `black_box` loop of this many iterations in the token consumer), so the
/// gate can be shown to catch a small increase (tests/instructions.rs).
pub const INJECT_HOST_WORK_ENV: &str = "CROSSBENCH_INJECT_HOST_WORK";

/// The iterations asked for by [`INJECT_HOST_WORK_ENV`] (0 when unset or
/// not a number: the knob is for tests and never changes a normal run).
pub fn injected_host_work() -> u64 {
    std::env::var(INJECT_HOST_WORK_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Deterministic host work: `iterations` rounds of a loop the optimizer may
/// not remove (`black_box`), a fixed number of instructions each.
#[inline(never)]
pub fn host_work(iterations: u64) {
    let mut acc = 0u64;
    for i in 0..iterations {
        acc = std::hint::black_box(acc.wrapping_add(i));
    }
    std::hint::black_box(acc);
}
