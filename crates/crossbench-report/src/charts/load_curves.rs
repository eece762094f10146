//! Serving curves: one line per design through its load points, each point
//! marked (a sweep of one load is a single point, which a line alone would
//! not show). Throughput against latency, or latency against offered load.

use plotters::prelude::*;

use super::{chart_err, color_of, finish_svg, legend, mesh, nonzero, plot_area, Series};
use super::{HEIGHT, SERIES_STROKE, WIDTH};
use crate::chart_guard::check;
use crate::ReportError;

/// `series`: per design, (x, y) points in load order. Both axes start at 0.
pub fn load_curves(
    series: &[Series],
    x_desc: &str,
    y_desc: &str,
    title: &str,
) -> Result<String, ReportError> {
    let err = chart_err("load_curves");
    check(
        "load_curves",
        x_desc,
        series.iter().flat_map(|s| s.points.iter().map(|p| p.0)),
    )?;
    check(
        "load_curves",
        y_desc,
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
    )?;
    let max = |f: fn(&(f64, f64)) -> f64| {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(f))
            .fold(0.0, f64::max)
    };
    let (x1, y1) = (nonzero(max(|p| p.0)) * 1.1, nonzero(max(|p| p.1)) * 1.15);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = plot_area(&root)
            .build_cartesian_2d(0f64..x1, 0f64..y1)
            .map_err(&err)?;
        mesh(&mut chart, x_desc, y_desc).map_err(&err)?;
        for s in series {
            let color = color_of(&s.name);
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(SERIES_STROKE),
                ))
                .map_err(&err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(&err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft).map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(finish_svg(svg, title))
}
