use super::{ExportError, Exporter};
use crate::results::{BackendResult, BenchResults};
use crate::stats::Summary;

/// results.csv: one row per backend and metric. Distribution metrics fill
/// every column; single values (memory, crossings) fill `count` = 1 and
/// `mean` only.
pub struct CsvExporter;

const HEADER: [&str; 16] = [
    "run_id", "scenario", "backend", "status", "metric", "unit", "count", "min", "max", "mean",
    "stddev", "cv", "p50", "p90", "p99", "p999",
];

impl Exporter for CsvExporter {
    fn file_name(&self) -> &'static str {
        "results.csv"
    }

    fn render(&self, results: &BenchResults) -> Result<Vec<u8>, ExportError> {
        let rerr = |e: &dyn std::fmt::Display| ExportError::Render {
            file: "results.csv",
            message: e.to_string(),
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(HEADER).map_err(|e| rerr(&e))?;
        for backend in &results.backends {
            for row in backend_rows(backend) {
                let mut record = vec![
                    results.run_id.clone(),
                    results.scenario.name.clone(),
                    backend.name.clone(),
                    backend.status.as_str().to_string(),
                ];
                record.extend(row);
                out.write_record(&record).map_err(|e| rerr(&e))?;
            }
        }
        out.into_inner().map_err(|e| rerr(&e))
    }
}

fn unit_of(metric: &str) -> &'static str {
    if metric.ends_with("_ns") {
        "ns"
    } else if metric.ends_with("_per_s") {
        "tokens/s"
    } else if metric.ends_with("_bytes") {
        "bytes"
    } else {
        "count"
    }
}

fn backend_rows(b: &BackendResult) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = b
        .summaries
        .iter()
        .map(|(metric, s)| summary_row(metric, s))
        .collect();
    let c = &b.crossings;
    let scalars: [(&str, Option<f64>); 12] = [
        ("load_ns", b.load_ns.map(|v| v as f64)),
        ("peak_rss_bytes", b.memory.peak_rss_bytes.map(|v| v as f64)),
        (
            "worker_reported_peak_rss_bytes",
            b.memory.worker_reported_peak_rss_bytes.map(|v| v as f64),
        ),
        ("mlx_peak_bytes", b.memory.mlx_peak_bytes.map(|v| v as f64)),
        ("rust_to_c_calls", c.rust_to_c_calls),
        ("c_to_rust_callbacks", c.c_to_rust_callbacks),
        ("ipc_messages_in", c.ipc_messages_in),
        ("ipc_messages_out", c.ipc_messages_out),
        ("ipc_bytes_in", c.ipc_bytes_in),
        ("ipc_bytes_out", c.ipc_bytes_out),
        ("mlx_evals_per_token", c.mlx_evals_per_token),
        ("mlx_syncs_per_token", c.mlx_syncs_per_token),
    ];
    for (metric, value) in scalars {
        // A summarized load_ns (load kind) already has its row.
        if let Some(v) = value.filter(|_| !b.summaries.contains_key(metric)) {
            let mut row = vec![metric.to_string(), unit_of(metric).to_string(), "1".into()];
            row.extend(["", "", &v.to_string()].map(String::from));
            row.extend(vec![String::new(); 6]);
            rows.push(row);
        }
    }
    rows
}

fn summary_row(metric: &str, s: &Summary) -> Vec<String> {
    let mut row = vec![
        metric.to_string(),
        unit_of(metric).to_string(),
        s.count.to_string(),
    ];
    for v in [
        s.min, s.max, s.mean, s.stddev, s.cv, s.p50, s.p90, s.p99, s.p999,
    ] {
        row.push(v.to_string());
    }
    row
}
