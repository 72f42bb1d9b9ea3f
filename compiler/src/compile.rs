//! The compile driver, the one order of the passes: every caller (the CLI, the golden
//! cross-check, the tests, the benchmarks) compiles through [`compile`], or through
//! [`quantized`] for the passes before mapping.
//!
//! `lower` (fold weight norm and affine into plain synapses, average pools into shared axons
//! or synapses), then [`FoldedNetwork::verify`] -> `quantize` (to the target's bit widths),
//! then [`QuantNetwork::verify`](crate::ir::QuantNetwork::verify) -> `partition` (each layer
//! into cores: whether the model fits, known before the seconds of calibration) -> with
//! average pools, `lowerings` (what the other pool lowering would need) -> `calibrate`
//! (only with calibration images: the float and golden models on them, for the register peaks
//! and the firing rates that weight the placement) -> `map` (place, route, emit), then the
//! runtime's own
//! [`ChipConfig::check_target`](ttfs_runtime::config::ChipConfig::check_target). As in tract's
//! optimiser and cranelift's `verify_if`, each verifier runs right after its pass and its error
//! names the pass, so a broken invariant is caught where it was introduced, not in the
//! emulator.

use std::time::Instant;

use serde::Serialize;
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::target::Target;

use crate::evaluate::{Evaluation, evaluate};
use crate::ir::{FoldedNetwork, PoolLowering};
use crate::lower::{LowerError, lower};
use crate::map::needs::{LoweringNeeds, needs};
use crate::map::{MapError, Mapping, MappingReport, Partition, partition, place};
use crate::model::{Model, Provenance};
use crate::quantize::{LayerQuantReport, QuantizeError, Quantized, quantize};

/// Why a model could not be compiled for a target.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// Folding refused the model (max pooling, direct input, a malformed model).
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// Quantization refused it (a bias on a chip without one, a refractory period too short).
    #[error(transparent)]
    Quantize(#[from] QuantizeError),
    /// The calibration images have another shape than the model's input.
    #[error(
        "the images are {} x {} x {} (channels x rows x columns) but the model's input is \
         {} x {} x {}",
        found[0], found[1], found[2], expected[0], expected[1], expected[2]
    )]
    ImageShape {
        /// `[C, H, W]` of the images.
        found: [usize; 3],
        /// `[C, H, W]` of the model's input.
        expected: [usize; 3],
    },
    /// The calibration images do not fit the model's input.
    #[error("images have {found} pixels but the model's input has {expected}")]
    ImageSize {
        /// Pixels per calibration image.
        found: usize,
        /// Pixels of the model's input.
        expected: usize,
    },
    /// The calibration images and labels do not pair up.
    #[error("{images} calibration images but {labels} labels")]
    Labels {
        /// Images given.
        images: usize,
        /// Labels given.
        labels: usize,
    },
    /// It does not fit the target.
    #[error(transparent)]
    Map(#[from] MapError),
    /// A pass broke an invariant of what it produced: a compiler bug.
    #[error("internal error: after pass {pass}, {reason}")]
    Invariant {
        /// The pass that ran last.
        pass: &'static str,
        /// The verifier's error.
        reason: String,
    },
}

/// Wall time of each pass in seconds, in order.
pub type PassTimes = Vec<(&'static str, f64)>;

/// Labelled test images to calibrate on (register peaks, firing rates for the placement) and
/// to compare the float and golden models on.
#[derive(Clone, Copy, Debug)]
pub struct Calibration<'a> {
    /// `[C, H, W]` of every image; it must be the model's input shape.
    pub shape: [usize; 3],
    /// Row-major `u8` pixels, one slice per image, as many as the model's input has.
    pub images: &'a [&'a [u8]],
    /// One label per image.
    pub labels: &'a [u8],
}

