use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn one_to_hundred_known_answers() {
    let samples: Vec<u64> = (1..=100).collect();
    let s = summarize(&samples).unwrap();
    assert_eq!(s.count, 100);
    assert_eq!((s.min, s.max), (1.0, 100.0));
    assert!(close(s.mean, 50.5));
    // Sample stddev of 1..=100 is sqrt(841.666...) = 29.011491975882016.
    assert!(close(s.stddev, 29.011_491_975_882_016));
    assert!(close(s.cv, 29.011_491_975_882_016 / 50.5));
    assert_eq!((s.p50, s.p90, s.p99, s.p999), (50.0, 90.0, 99.0, 100.0));
}

#[test]
fn single_sample_has_no_spread_and_empty_is_none() {
    let s = summarize(&[7]).unwrap();
    assert_eq!((s.mean, s.stddev, s.cv, s.p99), (7.0, 0.0, 0.0, 7.0));
    assert!(summarize(&[]).is_none());
    assert!(summarize_f64(&[]).is_none());
}

#[test]
fn large_values_keep_three_significant_digits() {
    // 2 ms samples: percentiles within 0.1%.
    let samples: Vec<u64> = (0..1000).map(|i| 2_000_000 + i * 1000).collect();
    let s = summarize(&samples).unwrap();
    let true_p50 = 2_499_000.0;
    assert!((s.p50 - true_p50).abs() / true_p50 < 0.001, "p50 {}", s.p50);
}

#[test]
fn f64_summary_uses_nearest_rank() {
    let s = summarize_f64(&[4.0, 1.0, 3.0, 2.0]).unwrap();
    assert_eq!(
        (s.min, s.max, s.mean, s.p50, s.p90),
        (1.0, 4.0, 2.5, 2.0, 4.0)
    );
}

#[test]
fn histogram_round_trips_through_base64() {
    let samples: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
    let hist = histogram(&samples).unwrap();
    let text = encode_histogram(&hist).unwrap();
    assert!(!text.is_empty());
    let back = decode_histogram(&text).unwrap();
    assert_eq!(back.len(), 1000);
    assert_eq!(back.value_at_quantile(0.5), hist.value_at_quantile(0.5));
}

#[test]
fn rep_metrics_known_answers() {
    // Request at 1000, tokens at 1500, 1700, 2000, 2100.
    let consumer = [1500, 1700, 2000, 2100];
    let m = rep_metrics(1000, &consumer, None, 10, 500).unwrap();
    assert_eq!(m.ttft_ns, 500);
    assert_eq!(m.e2e_ns, 1100);
    assert_eq!(m.itl_ns, vec![200, 300, 100]);
    assert_eq!(m.tpot_ns, Some(200.0));
    assert_eq!(m.decode_tokens_per_s, Some(5_000_000.0));
    assert_eq!(m.prefill_tokens_per_s, Some(20_000_000.0));
    assert!(m.ipc_ns.is_empty());
    let producer = [1400, 1690, 1990, 2000];
    let m = rep_metrics(1000, &consumer, Some(&producer), 10, 0).unwrap();
    assert_eq!(m.ipc_ns, vec![100, 10, 10, 100]);
    assert_eq!(m.prefill_tokens_per_s, None);
    assert!(rep_metrics(0, &[], None, 1, 1).is_none());
    assert_eq!(rep_metrics(0, &[5], None, 1, 1).unwrap().tpot_ns, None);
}
