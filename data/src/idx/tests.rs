//! The IDX reader's tests: every way a file can be malformed, raw and gzipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::test_files::{gzip, idx_bytes, write};

fn pixels(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 37 % 256) as u8).collect()
}

/// Asserts that the message names the file.
fn assert_names(err: &DataError, name: &str) {
    let message = err.to_string();
    assert!(message.contains(name), "{message:?} does not name {name}");
}

#[test]
fn reads_raw_and_gzipped_images_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let data = pixels(3 * 2 * 4);
    let bytes = idx_bytes(IMAGES_MAGIC, &[3, 2, 4], &data);
    // The gzipped file has no .gz extension and the raw one has: detection is by content.
    for (name, contents) in [("raw.gz", bytes.clone()), ("packed", gzip(&bytes))] {
        let images = read_idx_images(&write(dir.path(), name, &contents)).unwrap();
        assert_eq!(
            images,
            Images {
                count: 3,
                rows: 2,
                cols: 4,
                pixels: data.clone()
            }
        );
    }
}

#[test]
fn reads_raw_and_gzipped_labels_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(LABELS_MAGIC, &[5], &[7, 2, 1, 0, 4]);
    for (name, contents) in [("raw", bytes.clone()), ("packed", gzip(&bytes))] {
        let labels = read_idx_labels(&write(dir.path(), name, &contents)).unwrap();
        assert_eq!(labels, [7, 2, 1, 0, 4]);
    }
}

#[test]
fn wrong_magic_says_found_and_expected() {
    let dir = tempfile::tempdir().unwrap();
    let labels = idx_bytes(LABELS_MAGIC, &[2], &[1, 2]);
    let path = write(dir.path(), "swapped-idx1", &labels);
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(
        err,
        DataError::BadMagic {
            found: 0x801,
            expected: 0x803,
            ..
        }
    ));
    assert_names(&err, "swapped-idx1");
    let message = err.to_string();
    assert!(message.contains("0x00000801") && message.contains("0x00000803"));
}

#[test]
fn zero_dimension_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "zero-rows",
        &idx_bytes(IMAGES_MAGIC, &[2, 0, 4], &[]),
    );
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(
        err,
        DataError::ZeroDimension {
            dimension: "rows",
            ..
        }
    ));
    assert_names(&err, "zero-rows");
    let path = write(
        dir.path(),
        "zero-labels",
        &idx_bytes(LABELS_MAGIC, &[0], &[]),
    );
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DataError::ZeroDimension { .. }));
    assert_names(&err, "zero-labels");
}

#[test]
fn truncated_images_say_expected_and_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "short-images",
        &idx_bytes(IMAGES_MAGIC, &[3, 2, 4], &pixels(20)),
    );
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(
        err,
        DataError::Truncated {
            part: "data",
            expected: 24,
            found: 20,
            ..
        }
    ));
    assert_names(&err, "short-images");
    assert!(
        err.to_string()
            .contains("expected 24 bytes of data, found 20")
    );
}

#[test]
fn truncated_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_bytes(IMAGES_MAGIC, &[3, 2, 4], &[]);
    bytes.truncate(10);
    let path = write(dir.path(), "short-header", &gzip(&bytes));
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(
        err,
        DataError::Truncated {
            part: "header",
            expected: 16,
            found: 10,
            ..
        }
    ));
    assert_names(&err, "short-header");
    let empty = write(dir.path(), "empty", &[]);
    assert!(matches!(
        read_idx_labels(&empty).unwrap_err(),
        DataError::Truncated { found: 0, .. }
    ));
}

#[test]
fn truncated_labels_say_expected_and_found() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(LABELS_MAGIC, &[10], &[1, 2, 3]);
    let path = write(dir.path(), "short-labels.gz", &gzip(&bytes));
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(
        err,
        DataError::Truncated {
            part: "data",
            expected: 10,
            found: 3,
            ..
        }
    ));
    assert_names(&err, "short-labels.gz");
}

#[test]
fn trailing_bytes_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(LABELS_MAGIC, &[2], &[1, 2, 3, 4, 5]);
    for (name, contents) in [("long-raw", bytes.clone()), ("long-gz", gzip(&bytes))] {
        let err = read_idx_labels(&write(dir.path(), name, &contents)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TrailingBytes {
                    expected: 2,
                    extra: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_names(&err, name);
    }
}

#[test]
fn corrupt_gzip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A valid deflate stream whose CRC-32 in the trailer does not match.
    let mut packed = gzip(&idx_bytes(LABELS_MAGIC, &[100], &[3; 100]));
    let crc_at = packed.len() - 8;
    packed[crc_at] ^= 0xff;
    let path = write(dir.path(), "bad-crc.gz", &packed);
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert_names(&err, "bad-crc.gz");

    // The gzip magic followed by an unknown compression method.
    let path = write(
        dir.path(),
        "bad-method",
        &[0x1f, 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 0],
    );
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert_names(&err, "bad-method");

    // A gzip stream cut short is not decodable either.
    let packed = gzip(&idx_bytes(LABELS_MAGIC, &[100], &pixels(100)));
    let path = write(dir.path(), "cut.gz", &packed[..packed.len() - 6]);
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert_names(&err, "cut.gz");
}

#[test]
fn missing_file_hints_at_data_flag() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_idx_images(&dir.path().join("absent-idx3")).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }));
    assert_names(&err, "absent-idx3");
    assert!(err.to_string().contains("--data DIR"));
}

#[test]
fn huge_header_does_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    // 2^32 - 1 images of 2^32 - 1 squared pixels overflows u64: refused before reading.
    let path = write(
        dir.path(),
        "overflow",
        &idx_bytes(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[0; 8]),
    );
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err:?}");
    assert_names(&err, "overflow");
    // A claim that fits u64 but not the file: reads what is there and reports truncation.
    let path = write(
        dir.path(),
        "claims-4g",
        &idx_bytes(IMAGES_MAGIC, &[u32::MAX, 28, 28], &[0; 8]),
    );
    let err = read_idx_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                part: "data",
                expected: 3_367_254_359_280,
                found: 8,
                ..
            }
        ),
        "{err:?}"
    );
}
