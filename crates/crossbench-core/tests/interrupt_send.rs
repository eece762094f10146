//! Ctrl-C while a request is written to a worker that does not read it (its
//! own test binary: the interrupt flag is process-wide).

use std::time::{Duration, Instant};

use crossbench_core::backend::{StampSource, WorkerSpec};
use crossbench_core::interrupt::request_interrupt;
use crossbench_core::protocol::{GenRequest, Request};
use crossbench_core::worker::{WorkerError, WorkerProcess};

#[test]
fn an_interrupt_stops_a_write_the_worker_never_reads() {
    let mut w = WorkerProcess::spawn(&WorkerSpec {
        program: "sh".into(),
        args: vec!["-c".into(), "sleep 60".into()],
        env: Vec::new(),
        stamp: StampSource::Worker,
        ipc_per_token: false,
    })
    .unwrap();
    // A long prompt (1.4 MB) fills the pipe's 64 KiB: write(2) would block.
    let req = Request::Generate(GenRequest {
        max_new: 4,
        temperature: 0.0,
        top_p: 1.0,
        seed: 0,
        prompt: (0..200_000).map(|i| 100_000 + i).collect(),
    });
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(500));
        request_interrupt();
    });
    let started = Instant::now();
    let sent = w.send(&req, started + Duration::from_secs(60));
    assert!(matches!(sent, Err(WorkerError::Interrupted)), "{sent:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "stops promptly");
}
