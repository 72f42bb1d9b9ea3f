//! Labelled image data sets as plain bytes: the IDX file format (MNIST, Fashion-MNIST), raw or
//! gzipped, and a split loaded from a folder of IDX files.
//!
//! Every stage that reads test images uses this crate: the trainer, the compiler's calibration
//! and float-vs-golden comparison, the emulator's runs, the benchmarks and the tests. It knows
//! nothing of training, spikes or chips, and depends on no tensor library.
//!
//! - [`idx`]: the IDX format, with one error per way a file can be malformed ([`DataError`]).
//! - [`Dataset`] and [`Split`]: the images and labels of one split, every label a class.

mod dataset;
mod error;
pub mod idx;
#[cfg(test)]
mod test_files;

pub use dataset::{Dataset, NUM_CLASSES, Split};
pub use error::DataError;
pub use idx::{Images, read_idx_images, read_idx_labels};
