//! `--until-resolution` checked twice: by simulation (the same planner and
//! interval as a run, on synthetic paired ratios of known truth, no worker
//! processes) and over real mock workers (the achieved width is recorded).

mod common;

use std::time::Duration;

use common::unreachable_resolution_plan;
use crossbench_core::design::plan_after_pilot;
use crossbench_core::overhead::REPORT_CONFIDENCE;
use crossbench_core::stats::bootstrap::SplitMix64;
use crossbench_core::stats::order::median_ci;
use crossbench_core::{run_bench, ResolutionTarget};

/// One paired per-round ratio: `truth` times log-normal noise, whose median
/// is 1, so the population median of the ratios is exactly `truth`.
fn draw_ratio(rng: &mut SplitMix64, truth: f64, sigma: f64) -> f64 {
    // Box-Muller from two uniforms in (0, 1].
    let uniform =
        |rng: &mut SplitMix64| ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let (u1, u2) = (uniform(rng), uniform(rng));
    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    truth * (sigma * normal).exp()
}

/// What one simulated `--until-resolution` run ends with.
struct Trial {
    covered: bool,
    reached: bool,
    achieved_over_target: f64,
}

/// A pilot of `pilot` rounds, the plan made from its widest interval exactly
/// as the driver makes it (no budget limit), then the planned rounds, the
/// pilot's included, and the final interval of their median.
fn simulate(rng: &mut SplitMix64, truth: f64, sigma: f64, pilot: u32, target: f64) -> Trial {
    let mut ratios: Vec<f64> = (0..pilot).map(|_| draw_ratio(rng, truth, sigma)).collect();
    let pilot_ci = median_ci(&ratios, REPORT_CONFIDENCE).expect("a pilot interval");
    let t = ResolutionTarget {
        target,
        budget: Duration::from_secs(3600),
    };
    let budget = t.budget;
    let planned = plan_after_pilot(
        t,
        pilot,
        Some(pilot_ci.larger_side()),
        Duration::from_millis(1),
        budget,
    );
    assert!(planned.planned_reps >= pilot, "the pilot is never undone");
    while ratios.len() < planned.planned_reps as usize {
        ratios.push(draw_ratio(rng, truth, sigma));
    }
    let ci = median_ci(&ratios, REPORT_CONFIDENCE).expect("a final interval");
    let achieved = ci.larger_side();
    Trial {
        covered: ci.contains(truth),
        reached: achieved <= target,
        achieved_over_target: achieved / target,
    }
}

/// 400 seeded trials: truth +3% overhead, per-round log-noise 3% (about the
/// gen100 per-round spread), a 7-round pilot, target ±1%. Measured when
/// written: coverage 0.970 (nominal 0.95), target reached in 0.845 of runs,
/// median achieved / target 0.643. The planner over-plans: a 7-round pilot's
/// interval is the range of its ratios (98.4% confidence), wider than the
/// 95% order-statistic interval of the final run, and it scales that width as
/// 1/sqrt(reps); yet one run in seven still misses the target because the
/// pilot's width is itself noisy, which is why a run reports the width it
/// achieved and claims no guarantee. A planner that scaled the reps with the
/// width rather than its square (tried: target reached in 0.05 of runs,
/// median ratio 1.66),
/// one that over-planned several times over, or an interval that
/// under-covers fails these bounds.
#[test]
fn planned_runs_cover_the_truth_and_mostly_reach_the_target() {
    const TRIALS: usize = 400;
    let (truth, sigma, pilot, target) = (1.03, 0.03, 7, 0.01);
    let mut rng = SplitMix64::new(0x005e_ed28);
    let trials: Vec<Trial> = (0..TRIALS)
        .map(|_| simulate(&mut rng, truth, sigma, pilot, target))
        .collect();
    let rate =
        |f: fn(&Trial) -> bool| trials.iter().filter(|t| f(t)).count() as f64 / TRIALS as f64;
    let coverage = rate(|t| t.covered);
    let reached = rate(|t| t.reached);
    let mut ratio: Vec<f64> = trials.iter().map(|t| t.achieved_over_target).collect();
    ratio.sort_by(f64::total_cmp);
    let median_ratio = ratio[TRIALS / 2];
    eprintln!(
        "coverage {coverage:.3}, reached {reached:.3}, median achieved/target {median_ratio:.3}"
    );
    assert!(
        coverage >= 0.92,
        "a 95% interval covered the truth in {coverage}"
    );
    assert!(
        (0.6..0.99).contains(&reached),
        "target reached in {reached} of runs"
    );
    assert!(
        (0.45..0.9).contains(&median_ratio),
        "median achieved / target {median_ratio}"
    );
}

#[test]
fn a_run_records_and_judges_the_width_it_achieved() {
    let dir = tempfile::tempdir().unwrap();
    let p = unreachable_resolution_plan(dir.path());
    let outcome = run_bench(p).unwrap();
    let plan = outcome
        .results
        .design
        .resolution_plan
        .as_ref()
        .expect("a plan");
    let resolution = outcome.results.resolution.as_ref().expect("a resolution");
    assert_eq!(plan.achieved_half_width, Some(resolution.half_width));
    assert_eq!(plan.reached, Some(false));
    assert!(
        outcome.summary_markdown.contains(": not reached"),
        "{}",
        outcome.summary_markdown
    );
    let json = std::fs::read_to_string(outcome.out_dir.join("results.json")).unwrap();
    assert!(
        json.contains("\"achieved_half_width\""),
        "recorded in results.json"
    );
}
