//! `crossbench embed`: the design note's GetEmbeddings, delivered two ways
//! from the same in-process model: copied into a Rust Vec (`cb_embed`) and
//! borrowed in place from MLX (`cb_embed_view` + `EmbeddingView`).
//!
//! Why a command of its own rather than a driver scenario kind: the driver
//! times token streams from worker processes over the line protocol; an
//! embedding is one vector per request and the question (copy or view) lives
//! inside one process, where both paths share the model and MLX's allocator.
//! Writes `<out>/<run-id>/embed.json` (schema `crossbench.embed/1`),
//! `embed.md` and `report.html`, and prints the Markdown table.

use anyhow::{bail, Context, Result};
use clap::Args;
use crossbench_core::export::write_atomic;
use crossbench_core::scenario::synthetic_prompt_ids;
use crossbench_report::embed_page::{render_embed, EmbedReport, PathStats};
use crossbench_shim::{mlx_active_memory, mlx_peak_memory, mlx_reset_peak_memory, Model};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct EmbedArgs {
    /// Synthetic preset (made on first use): tiny | small | medium | mistral-7b.
    #[arg(long, default_value = "small", conflicts_with = "model")]
    pub preset: String,
    #[arg(long)]
    pub layers: Option<u32>,
    /// A model directory instead of a preset.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Synthetic prompt length in tokens.
    #[arg(long, default_value_t = 64)]
    pub prompt_tokens: u32,
    #[arg(long, default_value_t = 20)]
    pub reps: u32,
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// BLAS, as for `bench`: auto (Debian's OpenBLAS when installed) | bundled | a path.
    #[arg(long, default_value = "auto")]
    pub blas: String,
}

/// Set in the re-executed process: the BLAS it runs with.
const BLAS_APPLIED: &str = "CROSSBENCH_EMBED_BLAS";

enum BlasStep {
    /// Measure in this process, which runs with this BLAS.
    Here(String),
    /// A re-executed child measured; its exit code.
    Ran(i32),
}

/// The model runs in this process, so a preloaded BLAS must be in place before
/// MLX loads: the first process re-executes itself once with LD_PRELOAD set
/// (as `bench` does for its workers).
fn reexec_with_blas(blas: &str) -> Result<BlasStep> {
    if let Ok(name) = std::env::var(BLAS_APPLIED) {
        return Ok(BlasStep::Here(name));
    }
    let (env, name) = crate::setup::blas_choice::blas_choice(
        blas,
        crate::setup::blas_choice::BlasIdle::Sleep,
        None,
    )?;
    if env.is_empty() {
        return Ok(BlasStep::Here(name));
    }
    let exe = std::env::current_exe().context("cannot find the crossbench executable")?;
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .envs(env)
        .env(BLAS_APPLIED, name)
        .status()
        .context("re-executing crossbench embed with the chosen BLAS")?;
    Ok(BlasStep::Ran(status.code().unwrap_or(1)))
}

#[derive(Default)]
struct Samples {
    ns: Vec<u64>,
    peak: Vec<u64>,
    held: Vec<u64>,
}