/// A pass's result, handed to [`CompileOptions::observer`] as soon as the pass is done (so a
/// long compile can show each report as it comes, and a failed one what came before).
#[derive(Clone, Copy, Debug)]
pub enum PassOutput<'a> {
    /// `quantize` is done (and verified).
    Quantized(&'a Quantized),
    /// The model has average pools: what each lowering needs (before calibration).
    Lowerings(&'a PoolLowerings),
    /// `calibrate` is done.
    Calibrated(&'a Evaluation),
    /// `map` is done (and its configuration verified against the target).
    Mapped(&'a Mapping),
}

/// Settings of a compile beyond the model and the target.
#[derive(Clone, Copy, Default)]
pub struct CompileOptions<'a> {
    /// How average pools are lowered (shared axons unless asked otherwise).
    pub pool_lowering: PoolLowering,
    /// Images to calibrate on (`None`: no calibration, every route weighs the same).
    pub calibration: Option<Calibration<'a>>,
    /// Called with each pass's result as it is done.
    pub observer: Option<&'a dyn Fn(PassOutput<'_>)>,
}

/// For a model with average pools, what the lowering used and the other one need of the target
/// ([`needs`]), side by side.
#[derive(Clone, Debug, Serialize)]
pub struct PoolLowerings {
    /// The lowering compiled.
    pub used: LoweringNeeds,
    /// The other lowering.
    pub other: LoweringNeeds,
}

/// Everything the passes produced.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// After folding.
    pub folded: FoldedNetwork,
    /// After quantization, with its report.
    pub quantized: Quantized,
    /// The float vs golden comparison on the calibration images, if there were any.
    pub evaluation: Option<Evaluation>,
    /// With average pools, what each lowering needs.
    pub lowerings: Option<PoolLowerings>,
    /// The configuration and the mapping report.
    pub mapping: Mapping,
    /// Wall time of each pass in seconds, in order.
    pub pass_seconds: PassTimes,
}

/// What a compile reports (the body of `ttfs compile`'s `.map.json`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CompileReport<'a> {
    /// The target's name.
    pub target: &'a str,
    /// Wall time of each pass in seconds, in order.
    pub pass_seconds: &'a [(&'static str, f64)],
    /// What rounding did to each layer.
    pub quantization: &'a [LayerQuantReport],
    /// With average pools, what each lowering needs.
    pub pool_lowerings: Option<&'a PoolLowerings>,
    /// The float vs golden comparison, if calibrated.
    pub evaluation: Option<&'a Evaluation>,
    /// Cores, utilisation and placement.
    pub mapping: &'a MappingReport,
}

impl Compiled {
    /// The chip configuration.
    pub fn config(&self) -> &ChipConfig {
        &self.mapping.config
    }

    /// The report of the compile.
    pub fn report(&self) -> CompileReport<'_> {
        CompileReport {
            target: &self.mapping.report.target,
            pass_seconds: &self.pass_seconds,
            quantization: &self.quantized.report,
            pool_lowerings: self.lowerings.as_ref(),
            evaluation: self.evaluation.as_ref(),
            mapping: &self.mapping.report,
        }
    }
}

/// A verifier's result as the driver's error, naming the pass that ran before it.
fn verified<E: std::fmt::Display>(
    pass: &'static str,
    result: Result<(), E>,
) -> Result<(), CompileError> {
    result.map_err(|e| CompileError::Invariant {
        pass,
        reason: e.to_string(),
    })
}

/// Runs `pass`, records its wall time under `name`.
fn timed<T>(times: &mut PassTimes, name: &'static str, pass: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = pass();
    times.push((name, start.elapsed().as_secs_f64()));
    out
}

/// The passes before mapping, each followed by its verifier: `lower`, then `quantize`.
///
/// # Errors
/// [`CompileError::Lower`] or [`CompileError::Quantize`] when the model cannot be folded or
/// quantized for the target; [`CompileError::Invariant`] for a pass that broke the IR.
pub fn quantized(
    model: &Model,
    target: &Target,
    pool_lowering: PoolLowering,
) -> Result<(FoldedNetwork, Quantized, PassTimes), CompileError> {
    let mut times = PassTimes::new();
    let folded = timed(&mut times, "lower", || lower(model, pool_lowering))?;
    verified("lower", folded.verify())?;
    let quantized = timed(&mut times, "quantize", || quantize(&folded, target))?;
    verified("quantize", quantized.network.verify())?;
    Ok((folded, quantized, times))
}

