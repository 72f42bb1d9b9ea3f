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

use crate::DataError;

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
/// against a number of classes; [`Dataset::load`](crate::Dataset::load) does that.
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

#[cfg(test)]
mod tests;