pub fn run(args: EmbedArgs) -> Result<i32> {
    if args.reps == 0 || args.prompt_tokens == 0 {
        bail!("--reps and --prompt-tokens must be at least 1");
    }
    let blas = match reexec_with_blas(&args.blas)? {
        BlasStep::Ran(code) => return Ok(code),
        BlasStep::Here(name) => name,
    };
    let dir = match &args.model {
        Some(d) => d.clone(),
        None => crate::model::make::ensure_preset_model(&args.preset, args.layers, "float32", 0)?,
    };
    let mut model = Model::load(&dir).with_context(|| format!("loading {}", dir.display()))?;
    let prompt = synthetic_prompt_ids(args.prompt_tokens);
    model.embed(&prompt)?; // warm MLX's kernels and allocator once
    let (mut copy, mut view, mut identical, mut hidden) =
        (Samples::default(), Samples::default(), true, 0);
    for rep in 0..args.reps {
        // Alternate which path goes first so drift favours neither.
        for path in if rep % 2 == 0 {
            ["copy", "view"]
        } else {
            ["view", "copy"]
        } {
            let base = mlx_active_memory();
            mlx_reset_peak_memory();
            let t = Instant::now();
            if path == "copy" {
                let v = model.embed(&prompt)?;
                copy.record(t, base);
                hidden = v.len();
                let w = model.embed_view(&prompt)?;
                identical &= bits(&v) == bits(&w);
            } else {
                let v = model.embed_view(&prompt)?;
                view.record(t, base);
                drop(v);
            }
        }
    }
    let report = EmbedReport {
        schema: "crossbench.embed/1",
        run_id: crossbench_core::results::new_run_id(),
        model_dir: dir.display().to_string(),
        hidden,
        prompt_tokens: prompt.len(),
        reps: args.reps,
        copy: copy.stats((hidden * 4) as u64),
        view: view.stats(0),
        identical,
        blas,
        reproduce: reproduce(&args),
    };
    write(&args.out, &report)?;
    if !identical {
        bail!("the view and the copy delivered different numbers");
    }
    Ok(0)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

impl Samples {
    /// Called while the result is still alive, right after the call returned.
    fn record(&mut self, start: Instant, base_active: u64) {
        self.ns.push(start.elapsed().as_nanos() as u64);
        self.peak.push(mlx_peak_memory());
        self.held
            .push(mlx_active_memory().saturating_sub(base_active));
    }

    fn stats(&self, rust_heap_bytes: u64) -> PathStats {
        PathStats {
            median_ns: median(&self.ns),
            min_ns: self.ns.iter().copied().min().unwrap_or(0),
            mlx_peak_bytes: median(&self.peak),
            mlx_held_bytes: median(&self.held),
            rust_heap_bytes,
        }
    }
}

/// The statistics module's median, rounded back to whole ns / bytes.
fn median(v: &[u64]) -> u64 {
    let as_f64: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    crossbench_core::stats::median(&as_f64).map_or(0, |m| m.round() as u64)
}

fn reproduce(a: &EmbedArgs) -> String {
    let what = match &a.model {
        Some(m) => format!("--model {}", m.display()),
        None => format!(
            "--preset {}{}",
            a.preset,
            a.layers
                .map(|l| format!(" --layers {l}"))
                .unwrap_or_default()
        ),
    };
    let blas = if a.blas == "auto" {
        String::new()
    } else {
        format!(" --blas {}", a.blas)
    };
    format!(
        "cargo run --release -- embed {what} --prompt-tokens {} --reps {}{blas}",
        a.prompt_tokens, a.reps
    )
}

/// Writes embed.json, embed.md and report.html under <out>/<run-id>/, each
/// atomically, and prints the Markdown table.
fn write(out: &std::path::Path, r: &EmbedReport) -> Result<()> {
    let dir = out.join(&r.run_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let save = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        write_atomic(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    save(
        "embed.json",
        (serde_json::to_string_pretty(r)? + "\n").as_bytes(),
    )?;
    let md = markdown(r);
    save("embed.md", md.as_bytes())?;
    save("report.html", render_embed(r)?.as_bytes())?;
    println!("{md}");
    eprintln!("results: {}", dir.display());
    Ok(())
}

fn markdown(r: &EmbedReport) -> String {
    let ms = |ns: u64| format!("{:.3} ms", ns as f64 / 1e6);
    let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
    let mut md = format!(
        "embed: hidden {} (float32), prompt {} tokens, {} reps, BLAS {}, identical: {}\n\n\
         | path | median | min | MLX peak in call | MLX held while alive | Rust heap |\n|---|---|---|---|---|---|\n",
        r.hidden, r.prompt_tokens, r.reps, r.blas, r.identical
    );
    for (name, p) in [
        ("copy (cb_embed -> Vec)", &r.copy),
        ("zero-copy view (EmbeddingView)", &r.view),
    ] {
        md += &format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            ms(p.median_ns),
            ms(p.min_ns),
            kib(p.mlx_peak_bytes),
            kib(p.mlx_held_bytes),
            kib(p.rust_heap_bytes)
        );
    }
    md
}
