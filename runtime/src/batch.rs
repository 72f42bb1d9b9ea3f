//! Many inferences of one configuration: the images run in parallel (rayon, one [`Emulator`]
//! per worker) and are collected in image order, each priced by the energy model and, when a
//! [`Reference`] is given, compared with it. The emulator is deterministic and the sums are
//! exact, so the result is the same for any number of threads.
//!
//! The runtime knows no reference model itself: the compiler's golden model plugs in through
//! the [`Reference`] trait (`ttfs_compiler::crosscheck`).

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use crate::config::ChipConfig;
use crate::emulator::{Emulator, EmulatorError, Inference, RunOptions};
use crate::energy::Energy;
use crate::report::{
    GoldenCheck, GoldenSummary, Inferences, Record, RunReport, Sources, Timing, summarize,
};
use crate::target::Target;

/// Called after each inference (from any worker thread): a progress bar's tick, and the way
/// a caller stops a run early (Ctrl-C in Python), by answering [`ControlFlow::Break`].
pub type Progress<'a> = &'a (dyn Fn() -> ControlFlow<()> + Sync);

/// A progress callback that only counts, never stops: `f` after each inference.
pub fn ticks(f: impl Fn() + Sync) -> impl Fn() -> ControlFlow<()> + Sync {
    move || {
        f();
        ControlFlow::Continue(())
    }
}

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
    /// The progress callback asked the run to stop.
    #[error("stopped after {done} of {images} inferences")]
    Stopped {
        /// Inferences done when it stopped (at least).
        done: usize,
        /// Inferences the batch had.
        images: usize,
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

/// Labelled images to run, and how.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// Row-major `u8` pixels, one slice per image.
    pub images: &'a [&'a [u8]],
    /// One label per image.
    pub labels: &'a [u8],
    /// How each inference runs (early exit).
    pub options: RunOptions,
    /// The number of the first image in the run (0 unless the batch is a shard of a larger
    /// run), so that the records name images as the whole run does.
    pub first_image: usize,
}

/// The reference of a batch and the name of its model file (as the report names it).
pub type NamedReference<'a, R> = (&'a R, String);

/// The run of `batch` on `config` and `target` as its report: every image emulated (in
/// parallel, collected in image order), its wall time,
/// the golden comparison summed up ([`GoldenSummary::of`]), then
/// [`summarize`].
///
/// # Errors
/// [`BatchError`] for unpaired labels, an image the emulator refuses, or a failed reference.
pub fn run_report<R: Reference>(
    config: &ChipConfig,
    target: &Target,
    batch: Batch<'_>,
    reference: Option<NamedReference<'_, R>>,
    sources: Sources,
    progress: Progress<'_>,
) -> Result<RunReport, BatchError> {
    let (inferences, timing) = run_timed(
        config,
        target,
        &batch,
        reference.as_ref().map(|(r, _)| *r),
        progress,
    )?;
    let golden = reference.map(|(_, model)| {
        GoldenSummary::of(
            model,
            inferences.records.iter().filter_map(|r| r.golden.as_ref()),
        )
    });
    Ok(summarize(
        &inferences,
        config,
        target,
        batch.options.early_exit,
        sources,
        golden,
        timing,
    ))
}

/// Every image of `batch` emulated (in parallel, collected in image order), each compared
/// with `reference` if given, with the wall time; `progress` is called after each inference.
///
/// # Errors
/// [`BatchError`] for unpaired labels, an image the emulator refuses, or a failed reference.
pub fn run_timed<R: Reference>(
    config: &ChipConfig,
    target: &Target,
    batch: &Batch<'_>,
    reference: Option<&R>,
    progress: Progress<'_>,
) -> Result<(Inferences, Timing), BatchError> {
    let started = Instant::now();
    let inferences = run_images(config, target, batch, reference, progress)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let total_sops: u64 = inferences
        .records
        .iter()
        .map(|r| r.counters.synaptic_ops)
        .sum();
    let timing = Timing {
        threads: rayon::current_num_threads(),
        wall_seconds,
        inferences_per_second: inferences.records.len() as f64 / wall_seconds.max(1e-9),
        synaptic_ops_per_second: total_sops as f64 / wall_seconds.max(1e-9),
    };
    Ok((inferences, timing))
}

