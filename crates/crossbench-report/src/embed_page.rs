//! The page of `crossbench embed` (the design note's GetEmbeddings): one
//! prompt's final hidden state delivered by copy and by zero-copy view, with
//! time and memory of each and whether both held the same numbers.

use crate::charts::{self, Bar};
use crate::html::{self, escape, fmt_ns, Cell};
use crate::ReportError;

/// One delivery path's measurements (medians over the reps).
pub struct EmbedPath<'a> {
    pub name: &'a str,
    pub median_ns: f64,
    pub min_ns: f64,
    /// MLX allocator peak during the call.
    pub mlx_peak_bytes: u64,
    /// MLX bytes still held while the result is alive.
    pub mlx_held_bytes: u64,
    /// Rust heap the delivery allocates.
    pub rust_heap_bytes: u64,
}

/// What was measured, for the page's heading.
pub struct EmbedRun<'a> {
    pub run_id: &'a str,
    pub model_dir: &'a str,
    pub hidden: usize,
    pub prompt_tokens: usize,
    pub reps: u32,
    pub identical: bool,
    pub blas: &'a str,
    pub reproduce: &'a str,
}

pub fn render_embed(run: &EmbedRun, paths: &[EmbedPath]) -> Result<String, ReportError> {
    let mut body = format!(
        "<h1>crossbench embed — {}</h1>\n<p class=\"sub\">model <code>{}</code>: hidden {} \
         (float32), prompt {} tokens, {} reps, paths alternated per rep; BLAS: {}. \
         Reproduce: <code>{}</code></p>\n",
        escape(run.run_id),
        escape(run.model_dir),
        run.hidden,
        run.prompt_tokens,
        run.reps,
        escape(run.blas),
        escape(run.reproduce)
    );
    body.push_str(if run.identical {
        "<div class=\"ok\"><p>Every rep's view held bit-for-bit the numbers of its copy.</p></div>\n"
    } else {
        "<div class=\"warnings\"><p><b>The view and the copy delivered different numbers.</b></p></div>\n"
    });
    let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
    let rows: Vec<_> = paths
        .iter()
        .map(|p| {
            (
                None,
                vec![
                    Cell::Text(p.name.to_string()),
                    Cell::Num(fmt_ns(p.median_ns)),
                    Cell::Num(fmt_ns(p.min_ns)),
                    Cell::Num(kib(p.mlx_peak_bytes)),
                    Cell::Num(kib(p.mlx_held_bytes)),
                    Cell::Num(kib(p.rust_heap_bytes)),
                ],
            )
        })
        .collect();
    body.push_str("<h2>Time and memory per delivery path</h2>\n");
    body.push_str(&html::table(
        &[
            "path",
            "median (forward + delivery)",
            "min",
            "MLX peak in call",
            "MLX held while alive",
            "Rust heap",
        ],
        &rows,
    ));
    let bars: Vec<Bar> = paths
        .iter()
        .map(|p| Bar {
            name: p.name.to_string(),
            value: Some(p.median_ns / 1e6),
            label: fmt_ns(p.median_ns),
        })
        .collect();
    body.push_str(&format!(
        "<figure><figcaption><b>Median time per call</b> (ms)</figcaption>\n{}</figure>\n",
        charts::bars("median time per call (ms)", &bars)?
    ));
    Ok(html::page(
        &format!("crossbench embed {}", run.run_id),
        &body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_shows_both_paths_and_the_equality_verdict() {
        let path = |name, ns| EmbedPath {
            name,
            median_ns: ns,
            min_ns: ns * 0.9,
            mlx_peak_bytes: 4096,
            mlx_held_bytes: 1024,
            rust_heap_bytes: 0,
        };
        let mut run = EmbedRun {
            run_id: "r1",
            model_dir: "m",
            hidden: 256,
            prompt_tokens: 64,
            reps: 5,
            identical: true,
            blas: "bundled",
            reproduce: "cargo run --release -- embed",
        };
        let paths = [path("copy", 2e6), path("view", 1.5e6)];
        let page = render_embed(&run, &paths).unwrap();
        assert!(page.contains("bit-for-bit") && page.contains("2.000 ms"));
        assert_eq!(charts::data_rects(&page), 2, "one bar per path");
        run.identical = false;
        assert!(render_embed(&run, &paths)
            .unwrap()
            .contains("different numbers"));
    }
}
