use super::*;
use crate::phases::Phase;

fn span(p: Phase, b: u64, e: u64) -> Span {
    [p as u64, b, e]
}

fn rep(stamps: &[u64], spans: Vec<Span>) -> RepRecord {
    RepRecord {
        consumer_ns: stamps.to_vec(),
        token_ids: vec![1; stamps.len()],
        phases: Some(spans),
        ..RepRecord::default()
    }
}

#[test]
fn nested_spans_count_their_self_time_and_gaps_stay_unattributed() {
    // Token 1's interval 100..200: a crossing 110..190 holding build 120..150
    // and wait 150..180; consumer 190..198; 100..110 and 198..200 uncovered.
    let spans = vec![
        span(Phase::Crossing, 110, 190),
        span(Phase::Build, 120, 150),
        span(Phase::Wait, 150, 180),
        span(Phase::Consumer, 190, 198),
    ];
    let s = &token_splits(&rep(&[100, 200], spans))[0];
    assert_eq!(s.phases_ns[Phase::Build as usize], 30);
    assert_eq!(s.phases_ns[Phase::Wait as usize], 30);
    assert_eq!(s.phases_ns[Phase::Crossing as usize], 20);
    assert_eq!(s.phases_ns[Phase::Consumer as usize], 8);
    assert_eq!(s.attributed_ns(), 88);
    assert_eq!(s.interval_ns, 100);
}

#[test]
fn a_span_across_a_token_stamp_is_split_between_the_two_tokens() {
    let spans = vec![span(Phase::Consumer, 150, 250)];
    let splits = token_splits(&rep(&[100, 200, 300], spans));
    assert_eq!(splits[0].phases_ns[Phase::Consumer as usize], 50);
    assert_eq!(splits[1].phases_ns[Phase::Consumer as usize], 50);
}

#[test]
fn receipt_stamped_reps_are_split_on_the_workers_clock() {
    let mut r = rep(&[1_000, 2_010], vec![span(Phase::Wait, 0, 2_000)]);
    r.producer_ns = Some(vec![990, 2_000]);
    let s = &token_splits(&r)[0];
    assert_eq!(s.phases_ns[Phase::Wait as usize], 1_010);
    assert_eq!(s.itl_ns, 1_010);
    let split = phase_split(&[r]).unwrap();
    assert_eq!(split.pipe_latency_ns, Some(10.0));
}

#[test]
fn the_typical_token_is_the_mean_of_the_middle_half() {
    // Four tokens of ITL 100, 100, 100 and an outlier of 1000 (all wait).
    let stamps = [0, 100, 200, 300, 1300];
    let spans = vec![span(Phase::Wait, 0, 1300)];
    let split = phase_split(&[rep(&stamps, spans)]).unwrap();
    assert_eq!(split.tokens, 4);
    assert_eq!(split.itl_ns, 100.0);
    assert_eq!(split.phases_ns["wait"], 100.0);
    assert_eq!(split.coverage_median, 1.0);
    assert_eq!(split.unattributed_ns, 0.0);
}

#[test]
fn reps_without_phases_give_no_split() {
    let r = RepRecord {
        consumer_ns: vec![1, 2, 3],
        ..RepRecord::default()
    };
    assert!(token_splits(&r).is_empty());
    assert!(phase_split(&[r]).is_none());
}

#[test]
fn malformed_spans_are_ignored() {
    let spans = vec![[99, 0, 10], [Phase::Build as u64, 50, 40]];
    let s = &token_splits(&rep(&[0, 100], spans))[0];
    assert_eq!(s.attributed_ns(), 0);
}
