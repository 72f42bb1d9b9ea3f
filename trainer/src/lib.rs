//! Trains time-to-first-spike (TTFS) spiking neural networks with Candle.
//!
//! This crate owns everything about training: reading datasets (IDX files), encoding pixels
//! as single input spikes, the single-spike integrate-and-fire neuron with its surrogate
//! gradient, weight-normalised layers with a learnable affine transform, ETTFS-init,
//! temporal-weighting decoding and its loss, the optimiser, checkpoints and the training loop.
//! It writes its result in the model format that `ttfs-compiler` owns; it knows nothing about
//! chips, cores or cycles. It is the only crate of the workspace that depends on Candle.

pub mod arch;
pub mod bias;
pub mod checkpoint;
pub mod conv;
pub mod cpu;
pub mod data;
pub mod decode;
pub mod export;
pub mod fastmath;
pub mod init;
pub mod linear_fire;
pub mod network;
pub mod neuron;
pub mod optim;
pub mod pool;
pub mod regularize;
pub mod report;
pub mod sparse;
pub mod train;
pub mod weight_norm;
