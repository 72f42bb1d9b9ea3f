//! The sparsity-accuracy trade-off of a regularizer sweep: accuracy against spikes per hidden
//! neuron per inference, one line per method ordered by gamma, the unregularized model as a
//! separate marked point.

use std::path::Path;

use plotters::prelude::*;

use super::{Picture, PictureError, layer_color, render_svg, titled_canvas};

/// One model of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeOffPoint {
    /// Method name (`none` for the baseline).
    pub series: String,
    /// Point label (gamma).
    pub label: String,
    /// Spikes per hidden neuron per inference.
    pub spikes_per_neuron: f64,
    /// Accuracy in `[0, 1]`.
    pub accuracy: f64,
}

/// Draws the trade-off as an SVG at `path`.
pub fn draw_trade_off(
    path: &Path,
    points: &[TradeOffPoint],
    title: &str,
) -> Result<Picture, PictureError> {
    render_svg(path, |svg| render(svg, points, title))
}

fn render(svg: &mut String, points: &[TradeOffPoint], title: &str) -> Result<(), String> {
    let finite: Vec<&TradeOffPoint> = points
        .iter()
        .filter(|p| p.spikes_per_neuron.is_finite() && p.accuracy.is_finite())
        .collect();
    let x_max = finite
        .iter()
        .map(|p| p.spikes_per_neuron)
        .fold(0.0f64, f64::max)
        .max(0.05)
        * 1.1;
    let acc: Vec<f64> = finite.iter().map(|p| 100.0 * p.accuracy).collect();
    let y_min = acc.iter().copied().fold(100.0f64, f64::min);
    let y_max = acc.iter().copied().fold(0.0f64, f64::max);
    let (y_lo, y_hi) = (
        (y_min - 1.0).floor().max(0.0),
        (y_max + 0.5).min(100.0).max(y_min + 1.0),
    );

    let (_, root) = titled_canvas(svg, (900, 560), title)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, y_lo..y_hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("spikes per hidden neuron per inference (emulator)")
        .y_desc("test accuracy on the chip (%)")
        .draw()
        .map_err(|e| e.to_string())?;
    let mut series: Vec<&str> = finite.iter().map(|p| p.series.as_str()).collect();
    series.sort_unstable();
    series.dedup();
    for (k, name) in series.iter().enumerate() {
        let mut line: Vec<(f64, f64, String)> = finite
            .iter()
            .filter(|p| p.series == *name)
            .map(|p| (p.spikes_per_neuron, 100.0 * p.accuracy, p.label.clone()))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let baseline = *name == "none";
        let color = if baseline { BLACK } else { layer_color(k) };
        let label = if baseline {
            "unregularized".to_string()
        } else {
            format!("{name} (labels: gamma)")
        };
        let xy: Vec<(f64, f64)> = line.iter().map(|p| (p.0, p.1)).collect();
        if !baseline {
            chart
                .draw_series(LineSeries::new(xy.clone(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?;
        }
        chart
            .draw_series(xy.iter().map(|&p| {
                if baseline {
                    TriangleMarker::new(p, 8, color.filled()).into_dyn()
                } else {
                    Circle::new(p, 5, color.filled()).into_dyn()
                }
            }))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| {
                if baseline {
                    TriangleMarker::new((x + 10, y), 7, color.filled()).into_dyn()
                } else {
                    Circle::new((x + 10, y), 5, color.filled()).into_dyn()
                }
            });
        if !baseline {
            chart
                .draw_series(
                    line.iter().map(|p| {
                        Text::new(p.2.clone(), (p.0, p.1), ("sans-serif", 12).into_font())
                    }),
                )
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn trade_off_names_its_axes_and_series_and_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        let points = vec![
            TradeOffPoint {
                series: "none".into(),
                label: "0".into(),
                spikes_per_neuron: 0.6,
                accuracy: 0.98,
            },
            TradeOffPoint {
                series: "m-ssr".into(),
                label: "0.1".into(),
                spikes_per_neuron: 0.2,
                accuracy: 0.975,
            },
            TradeOffPoint {
                series: "m-ssr".into(),
                label: "0.3".into(),
                spikes_per_neuron: 0.1,
                accuracy: 0.96,
            },
        ];
        let a = draw_trade_off(&path, &points, "sweep").unwrap().svg;
        for text in [
            "sweep",
            "spikes per hidden neuron",
            "unregularized",
            "m-ssr",
        ] {
            assert!(a.contains(text), "{text}");
        }
        assert_eq!(a, draw_trade_off(&path, &points, "sweep").unwrap().svg);
    }
}
