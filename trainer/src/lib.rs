//! Trains time-to-first-spike (TTFS) spiking neural networks with Candle.
//!
//! This crate owns everything about training: reading datasets (IDX files) and encoding pixels
//! ([`data`]), the configuration of a run with its recipes and every rule it obeys
//! ([`config`]), the single-spike integrate-and-fire neuron with its surrogate gradient and the
//! other CPU kernels ([`ops`]), weight-normalised layers with a learnable affine transform
//! ([`arch`], [`network`]), ETTFS-init, temporal-weighting decoding and its loss ([`decode`]),
//! the sparse-firing regularizers, the optimiser, checkpoints, the epoch log and the training
//! loop ([`train`]).
//!
//! It writes its result in the model format that `ttfs-compiler` owns and decides as the chip
//! does through the runtime's decision rule; it knows nothing about chips, cores or cycles. It
//! is the only crate of the workspace that depends on Candle.

pub mod arch;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod decode;
pub mod evaluate;
pub mod export;
pub mod init;
pub mod input;
pub mod network;
pub mod ops;
pub mod optim;
pub mod paths;
pub mod progress;
pub mod qat;
pub mod regularize;
pub mod report;
pub mod train;
pub mod warm_start;
