//! The report's run metadata: machine, versions, BLAS, model, scenario, and
//! each backend's status, stamp source and error.

use crossbench_core::results::BenchResults;
use crossbench_core::scenario::ModelSource;

use crate::backend_cells::{row_class, status_cell};
use crate::html::{self, fmt_bytes, swatch, Cell};
use crate::view::RunView;

pub(crate) fn metadata(v: &RunView) -> String {
    let r = v.results;
    let mut pairs = run_pairs(r);
    pairs.extend(machine_pairs(r));
    pairs.extend(verdict_pairs(r));
    let mut rows: Vec<(Option<&str>, Vec<Cell>)> = pairs
        .into_iter()
        .chain(crate::run_design::metadata_rows(r))
        .map(|(k, v)| (None, vec![Cell::Text(k.into()), Cell::Text(v)]))
        .collect();
    rows.extend(
        r.environment
            .extra
            .iter()
            .map(|(k, v)| (None, vec![Cell::Text(k.clone()), Cell::Text(v.clone())])),
    );
    format!(
        "<h2>Run metadata</h2>\n{}\n<h3>Backends</h3>\n{}",
        html::table(&["", ""], &rows),
        html::table(
            &[
                "Backend",
                "What it is",
                "Status",
                "Consumer stamp",
                "Worker exit",
                "Error"
            ],
            &backend_rows(v)
        )
    )
}

fn opt(x: &Option<String>) -> String {
    x.clone().unwrap_or_else(|| "unknown".into())
}

/// What ran: the run, its scenario, generation settings, repetitions, model.
fn run_pairs(r: &BenchResults) -> Vec<(&'static str, String)> {
    let e = &r.environment;
    let s = &r.scenario;
    vec![
        (
            "Run",
            format!(
                "{} ({}), {} → {}",
                r.run_id,
                r.status.as_str(),
                r.started_at,
                r.finished_at.as_deref().unwrap_or("not finished")
            ),
        ),
        (
            "Scenario",
            format!(
                "{} ({:?}), {} · sha256 {}",
                s.name, s.kind, s.file, s.sha256
            ),
        ),
        (
            "Generation",
            format!(
                "{} prompt tokens, {} new tokens, temperature {}, top_p {}, seed {}, detokenize {}",
                s.prompt_tokens, s.max_new_tokens, s.temperature, s.top_p, s.seed, s.detokenize
            ),
        ),
        (
            "Repetitions",
            format!(
                "{} warm-up, {} measured, timeout {} s",
                r.ran().warmup,
                r.ran().repetitions,
                r.ran().timeout_s
            ),
        ),
        (
            "Model",
            format!(
                "{} · dir {} · config sha256 {}",
                model_label(r),
                opt(&e.model_dir),
                opt(&e.model_config_sha256)
            ),
        ),
    ]
}

/// Where it ran: machine, versions, BLAS, the GPU (only GPU runs have a
/// GPU row, "none (why)" where none was described) and the commit.
fn machine_pairs(r: &BenchResults) -> Vec<(&'static str, String)> {
    let e = &r.environment;
    let mut pairs = vec![
        (
            "Machine",
            format!(
                "{} · {} cores · {} RAM · {} · kernel {} · device {}",
                opt(&e.cpu_model),
                e.cores.map_or("?".into(), |c| c.to_string()),
                e.ram_bytes.map_or("?".into(), |b| fmt_bytes(b as f64)),
                opt(&e.os),
                opt(&e.kernel),
                opt(&e.device)
            ),
        ),
        (
            "Versions",
            format!(
                "MLX {} · mlx-lm {} · {}",
                opt(&e.mlx_version),
                opt(&e.mlx_lm_version),
                opt(&e.rustc_version)
            ),
        ),
        ("BLAS", opt(&e.blas)),
    ];
    let gpu = crossbench_core::gpu_run::report_line(e, crossbench_core::gpu_run::mlx_peak_bytes(r));
    pairs.extend(gpu.map(|g| ("GPU", g)));
    pairs.push(("Commit", opt(&e.git_commit)));
    pairs
}

/// How trustworthy it is: the noise flag and token agreement.
fn verdict_pairs(r: &BenchResults) -> Vec<(&'static str, String)> {
    let agreement = if r.agreement.all_match {
        "all match"
    } else {
        "MISMATCH"
    };
    vec![
        (
            "Noise",
            format!(
                "noisy: {} (limit: per-rep decode-time CV {:.0}%)",
                r.noisy,
                r.cv_limit * 100.0
            ),
        ),
        (
            "Token agreement",
            format!("{agreement} — {}", r.agreement.note),
        ),
    ]
}

/// One row per backend: what it is, its status, stamp source, exit, error.
fn backend_rows<'a>(v: &'a RunView) -> Vec<(Option<&'a str>, Vec<Cell>)> {
    v.backends
        .iter()
        .map(|b| {
            let res = b.result;
            let cells = vec![
                Cell::Raw(swatch(&b.name)),
                Cell::Text(res.map(|x| x.summary.clone()).unwrap_or_default()),
                status_cell(b),
                Cell::Text(
                    res.and_then(|x| x.stamp_source)
                        .map(|s| format!("{s:?}"))
                        .unwrap_or_default(),
                ),
                Cell::Text(res.and_then(|x| x.exit_status.clone()).unwrap_or_default()),
                Cell::Text(res.and_then(|x| x.error.clone()).unwrap_or_default()),
            ];
            (row_class(b), cells)
        })
        .collect()
}

/// What model the run used, in a few words.
pub fn model_label(r: &BenchResults) -> String {
    if r.backends.iter().all(|b| b.descriptor().is_mock()) {
        return "none (mock engine)".into();
    }
    if let Some(m) = &r.model {
        if let Some(p) = &m.preset {
            let layers = m
                .num_hidden_layers
                .map_or(String::new(), |l| format!(", {l} layers"));
            return format!("preset {p}, {}{layers}", m.dtype.as_deref().unwrap_or("?"));
        }
    }
    let dir = r.environment.model_dir.as_deref().map(|d| {
        std::path::Path::new(d)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| d.to_string())
    });
    dir.unwrap_or_else(|| match &r.scenario.model {
        ModelSource::Preset(p) => format!("preset {p}, {:?}", r.scenario.dtype).to_lowercase(),
        ModelSource::Path(p) => p.display().to_string(),
    })
}
