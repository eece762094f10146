//! `crossbench instructions --against REF`: the instruction-count gate as an
//! A/B on one machine (rustc-perf's way). The base revision is built in its
//! worktree exactly as for `gate --against` (shared cache under
//! `target/ab/`), counts its own workers with its own binary, and this tree's
//! counts are gated against those. Nothing depends on a file recorded on
//! another machine or with another toolchain, so an edit that moves a count
//! is seen against the commit it edits.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use crossbench_core::instructions::gate;

use crate::cmd::ab_base;
use crate::cmd::instructions::{count, out_path, parent_dir, read, InstructionsArgs};
use crate::setup::first_use;

pub fn run(args: &InstructionsArgs, reference: &str) -> Result<i32> {
    let root = first_use::project_root()?;
    let commit = ab_base::resolve_ref(&root, reference)?;
    let build_dir = root.join("target/ab");
    let base = ab_base::prepare(
        &root,
        reference,
        &commit,
        args.base_bin.as_deref(),
        &build_dir,
    )?;
    let head_out = out_path(args.out.clone());
    let base_out = parent_dir(&head_out)?.join("base-instructions.json");
    eprintln!("instructions: counting base {} ...", base.label);
    count_with_base_binary(&base.bin, &base.label, args, &base_out)?;
    let base_file = read(&base_out)?;
    eprintln!(
        "instructions: counting head {} ...",
        ab_base::head_label(&root)
    );
    let head_file = count(args, &head_out)?;
    // Both sides were built here by the same toolchain: a difference in the
    // toolchain entries (e.g. a base pinning another MLX) is a real error.
    let outcome = gate(&base_file, &head_file, args.threshold / 100.0, false);
    println!("base: {} ({})", base.label, base_out.display());
    print!("{}", outcome.render());
    Ok(outcome.exit_code)
}

/// Runs the base binary's own `instructions` with this run's settings (no
/// injection: `--inject-host-work` applies to the head only).
fn count_with_base_binary(
    bin: &Path,
    label: &str,
    args: &InstructionsArgs,
    out: &Path,
) -> Result<()> {
    let status = Command::new(bin)
        .args(["instructions", "--backends", &args.backends])
        .args(["--tokens", &args.tokens, "--preset", &args.preset])
        .args(["--repeat", &args.repeat.to_string()])
        .arg("--out")
        .arg(out)
        // The base finds its own root (its worktree), not the head's.
        .env_remove("CROSSBENCH_ROOT")
        .status()
        .with_context(|| format!("running {} instructions", bin.display()))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(2) => bail!(
            "base {label}: `{} instructions` refused these arguments (a base older than \
             `crossbench instructions --against` cannot count itself: gate against \
             results/baselines/instructions.json with --baseline instead)",
            bin.display()
        ),
        _ => bail!(
            "base {label}: `{} instructions` failed ({status}); its messages are above",
            bin.display()
        ),
    }
}
