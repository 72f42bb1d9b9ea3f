//! The design-space picture of `ttfs explore`: test accuracy on the chip against energy per
//! inference (log scale) and against mean latency, one colour per target, a filled marker for
//! a point no other point beats on both accuracy and energy (the Pareto front, joined by a
//! line) and a hollow one for a dominated point; circles ran with early exit, squares all T
//! steps. Each point is labelled with its model, at the first place beside it where the label
//! stays inside the panel and clear of every marker and label drawn before it; the log energy
//! axis is ticked at 1, 2 and 5 times each power of ten in its range.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Picture, PictureError, finite, layer_color, render_svg, titled_canvas};

/// One compiled and emulated design point.
#[derive(Clone, Debug, PartialEq)]
pub struct DesignPoint {
    /// The target's name.
    pub target: String,
    /// The model's short name.
    pub model: String,
    /// Whether the run stopped at the first output spike.
    pub early_exit: bool,
    /// Test accuracy on the chip, in `[0, 1]`.
    pub accuracy: f64,
    /// Mean energy per inference, nJ.
    pub energy_nj: f64,
    /// Mean latency per inference, us.
    pub latency_us: f64,
    /// Beaten on accuracy and energy by another point.
    pub dominated: bool,
}

/// Draws the design space as an SVG at `path`.
pub fn draw_design_space(
    path: &Path,
    points: &[DesignPoint],
    title: &str,
) -> Result<Picture, PictureError> {
    finite(
        path,
        "a design point",
        points
            .iter()
            .flat_map(|p| [p.accuracy, p.energy_nj, p.latency_us]),
    )?;
    render_svg(path, |svg| render(svg, points, title))
}

fn render(svg: &mut String, points: &[DesignPoint], title: &str) -> Result<(), String> {
    let (_, root) = titled_canvas(svg, (1300, 620), title)?;
    let (left, right) = root.split_horizontally(650);
    let mut targets: Vec<&str> = points.iter().map(|p| p.target.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    let acc: Vec<f64> = points.iter().map(|p| 100.0 * p.accuracy).collect();
    let y_min = acc.iter().copied().fold(100.0f64, f64::min);
    let y_max = acc.iter().copied().fold(0.0f64, f64::max);
    let pad = ((y_max - y_min) * 0.15).max(0.1);
    let y = ((y_min - pad).max(0.0), (y_max + pad).min(100.0));
    let energy = |p: &DesignPoint| p.energy_nj;
    let latency = |p: &DesignPoint| p.latency_us;
    panel(
        &left,
        points,
        &targets,
        y,
        "energy per inference (nJ, log scale)",
        &energy,
        true,
    )?;
    panel(
        &right,
        points,
        &targets,
        y,
        "mean latency per inference (us)",
        &latency,
        false,
    )?;
    root.present().map_err(|e| e.to_string())
}

/// One panel: accuracy against `x` of each point.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    points: &[DesignPoint],
    targets: &[&str],
    (y_lo, y_hi): (f64, f64),
    x_desc: &str,
    x: &dyn Fn(&DesignPoint) -> f64,
    front: bool,
) -> Result<(), String> {
    let xs: Vec<f64> = points
        .iter()
        .map(x)
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let x_lo = xs.iter().copied().fold(f64::INFINITY, f64::min).min(1.0e9);
    let x_hi = xs.iter().copied().fold(0.0f64, f64::max).max(x_lo * 1.5);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60);
    if front {
        let (lo, hi) = (x_lo * 0.7, x_hi * 1.4);
        let (bold, light) = log_ticks(lo, hi);
        let x_axis = (lo..hi)
            .log_scale()
            .with_key_points(bold)
            .with_light_points(light);
        let mut chart = builder
            .build_cartesian_2d(x_axis, y_lo..y_hi)
            .map_err(|e| e.to_string())?;
        draw_mesh(&mut chart, x_desc, 20)?;
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| !p.dominated)
            .map(|p| (x(p), 100.0 * p.accuracy))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(line, BLACK.mix(0.5).stroke_width(1)))
            .map_err(|e| e.to_string())?
            .label("Pareto front (accuracy against energy)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
        markers(&mut chart, points, targets, x)?;
        draw_legend(&mut chart)
    } else {
        let mut chart = builder
            .build_cartesian_2d(0f64..x_hi * 1.15, y_lo..y_hi)
            .map_err(|e| e.to_string())?;
        draw_mesh(&mut chart, x_desc, 10)?;
        markers(&mut chart, points, targets, x)?;
        draw_legend(&mut chart)
    }
}

/// A panel chart with `x` on its horizontal axis (linear or log) and accuracy upwards.
type Panel<'a, 'b, X> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>;

/// The ticks of a log axis over `[lo, hi]`: each 1, 2 and 5 times a power of ten inside it
/// (bold, labelled) and the other whole multiples (light). plotters' own choice kept only a
/// decade's round values: a range from 300 to 3,800 had no tick below 1,000.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (bold, light);
    }
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    for exponent in first..=last.min(first + 12) {
        let decade = 10f64.powi(exponent);
        for m in 1..=9 {
            let v = f64::from(m) * decade;
            if (lo..=hi).contains(&v) {
                if matches!(m, 1 | 2 | 5) {
                    bold.push(v);
                } else {
                    light.push(v);
                }
            }
        }
    }
    (bold, light)
}

