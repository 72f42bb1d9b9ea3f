//! The latency picture of `ttfs run`: a histogram of the latency per inference in microseconds,
//! with the mean and the 99th percentile marked by vertical lines named in the legend.

use std::path::Path;

use plotters::prelude::*;

use super::{Picture, PictureError, finite, layer_color, render_svg, titled_canvas, whole};

/// Draws the histogram of `us` (latency per inference, µs) with `mean` and `p99` marked, as an
/// SVG at `path` (atomically), titled `title`.
pub fn draw_latency(
    path: &Path,
    us: &[f64],
    mean: f64,
    p99: f64,
    title: &str,
) -> Result<Picture, PictureError> {
    finite(path, "the latency", us.iter().copied().chain([mean, p99]))?;
    render_svg(path, |svg| render(svg, us, mean, p99, title))
}

/// Equal-width bins over `[lo, hi]`: (left edge, width, count per bin).
fn bins(values: &[f64]) -> (f64, f64, Vec<u32>) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0, vec![0]);
    }
    let n = (values.len() / 5).clamp(10, 40);
    // All equal: one bin of an arbitrary width around the value.
    let width = if hi > lo {
        (hi - lo) / n as f64
    } else {
        (lo.abs() * 0.01).max(1e-3)
    };
    let mut counts = vec![0u32; n];
    for &v in values {
        let b = (((v - lo) / width) as usize).min(n - 1);
        counts[b] += 1;
    }
    (lo, width, counts)
}

fn render(svg: &mut String, us: &[f64], mean: f64, p99: f64, title: &str) -> Result<(), String> {
    let (lo, width, counts) = bins(us);
    let hi = lo + width * counts.len() as f64;
    let pad = (hi - lo) * 0.05;
    let tallest = f64::from(counts.iter().copied().max().unwrap_or(1).max(1));
    // Room above the bars and the marker lines for the legend, so it covers neither.
    let (lines_to, top) = (tallest * 1.08, tallest * 1.5);
    // Whole microseconds on the axis, unless the spread is too narrow for them.
    let span = hi - lo + 2.0 * pad;
    let decimals = if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else {
        3
    };
    let (_, root) = titled_canvas(svg, (1000, 560), title)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((lo - pad)..(hi + pad), 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("latency per inference (µs)")
        .y_desc("inferences")
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&|v| format!("{v:.decimals$}"))
        .y_label_formatter(&whole)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    let bar = layer_color(0).mix(0.75).filled();
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x = lo + width * i as f64;
            Rectangle::new([(x, 0.0), (x + width, f64::from(c))], bar)
        }))
        .map_err(|e| e.to_string())?
        .label(format!(
            "inferences per {:.3} µs bin (n = {})",
            width,
            us.len()
        ))
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], bar));
    for (value, name, color) in [
        (mean, "mean", layer_color(5)),
        (p99, "p99 (nearest rank)", BLACK),
    ] {
        chart
            .draw_series(LineSeries::new(
                [(value, 0.0), (value, lines_to)],
                color.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?
            .label(format!("{name} {value:.3} µs"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
