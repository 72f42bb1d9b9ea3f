//! The IDX file format (MNIST, Fashion-MNIST), read from raw or gzipped files.
//!
//! An IDX file is a big-endian header followed by row-major `u8` data:
//!
//! | file | magic | sizes (big-endian `u32`) | data |
//! |---|---|---|---|
//! | images | `0x00000803` | count, rows, columns | count x rows x columns pixels |
//! | labels | `0x00000801` | count | count labels |
//!
//! A file is gzipped when it starts with the gzip magic bytes `1f 8b`; the name does not matter.
//! The reader never allocates from the header's sizes: it checks their product for overflow, then
//! reads what the file actually holds and compares. A file must hold exactly the data its header
//! announces: short files and trailing bytes are errors, as is a size of zero. The project only
//! reads IDX files, so there is no writer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use super::DataError;

/// Magic number of an IDX file of `u8` images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels (1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Upper bound on the buffer reserved up front; larger files grow the buffer as they are read.
const MAX_RESERVE: usize = 64 << 20;

/// The contents of an IDX images file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image, each row-major (0 = background).
    pub pixels: Vec<u8>,
}

/// Reads an IDX images file (magic `0x00000803`), raw or gzipped.
///
/// # Errors
/// [`DataError`] naming `path` when the file cannot be read or decompressed, has the wrong magic
/// number, a zero size, sizes that overflow, or more or fewer pixels than the header announces.
pub fn read_idx_images(path: &Path) -> Result<Images, DataError> {
    let (dims, pixels) = read_idx(path, &IMAGES)?;
    Ok(Images {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an IDX labels file (magic `0x00000801`), raw or gzipped. The values are not checked
/// against a number of classes; [`Dataset::load`](super::Dataset::load) does that.
///
/// # Errors
/// As [`read_idx_images`].
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    read_idx(path, &LABELS).map(|(_, labels)| labels)
}

/// What distinguishes the two kinds of IDX file this module reads.
struct Kind {
    name: &'static str,
    magic: u32,
    dims: &'static [&'static str],
}

const IMAGES: Kind = Kind {
    name: "images",
    magic: IMAGES_MAGIC,
    dims: &["image count", "rows", "columns"],
};

const LABELS: Kind = Kind {
    name: "labels",
    magic: LABELS_MAGIC,
    dims: &["label count"],
};

/// Reads and checks one IDX file; returns its sizes and data.
fn read_idx(path: &Path, kind: &Kind) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => DataError::NotFound {
            path: path.to_owned(),
        },
        _ => DataError::Io {
            path: path.to_owned(),
            source,
        },
    })?;
    let mut buffered = BufReader::new(file);
    let gzipped = buffered
        .fill_buf()
        .map_err(|source| DataError::Io {
            path: path.to_owned(),
            source,
        })?
        .starts_with(&[0x1f, 0x8b]);
    let io_error = |source: io::Error| {
        if gzipped {
            DataError::Gzip {
                path: path.to_owned(),
                source,
            }
        } else {
            DataError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    let mut reader: Box<dyn Read> = if gzipped {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };

    let header_len = 4 * (1 + kind.dims.len()) as u64;
    let truncated_header = |found: usize| DataError::Truncated {
        path: path.to_owned(),
        part: "header",
        expected: header_len,
        found: found as u64,
    };
    let mut word = [0u8; 4];
    let got = read_full(&mut reader, &mut word).map_err(io_error)?;
    if got < word.len() {
        return Err(truncated_header(got));
    }
    let magic = u32::from_be_bytes(word);
    if magic != kind.magic {
        return Err(DataError::BadMagic {
            path: path.to_owned(),
            found: magic,
            expected: kind.magic,
            kind: kind.name,
        });
    }

    let mut raw_dims = Vec::with_capacity(kind.dims.len());
    for (i, &dimension) in kind.dims.iter().enumerate() {
        let got = read_full(&mut reader, &mut word).map_err(io_error)?;
        if got < word.len() {
            return Err(truncated_header(4 * (1 + i) + got));
        }
        let size = u32::from_be_bytes(word);
        if size == 0 {
            return Err(DataError::ZeroDimension {
                path: path.to_owned(),
                dimension,
            });
        }
        raw_dims.push(size);
    }
    let too_large = || DataError::TooLarge {
        path: path.to_owned(),
        dims: raw_dims.clone(),
    };
    let expected = raw_dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)))
        .ok_or_else(too_large)?;
    let expected_len = usize::try_from(expected).map_err(|_| too_large())?;
    let dims = raw_dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| too_large()))
        .collect::<Result<Vec<_>, _>>()?;

    // Read at most one byte more than announced, so a huge claim allocates only what the file holds.
    let mut data = Vec::with_capacity(expected_len.min(MAX_RESERVE));
    (&mut reader)
        .take(expected.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(io_error)?;
    if data.len() < expected_len {
        return Err(DataError::Truncated {
            path: path.to_owned(),
            part: "data",
            expected,
            found: data.len() as u64,
        });
    }
    if data.len() > expected_len {
        let extra = 1 + io::copy(&mut reader, &mut io::sink()).map_err(io_error)?;
        return Err(DataError::TrailingBytes {
            path: path.to_owned(),
            expected,
            extra,
        });
    }
    Ok((dims, data))
}

/// Fills `buf` as far as the reader allows; returns the number of bytes read (less than
/// `buf.len()` only at the end of the stream).
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Helpers shared by the tests of the `data` module: IDX bytes built by hand.
#[cfg(test)]
pub(crate) mod fixtures {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;
    use std::path::{Path, PathBuf};

    use flate2::Compression;
    use flate2::write::GzEncoder;

    /// An IDX file: magic, big-endian sizes, data.
    pub(crate) fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = magic.to_be_bytes().to_vec();
        for d in dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(data);
        bytes
    }

    /// Gzip-compresses `bytes`.
    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Writes `bytes` to `dir/name` and returns the path.
    pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::fixtures::{gzip, idx_bytes, write};
    use super::*;

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
}
