//! The page of `crossbench embed` (the design note's GetEmbeddings): one
//! prompt's final hidden state delivered by copy and by zero-copy view, with
//! time and memory of each and whether both held the same numbers.

use serde::Serialize;

use crate::charts::{self, Bar};
use crate::html::{self, escape, fmt_ns, Cell};
use crate::ReportError;

/// embed.json (schema `crossbench.embed/1`), written by `crossbench embed`.
#[derive(Debug, Serialize)]
pub struct EmbedReport {
    pub schema: &'static str,
    pub run_id: String,
    pub model_dir: String,
    pub hidden: usize,
    pub prompt_tokens: usize,
    pub reps: u32,
    pub copy: PathStats,
    pub view: PathStats,
    /// Every rep's view held bit-for-bit the numbers of its copy.
    pub identical: bool,
    /// The BLAS MLX ran with (`--blas`).
    pub blas: String,
    pub reproduce: String,
}

/// One delivery path over all reps.
#[derive(Debug, Default, Serialize)]
pub struct PathStats {
    /// Call that computes and delivers the vector (forward pass included).
    pub median_ns: u64,
    pub min_ns: u64,
    /// Median MLX allocator peak during the call (peak reset before it).
    pub mlx_peak_bytes: u64,
    /// MLX bytes still held while the result is alive, over the baseline:
    /// what keeping the view (vs the copy) costs in MLX memory.
    pub mlx_held_bytes: u64,
    /// Rust heap bytes the delivery allocates (the Vec of the copy).
    pub rust_heap_bytes: u64,
}

impl EmbedReport {
    /// (short name, stats) of both delivery paths, copy first.
    pub fn paths(&self) -> [(&'static str, &PathStats); 2] {
        [("copy", &self.copy), ("view", &self.view)]
    }
}

pub fn render_embed(run: &EmbedReport) -> Result<String, ReportError> {
    let mut body = format!(
        "<h1>crossbench embed — {}</h1>\n<p class=\"sub\">model <code>{}</code>: hidden {} \
         (float32), prompt {} tokens, {} reps, paths alternated per rep; BLAS: {}. \
         Reproduce: <code>{}</code></p>\n",
        escape(&run.run_id),
        escape(&run.model_dir),
        run.hidden,
        run.prompt_tokens,
        run.reps,
        escape(&run.blas),
        escape(&run.reproduce)
    );
    body.push_str(if run.identical {
        "<div class=\"ok\"><p>Every rep's view held bit-for-bit the numbers of its copy.</p></div>\n"
    } else {
        "<div class=\"warnings\"><p><b>The view and the copy delivered different numbers.</b></p></div>\n"
    });
    body.push_str(&path_table(run));
    let bars: Vec<Bar> = run
        .paths()
        .iter()
        .map(|(name, p)| Bar {
            name: name.to_string(),
            value: Some(p.median_ns as f64 / 1e6),
            label: fmt_ns(p.median_ns as f64),
        })
        .collect();
    body.push_str(&format!(
        "<figure><figcaption><b>Median time per call</b> (ms)</figcaption>\n{}</figure>\n",
        charts::svg_or_note(charts::bars("median time per call (ms)", &bars))?
    ));
    Ok(html::page(
        &format!("crossbench embed {}", run.run_id),
        &body,
    ))
}

/// Time and memory of each delivery path, copy first.
fn path_table(run: &EmbedReport) -> String {
    let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
    let rows: Vec<_> = run
        .paths()
        .iter()
        .map(|(name, p)| {
            (
                None,
                vec![
                    Cell::Text(name.to_string()),
                    Cell::Num(fmt_ns(p.median_ns as f64)),
                    Cell::Num(fmt_ns(p.min_ns as f64)),
                    Cell::Num(kib(p.mlx_peak_bytes)),
                    Cell::Num(kib(p.mlx_held_bytes)),
                    Cell::Num(kib(p.rust_heap_bytes)),
                ],
            )
        })
        .collect();
    let table = html::table(
        &[
            "path",
            "median (forward + delivery)",
            "min",
            "MLX peak in call",
            "MLX held while alive",
            "Rust heap",
        ],
        &rows,
    );
    format!("<h2>Time and memory per delivery path</h2>\n{table}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_shows_both_paths_and_the_equality_verdict() {
        let path = |ns: u64| PathStats {
            median_ns: ns,
            min_ns: ns * 9 / 10,
            mlx_peak_bytes: 4096,
            mlx_held_bytes: 1024,
            rust_heap_bytes: 0,
        };
        let mut run = EmbedReport {
            schema: "crossbench.embed/1",
            run_id: "r1".into(),
            model_dir: "m".into(),
            hidden: 256,
            prompt_tokens: 64,
            reps: 5,
            copy: path(2_000_000),
            view: path(1_500_000),
            identical: true,
            blas: "bundled".into(),
            reproduce: "cargo run --release -- embed".into(),
        };
        let page = render_embed(&run).unwrap();
        assert!(page.contains("bit-for-bit") && page.contains("2.00 ms"));
        assert_eq!(charts::data_rects(&page), 2, "one bar per path");
        run.identical = false;
        assert!(render_embed(&run).unwrap().contains("different numbers"));
    }
}
