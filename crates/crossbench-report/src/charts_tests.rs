//! Golden structure of each chart on fixed data: element counts, colours,
//! labels and the absence of any URL, not pixels.

use super::*;

fn line(name: &str, n: usize, scale: f64) -> Series {
    Series {
        name: name.into(),
        points: (1..=n)
            .map(|i| (i as f64, scale * (1.0 + (i % 3) as f64)))
            .collect(),
    }
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

/// plotters writes a <text> element's content on its own line.
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>"))
}

/// Every chart: one inline <svg>, labelled, no namespace URL, no image or
/// external reference, text as <text> elements.
fn assert_inline_svg(svg: &str, label: &str) {
    assert!(
        svg.starts_with("<svg class=\"chart\" role=\"img\""),
        "{}",
        &svg[..80.min(svg.len())]
    );
    assert_eq!(count(svg, "<svg"), 1);
    assert!(
        svg.contains(&format!("aria-label=\"{label}\"")),
        "label {label}"
    );
    assert!(!svg.contains("http"), "no URL of any kind");
    assert!(
        !svg.contains("<image") && !svg.contains("href"),
        "no external reference"
    );
    assert!(svg.contains("viewBox=\"0 0 "), "scalable");
    assert!(count(svg, "<text") > 3, "axis labels are SVG text");
}

#[test]
fn cdf_has_one_polyline_per_backend_in_its_colour() {
    let series = vec![
        line("native-cpp", 50, 1.0),
        line("python-subprocess", 50, 2.0),
        line("ffi-token", 50, 1.1),
    ];
    let svg = itl_cdf(&series).unwrap();
    assert_inline_svg(&svg, "Inter-token latency CDF per backend");
    assert_eq!(
        series_lines(&svg),
        3,
        "one line per series; legend keys are rects"
    );
    for s in &series {
        let hex = css_color(&s.name).to_uppercase();
        assert!(
            svg.contains(&format!("stroke=\"{hex}\"")),
            "{} drawn in {hex}",
            s.name
        );
        assert!(has_text(&svg, &s.name), "legend names {}", s.name);
    }
    assert_eq!(data_rects(&svg), 3, "three legend keys");
    assert!(has_text(&svg, "inter-token latency (ms)") && has_text(&svg, "fraction of tokens"));
}

#[test]
fn timeline_has_one_polyline_per_series_with_all_points() {
    let series = vec![line("ffi-batched", 99, 1.0), line("mock", 99, 3.0)];
    let svg = token_timeline(&series).unwrap();
    assert_inline_svg(&svg, "Per-token latency over the generation");
    assert_eq!(series_lines(&svg), 2);
    let first = svg
        .split("<polyline")
        .find(|t| t.contains("stroke-width=\"2\""))
        .unwrap();
    let points = first
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(
        points.split_whitespace().count(),
        99,
        "every token is a vertex"
    );
}

#[test]
fn bars_draw_present_values_and_label_absent_ones() {
    let items = vec![
        Bar {
            name: "python-subprocess".into(),
            value: Some(2.5),
            label: "2.50 s".into(),
        },
        Bar {
            name: "ffi-token".into(),
            value: None,
            label: "absent".into(),
        },
        Bar {
            name: "native-cpp".into(),
            value: Some(2.0),
            label: "2.00 s".into(),
        },
    ];
    let svg = bars("end-to-end time (s)", &items).unwrap();
    assert_inline_svg(&svg, "end-to-end time (s)");
    assert_eq!(data_rects(&svg), 2, "no bar for the absent backend");
    assert_eq!(series_lines(&svg), 0);
    for label in [
        "2.50 s",
        "absent",
        "2.00 s",
        "python-subprocess",
        "ffi-token",
        "native-cpp",
    ] {
        assert!(has_text(&svg, label), "{label}");
    }
    // Longer value, longer bar.
    let widths: Vec<f64> = svg
        .split("<rect")
        .skip(1)
        .filter(|t| {
            t.contains(&css_color("python-subprocess").to_uppercase())
                || t.contains(&css_color("native-cpp").to_uppercase())
        })
        .map(|t| {
            t.split("width=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(widths.len(), 2);
    assert!((widths[0] / widths[1] - 1.25).abs() < 0.02, "{widths:?}");
}

#[test]
fn ipc_split_stacks_two_parts_per_token() {
    let split: Vec<(f64, f64, f64)> = (1..=20).map(|i| (i as f64, 16.0, 0.8)).collect();
    let svg = ipc_split("python-subprocess", &split).unwrap();
    assert_inline_svg(&svg, "python-subprocess: per-token generation and IPC");
    assert_eq!(
        data_rects(&svg),
        2 * 20 + 2,
        "two stacked parts per token plus two legend keys"
    );
    assert!(
        has_text(&svg, "worker-side generation") && has_text(&svg, "transit (IPC) to the consumer")
    );
}

#[test]
fn empty_and_degenerate_data_still_draw() {
    assert!(itl_cdf(&[]).is_ok());
    let one = vec![Series {
        name: "mock".into(),
        points: vec![(3.0, 1.0)],
    }];
    assert_eq!(series_lines(&itl_cdf(&one).unwrap()), 1);
    let zero = vec![Bar {
        name: "mock".into(),
        value: Some(0.0),
        label: "0".into(),
    }];
    assert!(bars("x", &zero).is_ok());
}

#[test]
fn colours_are_stable_and_distinct_for_the_known_backends() {
    let names = [
        "python-subprocess",
        "ffi-token",
        "ffi-batched",
        "native-cpp",
        "mock",
        "mlx-rs",
    ];
    let colours: std::collections::BTreeSet<String> = names.iter().map(|n| css_color(n)).collect();
    assert_eq!(colours.len(), names.len());
    assert_eq!(css_color("some-new-backend"), css_color("some-new-backend"));
}
