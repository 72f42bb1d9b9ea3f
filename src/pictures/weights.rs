//! The weight picture: one histogram panel per layer of its quantized integer weights over the
//! signed `b`-bit range, counts on a log10 axis so that the rare weights at the range ends stay
//! visible; each panel's caption gives the layer's synapse count and the fraction at the limit.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    LEGEND_CHARS, Picture, PictureError, layer_color, render_svg, short_name, thousands,
    titled_canvas, whole,
};

/// One layer of the weight picture.
pub struct WeightLayer {
    /// The layer's name.
    pub name: String,
    /// Its quantized integer weights.
    pub weights: Vec<i32>,
    /// How many of its weights quantization clipped to the range (the quantization report's
    /// `clipped w`).
    pub clipped: usize,
}

/// Draws one histogram per layer of `layers` over the signed `weight_bits`-bit range, as an
/// SVG for `path`, titled `title`. `weight_bits` must be 2 to 32; weights outside the range are
/// counted in the end bins.
pub fn draw_weight_histogram(
    path: &Path,
    layers: &[WeightLayer],
    weight_bits: u32,
    title: &str,
) -> Result<Picture, PictureError> {
    render_svg(path, |svg| render(svg, layers, weight_bits, title))
}

/// The bins of one layer over the signed `bits`-bit range.
struct Bins {
    /// The smallest representable weight, `-(2^(b-1))`.
    lo: i64,
    /// Integer values per bin (1, or `2^b / 128` for wide weights).
    width: i64,
    /// Count per bin.
    counts: Vec<u64>,
    /// Weights with `|w| >= 2^(b-1) - 1`.
    at_limit: u64,
}

/// Bins per integer value up to this many bits, 128 equal bins above.
const MAX_BITS_PER_VALUE: u32 = 10;
const WIDE_BINS: usize = 128;
/// The bottom of the log axis: a bar of count 1 spans 0.5..1, so it stays visible.
const FLOOR: f64 = 0.5;

impl Bins {
    /// Whether bin `k` holds a weight with `|w| >= 2^(b-1) - 1` (only the end bins can).
    fn bin_at_limit(&self, k: usize) -> bool {
        let hi = -self.lo - 1;
        let first = self.lo + self.width * k as i64;
        let last = first + self.width - 1;
        first <= -hi || last >= hi
    }
}

fn bins(weights: &[i32], bits: u32) -> Bins {
    let lo = -(1i64 << (bits - 1));
    let hi = (1i64 << (bits - 1)) - 1;
    let (n, width) = if bits <= MAX_BITS_PER_VALUE {
        ((hi - lo + 1) as usize, 1)
    } else {
        (WIDE_BINS, (hi - lo + 1) / WIDE_BINS as i64)
    };
    let mut counts = vec![0u64; n];
    let mut at_limit = 0;
    for &w in weights {
        let w = i64::from(w);
        if w.abs() >= hi {
            at_limit += 1;
        }
        let b = ((w.clamp(lo, hi) - lo) / width) as usize;
        counts[b.min(n - 1)] += 1;
    }
    Bins {
        lo,
        width,
        counts,
        at_limit,
    }
}