/// Runs every image of `batch` through the emulator with its options, compares each with
/// `reference` if given, and calls `progress` after each inference.
///
/// # Errors
/// [`BatchError`] for unpaired labels, an image the emulator refuses, or a failed reference.
fn run_images<R: Reference>(
    config: &ChipConfig,
    target: &Target,
    batch: &Batch<'_>,
    reference: Option<&R>,
    progress: Progress<'_>,
) -> Result<Inferences, BatchError> {
    let Batch {
        images,
        labels,
        options,
        first_image,
    } = *batch;
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
    let finished = AtomicUsize::new(0);
    let records = images
        .par_iter()
        .zip(labels.par_iter())
        .enumerate()
        .map_init(
            || (prototype.clone(), reference.map(R::worker)),
            |(emulator, worker), (k, (image, &label))| -> Result<Record, BatchError> {
                let i = first_image + k;
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
                if progress().is_break() {
                    return Err(BatchError::Stopped {
                        done: finished.fetch_add(1, Ordering::Relaxed) + 1,
                        images: images.len(),
                    });
                }
                finished.fetch_add(1, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::test_configs::{sample, tiny};
    use crate::report::SpikeDifference;

    /// Every image of a 2 x 2 input with grey levels from `seed` (16 images).
    fn images() -> Vec<Vec<u8>> {
        (0..16u32)
            .map(|i| (0..4u32).map(|p| ((i * 37 + p * 91) % 256) as u8).collect())
            .collect()
    }

    /// The images of a whole run (the first is image 0).
    fn batch<'a>(images: &'a [&'a [u8]], labels: &'a [u8], options: RunOptions) -> Batch<'a> {
        Batch {
            images,
            labels,
            options,
            first_image: 0,
        }
    }

    /// A reference that marks each image's check with its own index, to see that the parallel
    /// run attaches every check to the inference of its own image.
    struct Marker;

    impl Reference for Marker {
        type Worker = u32;
        type Error = std::io::Error;

        fn worker(&self) -> u32 {
            0
        }

        fn check(
            &self,
            calls: &mut u32,
            image: usize,
            pixels: &[u8],
            _: &Inference,
        ) -> Result<GoldenCheck, std::io::Error> {
            *calls += 1;
            if pixels[0] == 255 {
                return Err(std::io::Error::other("refused"));
            }
            Ok(GoldenCheck {
                spikes: Some(SpikeDifference {
                    image,
                    layer: 0,
                    layer_name: String::new(),
                    neuron: u32::from(pixels[0]),
                    emulator_steps: Vec::new(),
                    golden_steps: Vec::new(),
                }),
                decision: None,
            })
        }
    }

    #[test]
    fn a_parallel_batch_equals_the_inferences_one_by_one_in_image_order() {
        let (config, target) = (sample(), tiny());
        let images = images();
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        let labels: Vec<u8> = (0..16).map(|i| (i % 2) as u8).collect();
        let options = RunOptions::default();
        let batch = run_images(
            &config,
            &target,
            &batch(&refs, &labels, options),
            Some(&Marker),
            &|| ControlFlow::Continue(()),
        )
        .unwrap();
        let mut emulator = Emulator::new(&config, &target).unwrap();
        let mut fired = vec![vec![0u32; 4], vec![0u32; 2]];
        for (i, (record, image)) in batch.records.iter().zip(&images).enumerate() {
            let alone = emulator.run(image, options).unwrap();
            assert_eq!(record.counters, alone.counters);
            assert_eq!(record.decision, alone.decision);
            assert_eq!(record.energy, Energy::of(&alone.counters, &target));
            assert_eq!(record.label, labels[i]);
            let mark = record.golden.as_ref().unwrap().spikes.as_ref().unwrap();
            assert_eq!((mark.image, mark.neuron), (i, u32::from(image[0])));
            for (layer, spikes) in alone.spikes.iter().enumerate() {
                for &(n, _) in spikes {
                    fired[layer][n as usize] += 1;
                }
            }
        }
        assert_eq!(batch.firing, fired);
        assert!(fired.iter().flatten().any(|&c| c > 0), "the sample fires");
    }

    #[test]
    fn unpaired_labels_and_a_failing_reference_are_errors() {
        let (config, target) = (sample(), tiny());
        let images = images();
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        let none: Option<&Marker> = None;
        let e = run_images(
            &config,
            &target,
            &batch(&refs, &[0], RunOptions::default()),
            none,
            &|| ControlFlow::Continue(()),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "16 images but 1 labels");
        let white = [255u8, 0, 0, 0];
        let e = run_images(
            &config,
            &target,
            &batch(&[&white], &[0], RunOptions::default()),
            Some(&Marker),
            &|| ControlFlow::Continue(()),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "image 0: the golden model failed: refused");
    }

    #[test]
    fn a_progress_that_breaks_stops_the_run_with_an_error() {
        let (config, target) = (sample(), tiny());
        let images = images();
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        let labels = vec![0u8; refs.len()];
        let none: Option<&Marker> = None;
        let calls = AtomicUsize::new(0);
        let e = run_images(
            &config,
            &target,
            &batch(&refs, &labels, RunOptions::default()),
            none,
            &|| {
                if calls.fetch_add(1, Ordering::Relaxed) >= 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .unwrap_err();
        let BatchError::Stopped { done, images } = e else {
            panic!("{e}")
        };
        assert_eq!(images, 16);
        assert!((4..=16).contains(&done), "{done}");
    }
}
