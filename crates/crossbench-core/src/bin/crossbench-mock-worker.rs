//! A worker process serving the mock engine over the line protocol.
//!
//! Accepts (and ignores) the arguments the real worker takes
//! (`worker --backend mock --model DIR`), so MockBackend can launch either
//! this binary or the main `crossbench` binary. Configured through the
//! `CROSSBENCH_MOCK_*` variables documented in `crossbench_core::mock`.

use std::io::{stdin, stdout, BufWriter};
use std::process::ExitCode;

use crossbench_core::{serve_in_process, MockConfig, MockEngine};

fn main() -> ExitCode {
    let config = match MockConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("crossbench-mock-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let mut engine = MockEngine::new(config);
    let output = BufWriter::new(stdout().lock());
    match serve_in_process(&mut engine, stdin().lock(), output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crossbench-mock-worker: {e}");
            ExitCode::from(1)
        }
    }
}
