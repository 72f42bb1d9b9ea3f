//! The design-space picture of `ttfs explore`: test accuracy on the chip against energy per
//! inference (log scale) and against mean latency, one colour per target, a filled marker for
//! a point no other point beats on both accuracy and energy (the Pareto front, joined by a
//! line) and a hollow one for a dominated point; circles ran with early exit, squares all T
//! steps. Each point is labelled with its model.

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
        let mut chart = builder
            .build_cartesian_2d((x_lo * 0.7..x_hi * 1.4).log_scale(), y_lo..y_hi)
            .map_err(|e| e.to_string())?;
        draw_mesh(&mut chart, x_desc)?;
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
        draw_mesh(&mut chart, x_desc)?;
        markers(&mut chart, points, targets, x)?;
        draw_legend(&mut chart)
    }
}

/// A panel chart with `x` on its horizontal axis (linear or log) and accuracy upwards.
type Panel<'a, 'b, X> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>;

/// The panel's grid, axis names and tick labels.
fn draw_mesh<X>(chart: &mut Panel<'_, '_, X>, x_desc: &str) -> Result<(), String>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
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

/// The points of each target (filled on the front, hollow when dominated; circles with early
/// exit, squares without), labelled with their model; one legend entry per target and shape.
fn markers<X: Ranged<ValueType = f64>>(
    chart: &mut Panel<'_, '_, X>,
    points: &[DesignPoint],
    targets: &[&str],
    x: &dyn Fn(&DesignPoint) -> f64,
) -> Result<(), String> {
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
        // Each target's labels on their own line (the first above its points, the next
        // below, ...), so points of one model on two targets stay readable.
        let dy = -16 + 22 * (k as i32 % 3);
        chart
            .draw_series(own.iter().map(|p| {
                let at = (x(p), 100.0 * p.accuracy);
                EmptyElement::at(at)
                    + Text::new(
                        p.model.clone(),
                        (8, dy),
                        ("sans-serif", 12).into_font().color(&color),
                    )
            }))
            .map_err(|e| e.to_string())?;
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
}
