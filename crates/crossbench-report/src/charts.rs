//! The report's charts, one function per chart, each taking plain data and
//! returning one inline `<svg>` element.
//!
//! Drawn with plotters' SVG backend and its built-in text layout estimate, so
//! no font file is read: text becomes SVG `<text>` that the browser sets in
//! its own sans-serif. Structure the tests rely on: each line series is one
//! `<polyline>` (legend keys are rectangles, never lines), and each bar is one
//! filled `<rect>` in its backend's colour (see `data_rects`).

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::colors::TRANSPARENT;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use crate::chart_guard::svg_or_note;
use crate::chart_guard::{check, span, TINY};
use crate::ReportError;

mod load_curves;
mod stacked;

pub use load_curves::load_curves;
pub use stacked::{stacked_percent_bars, StackPart};

/// Chart size in SVG user units; the page scales it to its column width.
pub const WIDTH: u32 = 760;
pub const HEIGHT: u32 = 340;

/// One named line (x, y).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One horizontal bar; `value: None` draws no bar and labels it `label`
/// (e.g. "absent").
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub name: String,
    pub value: Option<f64>,
    pub label: String,
}

/// One named line with an interval at each point: (x, low, estimate, high).
/// A ladder chart names a series "backend · device" (the colour is the
/// backend's) and marks its points: filled on a GPU, hollow on a CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSeries {
    pub name: String,
    pub points: Vec<(f64, f64, f64, f64)>,
    pub device: Option<String>,
}

/// The separator between backend and device in a ladder series' name.
pub const DEVICE_SEP: &str = " · ";

/// Colour of a backend, the same in every chart and table.
pub fn color_of(name: &str) -> RGBColor {
    match crossbench_core::backend::colour_of(name) {
        Some([r, g, b]) => RGBColor(r, g, b),
        None => {
            // Stable for names without a colour: a hash of the name picks a hue.
            let h = name
                .bytes()
                .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
            RGBColor(
                (h % 160) as u8 + 40,
                ((h >> 8) % 160) as u8 + 40,
                ((h >> 16) % 160) as u8 + 40,
            )
        }
    }
}

/// CSS hex of a backend's colour, for HTML swatches.
pub fn css_color(name: &str) -> String {
    let RGBColor(r, g, b) = color_of(name);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Series line width; axes are 1, so tests can tell them apart.
pub const SERIES_STROKE: u32 = 2;
const TRANSIT: RGBColor = RGBColor(0xe7, 0x29, 0x8a);

pub(crate) fn chart_err<E: std::fmt::Debug>(chart: &'static str) -> impl Fn(E) -> ReportError {
    move |e| ReportError::Chart {
        chart,
        message: format!("{e:?}"),
    }
}

/// Inter-token latency CDF, one line per backend, shared x axis (ms).
pub fn itl_cdf(series: &[Series]) -> Result<String, ReportError> {
    let err = chart_err("itl_cdf");
    check("itl_cdf", "inter-token latency (ms)", xs(series))?;
    let (x0, x1) = x_range(series);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = plot_area(&root)
            .build_cartesian_2d(x0..x1, 0f64..1.0)
            .map_err(&err)?;
        mesh(&mut chart, "inter-token latency (ms)", "fraction of tokens").map_err(&err)?;
        draw_lines(&mut chart, series).map_err(&err)?;
        legend(&mut chart, SeriesLabelPosition::LowerRight).map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(finish_svg(svg, "Inter-token latency CDF per backend"))
}

/// Per-token latency over the generation (token index -> ms), one line per
/// backend.
pub fn token_timeline(series: &[Series]) -> Result<String, ReportError> {
    let err = chart_err("token_timeline");
    check("token_timeline", "token index", xs(series))?;
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    check("token_timeline", "per-token latency (ms)", ys)?;
    let (x0, x1) = x_range(series);
    let y1 = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = plot_area(&root)
            .build_cartesian_2d(x0..x1, 0f64..nonzero(y1) * 1.08)
            .map_err(&err)?;
        mesh(&mut chart, "token index", "latency (ms)").map_err(&err)?;
        draw_lines(&mut chart, series).map_err(&err)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight).map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(finish_svg(svg, "Per-token latency over the generation"))
}

/// Horizontal bars, one per backend, with a value label at each bar's end.
pub fn bars(axis: &str, items: &[Bar]) -> Result<String, ReportError> {
    let err = chart_err("bars");
    check("bars", axis, items.iter().filter_map(|b| b.value))?;
    let n = items.len().max(1) as u32;
    let max = items.iter().filter_map(|b| b.value).fold(0.0, f64::max);
    let height = 70 + 40 * n;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(140)
            .build_cartesian_2d(
                0f64..nonzero(max) * label_room(items),
                (0..n).into_segmented(),
            )
            .map_err(&err)?;
        // Segment 0 is at the bottom: bar k sits in segment n-1-k so the
        // chart reads top-down in the tables' order.
        let row = |k: u32| n - 1 - k;
        let name_of = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(j) if *j < n => items
                .get(row(*j) as usize)
                .map(|b| b.name.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .x_desc(axis)
            .y_label_formatter(&name_of)
            .y_labels(n as usize)
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(&err)?;
        for (k, bar) in items.iter().enumerate() {
            draw_bar(&mut chart, row(k as u32), bar, nonzero(max) * 0.02).map_err(&err)?;
        }
        root.present().map_err(&err)?;
    }
    Ok(finish_svg(svg, axis))
}

type BarChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordu32>,
    >,
>;

/// One bar of `bars` in segment `i` (absent when `bar.value` is None) and its
/// label `pad` past the bar's end.
fn draw_bar<'a, 'b: 'a>(chart: &mut BarChart<'a, 'b>, i: u32, bar: &Bar, pad: f64) -> DrawResult {
    if let Some(v) = bar.value {
        let mut rect = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(i)),
                (v, SegmentValue::Exact(i + 1)),
            ],
            color_of(&bar.name).filled(),
        );
        rect.set_margin(5, 5, 0, 0);
        chart.draw_series(std::iter::once(rect))?;
    }
    let at = (bar.value.unwrap_or(0.0) + pad, SegmentValue::CenterOf(i));
    let style = ("sans-serif", 16)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(std::iter::once(Text::new(bar.label.clone(), at, style)))?;
    Ok(())
}

/// One backend's per-token latency split into worker-side generation and
/// transit to the consumer: stacked bars per token index, (index, gen ms,
/// transit ms).
pub fn ipc_split(backend: &str, split: &[(f64, f64, f64)]) -> Result<String, ReportError> {
    let err = chart_err("ipc_split");
    let values = split.iter().flat_map(|s| [s.0, s.1, s.2, s.1 + s.2]);
    check("ipc_split", "per-token latency split (ms)", values)?;
    let tokens = split.iter().map(|s| s.0).fold(0.0, f64::max);
    let y1 = split.iter().map(|s| s.1 + s.2).fold(0.0, f64::max);
    let base = color_of(backend);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = plot_area(&root)
            .build_cartesian_2d(0.5f64..tokens + 0.5, 0f64..nonzero(y1) * 1.08)
            .map_err(&err)?;
        mesh(&mut chart, "token index", "latency (ms)").map_err(&err)?;
        let gen = split
            .iter()
            .map(|&(x, g, _)| Rectangle::new([(x - 0.4, 0.0), (x + 0.4, g)], base.filled()));
        chart
            .draw_series(gen)
            .map_err(&err)?
            .label("worker-side generation")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], base.filled()));
        let transit = split
            .iter()
            .map(|&(x, g, t)| Rectangle::new([(x - 0.4, g), (x + 0.4, g + t)], TRANSIT.filled()));
        chart
            .draw_series(transit)
            .map_err(&err)?
            .label("transit (IPC) to the consumer")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], TRANSIT.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight).map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(finish_svg(
        svg,
        &format!("{backend}: per-token generation and IPC"),
    ))
}

/// Overhead (%) with its interval against per-token time (ms, log x), one
/// line per backend plus a zero line: the sweep's chart.
pub fn overhead_vs_size(series: &[ErrorSeries]) -> Result<String, ReportError> {
    let err = chart_err("overhead_vs_size");
    let ((x0, x1), (y0, pad, top)) = size_axes(series)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = plot_area(&root)
            .build_cartesian_2d((x0..x1).log_scale(), (y0 - pad)..top)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .x_desc("native-cpp per-token time (ms, log scale)")
            .x_labels(6)
            .x_label_formatter(&|v: &f64| format!("{v:.0}"))
            .y_desc("overhead vs native-cpp (%)")
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(&err)?;
        let zero = PathElement::new(vec![(x0, 0.0), (x1, 0.0)], BLACK.mix(0.6));
        chart.draw_series(std::iter::once(zero)).map_err(&err)?;
        for s in series {
            let backend = s.name.split(DEVICE_SEP).next().unwrap_or(&s.name);
            let color = color_of(backend);
            let line = s.points.iter().map(|p| (p.0, p.2));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(SERIES_STROKE)))
                .map_err(&err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            let bars = s.points.iter().map(|&(x, lo, est, hi)| {
                ErrorBar::new_vertical(x, lo, est, hi, color.stroke_width(1), 8)
            });
            chart.draw_series(bars).map_err(&err)?;
            if let Some(device) = &s.device {
                let style = if device == "gpu" {
                    color.filled()
                } else {
                    color.stroke_width(2)
                };
                let marks = s.points.iter().map(|p| Circle::new((p.0, p.2), 5, style));
                chart.draw_series(marks).map_err(&err)?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight).map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(finish_svg(
        svg,
        "Overhead vs native-cpp against per-token time",
    ))
}

/// (x0, x1) and (y0, pad, top) of the sweep chart.
type SizeAxes = ((f64, f64), (f64, f64, f64));

