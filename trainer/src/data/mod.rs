//! Datasets as plain Rust: reading IDX files, seeded shuffling, augmentation, and encoding
//! pixels into the network's float input.
//!
//! Nothing here knows about Candle: the training loop wraps the `Vec<f32>` that
//! [`encode_batch`] fills into a tensor. The files are split along the jobs:
//!
//! - [`idx`]: the IDX file format (MNIST, Fashion-MNIST), raw or gzipped, with one error per way
//!   a file can be malformed ([`DataError`]).
//! - [`dataset`]: a labelled split ([`Dataset`], [`Split`]) loaded from a folder of IDX files.
//! - [`shuffle`]: the per-epoch order of samples ([`epoch_permutation`]), a pure function of
//!   `(seed, epoch)` so a resumed run sees exactly the batches it would have seen.
//! - [`augment`]: random crop with zero padding, horizontal flip.
//! - [`encode`]: pixels to input spikes (latency coding, the contract with the chip) or to
//!   analog values (direct input).

pub mod augment;
pub mod dataset;
pub mod encode;
mod error;
pub mod idx;
pub mod shuffle;

pub use augment::{crop_window, horizontal_flip, random_crop};
pub use dataset::{Dataset, NUM_CLASSES, Split};
pub use encode::{
    DEFAULT_THERMOMETER_LEVELS, Encoding, encode_batch, encode_images, spike_step,
    spike_step_integer,
};
pub use error::DataError;
pub use idx::{Images, read_idx_images, read_idx_labels};
pub use shuffle::epoch_permutation;
