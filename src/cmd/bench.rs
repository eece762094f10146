//! `crossbench bench`: builds the plan from the scenario and flags
//! (`plan_builder`), hands it to the core driver, which writes
//! results/<run-id>/ after every round, and says how the run went.

use crate::backends;
use crate::cmd::bench_args::BenchArgs;
use crate::cmd::plan_builder;
use crate::setup::first_use;
use anyhow::{bail, Context, Result};
use crossbench_core::{install_interrupt_handler, list_scenarios, run_bench, BackendStatus};
use std::path::Path;

pub fn run(args: BenchArgs) -> Result<i32> {
    let scenarios_dir = first_use::project_root()?.join("scenarios");
    let registry = backends::registry();
    if args.list {
        print_list(&scenarios_dir, &registry)?;
        return Ok(0);
    }
    if let Some(file) = &args.print_worker_specs {
        let plan = plan_builder::build(&args, None)?;
        crate::cmd::ab_interleave::write_specs(&plan, file)?;
        return Ok(0);
    }
    let outcome = execute(&args)?;
    println!("{}", outcome.summary_markdown);
    eprintln!("results: {}", outcome.out_dir.display());
    crate::cmd::report::write_after_bench(&outcome.out_dir);
    exit_code(&outcome)
}

/// Builds the plan and runs one bench (no printing); `crossbench sweep` calls
/// it once per rung.
pub fn execute(args: &BenchArgs) -> Result<crossbench_core::RunOutcome> {
    run_plan(plan_builder::build(args, None)?)
}

/// Runs a built plan, stoppable by SIGINT/SIGTERM with what was measured kept.
pub fn run_plan(plan: crossbench_core::BenchPlan) -> Result<crossbench_core::RunOutcome> {
    install_interrupt_handler().context("installing the SIGINT handler")?;
    Ok(run_bench(plan)?)
}

pub fn exit_code(outcome: &crossbench_core::RunOutcome) -> Result<i32> {
    if outcome.interrupted {
        use crossbench_core::interrupt::{interrupt_cause, interrupt_exit_code};
        eprintln!(
            "interrupted ({}): the completed measurements are in {}",
            interrupt_cause().unwrap_or("interrupt"),
            outcome.out_dir.display()
        );
        return Ok(interrupt_exit_code());
    }
    let failed: Vec<&str> = outcome
        .results
        .backends
        .iter()
        .filter(|b| b.status != BackendStatus::Ok)
        .map(|b| b.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "backends did not complete: {} (see {})",
            failed.join(", "),
            outcome.out_dir.display()
        );
    }
    if let Some(serve) = &outcome.results.serve {
        let failed = serve.failed_checks();
        if !failed.is_empty() {
            bail!(
                "serve equal-work check failed: {} (see summary.md)",
                failed.join("; ")
            );
        }
    }
    let agreement = &outcome.results.agreement;
    if agreement.applicable && !agreement.all_match {
        bail!("greedy token ids differ between backends (see summary.md)");
    }
    Ok(0)
}

fn print_list(scenarios_dir: &Path, registry: &crossbench_core::BackendRegistry) -> Result<()> {
    println!("scenarios ({}):", scenarios_dir.display());
    for (name, description) in list_scenarios(scenarios_dir)? {
        println!("  {name:<12} {description}");
    }
    println!("backends:");
    for (name, summary) in registry.list() {
        println!("  {name:<18} {summary}");
    }
    Ok(())
}
