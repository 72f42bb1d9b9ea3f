//! Training curves: one JSON line per epoch (the log a resumed run continues) and an SVG plot.
//!
//! The log is JSON Lines: each line is one [`EpochRecord`]. Lines are appended as epochs end,
//! so a crash loses at most the epoch in progress. Non-finite numbers (a diverged loss) have no
//! JSON form: they are written as `null` and read back as NaN (`None` for the optional fields).
//! Finite numbers come back exactly (the workspace enables serde_json's `float_roundtrip`);
//! exact training state lives in checkpoints all the same.
//! The plot is written to a temporary file and renamed, so a reader never sees half a picture.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use ttfs_runtime::atomic::write_atomic;

use plotters::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// What happened in one epoch. Accuracies are fractions in `[0, 1]` (the plot shows percent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch, counted from 1.
    pub epoch: u32,
    /// Mean training cross-entropy loss over the epoch (nats).
    #[serde(deserialize_with = "null_as_nan")]
    pub train_loss: f64,
    /// Fraction of training samples classified correctly during the epoch.
    #[serde(deserialize_with = "null_as_nan")]
    pub train_accuracy: f64,
    /// Fraction of test samples classified correctly after the epoch, if evaluated.
    pub test_accuracy: Option<f64>,
    /// Mean step (1-based) at which the network decided on the test set, if measured.
    pub mean_decision_step: Option<f64>,
    /// Learning rate at the end of the epoch.
    #[serde(deserialize_with = "null_as_nan")]
    pub learning_rate: f64,
    /// Training throughput (samples per second of wall-clock time).
    #[serde(deserialize_with = "null_as_nan")]
    pub samples_per_second: f64,
    /// Wall-clock time of the epoch, evaluation included (seconds).
    #[serde(deserialize_with = "null_as_nan")]
    pub wall_seconds: f64,
}

/// Reads a number that may have been written as `null` (a non-finite value) as NaN.
fn null_as_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// What can go wrong writing or reading the training log or plot; each names the file.
#[derive(Debug, Error)]
pub enum ReportError {
    /// Reading, writing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line of the log is not an epoch record.
    #[error("{}:{line}: not an epoch record: {source}", path.display())]
    BadLine {
        /// The log file.
        path: PathBuf,
        /// Line number, counted from 1.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A record could not be turned into JSON.
    #[error("{}: cannot encode epoch {epoch}: {source}", path.display())]
    Encode {
        /// The log file.
        path: PathBuf,
        /// The record's epoch.
        epoch: u32,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// Drawing the plot failed.
    #[error("{}: cannot draw the plot: {message}", path.display())]
    Plot {
        /// The SVG file.
        path: PathBuf,
        /// The plotting library's error.
        message: String,
    },
}

/// Appends `record` as one JSON line to `path`, creating the file if needed.
///
/// # Errors
/// [`ReportError::Io`] if the file cannot be opened or written.
pub fn append_jsonl(path: &Path, record: &EpochRecord) -> Result<(), ReportError> {
    let line = jsonl_line(path, record)?;
    let io_error = |source| ReportError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error)?;
    // One write per line, so lines of a log are never interleaved or split by buffering.
    file.write_all(line.as_bytes()).map_err(io_error)
}

/// One record as a JSON line, newline included.
fn jsonl_line(path: &Path, record: &EpochRecord) -> Result<String, ReportError> {
    let mut line = serde_json::to_string(record).map_err(|source| ReportError::Encode {
        path: path.to_owned(),
        epoch: record.epoch,
        source,
    })?;
    line.push('\n');
    Ok(line)
}

/// Replaces the log with exactly `records` (written to a temporary file, then renamed).
///
/// # Errors
/// [`ReportError::Encode`] or [`ReportError::Io`], as [`append_jsonl`].
pub fn rewrite_jsonl(path: &Path, records: &[EpochRecord]) -> Result<(), ReportError> {
    let mut text = String::new();
    for record in records {
        text.push_str(&jsonl_line(path, record)?);
    }
    write_atomically(path, text.as_bytes())
}

/// Reads every record of a JSON Lines log written by [`append_jsonl`]; blank lines are skipped.
///
/// # Errors
/// [`ReportError::Io`] if the file cannot be read; [`ReportError::BadLine`] with the 1-based
/// line number of the first line that is not a record.
pub fn read_jsonl(path: &Path) -> Result<Vec<EpochRecord>, ReportError> {
    let text = fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|source| ReportError::BadLine {
                path: path.to_owned(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// Colour of the test-accuracy curve (a green dark enough to read on white).
const DARK_GREEN: RGBColor = RGBColor(0, 140, 60);

/// Size of the training-curves picture, in pixels.
const PLOT_SIZE: (u32, u32) = (900, 450);

/// Draws the training curves of `records` as an SVG at `path`: a title, then two panels, "loss"
/// (training cross-entropy loss against epoch) and "accuracy (%)" (training and, where
/// measured, test accuracy against epoch, with a legend). Non-finite values are left out.
/// The picture is written to a temporary file next to `path`, then renamed.
///
/// # Errors
/// [`ReportError::Plot`] if drawing fails, [`ReportError::Io`] if the file cannot be written.
pub fn plot_training_curves(
    path: &Path,
    records: &[EpochRecord],
    title: &str,
) -> Result<(), ReportError> {
    let mut svg = String::new();
    draw(&mut svg, records, title).map_err(|message| ReportError::Plot {
        path: path.to_owned(),
        message,
    })?;
    write_atomically(path, svg.as_bytes())
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

/// An epoch tick label: whole numbers only.
fn whole(x: &f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        String::new()
    }
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

/// [`write_atomic`] with the error naming `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic(path, bytes).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source: source.into(),
    })
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
            learning_rate: 1e-3,
            samples_per_second: 1234.5,
            wall_seconds: 48.6,
        }
    }

