//! The run's records and display that need only the plan: the scenario as
//! results.json records it, the results record a run starts from, a rep's
//! token rate, the progress bar.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::{generate, BenchPlan};
use crate::clock::utc_now;
use crate::design::{Residency, RunDesign};
use crate::results::{
    BenchResults, PlanRecord, RepRecord, RunStatus, ScenarioRecord, SCHEMA_VERSION,
};

pub(super) fn rep_rate(rep: &RepRecord) -> f64 {
    let (Some(first), Some(last)) = (rep.consumer_ns.first(), rep.consumer_ns.last()) else {
        return 0.0;
    };
    let span = last.saturating_sub(*first);
    if span == 0 {
        return 0.0;
    }
    (rep.consumer_ns.len() - 1) as f64 * 1e9 / span as f64
}

pub(super) fn scenario_record(plan: &BenchPlan) -> ScenarioRecord {
    let s = &plan.scenario.scenario;
    ScenarioRecord {
        name: s.name.clone(),
        file: plan.scenario.path.display().to_string(),
        sha256: plan.scenario.sha256.clone(),
        description: s.description.clone(),
        kind: s.kind,
        model: s.model.clone(),
        dtype: s.dtype,
        prompt_tokens: plan.prompt_ids.len(),
        max_new_tokens: s.generation.max_new_tokens,
        temperature: s.generation.temperature,
        top_p: s.generation.top_p,
        seed: s.generation.seed,
        warmup: s.run.warmup,
        repetitions: s.run.repetitions,
        timeout_s: s.run.timeout.as_secs_f64(),
        detokenize: s.detokenize,
    }
}

/// What the plan runs (`plan_more_rounds` may raise the repetitions).
pub(super) fn plan_record(plan: &BenchPlan) -> PlanRecord {
    PlanRecord {
        warmup: plan.warmup,
        repetitions: plan.repetitions,
        timeout_s: plan.timeout.as_secs_f64(),
    }
}

pub(super) fn make_progress(plan: &BenchPlan) -> ProgressBar {
    if !plan.progress || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total = u64::from(plan.repetitions) * plan.backends.len() as u64;
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed:>4} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    // Redrawn once a second so a long generation shows time passing (a
    // second's wake-up of the driver's bar thread; only on a terminal).
    bar.enable_steady_tick(std::time::Duration::from_secs(1));
    bar.set_prefix(plan.scenario.scenario.name.clone());
    bar
}

/// The results record as a run starts: its plan, setup and design, no
/// backend measured yet.
pub(super) fn initial_results(plan: &BenchPlan, run_id: String, order_name: &str) -> BenchResults {
    BenchResults {
        schema_version: SCHEMA_VERSION,
        run_id,
        started_at: utc_now().1,
        finished_at: None,
        status: RunStatus::Running,
        scenario: scenario_record(plan),
        plan: Some(plan_record(plan)),
        environment: plan.metadata.clone(),
        backends: Vec::new(),
        agreement: Default::default(),
        noisy: false,
        cv_limit: crate::overhead::CV_LIMIT,
        injected_slowdowns: plan.injected_slowdowns.clone(),
        profiling: plan.profiling.clone(),
        model: plan.model.clone(),
        design: RunDesign {
            order: order_name.into(),
            order_seed: Some(plan.order_seed),
            residency: plan.residency,
            residency_reason: plan.residency_reason.clone(),
            gap_s: plan.gap.as_secs_f64(),
            aa: plan.aa.clone(),
            resolution_plan: None,
            warmup_tokens: (plan.residency == Residency::One && plan.warmup > 0)
                .then_some(generate::FRESH_WARMUP_TOKENS),
        },
        resolution: None,
        // Measured before any worker starts: nothing else runs yet.
        harness: Some(crate::footprint::HarnessFootprint {
            record_token_ns: crate::footprint::record_token_cost_ns(),
            record_span_ns: crate::footprint::record_span_cost_ns(),
            ..Default::default()
        }),
        serve: None,
    }
}