/// Compiles `model` for `target`: every pass in order, each followed by its verifier.
///
/// # Errors
/// [`CompileError`]: a model the passes refuse, calibration images that do not fit it, a model
/// that does not fit the target, or (a compiler bug) a broken invariant.
pub fn compile(
    model: &Model,
    target: &Target,
    options: &CompileOptions<'_>,
) -> Result<Compiled, CompileError> {
    let observe = |output: PassOutput<'_>| {
        if let Some(observer) = options.observer {
            observer(output);
        }
    };
    let (folded, quantized, mut pass_seconds) = quantized(model, target, options.pool_lowering)?;
    observe(PassOutput::Quantized(&quantized));
    // Whether it fits is known before calibration, which can take seconds.
    let partition = timed(&mut pass_seconds, "partition", || {
        partition(&quantized.network, target)
    })?;
    let pooled = folded.layers.iter().any(|l| !l.folded.pools.is_empty());
    let lowerings = if pooled {
        let lowerings = timed(&mut pass_seconds, "lowerings", || {
            pool_lowerings(model, target, options.pool_lowering, &quantized, &partition)
        });
        if let Some(l) = &lowerings {
            observe(PassOutput::Lowerings(l));
        }
        lowerings
    } else {
        None
    };
    let evaluation = match options.calibration {
        Some(c) => {
            check_calibration(&c, &folded)?;
            let evaluation = timed(&mut pass_seconds, "calibrate", || {
                evaluate(&folded, &quantized.network, c.images, c.labels)
            });
            observe(PassOutput::Calibrated(&evaluation));
            Some(evaluation)
        }
        None => None,
    };
    let provenance = Provenance::of(model).map_err(LowerError::from)?;
    let firing = evaluation.as_ref().map(|e| e.firing.as_slice());
    let mapping = timed(&mut pass_seconds, "map", || {
        place(&quantized.network, target, partition, firing, &provenance)
    });
    timed(&mut pass_seconds, "verify", || {
        verified("map", mapping.config.check_target(target))
    })?;
    observe(PassOutput::Mapped(&mapping));
    Ok(Compiled {
        folded,
        quantized,
        evaluation,
        lowerings,
        mapping,
        pass_seconds,
    })
}

/// What `used` (the network lowered as `lowering`, split into `partitioned`) and the same
/// model lowered the other way need of `target`; `None` if the other lowering does not
/// quantize (it fails for the same reasons as the used one, which did).
fn pool_lowerings(
    model: &Model,
    target: &Target,
    lowering: PoolLowering,
    used: &Quantized,
    partitioned: &Partition,
) -> Option<PoolLowerings> {
    let other = lowering.other();
    let (_, quantized, _) = quantized(model, target, other).ok()?;
    Some(PoolLowerings {
        used: needs(&used.network, lowering, target, Some(partitioned)),
        other: needs(&quantized.network, other, target, None),
    })
}

/// The calibration images have the model's input shape and pixels, and every image a label.
fn check_calibration(c: &Calibration<'_>, folded: &FoldedNetwork) -> Result<(), CompileError> {
    if c.shape != folded.input.shape {
        return Err(CompileError::ImageShape {
            found: c.shape,
            expected: folded.input.shape,
        });
    }
    if c.images.len() != c.labels.len() {
        return Err(CompileError::Labels {
            images: c.images.len(),
            labels: c.labels.len(),
        });
    }
    let expected = folded.input.pixels();
    match c.images.iter().find(|image| image.len() != expected) {
        Some(image) => Err(CompileError::ImageSize {
            found: image.len(),
            expected,
        }),
        None => Ok(()),
    }
}
