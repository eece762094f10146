//! The run page's serving section (scenario kind `serve`): throughput
//! against TPOT per design over the load points, TTFT p99 against offered
//! load, and a table per point with each design's paired ratios vs the
//! floor. Numbers come from results.json's `serve` (computed in core).

use std::fmt::Write as _;

use crossbench_core::overhead::fmt_ratio_ci_conf;
use crossbench_core::results::serve::{DesignServe, EqualityCheck, ServePoint, ServeResults};
use crossbench_core::results::BenchResults;
use crossbench_core::scenario::LoadPoint;
use crossbench_core::units::fmt_ns;

use crate::chart_guard::figure;
use crate::charts::{self, Series};
use crate::html::escape;
use crate::ReportError;

/// The section, or "" for runs of other kinds.
pub fn section(results: &BenchResults) -> Result<String, ReportError> {
    let Some(serve) = &results.serve else {
        return Ok(String::new());
    };
    let mut out = format!(
        "<h2 id=\"serve\">Serving under load</h2>\n<p>{} loop, {} measured + {} warm-up \
         requests per design run, max batch {}, SLO TTFT ≤ {} ms and TPOT ≤ {} ms. Every design \
         drives the shim's one engine except those marked <i>other engine</i>; ratios are \
         paired per rep with {} (distribution-free interval, its confidence when below 95%).</p>\n",
        if serve
            .points
            .iter()
            .any(|p| matches!(p.load, LoadPoint::Open { .. }))
        {
            "Open"
        } else {
            "Closed"
        },
        serve.requests,
        serve.warmup_requests,
        serve.max_batch,
        serve.slo.ttft_ms,
        serve.slo.tpot_ms,
        escape(&serve.floor),
    );
    let ms = |ns: f64| ns / 1e6;
    let tput = curves(serve, |d, _| {
        Some((
            *d.summary.get("output_tokens_per_s")?,
            d.summary.get("tpot_p50_ns").map(|v| ms(*v))?,
        ))
    });
    out.push_str(&figure(
        "serve-throughput",
        tput.len(),
        "<b>Throughput against time per output token</b> (medians over reps, one point per load)",
        charts::load_curves(
            &tput,
            "output tokens/s",
            "TPOT p50 (ms)",
            "Throughput against time per output token, per design",
        ),
    )?);
    let ttft = curves(serve, |d, p| {
        Some((offered(p), d.summary.get("ttft_p99_ns").map(|v| ms(*v))?))
    });
    out.push_str(&figure(
        "serve-ttft",
        ttft.len(),
        "<b>Time to first token (p99) against offered load</b> (medians over reps)",
        charts::load_curves(
            &ttft,
            offered_axis(serve),
            "TTFT p99 (ms)",
            "Time to first token (p99) against offered load",
        ),
    )?);
    for point in &serve.points {
        out.push_str(&point_table(point, &serve.floor));
    }
    out.push_str(&claims(serve));
    Ok(out)
}

/// The design note's claims under load, as core judges them.
fn claims(serve: &ServeResults) -> String {
    let rows = crossbench_core::serve::claims::judge(serve);
    if rows.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "<h3 id=\"serve-claims\">The design note's claims under load</h3>\n<table>\n\
         <tr><th>claim</th><th>design</th><th>load</th><th>measured</th><th>verdict</th></tr>\n",
    );
    for r in rows {
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(r.claim),
            escape(&r.design),
            escape(&r.point),
            escape(&r.measured),
            escape(&r.verdict)
        );
    }
    t + "</table>\n"
}

/// One series per design: f(design, point) at every point where it ran.
fn curves(
    serve: &ServeResults,
    f: impl Fn(&DesignServe, &ServePoint) -> Option<(f64, f64)>,
) -> Vec<Series> {
    let mut names: Vec<&str> = Vec::new();
    for d in serve.points.iter().flat_map(|p| &p.designs) {
        if !names.contains(&d.name.as_str()) {
            names.push(&d.name);
        }
    }
    names
        .into_iter()
        .map(|name| Series {
            name: name.to_string(),
            points: serve
                .points
                .iter()
                .filter_map(|p| f(p.designs.iter().find(|d| d.name == name)?, p))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

fn offered(p: &ServePoint) -> f64 {
    match p.load {
        LoadPoint::Closed { concurrency } => concurrency as f64,
        LoadPoint::Open { rate_per_s } => rate_per_s,
    }
}

fn offered_axis(serve: &ServeResults) -> &'static str {
    match serve.points.first().map(|p| p.load) {
        Some(LoadPoint::Open { .. }) => "offered rate (requests/s)",
        _ => "concurrency (requests in flight)",
    }
}

fn point_table(point: &ServePoint, floor: &str) -> String {
    let mut t = format!(
        "<h3>{}</h3>\n<table>\n<tr><th>design</th><th>out tok/s</th><th>TPOT p50</th><th>TPOT p99</th>\
         <th>TTFT p99</th><th>goodput req/s</th><th>tok/s vs {f}</th><th>TPOT p50 vs {f}</th></tr>\n",
        escape(&point.label),
        f = escape(floor)
    );
    for d in &point.designs {
        let num = |k: &str, digits: usize| {
            d.summary
                .get(k)
                .map_or("–".into(), |v| format!("{v:.digits$}"))
        };
        let time = |k: &str| d.summary.get(k).map_or("–".into(), |v| fmt_ns(*v));
        let ratio = |k: &str| d.vs_floor.get(k).map_or("–".into(), fmt_ratio_ci_conf);
        let other = if d.shim_engine {
            ""
        } else {
            " <i>(other engine)</i>"
        };
        let _ = writeln!(
            t,
            "<tr><td>{}{other}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&d.name), num("output_tokens_per_s", 1), time("tpot_p50_ns"), time("tpot_p99_ns"),
            time("ttft_p99_ns"), num("goodput_requests_per_s", 2),
            escape(&ratio("output_tokens_per_s")), escape(&ratio("tpot_p50_ns")),
        );
    }
    t.push_str("</table>\n");
    for (what, c) in [
        ("step schedule", &point.schedule_check),
        ("token ids per request", &point.ids_check),
    ] {
        t.push_str(&verdict(what, c));
    }
    t
}

fn verdict(what: &str, c: &EqualityCheck) -> String {
    let (class, text) = match (c.applicable, c.all_equal) {
        (false, _) => ("sub", format!("{what}: not checked ({})", c.note)),
        (true, true) => (
            "ok",
            format!("{what}: equal in all {} runs compared", c.compared),
        ),
        (true, false) => (
            "warnings",
            format!("{what}: NOT equal: {}", c.mismatches.join("; ")),
        ),
    };
    format!("<p class=\"{class}\">{}</p>\n", escape(&text))
}
