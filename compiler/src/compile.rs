//! The compiler driver: the passes in order, each followed by its verifier.
//!
//! `lower` (fold weight norm, affine and average pooling into plain synapses) -> `quantize`
//! (to the target's bit widths) -> `map` (partition, place, route, emit). The emitted
//! configuration is then checked against every limit of the target by the runtime's own
//! [`ChipConfig::check_target`](ttfs_runtime::config::ChipConfig::check_target), the verifier
//! of the last pass, so a mapping bug surfaces here and not in the emulator.

use std::time::Instant;

use ttfs_runtime::config::ConfigError;
use ttfs_runtime::target::Target;

use crate::ir::FoldedNetwork;
use crate::lower::{LowerError, lower};
use crate::map::{MapError, Mapping, map};
use crate::model::{LayerSpec, Model};
use crate::quantize::{QuantizeError, Quantized, quantize};

/// Why a model could not be compiled for a target.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// Folding refused the model (max pooling, direct input, a malformed model).
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// Quantization refused it (a bias on a chip without one, a refractory period too short).
    #[error(transparent)]
    Quantize(#[from] QuantizeError),
    /// It does not fit the target.
    #[error(transparent)]
    Map(#[from] MapError),
    /// The emitted configuration broke an invariant or a limit: a compiler bug.
    #[error("internal error, the emitted configuration is invalid: {0}")]
    Verify(#[from] ConfigError),
}

/// Wall time of each pass in seconds, in order.
pub type PassTimes = Vec<(&'static str, f64)>;

/// Everything the passes produced.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// After folding.
    pub folded: FoldedNetwork,
    /// After quantization, with its report.
    pub quantized: Quantized,
    /// The configuration and the mapping report.
    pub mapping: Mapping,
    /// Wall time of each pass in seconds, in order.
    pub pass_seconds: PassTimes,
}

/// Folds and quantizes `model` for `target` (the passes before mapping), with their times.
pub fn lower_and_quantize(
    model: &Model,
    target: &Target,
) -> Result<(FoldedNetwork, Quantized, PassTimes), CompileError> {
    let start = Instant::now();
    let folded = lower(model)?;
    let lowered = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let quantized = quantize(&folded, target)?;
    let times = vec![
        ("lower", lowered),
        ("quantize", start.elapsed().as_secs_f64()),
    ];
    Ok((folded, quantized, times))
}

/// Maps a quantized network and verifies the configuration against the target. `firing`
/// optionally weights the placement by measured firing probabilities (per layer, per neuron);
/// `ann_macs` (from [`ann_macs`]) goes into the configuration's layer list for energy reports.
pub fn map_and_verify(
    quantized: &Quantized,
    target: &Target,
    firing: Option<&[Vec<f64>]>,
    ann_macs: &[u64],
) -> Result<(Mapping, PassTimes), CompileError> {
    let start = Instant::now();
    let mut mapping = map(&quantized.network, target, firing)?;
    for (info, &macs) in mapping.config.layers.iter_mut().zip(ann_macs) {
        info.ann_macs = macs;
    }
    let mapped = start.elapsed().as_secs_f64();
    let start = Instant::now();
    mapping.config.check_target(target)?;
    let times = vec![("map", mapped), ("verify", start.elapsed().as_secs_f64())];
    Ok((mapping, times))
}

/// Multiply-accumulates per inference of each weighted layer of `model` as a conventional
/// network (linear: inputs x outputs; conv: output positions x channels in x kernel), in order.
pub fn ann_macs(model: &Model) -> Result<Vec<u64>, CompileError> {
    let shapes = model.layer_shapes().map_err(LowerError::from)?;
    let mut macs = Vec::new();
    for (layer, shape) in model.description.layers.iter().zip(&shapes) {
        match layer {
            LayerSpec::Linear {
                in_features,
                out_features,
                ..
            } => macs.push((*in_features * *out_features) as u64),
            LayerSpec::Conv2d {
                in_channels,
                kernel,
                ..
            } => macs.push(
                (shape.iter().product::<usize>() * *in_channels * kernel[0] * kernel[1]) as u64,
            ),
            _ => {}
        }
    }
    Ok(macs)
}

/// All passes, without calibration data.
pub fn compile(model: &Model, target: &Target) -> Result<Compiled, CompileError> {
    let (folded, quantized, mut pass_seconds) = lower_and_quantize(model, target)?;
    let macs = ann_macs(model)?;
    let (mapping, times) = map_and_verify(&quantized, target, None, &macs)?;
    pass_seconds.extend(times);
    Ok(Compiled {
        folded,
        quantized,
        mapping,
        pass_seconds,
    })
}
