//! What the charts refuse to draw. A results.json is someone else's file: a
//! count of 1e308 or a latency of u64::MAX ns is finite, parses, and would
//! give plotters an infinite or absurdly wide axis, on which its key-point
//! search never ends (or asserts on NaN). Every chart checks its data here
//! first; the page shows a note instead of a chart it refuses, and the
//! report finishes.

use std::ops::Range;

use crate::ReportError;

/// Largest magnitude any chart draws, in its own units (ms, s, MB, counts,
/// percent): 1e12 ms is 31 years a token, 1e12 MB an exabyte. Well inside
/// the range where plotters' f64 arithmetic stays exact enough.
pub const LIMIT: f64 = 1e12;
/// Smallest axis width or top a chart uses; below it an axis is widened
/// (below 1e-300 plotters' tick scale underflows to zero).
pub const TINY: f64 = 1e-9;

/// Err(Unplottable) naming the chart and the first value that is not finite
/// or is beyond ±`LIMIT`.
pub fn check(
    chart: &'static str,
    what: &str,
    values: impl IntoIterator<Item = f64>,
) -> Result<(), ReportError> {
    match values
        .into_iter()
        .find(|v| !v.is_finite() || v.abs() > LIMIT)
    {
        None => Ok(()),
        Some(v) => Err(ReportError::Unplottable {
            chart,
            message: format!(
                "{what} holds {v:e}, beyond what a chart can show (±{LIMIT:e}): \
                 the results file has an absurd value; the tables show it as recorded"
            ),
        }),
    }
}

/// A linear axis from `lo` to `hi` (checked values) that plotters can lay
/// out: one too narrow for its magnitude is widened around its middle.
pub fn span(lo: f64, hi: f64) -> Range<f64> {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let magnitude = lo.abs().max(hi.abs());
    if hi - lo < TINY.max(magnitude * 1e-9) {
        let half = 0.5f64.max(magnitude * 1e-6);
        return (lo - half)..(hi + half);
    }
    lo..hi
}

/// The chart's SVG, or the note that stands in its place when the data was
/// refused. Other errors (plotters failing on sane data) stay errors.
pub fn svg_or_note(chart: Result<String, ReportError>) -> Result<String, ReportError> {
    match chart {
        Ok(svg) => Ok(svg),
        Err(ReportError::Unplottable { chart, message }) => Ok(format!(
            "<p class=\"warnings\" data-left-out=\"{chart}\">Chart left out: {}</p>",
            crate::escape::escape(&message)
        )),
        Err(e) => Err(e),
    }
}

/// A figure around a chart, or around the note that replaces a chart whose
/// data no axis can hold. `caption` is HTML; `id` is escaped all the same.
pub(crate) fn figure(
    id: &str,
    series: usize,
    caption: &str,
    chart: Result<String, ReportError>,
) -> Result<String, ReportError> {
    let svg = svg_or_note(chart)?;
    Ok(format!(
        "<figure data-chart=\"{}\" data-series=\"{series}\">\n<figcaption>{caption}</figcaption>\n{svg}\n</figure>\n",
        crate::escape::escape(id)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_values_are_refused_by_name() {
        assert!(check("c", "x", [1.0, -LIMIT, LIMIT]).is_ok());
        for bad in [f64::NAN, f64::INFINITY, 1e308, -1e13] {
            let err = check("c", "peak RSS (MB)", [1.0, bad]).unwrap_err();
            assert!(err.to_string().contains("peak RSS (MB)"), "{err}");
        }
        let note = svg_or_note(check("c", "<x>", [1e308]).map(|_| String::new())).unwrap();
        assert!(
            note.contains("Chart left out: &lt;x&gt; holds 1e308"),
            "{note}"
        );
    }

    #[test]
    fn degenerate_spans_are_widened() {
        assert_eq!(span(0.0, 1.0), 0.0..1.0);
        assert_eq!(span(3.0, 3.0), 2.5..3.5);
        let r = span(0.0, 5e-324);
        assert!(r.end - r.start >= 1.0);
        let r = span(LIMIT, LIMIT);
        assert!(r.end > r.start && r.end - r.start >= 1.0);
    }
}
