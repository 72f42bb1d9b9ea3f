//! The one error of a training run: every stage's own error, and what the observer reports.

use ttfs_data::DataError;

use crate::arch::ArchError;
use crate::checkpoint::CheckpointError;
use crate::config::ConfigError;
use crate::export::ExportError;
use crate::log::LogError;

/// What a [`Progress`](crate::Progress) observer returns when it cannot go on (e.g. a picture it
/// draws after every epoch cannot be written); the run stops with it.
pub type ObserverError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading the data set failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The architecture string is wrong.
    #[error(transparent)]
    Arch(#[from] ArchError),
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A checkpoint could not be read or written, or does not fit the network.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The epoch log could not be written.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The model could not be written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A setting breaks a rule of the configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The model of `--from` cannot start this network.
    #[error("{0}")]
    WarmStart(String),
    /// The progress observer stopped the run.
    #[error("{0}")]
    Progress(ObserverError),
}
