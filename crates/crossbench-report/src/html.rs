//! HTML building blocks: the page shell with its security policy
//! and print-friendly stylesheet, tables and number formats.

use crossbench_core::stats::Interval;

/// Nothing may be fetched: no scripts at all, styles and images only from
/// the page itself. A browser that obeys this makes no request for the page.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0 auto; max-width: 1100px; padding: 16px 24px; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f2f2; }
tr.absent td { color: #888; font-style: italic; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; vertical-align: -0.05em; }
.warnings { border: 2px solid #c62828; background: #fff3f3; padding: 0.4em 1em; }
.warnings li { margin: 0.2em 0; }
.ok { border: 1px solid #2e7d32; background: #f1f8f1; padding: 0.4em 1em; }
figure { margin: 1em 0; break-inside: avoid; }
figcaption { font-size: 0.9em; color: #444; margin-bottom: 0.3em; }
figcaption b { color: #222; }
svg.chart { width: 100%; height: auto; max-width: 760px; display: block; border: 1px solid #eee; }
.verdict-holds { color: #2e7d32; font-weight: bold; }
.verdict-fails { color: #c62828; font-weight: bold; }
.verdict-unclear { color: #a15c00; font-weight: bold; }
.verdict-none { color: #777; }
.note { font-size: 0.85em; color: #555; }
code { font-size: 0.95em; }
@media print { body { max-width: none; padding: 0; font-size: 10pt; } h2 { break-after: avoid; } table { break-inside: auto; } tr { break-inside: avoid; } }
"#;

pub use crate::escape::escape;

/// The whole document around `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    )
}

/// A cell: text is escaped; `num` right-aligns it.
pub enum Cell {
    Text(String),
    Num(String),
    /// Already HTML (swatches, verdict spans).
    Raw(String),
}

pub fn table(headers: &[&str], rows: &[(Option<&str>, Vec<Cell>)]) -> String {
    let mut out = String::from("<table>\n");
    // A key/value table passes empty headers: no header row then.
    if headers.iter().any(|h| !h.is_empty()) {
        out.push_str("<thead><tr>");
        for h in headers {
            out.push_str(&format!("<th>{}</th>", escape(h)));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for (class, cells) in rows {
        match class {
            Some(c) => out.push_str(&format!("<tr class=\"{c}\">")),
            None => out.push_str("<tr>"),
        }
        for cell in cells {
            match cell {
                Cell::Text(t) => out.push_str(&format!("<td>{}</td>", escape(t))),
                Cell::Num(t) => out.push_str(&format!("<td class=\"num\">{}</td>", escape(t))),
                Cell::Raw(h) => out.push_str(&format!("<td>{h}</td>")),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Backend name with its chart colour.
pub fn swatch(name: &str) -> String {
    format!(
        "<span class=\"swatch\" style=\"background:{}\"></span>{}",
        crate::charts::css_color(name),
        escape(name)
    )
}

pub use crossbench_core::units::fmt_ns;

pub fn fmt_opt_ns(ns: Option<f64>) -> String {
    ns.map(fmt_ns).unwrap_or_else(|| "—".into())
}

pub use crossbench_core::units::fmt_bytes;

/// Crossing counts: whole numbers plainly, means with one decimal; beyond
/// 1e15 (no real count, and past where an integer print is exact) in
/// scientific notation rather than a cast that would saturate.
pub fn fmt_count(v: f64) -> String {
    if !v.is_finite() || v.abs() >= 1e15 {
        format!("{v:.3e}")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// "+12.3% [+10.1%, +14.0%] (n=5)" for a ratio interval; the interval is
/// left out where it rests on fewer reps than `view::MIN_REPS_FOR_CI`.
pub fn fmt_ratio(ci: &Interval) -> String {
    use crossbench_core::units::{fmt_pct_change, fmt_ratio_ci};
    if ci.samples < crate::view::MIN_REPS_FOR_CI {
        format!("{} (n={}, no CI)", fmt_pct_change(ci.estimate), ci.samples)
    } else {
        format!("{} (n={})", fmt_ratio_ci(ci), ci.samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(fmt_ns(2.5e9), "2.50 s");
        assert_eq!(fmt_ns(16_064_511.0), "16.1 ms");
        assert_eq!(fmt_ns(1500.0), "1.50 µs");
        assert_eq!(fmt_bytes(272_105_472.0), "259.5 MiB");
        assert_eq!(fmt_count(103.0), "103");
        assert_eq!(fmt_count(1e308), "1.000e308");
        let ci = Interval {
            estimate: 1.1,
            low: 1.05,
            high: 1.2,
            confidence: 0.95,
            samples: 5,
        };
        assert_eq!(fmt_ratio(&ci), "+10.0% [+5.0%, +20.0%] (n=5)");
        let one = Interval { samples: 1, ..ci };
        assert_eq!(fmt_ratio(&one), "+10.0% (n=1, no CI)");
    }

    #[test]
    fn page_forbids_every_fetch() {
        let p = page("t", "<p>x</p>");
        assert!(p.contains("Content-Security-Policy") && p.contains("default-src 'none'"));
        assert!(!p.contains("http:") && !p.contains("https:") && !p.contains("<script"));
    }
}
