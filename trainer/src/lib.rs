//! Trains time-to-first-spike (TTFS) spiking neural networks with Candle.
//!
//! This crate owns everything about training: encoding pixels and the order and augmentation
//! of samples (`input`), the configuration of a run with its recipes and every rule it obeys
//! ([`TrainConfig`], [`Overrides`]), the single-spike integrate-and-fire neuron with its
//! surrogate gradient and the other CPU kernels (`ops`), weight-normalised layers with a
//! learnable affine transform ([`Network`]), ETTFS-init ([`Init`]), temporal-weighting decoding
//! and its loss ([`Weighting`]), the sparse-firing regularizers ([`Sparsity`]), the optimiser,
//! checkpoints, the epoch log ([`EpochRecord`]) and the training loop ([`train`]).
//!
//! It reads its images with `ttfs_data`, writes its result in the model format that
//! `ttfs-compiler` owns and decides as the chip does through the runtime's decision rule; it
//! knows nothing about chips, cores or cycles, and draws no pictures (the CLI draws the curves
//! from the records its [`Progress`] observer receives). It is the only crate of the workspace
//! that depends on Candle.
//!
//! The modules are private; the names below are the crate's surface, as candle-nn's root
//! re-exports its own.

mod arch;
mod bench;
mod checkpoint;
mod config;
mod decode;
mod error;
mod evaluate;
mod export;
mod init;
mod input;
mod log;
mod network;
mod ops;
mod optim;
mod paths;
mod progress;
mod qat;
mod regularize;
mod train;
mod warm_start;

pub use arch::{ArchError, LayerOptions, resolve as resolve_arch, with_max_pool};
pub use bench::{BenchResult, bench};
pub use checkpoint::{CheckpointError, checkpoint_config};
pub use config::{
    ConfigError, DATASETS, DecodeKind, InitKind, InputKind, Overrides, Prune, SurrogateKind,
    TrainConfig,
};
pub use decode::Weighting;
pub use error::{ObserverError, TrainError};
pub use evaluate::{Evaluation, LayerFiring, decisions_of};
pub use export::{ExportError, to_model};
pub use init::Init;
pub use input::{Encoding, images_input, spike_step};
pub use log::{EpochRecord, LogError, append_jsonl, best_validation};
pub use network::{InputMode, Network};
pub use ops::neuron::{FireConfig, Surrogate};
pub use optim::cosine_lr;
pub use paths::RunPaths;
pub use progress::{Progress, Silent};
pub use qat::integers as qat_integers;
pub use regularize::{Sparsity, SparsityMethod};
pub use train::{TrainOutcome, build_network_for, train, train_from};
pub use warm_start::differences_from;

/// The CPU kernels the benchmarks time against their alternatives (criterion's
/// `trainer_kernels`, the `conv_bench` example): the firing scan, the sparse product, the
/// weight normalisation and the sparse convolution.
pub mod kernels {
    pub use crate::ops::conv::conv2d;
    pub use crate::ops::neuron::{fire_backward, fire_forward};
    pub use crate::ops::sparse::{sparse_forward, sparse_weight_grad};
    pub use crate::ops::weight_norm::WeightNormOp;
}
