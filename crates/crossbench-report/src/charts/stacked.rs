//! Stacked horizontal bars: each row split 0-100% into parts (the report's
//! "where the time goes" chart), beside the other charts of `charts`.

use plotters::prelude::*;

use super::{chart_err, finish_svg, legend, WIDTH};
use crate::ReportError;

/// One part of every bar: its legend label and colour.
pub struct StackPart<'a> {
    pub label: &'a str,
    pub color: RGBColor,
}

/// One horizontal bar per row (top row first), each split into `parts` in
/// proportion to its values (nanoseconds, one per part, in `parts`' order).
pub fn stacked_percent_bars(
    parts: &[StackPart],
    rows: &[(&str, Vec<f64>)],
) -> Result<String, ReportError> {
    let err = chart_err("phase_split");
    let values = rows.iter().flat_map(|(_, v)| v.iter()).map(|ns| ns / 1e6);
    crate::chart_guard::check("phase_split", "phase time (ms)", values)?;
    let n = rows.len() as u32;
    // Bars at y = 1..=n (top row first); the legend in the room above them.
    let height = 200 + 40 * n;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(150)
            .build_cartesian_2d(0f64..100.0, 0.4f64..f64::from(n) + 3.6)
            .map_err(&err)?;
        let name_at = |y: &f64| {
            let whole = y.fract().abs() < 1e-9 && *y >= 1.0 && *y <= f64::from(n);
            let row = (f64::from(n) - y.round()) as usize;
            whole
                .then(|| rows.get(row).map(|r| r.0.to_string()))
                .flatten()
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("share of the typical token (%)")
            .y_labels(n as usize + 4)
            .y_label_formatter(&name_at)
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(&err)?;
        for (k, part) in parts.iter().enumerate() {
            let color = part.color;
            let rects = rows.iter().enumerate().map(|(i, (_, c))| {
                let total: f64 = c.iter().sum::<f64>().max(1.0);
                let from: f64 = c[..k].iter().sum::<f64>() / total * 100.0;
                let to = from + c[k] / total * 100.0;
                let y = f64::from(n) - i as f64;
                Rectangle::new([(from, y - 0.35), (to, y + 0.35)], color.filled())
            });
            chart
                .draw_series(rects)
                .map_err(&err)?
                .label(part.label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight).map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(finish_svg(
        svg,
        "The typical decode token split into phases",
    ))
}
