//! What a training run tells its observer as it goes (the CLI draws progress bars with it).

use crate::evaluate::LayerFiring;
use crate::report::EpochRecord;

/// Observer of training progress.
pub trait Progress {
    /// Firing per layer of the freshly initialised network (a fresh run only).
    fn init_firing(&mut self, _layers: &[LayerFiring]) {}
    /// A run resumes from its checkpoint with `epochs_done` of `epochs` epochs done.
    fn resumed(&mut self, _epochs_done: u32, _epochs: u32) {}
    /// An epoch starts with this many batches.
    fn epoch_start(&mut self, epoch: u32, epochs: u32, batches: usize);
    /// A batch finished: running loss, accuracy and samples per second of the epoch.
    fn batch(&mut self, loss: f64, accuracy: f64, samples_per_second: f64);
    /// An epoch finished.
    fn epoch_end(&mut self, record: &EpochRecord);
}

/// A [`Progress`] that reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn epoch_start(&mut self, _: u32, _: u32, _: usize) {}
    fn batch(&mut self, _: f64, _: f64, _: f64) {}
    fn epoch_end(&mut self, _: &EpochRecord) {}
}
