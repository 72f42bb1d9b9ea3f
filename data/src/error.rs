//! The one error type of this crate: every variant names the file it is about.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong reading a dataset. Each message names the file (or folder) and, where it
/// helps, what was expected.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file does not exist.
    #[error("{}: file not found; pass --data DIR with the folder that holds the IDX files", path.display())]
    NotFound {
        /// The file that was opened.
        path: PathBuf,
    },
    /// Any other I/O error while opening or reading a raw (not gzipped) file.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file starts with the gzip magic bytes `1f 8b` but does not decompress.
    #[error("{}: starts like a gzip file (1f 8b) but cannot be decompressed: {source}", path.display())]
    Gzip {
        /// The file being read.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// The first four bytes are not the magic number of the expected kind of IDX file.
    #[error(
        "{}: magic number 0x{found:08x}, expected 0x{expected:08x} for an IDX {kind} file",
        path.display()
    )]
    BadMagic {
        /// The file being read.
        path: PathBuf,
        /// The big-endian `u32` found at offset 0 (after decompression).
        found: u32,
        /// `0x00000803` for images, `0x00000801` for labels.
        expected: u32,
        /// `"images"` or `"labels"`.
        kind: &'static str,
    },
    /// A size in the header is zero (count, rows or columns).
    #[error("{}: the header says {dimension} = 0", path.display())]
    ZeroDimension {
        /// The file being read.
        path: PathBuf,
        /// Which size: `"image count"`, `"rows"`, `"columns"` or `"label count"`.
        dimension: &'static str,
    },
    /// The sizes in the header multiply to more bytes than this machine can address.
    #[error("{}: the header sizes {dims:?} overflow the addressable size", path.display())]
    TooLarge {
        /// The file being read.
        path: PathBuf,
        /// The sizes from the header.
        dims: Vec<u32>,
    },
    /// The file ends before the header or the data it announces.
    #[error("{}: truncated: expected {expected} bytes of {part}, found {found}", path.display())]
    Truncated {
        /// The file being read.
        path: PathBuf,
        /// `"header"` or `"data"`.
        part: &'static str,
        /// Bytes the header announces (or the header length).
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },
    /// Bytes follow the data the header announces.
    #[error(
        "{}: {extra} unexpected bytes after the {expected} bytes of data the header announces",
        path.display()
    )]
    TrailingBytes {
        /// The file being read.
        path: PathBuf,
        /// Bytes of data the header announces.
        expected: u64,
        /// Bytes after them.
        extra: u64,
    },
    /// None of the accepted file names exists in the data folder.
    #[error(
        "no {what} file in {}: tried {}; pass --data DIR with the folder that holds the IDX files",
        dir.display(),
        tried.join(", ")
    )]
    MissingFile {
        /// The data folder.
        dir: PathBuf,
        /// What was looked for, e.g. `"training images"`.
        what: &'static str,
        /// The file names tried, in order.
        tried: Vec<String>,
    },
    /// The data folder does not exist.
    #[error(
        "{}: no such folder; pass --data DIR with the folder that holds the IDX files",
        dir.display()
    )]
    NoFolder {
        /// The folder named.
        dir: PathBuf,
    },
    /// The data folder is a file.
    #[error(
        "{}: a file, not a folder; pass --data DIR with the folder that holds the IDX files",
        dir.display()
    )]
    NotAFolder {
        /// The path named.
        dir: PathBuf,
    },
    /// The image and label files of one split disagree on the number of samples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A label is not a class index.
    #[error(
        "{}: label {value} at index {index} is not a class (expected 0..{num_classes})",
        path.display()
    )]
    BadLabel {
        /// The label file.
        path: PathBuf,
        /// Index of the sample (0-based).
        index: usize,
        /// The label found.
        value: u8,
        /// Number of classes; labels must be below it.
        num_classes: usize,
    },
}
