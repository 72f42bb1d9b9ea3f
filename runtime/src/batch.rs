//! Many inferences of one configuration: the images run in parallel (rayon, one [`Emulator`]
//! per worker) and are collected in image order, each priced by the energy model and, when a
//! [`Reference`] is given, compared with it. The emulator is deterministic and the sums are
//! exact, so the result is the same for any number of threads.
//!
//! The runtime knows no reference model itself: the compiler's golden model plugs in through
//! the [`Reference`] trait (`ttfs_compiler::crosscheck`).

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::config::ChipConfig;
use crate::emulator::{Emulator, EmulatorError, Inference, RunOptions};
use crate::energy::Energy;
use crate::report::{GoldenCheck, Inferences, Record};
use crate::target::Target;

/// A reference simulation that every emulated inference is compared with.
pub trait Reference: Sync {
    /// The per-worker state (a simulator with its buffers).
    type Worker: Send;
    /// Why the reference could not run.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A fresh worker state.
    fn worker(&self) -> Self::Worker;

    /// Runs the reference on image number `image` (`pixels`) and compares it with `emulated`.
    ///
    /// # Errors
    /// When the reference cannot run on the image.
    fn check(
        &self,
        worker: &mut Self::Worker,
        image: usize,
        pixels: &[u8],
        emulated: &Inference,
    ) -> Result<GoldenCheck, Self::Error>;
}

/// Why a batch could not run.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The emulator refused the configuration or an image.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// Images and labels do not pair up.
    #[error("{images} images but {labels} labels")]
    Labels {
        /// Images given.
        images: usize,
        /// Labels given.
        labels: usize,
    },
    /// The reference model failed on an image.
    #[error("image {image}: the golden model failed: {source}")]
    Reference {
        /// Index of the image.
        image: usize,
        /// The reference's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Runs every image of `images` (labelled by `labels`) through the emulator with `options`,
/// compares each with `reference` if given, and calls `progress` after each inference.
///
/// # Errors
/// [`BatchError`] for unpaired labels, an image the emulator refuses, or a failed reference.
pub fn run_images<R: Reference>(
    config: &ChipConfig,
    target: &Target,
    images: &[&[u8]],
    labels: &[u8],
    options: RunOptions,
    reference: Option<&R>,
    progress: &(dyn Fn() + Sync),
) -> Result<Inferences, BatchError> {
    if images.len() != labels.len() {
        return Err(BatchError::Labels {
            images: images.len(),
            labels: labels.len(),
        });
    }
    // Checks the configuration once; every worker runs a clone.
    let prototype = Emulator::new(config, target)?;
    let fired: Vec<Vec<AtomicU32>> = config
        .layers
        .iter()
        .map(|l| (0..l.neurons).map(|_| AtomicU32::new(0)).collect())
        .collect();
    let records = images
        .par_iter()
        .zip(labels.par_iter())
        .enumerate()
        .map_init(
            || (prototype.clone(), reference.map(R::worker)),
            |(emulator, worker), (i, (image, &label))| -> Result<Record, BatchError> {
                let inference = emulator.run(image, options)?;
                for (layer, spikes) in fired.iter().zip(&inference.spikes) {
                    for &(neuron, _) in spikes {
                        if let Some(count) = layer.get(neuron as usize) {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let golden = match (reference, worker) {
                    (Some(r), Some(w)) => {
                        Some(r.check(w, i, image, &inference).map_err(|source| {
                            BatchError::Reference {
                                image: i,
                                source: Box::new(source),
                            }
                        })?)
                    }
                    _ => None,
                };
                progress();
                Ok(Record {
                    energy: Energy::of(&inference.counters, target),
                    counters: inference.counters,
                    decision: inference.decision,
                    label,
                    violations: inference.violations,
                    golden,
                })
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    let firing = fired
        .into_iter()
        .map(|l| l.into_iter().map(AtomicU32::into_inner).collect())
        .collect();
    Ok(Inferences { records, firing })
}