/// The panel's grid, axis names and tick labels (about `x_ticks` on the horizontal axis).
fn draw_mesh<X>(chart: &mut Panel<'_, '_, X>, x_desc: &str, x_ticks: usize) -> Result<(), String>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_labels(x_ticks)
        .x_desc(x_desc)
        .y_desc("test accuracy on the chip (%)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .map_err(|e| e.to_string())
}

/// The panel's legend, lower right.
fn draw_legend<'a, 'b: 'a, X>(chart: &mut Panel<'a, 'b, X>) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// A box in pixels: left, top, right, bottom.
type PixelBox = (i32, i32, i32, i32);

/// The height of a label, in pixels (12-pixel text and a little air).
const LABEL_HEIGHT: i32 = 15;

/// The width of `text` as a 12-pixel sans-serif label, in pixels (a generous 7.2 per
/// character, so a label is never wider than its box).
fn label_width(text: &str) -> i32 {
    (7.2 * text.chars().count() as f64).ceil() as i32
}

/// Where a label `width` pixels wide goes beside the marker at pixel `at`, as an offset of its
/// top-left corner: the first of the places around the marker (right, then left; level with it,
/// above, below, then further away) whose box stays inside `area` and overlaps none of `taken`,
/// or the first place when none is free.
fn label_offset(
    at: (i32, i32),
    width: i32,
    area: &(Range<i32>, Range<i32>),
    taken: &[PixelBox],
) -> (i32, i32) {
    let h = LABEL_HEIGHT;
    let right = 9;
    let left = -9 - width;
    let places = [
        (right, -h - 2),
        (right, 3),
        (left, -h - 2),
        (left, 3),
        (right, -2 * h - 4),
        (right, h + 5),
        (left, -2 * h - 4),
        (left, h + 5),
        (-width / 2, -2 * h - 6),
        (-width / 2, h + 8),
        (right, -3 * h - 6),
        (right, 2 * h + 7),
        (left, -3 * h - 6),
        (left, 2 * h + 7),
    ];
    let fits = |&(dx, dy): &(i32, i32)| {
        let b = (at.0 + dx, at.1 + dy, at.0 + dx + width, at.1 + dy + h);
        let inside =
            b.0 >= area.0.start && b.2 <= area.0.end && b.1 >= area.1.start && b.3 <= area.1.end;
        inside && !taken.iter().any(|t| overlap(&b, t))
    };
    places
        .iter()
        .copied()
        .find(|p| fits(p))
        .unwrap_or(places[0])
}

