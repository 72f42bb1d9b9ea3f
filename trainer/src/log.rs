//! The epoch log: one JSON line per epoch, the log a resumed run continues.
//!
//! The log is JSON Lines: each line is one [`EpochRecord`]. Lines are appended as epochs end,
//! so a crash loses at most the epoch in progress. Non-finite numbers (a diverged loss) have no
//! JSON form: they are written as `null` and read back as NaN (`None` for the optional fields).
//! Finite numbers come back exactly (the workspace enables serde_json's `float_roundtrip`);
//! exact training state lives in checkpoints all the same. A resumed run rewrites the log
//! from its checkpoint's records, to a temporary file then renamed.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use ttfs_runtime::atomic::write_atomic;

use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// What happened in one epoch. Accuracies are fractions in `[0, 1]`.
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
    /// Fraction of the validation split classified correctly after the epoch, when the run
    /// holds one out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_accuracy: Option<f64>,
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

/// The epoch that scored best on the validation split (the first of equals), if any did: the
/// one whose model `--validation` keeps.
pub fn best_validation(records: &[EpochRecord]) -> Option<&EpochRecord> {
    records
        .iter()
        .filter(|r| r.validation_accuracy.is_some())
        .fold(None, |best: Option<&EpochRecord>, r| match best {
            Some(b) if b.validation_accuracy >= r.validation_accuracy => Some(b),
            _ => Some(r),
        })
}

/// Reads a number that may have been written as `null` (a non-finite value) as NaN.
fn null_as_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// What can go wrong writing or reading the epoch log; each names the file.
#[derive(Debug, Error)]
pub enum LogError {
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
}

/// Appends `record` as one JSON line to `path`, creating the file if needed.
///
/// # Errors
/// [`LogError::Io`] if the file cannot be opened or written.
pub fn append_jsonl(path: &Path, record: &EpochRecord) -> Result<(), LogError> {
    let line = jsonl_line(path, record)?;
    let io_error = |source| LogError::Io {
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
fn jsonl_line(path: &Path, record: &EpochRecord) -> Result<String, LogError> {
    let mut line = serde_json::to_string(record).map_err(|source| LogError::Encode {
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
/// [`LogError::Encode`] or [`LogError::Io`], as [`append_jsonl`].
pub fn rewrite_jsonl(path: &Path, records: &[EpochRecord]) -> Result<(), LogError> {
    let mut text = String::new();
    for record in records {
        text.push_str(&jsonl_line(path, record)?);
    }
    write_atomically(path, text.as_bytes())
}

/// Reads every record of a JSON Lines log written by [`append_jsonl`]; blank lines are skipped.
///
/// # Errors
/// [`LogError::Io`] if the file cannot be read; [`LogError::BadLine`] with the 1-based
/// line number of the first line that is not a record.
#[cfg(test)]
pub(crate) fn read_jsonl(path: &Path) -> Result<Vec<EpochRecord>, LogError> {
    let text = std::fs::read_to_string(path).map_err(|source| LogError::Io {
        path: path.to_owned(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|source| LogError::BadLine {
                path: path.to_owned(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// [`write_atomic`] with the error naming `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    write_atomic(path, bytes).map_err(|source| LogError::Io {
        path: path.to_owned(),
        source: source.into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs;

    use super::*;

    #[test]
    fn the_best_validation_epoch_is_the_first_of_the_highest() {
        let scored = |epoch, v| EpochRecord {
            validation_accuracy: v,
            ..record(epoch, None)
        };
        assert!(best_validation(&[record(1, Some(0.5))]).is_none());
        let runs = [
            scored(1, Some(0.7)),
            scored(2, Some(0.9)),
            scored(3, None),
            scored(4, Some(0.9)),
            scored(5, Some(0.8)),
        ];
        assert_eq!(best_validation(&runs).map(|r| r.epoch), Some(2));
    }

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
        assert!(matches!(err, LogError::BadLine { line: 3, .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("curves.jsonl:3"), "{message}");
    }

    #[test]
    fn missing_log_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_jsonl(&dir.path().join("absent.jsonl")).unwrap_err();
        assert!(matches!(err, LogError::Io { .. }));
        assert!(err.to_string().contains("absent.jsonl"));
    }
}
