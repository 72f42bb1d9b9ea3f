//! What a training run tells its observer as it goes (the CLI draws progress bars with it).

use crate::config::TrainConfig;
use crate::error::ObserverError;
use crate::evaluate::LayerFiring;
use crate::log::EpochRecord;

/// Observer of training progress.
pub trait Progress {
    /// The run starts with `config`: the one given, or on a resume the checkpoint's (with the
    /// epochs raised where asked).
    fn started(&mut self, _config: &TrainConfig) {}
    /// Firing per layer of the freshly initialised network (a fresh run only).
    fn init_firing(&mut self, _layers: &[LayerFiring]) {}
    /// A run resumes from its checkpoint with `epochs_done` of `epochs` epochs done.
    fn resumed(&mut self, _epochs_done: u32, _epochs: u32) {}
    /// An epoch starts with this many batches.
    fn epoch_start(&mut self, epoch: u32, epochs: u32, batches: usize);
    /// A batch finished: running loss, accuracy and samples per second of the epoch.
    fn batch(&mut self, loss: f64, accuracy: f64, samples_per_second: f64);
    /// An epoch finished and is saved (checkpoint and log line): `records` is the run's log so
    /// far, this epoch's record last (on a resume, the checkpoint's epochs first).
    ///
    /// # Errors
    /// Whatever stops the run (the trainer returns it as `TrainError::Progress`).
    fn epoch_end(&mut self, records: &[EpochRecord]) -> Result<(), ObserverError>;
}

/// A [`Progress`] that reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn epoch_start(&mut self, _: u32, _: u32, _: usize) {}
    fn batch(&mut self, _: f64, _: f64, _: f64) {}
    fn epoch_end(&mut self, _: &[EpochRecord]) -> Result<(), ObserverError> {
        Ok(())
    }
}