/// Whether two boxes share any pixel.
fn overlap(a: &PixelBox, b: &PixelBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The offset of each marker's label (markers at pixels `markers`, labels of the given widths
/// placed in `order`, by marker index) by [`label_offset`]: every marker is an obstacle for
/// every label, and every label placed for the ones after it.
fn place_labels(
    markers: &[(i32, i32)],
    order: &[(usize, i32)],
    area: &(Range<i32>, Range<i32>),
) -> Vec<(i32, i32)> {
    let mut taken: Vec<PixelBox> = markers
        .iter()
        .map(|&(px, py)| (px - 7, py - 7, px + 7, py + 7))
        .collect();
    let mut offsets = vec![(0, 0); markers.len()];
    for &(i, width) in order {
        let (px, py) = markers[i];
        let (dx, dy) = label_offset((px, py), width, area, &taken);
        taken.push((px + dx, py + dy, px + dx + width, py + dy + LABEL_HEIGHT));
        offsets[i] = (dx, dy);
    }
    offsets
}

/// The points of each target (filled on the front, hollow when dominated; circles with early
/// exit, squares without), labelled with their model where the label fits clear of the rest;
/// one legend entry per target and shape.
fn markers<X: Ranged<ValueType = f64>>(
    chart: &mut Panel<'_, '_, X>,
    points: &[DesignPoint],
    targets: &[&str],
    x: &dyn Fn(&DesignPoint) -> f64,
) -> Result<(), String> {
    let area = chart.plotting_area().get_pixel_range();
    let pixels: Vec<(i32, i32)> = points
        .iter()
        .map(|p| chart.backend_coord(&(x(p), 100.0 * p.accuracy)))
        .collect();
    // The labels in drawing order: target by target, each target's points in order.
    let order: Vec<(usize, i32)> = targets
        .iter()
        .flat_map(|t| {
            points
                .iter()
                .enumerate()
                .filter(move |(_, p)| p.target == *t)
                .map(|(i, p)| (i, label_width(&p.model)))
        })
        .collect();
    let offsets = place_labels(&pixels, &order, &area);
    for (k, target) in targets.iter().enumerate() {
        let color = layer_color(k);
        let own: Vec<&DesignPoint> = points.iter().filter(|p| p.target == *target).collect();
        let fill = |p: &DesignPoint| {
            if p.dominated {
                color.stroke_width(2)
            } else {
                color.filled()
            }
        };
        chart
            .draw_series(
                own.iter()
                    .filter(|p| p.early_exit)
                    .map(|p| Circle::new((x(p), 100.0 * p.accuracy), 6, fill(p))),
            )
            .map_err(|e| e.to_string())?
            .label(format!(
                "{target} (circle: early exit; square: all T steps; hollow: dominated)"
            ))
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, color.filled()));
        chart
            .draw_series(own.iter().filter(|p| !p.early_exit).map(|p| {
                EmptyElement::at((x(p), 100.0 * p.accuracy))
                    + Rectangle::new([(-6, -6), (6, 6)], fill(p))
            }))
            .map_err(|e| e.to_string())?;
        for (i, p) in points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.target == *target)
        {
            let (dx, dy) = offsets[i];
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x(p), 100.0 * p.accuracy))
                        + Text::new(
                            p.model.clone(),
                            (dx, dy),
                            ("sans-serif", 12).into_font().color(&color),
                        ),
                ))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_design_space_names_its_axes_targets_and_models_and_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.svg");
        let point =
            |target: &str, model: &str, early_exit, accuracy, energy_nj, dominated| DesignPoint {
                target: target.into(),
                model: model.into(),
                early_exit,
                accuracy,
                energy_nj,
                latency_us: energy_nj / 10.0,
                dominated,
            };
        let points = vec![
            point("loihi", "mnist-mlp", true, 0.985, 2034.0, false),
            point("loihi", "mnist-mlp", false, 0.985, 2878.0, true),
            point("speck", "pruned", true, 0.983, 400.0, false),
        ];
        let a = draw_design_space(&path, &points, "design space")
            .unwrap()
            .svg;
        for text in [
            "design space",
            "energy per inference",
            "mean latency",
            "Pareto front",
            "loihi (circle",
            "speck (circle",
            "mnist-mlp",
            "pruned",
        ] {
            assert!(a.contains(text), "{text}");
        }
        assert_eq!(
            a,
            draw_design_space(&path, &points, "design space")
                .unwrap()
                .svg
        );
    }

    /// The README's points crowd at one accuracy (426, 451, 630 and 660 nJ): their labels
    /// overlapped ("mnist-mlp-prunedmnist-mlp-pruned") and one ran off the panel. Placed, no
    /// two labels share a pixel, none covers a marker, and all stay inside the panel.
    #[test]
    fn crowded_labels_neither_overlap_nor_leave_the_panel() {
        let area = (75..640, 40..560);
        let markers = [
            (480, 170),
            (560, 170),
            (152, 430),
            (238, 430),
            (165, 430),
            (250, 430),
        ];
        let width = label_width("mnist-mlp-pruned");
        let order: Vec<(usize, i32)> = [0, 1, 2, 3, 4, 5]
            .iter()
            .map(|&i| {
                (
                    i,
                    if i < 2 {
                        label_width("mnist-mlp")
                    } else {
                        width
                    },
                )
            })
            .collect();
        let offsets = place_labels(&markers, &order, &area);
        let boxes: Vec<PixelBox> = order
            .iter()
            .map(|&(i, w)| {
                let ((px, py), (dx, dy)) = (markers[i], offsets[i]);
                (px + dx, py + dy, px + dx + w, py + dy + LABEL_HEIGHT)
            })
            .collect();
        for (a, box_a) in boxes.iter().enumerate() {
            assert!(
                box_a.0 >= area.0.start
                    && box_a.2 <= area.0.end
                    && box_a.1 >= area.1.start
                    && box_a.3 <= area.1.end,
                "label {a} leaves the panel: {box_a:?}"
            );
            for (b, box_b) in boxes.iter().enumerate().skip(a + 1) {
                assert!(!overlap(box_a, box_b), "labels {a} and {b} overlap");
            }
            for &(px, py) in &markers {
                assert!(
                    !overlap(box_a, &(px - 6, py - 6, px + 6, py + 6)),
                    "label {a} covers a marker"
                );
            }
        }
        // A label near the right edge goes to the left of its marker.
        let edge = place_labels(&[(630, 300)], &[(0, width)], &area);
        assert!(edge[0].0 < 0, "{edge:?}");
    }

    /// A log axis from 300 to 3,800 nJ was ticked only at 1,000, 2,000 and 3,000; now at every
    /// 1, 2 and 5 times a power of ten inside it, with the other multiples light.
    #[test]
    fn log_ticks_fall_at_one_two_and_five_of_each_decade() {
        let (bold, light) = log_ticks(298.0, 3808.0);
        assert_eq!(bold, vec![500.0, 1000.0, 2000.0]);
        assert_eq!(
            light,
            vec![300.0, 400.0, 600.0, 700.0, 800.0, 900.0, 3000.0]
        );
        assert_eq!(log_ticks(0.0, 10.0), (Vec::new(), Vec::new()));
    }
}
