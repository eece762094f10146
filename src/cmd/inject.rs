//! `bench --inject-slowdown BACKEND=PCT`: a deliberate per-token slowdown in
//! one backend's generation loop, so the regression gate's sensitivity can
//! be measured on real backends (see scripts/gate_experiment.sh).
//!
//! The variable goes to the named backend's worker only. The shim's Session
//! (ffi-token, ffi-batched, native-cpp) and the Python worker read
//! CROSSBENCH_INJECT_SLOWDOWN_PCT; the mock engine has its own knob.

use anyhow::{bail, Context, Result};
use crossbench_core::Backend;

pub const ENV: &str = "CROSSBENCH_INJECT_SLOWDOWN_PCT";
const MOCK_ENV: &str = "CROSSBENCH_MOCK_SLOWDOWN_PCT";

/// Parses `BACKEND=PCT`.
pub fn parse(spec: &str) -> Result<(String, f64)> {
    let (backend, pct) = spec.split_once('=').with_context(|| {
        format!("--inject-slowdown `{spec}`: expected BACKEND=PCT, e.g. ffi-token=5")
    })?;
    let pct: f64 = pct
        .trim()
        .parse()
        .with_context(|| format!("--inject-slowdown `{spec}`: `{pct}` is not a number"))?;
    if !(pct.is_finite() && pct > 0.0 && pct <= 1000.0) {
        bail!("--inject-slowdown `{spec}`: percent must be in (0, 1000]");
    }
    Ok((backend.trim().to_string(), pct))
}

/// The variable that slows `backend`'s worker: the mock engine has its own.
pub fn env_var(backend: &dyn Backend) -> &'static str {
    if backend.descriptor().is_mock() {
        MOCK_ENV
    } else {
        ENV
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_backend_and_percent() {
        assert_eq!(
            super::parse("ffi-token=5").unwrap(),
            ("ffi-token".to_string(), 5.0)
        );
        assert!(super::parse("ffi-token").is_err());
        assert!(super::parse("ffi-token=x").is_err());
        assert!(super::parse("ffi-token=0").is_err());
        assert!(super::parse("ffi-token=-3").is_err());
    }
}