/// The sweep chart's axes, checked: x from the smallest to the largest
/// per-token time (log scale, padded), y from the lowest interval end to
/// the highest, as (x0, x1), (y0, pad, top).
fn size_axes(series: &[ErrorSeries]) -> Result<SizeAxes, ReportError> {
    let xs = || series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    // The log axis needs positive times; below a nanosecond (1e-6 ms) its
    // decade count runs away.
    let ms = |x: f64| if x >= 1e-6 { x } else { f64::NAN };
    check("overhead_vs_size", "per-token time (ms)", xs().map(ms))?;
    let ys = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().flat_map(|p| [p.1, p.2, p.3]))
    };
    check("overhead_vs_size", "overhead (%)", ys())?;
    let x0 = xs().fold(f64::INFINITY, f64::min);
    let x1 = xs().fold(0.0, f64::max);
    let (x0, x1) = if x0.is_finite() && x0 > 0.0 {
        (x0 / 1.4, x1 * 1.4)
    } else {
        (0.1, 10.0)
    };
    let y0 = ys().fold(0.0, f64::min);
    let y1 = ys().fold(0.0, f64::max);
    let pad = ((y1 - y0) * 0.08).max(1.0);
    // Headroom above the data for the legend box.
    let top = y1 + pad + (y1 - y0 + 2.0 * pad) * 0.3;
    Ok(((x0, x1), (y0, pad, top)))
}

/// The frame of every x/y chart: margin and room for axis labels.
fn plot_area<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56);
    builder
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;
type DrawResult =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn mesh<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, x_desc: &str, y_desc: &str) -> DrawResult {
    chart
        .configure_mesh()
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 16))
        .draw()
}

fn draw_lines<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, series: &[Series]) -> DrawResult {
    for s in series {
        let color = color_of(&s.name);
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(SERIES_STROKE),
            ))?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    Ok(())
}

/// The legend box every chart uses, on linear or log axes.
pub(crate) fn legend<'a, 'b: 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 16))
        .draw()
}

fn xs(series: &[Series]) -> impl Iterator<Item = f64> + '_ {
    series.iter().flat_map(|s| s.points.iter().map(|p| p.0))
}

/// The x axis of checked series: the data plus 2% each side.
fn x_range(series: &[Series]) -> (f64, f64) {
    let (lo, hi) = (
        xs(series).fold(f64::INFINITY, f64::min),
        xs(series).fold(f64::NEG_INFINITY, f64::max),
    );
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = (hi - lo) * 0.02;
    let axis = span(lo - pad, hi + pad);
    (axis.start, axis.end)
}

/// x-range factor that leaves room for the longest value label after the
/// longest bar (labels are ~8 units a character at this size; the plot is
/// the chart width less the name column).
fn label_room(items: &[Bar]) -> f64 {
    let chars = items
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let plot = (WIDTH - 140 - 24) as f64;
    let share = (chars * 8.0 + 12.0) / plot;
    1.0 / (1.0 - share.clamp(0.1, 0.6))
}

/// The top of an axis from 0: `v`, or 1 when there is nothing (or next to
/// nothing) to show.
pub(crate) fn nonzero(v: f64) -> f64 {
    if v > TINY && v.is_finite() {
        v
    } else {
        1.0
    }
}

/// Makes plotters' standalone SVG an inline element: the namespace
/// attribute goes (the HTML parser puts inline `<svg>` in the SVG namespace
/// by itself, and the page then holds no URL at all), and it gets an
/// accessible name and a class the stylesheet scales.
pub(crate) fn finish_svg(svg: String, label: &str) -> String {
    let label = crate::escape::escape(label);
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replacen(
            "<svg ",
            &format!("<svg class=\"chart\" role=\"img\" aria-label=\"{label}\" "),
            1,
        )
}

/// The opening tags of `element` in `svg`.
fn tags<'s>(svg: &'s str, element: &'s str) -> impl Iterator<Item = &'s str> + 's {
    svg.match_indices(element)
        .map(move |(i, _)| &svg[i..svg[i..].find('>').map_or(svg.len(), |e| i + e)])
}

/// Filled data rectangles of a chart: bars and legend keys (everything but
/// the white background and unfilled frames). For tests and checks.
pub fn data_rects(svg: &str) -> usize {
    tags(svg, "<rect")
        .filter(|t| !t.contains("fill=\"#FFFFFF\"") && !t.contains("fill=\"none\""))
        .count()
}

/// Series lines of a chart: plotters draws axes and ticks as 1-unit
/// polylines too, series are drawn `SERIES_STROKE` wide.
pub fn series_lines(svg: &str) -> usize {
    let width = format!("stroke-width=\"{SERIES_STROKE}\"");
    tags(svg, "<polyline")
        .filter(|t| t.contains(&width))
        .count()
}

#[cfg(test)]
#[path = "charts_tests.rs"]
mod tests;
