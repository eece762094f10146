//! The subcommands (one file each) and what builds a run's plan from flags:
//! `bench_args` (the flags), `run_flags` (their bounds), `design_opts`,
//! `inject`, `model_choice`, then `plan_builder`, which puts them together.

pub mod ab_base;
pub mod ab_compat;
pub mod ab_interleave;
pub mod ab_runs;
pub mod ab_sequential;
pub mod bench;
pub mod bench_args;
pub mod bundle;
pub mod callgrind_run;
pub mod claims;
pub mod claims_table;
pub mod design_opts;
pub mod embed;
pub mod gate;
pub mod gate_ab;
pub mod gobench;
pub mod inject;
pub mod instructions;
pub mod instructions_ab;
pub mod model_choice;
pub mod plan_builder;
pub mod profile;
pub mod report;
pub mod run_flags;
pub mod sweep;
