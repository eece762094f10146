//! Shared criterion settings: short enough that `cargo bench -p crossbench-shim`
//! runs every family in a few minutes on a 2-core machine, long enough that the
//! medians' 95% intervals stay within a few percent for ns-scale crossings.

#![allow(dead_code)]

use criterion::Criterion;
use std::time::Duration;

pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .configure_from_args()
}

/// The repository root (benches run with the package directory as cwd).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