fn render(svg: &mut String, layers: &[WeightLayer], bits: u32, title: &str) -> Result<(), String> {
    if !(2..=32).contains(&bits) {
        return Err(format!("weight_bits must be 2 to 32, not {bits}"));
    }
    let n = layers.len().max(1);
    let cols = match n {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    };
    let rows = n.div_ceil(cols);
    let panel = (if cols == 1 { 1000 } else { 1400 / cols as u32 }, 300);
    let size = (panel.0 * cols as u32, panel.1 * rows as u32 + 40);
    let (_, root) = titled_canvas(svg, size, title)?;
    if layers.is_empty() {
        root.draw(&Text::new("no layers", (20, 20), ("sans-serif", 15)))
            .map_err(|e| e.to_string())?;
    }
    let areas = root.split_evenly((rows, cols));
    for (i, (layer, area)) in layers.iter().zip(areas.iter()).enumerate() {
        panel_chart(area, i, layer, bits)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn panel_chart(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    index: usize,
    layer: &WeightLayer,
    bits: u32,
) -> Result<(), String> {
    let weights = &layer.weights;
    let b = bins(weights, bits);
    let hi = -b.lo - 1;
    let max = b.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    // Two decades of headroom above the tallest bar for the legend.
    let top = max * 100.0;
    let x0 = b.lo as f64 - 0.5;
    let x1 = hi as f64 + 0.5;
    let pad = (x1 - x0) * 0.02;
    // A weight at the range's end is not a clipped one: the scale puts the layer's (or the
    // neuron's) largest weight exactly there.
    let caption = format!(
        "{}: {} synapses; {} at ±{hi}, the range's end (set by the scale), {} clipped",
        short_name(&layer.name, LEGEND_CHARS),
        thousands(weights.len() as f64),
        share(b.at_limit, weights.len()),
        thousands(layer.clipped as f64),
    );
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .caption(caption, ("sans-serif", 15))
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), (FLOOR..top).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(format!("integer weight ({bits}-bit)"))
        .y_desc("synapses (log10)")
        .x_labels(12)
        .y_labels(10)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&whole)
        .y_label_formatter(&|v| power_of_ten(*v))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    // The range limits first, so that the bars at the limit are drawn over them.
    let grey = RGBColor(150, 150, 150);
    for (k, v) in [-hi, hi].into_iter().enumerate() {
        let series = chart
            .draw_series(DashedLineSeries::new(
                [(v as f64, FLOOR), (v as f64, top)],
                6,
                4,
                grey.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        if k == 0 {
            series
                .label(format!("range limit ±{hi}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], grey));
        }
    }
    let bar = layer_color(index).filled();
    let unit = if b.width == 1 {
        "per integer value".to_string()
    } else {
        format!("per {}-value bin", b.width)
    };
    let bars = |at_limit: bool| {
        let b = &b;
        b.counts
            .iter()
            .enumerate()
            .filter(move |&(k, &c)| c > 0 && b.bin_at_limit(k) == at_limit)
            .map(move |(k, &c)| {
                let left = (b.lo + b.width * k as i64) as f64 - 0.5;
                (left, left + b.width as f64, c as f64)
            })
    };
    chart
        .draw_series(bars(false).map(|(l, r, c)| Rectangle::new([(l, FLOOR), (r, c)], bar)))
        .map_err(|e| e.to_string())?
        .label(format!("synapses {unit} (log10 axis)"))
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], bar));
    let dark = RGBColor(40, 40, 40).filled();
    chart
        .draw_series(bars(true).map(|(l, r, c)| Rectangle::new([(l, FLOOR), (r, c)], dark)))
        .map_err(|e| e.to_string())?
        .label(if b.width == 1 {
            format!("at the range's end, |w| = {hi}")
        } else {
            format!("end bins (they hold |w| = {hi})")
        })
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], dark));
    // The legend sits in the headroom just right of the lower range limit, so it covers no
    // bar and neither limit line.
    let x_pixels = chart.plotting_area().get_pixel_range().0;
    let limit_px = chart.backend_coord(&(-hi as f64, top)).0;
    let legend_x = (limit_px - x_pixels.start + 12).max(0);
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::Coordinate(legend_x, 6))
        .label_font(("sans-serif", 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// `count` of `total` as "count (percent)", the percent with enough digits to not read 0.
fn share(count: u64, total: usize) -> String {
    if count == 0 || total == 0 {
        return "0".to_string();
    }
    let pct = 100.0 * count as f64 / total as f64;
    let digits = if pct >= 1.0 {
        1
    } else {
        // Two significant digits below 1%.
        (1 - pct.log10().floor() as i32) as usize
    };
    format!("{} ({pct:.digits$}%)", thousands(count as f64))
}

/// `v` as a label when it is a power of ten (1, 10, 100, 1k, ...), else nothing.
fn power_of_ten(v: f64) -> String {
    let e = v.log10().round();
    if v < 1.0 || (v - 10f64.powf(e)).abs() > 1e-6 * v {
        return String::new();
    }
    match e as i32 {
        0..=2 => format!("{v:.0}"),
        3..=5 => format!("{:.0}k", v / 1e3),
        6..=8 => format!("{:.0}M", v / 1e6),
        _ => format!("1e{e:.0}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn bins_per_value_and_wide() {
        let b = bins(&[-128, -127, 0, 0, 127, 300], 8);
        assert_eq!((b.lo, b.width, b.counts.len()), (-128, 1, 256));
        assert_eq!(b.counts[0], 1);
        assert_eq!(b.counts[128], 2);
        assert_eq!(b.counts[255], 2);
        assert_eq!(b.at_limit, 4);
        let b = bins(&[-2048, 0, 2047], 12);
        assert_eq!((b.width, b.counts.len()), (32, 128));
        assert_eq!((b.counts[0], b.counts[64], b.counts[127]), (1, 1, 1));
    }

    #[test]
    fn draws_every_layer_deterministically() {
        let dir = tempfile::tempdir().unwrap();
        let layer = |name: &str, weights: Vec<i32>, clipped| WeightLayer {
            name: name.to_string(),
            weights,
            clipped,
        };
        let layers = vec![
            layer("conv1", vec![-127, -3, 0, 0, 1, 5, 127], 0),
            layer("fc_out", (-40..40).collect(), 3),
        ];
        let (a, b) = (dir.path().join("a.svg"), dir.path().join("b.svg"));
        let a = draw_weight_histogram(&a, &layers, 8, "weights of net").unwrap();
        let b = draw_weight_histogram(&b, &layers, 8, "weights of net").unwrap();
        assert_eq!(a.svg, b.svg);
        let svg = a.svg;
        // Weights at the range's end are told apart from the clipped ones.
        for text in [
            "weights of net",
            "conv1",
            "fc_out",
            "2 (28.6%) at ±127, the range",
            "0 clipped",
            "3 clipped",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        let bad = draw_weight_histogram(&dir.path().join("c.svg"), &layers, 1, "t");
        assert!(matches!(bad, Err(PictureError::Draw { .. })));
    }

    /// The numbers of an SVG attribute in every element that has `marker` in it.
    fn attribute_numbers(svg: &str, marker: &str, attribute: &str) -> Vec<Vec<i32>> {
        svg.split('<')
            .filter(|element| element.contains(marker))
            .filter_map(|element| {
                let start = element.find(&format!("{attribute}=\""))? + attribute.len() + 2;
                let value = &element[start..start + element[start..].find('"')?];
                Some(
                    value
                        .split([' ', ','])
                        .filter_map(|n| n.parse().ok())
                        .collect(),
                )
            })
            .collect()
    }

    /// The legend covered the dashed line of the lower range limit; it now sits right of it,
    /// left of the upper one, in every panel.
    #[test]
    fn the_legend_covers_neither_range_limit() {
        let layer = |name: &str| WeightLayer {
            name: name.into(),
            weights: (-127..=127).chain(-20..20).collect(),
            clipped: 0,
        };
        let picture =
            draw_weight_histogram(Path::new("w.svg"), &[layer("a"), layer("b")], 8, "t").unwrap();
        // The grey dashed limit lines, as the x of each dash.
        let dashes: Vec<i32> = attribute_numbers(&picture.svg, "#969696", "points")
            .into_iter()
            .flat_map(|points| points.into_iter().step_by(2))
            .collect();
        let (left, right) = (*dashes.iter().min().unwrap(), *dashes.iter().max().unwrap());
        let legends: Vec<(i32, i32)> = picture
            .svg
            .split('<')
            .filter(|e| e.starts_with("rect") && e.contains("opacity=\"0.85\""))
            .map(|e| {
                let x = attribute_numbers(&format!("<{e}"), "rect", "x")[0][0];
                let w = attribute_numbers(&format!("<{e}"), "rect", "width")[0][0];
                (x, x + w)
            })
            .collect();
        assert_eq!(legends.len(), 2, "one legend per layer");
        for (x0, x1) in legends {
            assert!(
                x0 > left && x1 < right,
                "legend {x0}..{x1} over a limit at {left} or {right}"
            );
        }
    }
}