    #[test]
    fn jsonl_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.jsonl");
        let records = vec![
            record(1, Some(0.91)),
            record(2, None),
            record(3, Some(0.97)),
        ];
        for r in &records {
            append_jsonl(&path, r).unwrap();
        }
        let back = read_jsonl(&path).unwrap();
        assert_eq!(back.len(), records.len());
        for (a, b) in back.iter().zip(&records) {
            assert_same(a, b);
        }
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 3);
    }

    /// Equal up to the last bit or so: serde_json's default float parser is not always
    /// correctly rounded (its `float_roundtrip` feature is off), e.g. 0.9500000000000001 reads
    /// back as 0.95.
    fn assert_same(a: &EpochRecord, b: &EpochRecord) {
        let close = |x: f64, y: f64| (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs());
        let close_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => close(x, y),
            (x, y) => x.is_none() && y.is_none(),
        };
        assert_eq!(a.epoch, b.epoch);
        assert!(close(a.train_loss, b.train_loss), "{a:?} != {b:?}");
        assert!(close(a.train_accuracy, b.train_accuracy), "{a:?} != {b:?}");
        assert!(
            close_opt(a.test_accuracy, b.test_accuracy),
            "{a:?} != {b:?}"
        );
        assert!(
            close_opt(a.mean_decision_step, b.mean_decision_step),
            "{a:?} != {b:?}"
        );
        assert!(close(a.learning_rate, b.learning_rate), "{a:?} != {b:?}");
        assert!(
            close(a.samples_per_second, b.samples_per_second),
            "{a:?} != {b:?}"
        );
        assert!(close(a.wall_seconds, b.wall_seconds), "{a:?} != {b:?}");
    }

    #[test]
    fn non_finite_values_survive_as_nan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("diverged.jsonl");
        let mut r = record(1, Some(f64::NAN));
        r.train_loss = f64::INFINITY;
        append_jsonl(&path, &r).unwrap();
        let back = read_jsonl(&path).unwrap();
        assert!(back[0].train_loss.is_nan());
        assert_eq!(back[0].test_accuracy, None);
    }

    #[test]
    fn bad_line_is_named_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.jsonl");
        append_jsonl(&path, &record(1, None)).unwrap();
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("\n{\"epoch\": 2, \"train_loss\": \n");
        fs::write(&path, text).unwrap();
        let err = read_jsonl(&path).unwrap_err();
        assert!(
            matches!(err, ReportError::BadLine { line: 3, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("curves.jsonl:3"), "{message}");
    }

    #[test]
    fn missing_log_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_jsonl(&dir.path().join("absent.jsonl")).unwrap_err();
        assert!(matches!(err, ReportError::Io { .. }));
        assert!(err.to_string().contains("absent.jsonl"));
    }

    #[test]
    fn plot_is_an_svg_with_title_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        let records = [record(1, Some(0.9)), record(2, None), record(3, Some(0.97))];
        plot_training_curves(&path, &records, "MLP 784-800-10 on MNIST").unwrap();
        let svg = fs::read_to_string(&path).unwrap();
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
        // Only the final file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn plot_copes_with_one_record_and_with_none() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one.svg");
        plot_training_curves(&one, &[record(1, None)], "one").unwrap();
        assert!(fs::read_to_string(&one).unwrap().contains("one"));
        let none = dir.path().join("none.svg");
        plot_training_curves(&none, &[], "none").unwrap();
        assert!(fs::read_to_string(&none).unwrap().starts_with("<svg"));
    }
}
