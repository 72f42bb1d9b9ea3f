//! The training curves: loss, and training and test accuracy, against the epoch, drawn from
//! the epoch records a training run reports as it goes (`ttfs train` redraws them after every
//! epoch, beside the model).

use std::path::Path;

use plotters::prelude::*;
use ttfs_trainer::EpochRecord;

use super::{Picture, PictureError, render_svg, whole};

/// Colour of the test-accuracy curve (a green dark enough to read on white).
const DARK_GREEN: RGBColor = RGBColor(0, 140, 60);

/// Size of the training-curves picture, in pixels.
const PLOT_SIZE: (u32, u32) = (900, 450);

/// Draws the training curves of `records` for `path`: a title, then two panels, "loss"
/// (training cross-entropy loss against epoch) and "accuracy (%)" (training and, where
/// measured, test accuracy against epoch, with a legend). Non-finite values are left out.
///
/// # Errors
/// [`PictureError::Draw`] if drawing fails.
pub fn draw_training_curves(
    path: &Path,
    records: &[EpochRecord],
    title: &str,
) -> Result<Picture, PictureError> {
    render_svg(path, |svg| draw(svg, records, title))
}

/// Renders the two panels into `svg`.
fn draw(svg: &mut String, records: &[EpochRecord], title: &str) -> Result<(), String> {
    let loss: Vec<(f64, f64)> = series(records, |r| Some(r.train_loss));
    let train: Vec<(f64, f64)> = series(records, |r| Some(100.0 * r.train_accuracy));
    let test: Vec<(f64, f64)> = series(records, |r| r.test_accuracy.map(|a| 100.0 * a));

    let epochs = span(records.iter().map(|r| f64::from(r.epoch)), 1.0);
    // Half an epoch of margin so the end points are not cut by the frame.
    let epochs = (epochs.0 - 0.5, epochs.1 + 0.5);
    let epoch_ticks = ((epochs.1 - epochs.0) as usize).clamp(2, 10);
    let (_, loss_max) = span(loss.iter().map(|&(_, y)| y), 1.0);
    let loss_range = 0.0..loss_max * 1.05;
    let (acc_min, _) = span(train.iter().chain(&test).map(|&(_, y)| y), 0.0);
    let acc_range = (acc_min - 1.0).floor().clamp(0.0, 99.0)..100.0;

    let root = SVGBackend::with_string(svg, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 22))
        .map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(PLOT_SIZE.0 / 2);

    let mut chart = ChartBuilder::on(&left)
        .caption("loss", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(epochs.0..epochs.1, loss_range)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(epoch_ticks)
        .x_label_formatter(&whole)
        .x_desc("epoch")
        .y_desc("cross-entropy loss")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(loss.iter().copied(), &RED))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(loss.iter().map(|&p| Circle::new(p, 3, RED.filled())))
        .map_err(|e| e.to_string())?;

    let mut chart = ChartBuilder::on(&right)
        .caption("accuracy (%)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(epochs.0..epochs.1, acc_range)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(epoch_ticks)
        .x_label_formatter(&whole)
        .x_desc("epoch")
        .y_desc("accuracy (%)")
        .draw()
        .map_err(|e| e.to_string())?;
    for (points, color, label) in [(&train, BLUE, "train"), (&test, DARK_GREEN, "test")] {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| e.to_string())?;
    }
    if !train.is_empty() || !test.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// The `(epoch, value)` points of `records` whose value exists and is finite.
fn series(records: &[EpochRecord], value: impl Fn(&EpochRecord) -> Option<f64>) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter_map(|r| value(r).map(|v| (f64::from(r.epoch), v)))
        .filter(|&(_, v)| v.is_finite())
        .collect()
}

/// The smallest and largest finite value, widened to a non-empty range; `default` when empty.
fn span(values: impl Iterator<Item = f64>, default: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        (default, default + 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn record(epoch: u32, test_accuracy: Option<f64>) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 2.0 / f64::from(epoch),
            train_accuracy: 0.8 + 0.05 * f64::from(epoch),
            test_accuracy,
            mean_decision_step: Some(3.25),
            validation_accuracy: None,
            learning_rate: 1e-3,
            samples_per_second: 1234.5,
            wall_seconds: 48.6,
        }
    }

    #[test]
    fn plot_is_an_svg_with_title_and_labels() {
        let path = Path::new("curves.svg");
        let records = [record(1, Some(0.9)), record(2, None), record(3, Some(0.97))];
        let picture = draw_training_curves(path, &records, "MLP 784-800-10 on MNIST").unwrap();
        assert_eq!(picture.path, path);
        let svg = picture.svg;
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "MLP 784-800-10 on MNIST",
            "epoch",
            "cross-entropy loss",
            "accuracy (%)",
            "train",
            "test",
        ] {
            assert!(svg.contains(text), "no {text:?} in the SVG");
        }
    }

    #[test]
    fn plot_copes_with_one_record_and_with_none() {
        let one = draw_training_curves(Path::new("one.svg"), &[record(1, None)], "one").unwrap();
        assert!(one.svg.contains("one"));
        let none = draw_training_curves(Path::new("none.svg"), &[], "none").unwrap();
        assert!(none.svg.starts_with("<svg"));
    }
}
