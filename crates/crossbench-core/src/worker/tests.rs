use super::*;
use crate::backend::StampSource;
use crate::protocol::GenRequest;

fn shell_worker(script: &str) -> WorkerProcess {
    WorkerProcess::spawn(&WorkerSpec {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: Vec::new(),
        stamp: StampSource::Worker,
        ipc_per_token: false,
    })
    .unwrap()
}

fn generate(prompt_len: u32) -> Request {
    Request::Generate(GenRequest {
        max_new: 4,
        temperature: 0.0,
        top_p: 1.0,
        seed: 0,
        prompt: (0..prompt_len).map(|i| 100_000 + i).collect(),
    })
}

/// True once `pid` no longer runs (gone, or a zombie nobody reaped yet).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim()
            .starts_with('Z'),
    }
}

#[test]
fn a_non_utf8_line_is_a_protocol_error_not_the_end_of_output() {
    let mut w = shell_worker("printf 'ab\\377\\376cd\\n'; sleep 5");
    let deadline = Instant::now() + Duration::from_secs(5);
    match w.next_event(deadline) {
        Err(WorkerError::Protocol { line, error }) => {
            assert!(line.starts_with("ab") && line.ends_with("cd"), "{line}");
            assert!(error.contains("not UTF-8"), "{error}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    w.kill_and_reap();
}

#[test]
fn a_stdout_line_past_the_limit_kills_the_worker_at_once() {
    // 5 MiB without a newline, then silence: before the limit, the driver
    // buffered it all and waited for the deadline.
    let mut w = shell_worker("head -c 5242880 /dev/zero | tr '\\0' a; sleep 30");
    let started = Instant::now();
    match w.next_event(started + Duration::from_secs(20)) {
        Err(WorkerError::LineTooLong { limit }) => {
            assert_eq!(limit, EVENT_LINE_BASE_BYTES);
            let msg = WorkerError::LineTooLong { limit }.to_string();
            assert!(
                msg.contains("4194304 bytes") && msg.contains("killed"),
                "{msg}"
            );
        }
        other => panic!("expected an over-long line, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(w.exit.as_ref().unwrap().status.contains("signal 9"));
}

#[test]
fn a_generate_request_raises_the_line_limit_by_its_tokens() {
    let mut w = shell_worker("sleep 30");
    w.send(&generate(1), Instant::now() + Duration::from_secs(5))
        .unwrap();
    let limit = w.line_limit.load(Ordering::SeqCst);
    assert_eq!(limit, max_event_line_bytes(4));
    assert!(limit > EVENT_LINE_BASE_BYTES);
    w.kill_and_reap();
}

#[test]
fn an_endless_stderr_line_is_cut_not_buffered() {
    let mut w = shell_worker("head -c 20000000 /dev/zero | tr '\\0' e >&2; sleep 30");
    let deadline = Instant::now() + Duration::from_secs(10);
    let cut = format!("[line cut at {} bytes]", lines::STDERR_TAIL_BYTES);
    while !w.stderr_tail().contains(&cut) {
        assert!(
            Instant::now() < deadline,
            "no cut marker in the stderr tail"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(w.stderr_tail().len() <= lines::STDERR_TAIL_BYTES);
    w.kill_and_reap();
}

#[test]
fn a_worker_that_never_reads_stdin_times_out_while_a_long_request_is_written() {
    // A 1.4 MB request fills the pipe buffer (64 KiB) of a worker that never
    // reads: before the deadline on send, the driver blocked in write(2).
    let mut w = shell_worker("sleep 60");
    let started = Instant::now();
    let sent = w.send(&generate(200_000), started + Duration::from_secs(1));
    assert!(matches!(sent, Err(WorkerError::Timeout)), "{sent:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(w.exit.is_some(), "worker killed and reaped");
}

#[test]
fn killing_a_worker_kills_what_it_started() {
    // The worker starts a child (as `perf record` starts the profiled worker)
    // and says its pid; before process groups, that child survived the kill.
    let mut w = shell_worker(
        "sleep 300 & echo \"{\\\"ev\\\":\\\"error\\\",\\\"code\\\":\\\"x\\\",\\\"message\\\":\\\"$!\\\"}\"; wait",
    );
    let first = w.next_event(Instant::now() + Duration::from_secs(10));
    let Ok(StampedEvent {
        event: Event::Error { message: pid, .. },
        ..
    }) = first
    else {
        panic!("expected the child's pid, got {first:?}");
    };
    w.kill_and_reap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gone(&pid) {
        if Instant::now() >= deadline {
            // Leave nothing behind, then fail.
            let _ = Command::new("kill").args(["-9", &pid]).status();
            panic!("the worker's child {pid} outlived the kill");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_offending_line_is_quoted_short() {
    let long = "x".repeat(10_000);
    let q = quoted(&long);
    assert!(q.len() < 400 && q.ends_with("(10000 bytes in all)"), "{q}");
    assert_eq!(quoted("short"), "short");
}

#[test]
fn bounded_lines_allow_exactly_the_limit_and_cut_past_it() {
    use lines::{read_bounded_line, Bounded};
    let read = |input: &'static [u8], limit: usize| {
        // A 2-byte buffer, so lines span several fills.
        let mut r = std::io::BufReader::with_capacity(2, input);
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            let end = read_bounded_line(&mut r, &mut buf, limit).unwrap();
            let stop = end != Bounded::Line;
            out.push((end, String::from_utf8(buf).unwrap()));
            if stop {
                return out;
            }
        }
    };
    let line = |s: &str| (Bounded::Line, s.to_string());
    assert_eq!(
        read(b"abc\n\nla", 3),
        [
            line("abc"),
            line(""),
            line("la"),
            (Bounded::Eof, String::new())
        ]
    );
    assert_eq!(
        read(b"ab\nabcd\n", 3),
        [line("ab"), (Bounded::Cut, "abc".into())]
    );
}
