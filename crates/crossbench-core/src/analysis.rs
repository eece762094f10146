//! One analysis of a run, everything a report shows that takes statistics:
//! overhead intervals per backend, per-token series for the charts, the
//! claim measurements, phase shares, and the change between two runs.
//!
//! Why here and not in the report crate: the report had grown its own copies
//! of core's estimators (a second paired e2e series, its own median
//! intervals, a bootstrap for compare while the gate used the rank shift),
//! so two pages could answer one question two ways. Analysis lives in core
//! beside the estimators it uses; the report crate only draws and formats.

pub mod change;
pub mod claims;
pub mod overheads;
pub mod token_series;
