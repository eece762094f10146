use std::time::Duration;

use super::*;
use crate::scenario::{Arrival, Slo};

fn params(arrival: Arrival, burstiness: f64) -> ServeParams {
    ServeParams {
        arrival,
        points: Vec::new(),
        swept: false,
        burstiness,
        requests: 400,
        warmup_requests: 4,
        max_batch: 8,
        prompt_len: LengthRange { min: 4, max: 9 },
        output_len: LengthRange { min: 2, max: 5 },
        seed: 7,
        admit_timeout: Duration::from_secs(30),
        slo: Slo {
            ttft_ms: 2000.0,
            tpot_ms: 100.0,
        },
    }
}

const OPEN: LoadPoint = LoadPoint::Open { rate_per_s: 4.0 };
const CLOSED: LoadPoint = LoadPoint::Closed { concurrency: 3 };

#[test]
fn a_seed_gives_the_same_trace_and_another_seed_another() {
    let p = params(Arrival::Open, 1.0);
    assert_eq!(Trace::generate(&p, &OPEN), Trace::generate(&p, &OPEN));
    let other = ServeParams {
        seed: 8,
        ..p.clone()
    };
    assert_ne!(Trace::generate(&p, &OPEN), Trace::generate(&other, &OPEN));
}

#[test]
fn lengths_and_prompts_stay_in_range_and_equal_across_load_points() {
    let p = params(Arrival::Closed, 1.0);
    let a = Trace::generate(&p, &CLOSED);
    let b = Trace::generate(&p, &LoadPoint::Closed { concurrency: 16 });
    assert_eq!(
        a.requests, b.requests,
        "every point serves the same requests"
    );
    assert_eq!(a.requests.len(), 404);
    assert_eq!(a.arrival, TraceArrival::Closed(3));
    for (i, r) in a.requests.iter().enumerate() {
        assert_eq!((r.id, r.arrival_ns), (i as u64, 0));
        assert!(
            (4..=9).contains(&r.prompt.len()) && (2..=5).contains(&r.max_new),
            "{r:?}"
        );
        assert!(r
            .prompt
            .iter()
            .all(|&t| (PROMPT_ID_MIN..PROMPT_ID_MAX).contains(&t)));
    }
    let lens: std::collections::BTreeSet<usize> =
        a.requests.iter().map(|r| r.prompt.len()).collect();
    assert_eq!(
        lens.len(),
        6,
        "every length of the range is drawn: {lens:?}"
    );
    assert_eq!(
        a.total_new_tokens(),
        a.requests.iter().map(|r| u64::from(r.max_new)).sum::<u64>()
    );
}

/// Mean and coefficient of variation of the open loop's gaps, in seconds.
fn gaps(t: &Trace) -> (f64, f64) {
    let g: Vec<f64> = t
        .requests
        .windows(2)
        .map(|w| (w[1].arrival_ns - w[0].arrival_ns) as f64 / 1e9)
        .collect();
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    let var = g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (g.len() - 1) as f64;
    (mean, var.sqrt() / mean)
}

#[test]
fn open_loop_gaps_have_mean_one_over_rate_and_burstiness_sets_their_spread() {
    let poisson = Trace::generate(&params(Arrival::Open, 1.0), &OPEN);
    assert_eq!(
        poisson.requests[0].arrival_ns, 0,
        "the first arrives at the start"
    );
    let (mean, cv) = gaps(&poisson);
    // 403 exponential gaps of mean 0.25 s: the mean within ~15%, CV near 1.
    assert!((mean - 0.25).abs() < 0.04, "{mean}");
    assert!((cv - 1.0).abs() < 0.2, "{cv}");
    // Gamma shape k has CV 1/sqrt(k): 0.25 doubles it, 4 halves it.
    let (_, bursty) = gaps(&Trace::generate(&params(Arrival::Open, 0.25), &OPEN));
    let (_, smooth) = gaps(&Trace::generate(&params(Arrival::Open, 4.0), &OPEN));
    assert!(
        (bursty - 2.0).abs() < 0.5 && (smooth - 0.5).abs() < 0.12,
        "{bursty} {smooth}"
    );
}

#[test]
fn the_file_round_trips_and_reads_as_the_protocol_writes_it() {
    for (arrival, point) in [(Arrival::Open, OPEN), (Arrival::Closed, CLOSED)] {
        let t = Trace::generate(&params(arrival, 1.0), &point);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.txt");
        t.write_file(&path).unwrap();
        assert_eq!(
            Trace::parse(&std::fs::read_to_string(&path).unwrap()).unwrap(),
            t
        );
    }
    let text = "crossbench-serve-trace 1\narrival closed 4\nmax_batch 8\nadmit_timeout_ms 30000\nrequests 2\nrequest 0 0 32 1,2,3\nrequest 1 0 32 5,6\n";
    let t = Trace::parse(text).unwrap();
    assert_eq!(t.to_text(), text, "the documented example, byte for byte");
    assert_eq!(
        (t.arrival, t.max_batch, t.admit_timeout_ms),
        (TraceArrival::Closed(4), 8, 30000)
    );
    assert_eq!(t.requests[1].prompt, vec![5, 6]);
}

#[test]
fn malformed_trace_files_are_refused_with_the_line() {
    let good = "crossbench-serve-trace 1\narrival open\nmax_batch 8\nadmit_timeout_ms 1\nrequests 1\nrequest 0 5 3 1,2\n";
    assert!(Trace::parse(good).is_ok());
    for (bad, line) in [
        (good.replace("trace 1", "trace 2"), 1),
        (good.replace("arrival open", "arrival closed 0"), 2),
        (good.replace("max_batch 8", "max_batch x"), 3),
        (good.replace("request 0 5", "request 1 5"), 6),
        (good.replace(" 3 1,2", " 0 1,2"), 6),
        (good.replace("1,2\n", "1,,2\n"), 6),
        (good.replace("request 0 5 3 1,2", "request  0 5 3 1,2"), 6),
    ] {
        match Trace::parse(&bad) {
            Err(TraceError::Line { line: l, .. }) => assert_eq!(l, line, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(
        Trace::parse(&good.replace("requests 1", "requests 2")),
        Err(TraceError::Short {
            got: 1,
            expected: 2
        })
    );
}
