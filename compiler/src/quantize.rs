//! The quantize pass: a [`FoldedNetwork`] in `f32` becomes a [`QuantNetwork`] in the target's
//! integers, with the neuron parameters it runs with, plus a per-layer report of what rounding
//! did ([`LayerQuantReport`], [`format_report`]).
//!
//! # Rules
//! - `qmax = 2^(weight_bits - 1) - 1`: weights use the symmetric signed range `[-qmax, qmax]`
//!   (so `weight_bits` must be at least 2, a rule of the target description itself).
//! - Scale `s` (integer units per float unit). When the target has a threshold register per
//!   neuron (`neuron.per_neuron_threshold`), every neuron of a hidden layer gets its own scale,
//!   `s_o = qmax / max_j |w_oj|` (a convolution's neurons the largest over their channel, the
//!   kernel they share); otherwise, and always for the last (output) layer, the layer
//!   shares one scale, `s = qmax / max |w|` over the layer. The output layer keeps one scale so
//!   that its potentials stay comparable for the tie break of the decision rule. A neuron (or
//!   layer) whose weights are all zero uses `s = qmax / threshold`.
//! - Threshold: `th = round(threshold * s)`, at least 1. If that exceeds the threshold register,
//!   `thmax = 2^(threshold_bits - 1) - 1`, the scale is lowered first to `s = thmax / threshold`
//!   (so the threshold is exactly `thmax`); the report counts the neurons whose scale was
//!   lowered (`threshold_limited`).
//! - Weights: `w_int = round(w * s)` clamped to `[-qmax, qmax]` (counted as `clipped_weights`);
//!   synapses whose `w_int` is 0 are dropped (counted as `zeroed_weights`).
//! - Bias: `b_int = round(b * s)` clamped to the signed `current_bits` range (counted as
//!   `clipped_biases`). A layer with a non-zero `b_int` on a target without bias current is
//!   refused ([`QuantizeError::BiasUnsupported`]); biases that all round to 0 are accepted.
//! - Rounding is `f64::round` (half away from zero) on `f64` products of the `f32` values.
//! - Neurons: hidden layers run [`NeuronParams::ttfs_hidden`], the last layer
//!   [`NeuronParams::ttfs_output`], with `D = neuron.decay_bits`; with thermometer input the
//!   first layer's current persists (`du = 0`), since its lines spike only at step 1 and stand
//!   for a current at every step. The refractory period is
//!   [`Refractory::UntilEnd`] when the target allows "until reset"
//!   (`max_refractory_steps = null`), else `Steps(T)`, which needs `max_refractory_steps >= T`
//!   ([`QuantizeError::RefractoryTooShort`] otherwise): after a spike at step `t`, steps
//!   `t + 1 ..= t + T` cover the rest of any inference.
//! - Registers are copied from the target.
//!
//! Before quantizing, the pass checks the target's ranges. It relies on the folded network's
//! invariants (shapes, CSR offsets, finite values), which [`FoldedNetwork::verify`] checks: the
//! compile driver runs that verifier after `lower`, before this pass.

mod report;

#[cfg(test)]
mod agreement;

pub use report::{LayerQuantReport, format_report};

use ttfs_runtime::config::{NeuronParams, Refractory};
use ttfs_runtime::neuron::MovesWithoutInput;
use ttfs_runtime::target::{NeuronUpdateMode, Target, TargetError};

use crate::ir::{
    FoldedLayer, FoldedNetwork, QuantLayer, QuantNetwork, Registers, SynapseMatrix, register_max,
    register_min,
};

/// The result of the quantize pass: the integer network and what rounding did to each layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// The integer network the golden model simulates and the mapper places.
    pub network: QuantNetwork,
    /// One entry per layer, input side first.
    pub report: Vec<LayerQuantReport>,
    /// How the scales were chosen.
    pub scale_rule: ScaleRule,
}

/// Why a network cannot be quantized for a target.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    /// A layer needs a bias current and the target has none.
    #[error(
        "{layer} has a bias (largest |b| = {}) but target \"{target}\" has no bias current; \
         retrain with --bias off",
        report::significant(f64::from(*.largest), 2)
    )]
    BiasUnsupported {
        /// The layer's name.
        layer: String,
        /// The target's name.
        target: String,
        /// The largest absolute bias of the layer.
        largest: f32,
    },
    /// The target's longest refractory period is shorter than the inference.
    #[error(
        "target \"{target}\" allows a refractory period of at most {max} steps, but a \
         time-to-first-spike neuron must stay refractory for the rest of the inference \
         ({needed} steps); use at most {max} time steps or a target with a longer refractory \
         period"
    )]
    RefractoryTooShort {
        /// The target's name.
        target: String,
        /// The target's `max_refractory_steps`.
        max: u32,
        /// The number of time steps T.
        needed: u32,
    },
    /// The target updates a neuron only when an event reaches it, and a layer's neurons can
    /// change without input, so skipping them would change what the network computes.
    #[error(
        "{layer} cannot run on target \"{target}\", which updates a neuron only when an event \
         reaches it (neuron.update = on_input): {why}"
    )]
    MovesWithoutInput {
        /// The layer's name.
        layer: String,
        /// The target's name.
        target: String,
        /// Why the layer's neurons change without input.
        why: MovesWithoutInput,
    },
    /// The target description breaks one of its range rules.
    #[error(transparent)]
    Target(#[from] TargetError),
}

/// Quantizes `net` for `target` (see the module doc for the rules).
///
/// # Errors
/// [`QuantizeError::BiasUnsupported`], [`QuantizeError::RefractoryTooShort`] and
/// [`QuantizeError::MovesWithoutInput`] when the network needs what the target lacks, [`QuantizeError::Target`] for a target out of its ranges (1-bit
/// weights among them: the target's own rule).
///
/// `net` must hold the invariants of [`FoldedNetwork::verify`] (the compile driver checks them
/// after `lower`); on a network that breaks them this pass may panic.
pub fn quantize(net: &FoldedNetwork, target: &Target) -> Result<Quantized, QuantizeError> {
    target.validate()?;
    let refractory = refractory_for(net.time_steps, target)?;
    let rule = ScaleRule::for_network(net, target);
    let d = target.neuron.decay_bits;
    let last = net.layers.len() - 1;
    let mut layers = Vec::with_capacity(net.layers.len());
    let mut report = Vec::with_capacity(net.layers.len());
    for (l, layer) in net.layers.iter().enumerate() {
        let base = if l == last {
            NeuronParams::ttfs_output(d)
        } else {
            NeuronParams::ttfs_hidden(d)
        };
        let du = if l == 0 && net.input.first_layer_current_persists() {
            0
        } else {
            base.du
        };
        let params = NeuronParams {
            refractory,
            du,
            ..base
        };
        let per_neuron = target.neuron.per_neuron_threshold && l != last;
        let (q, r) = quantize_layer(layer, net.threshold, per_neuron, params, target, rule)?;
        if target.neuron.update == NeuronUpdateMode::OnInput {
            if let Err(why) = q.params.still_without_input(d, &q.bias, &q.threshold) {
                return Err(QuantizeError::MovesWithoutInput {
                    layer: q.name.clone(),
                    target: target.name.clone(),
                    why,
                });
            }
        }
        layers.push(q);
        report.push(r);
    }
    let c = &target.core;
    Ok(Quantized {
        network: QuantNetwork {
            input: net.input.clone(),
            time_steps: net.time_steps,
            registers: Registers {
                weight_bits: c.weight_bits,
                current_bits: c.current_bits,
                potential_bits: c.potential_bits,
                threshold_bits: c.threshold_bits,
                decay_bits: d,
            },
            layers,
            tie_break: net.tie_break,
            pool_lowering: net.pool_lowering,
            neuron_update: target.neuron.update,
        },
        report,
        scale_rule: rule,
    })
}

/// The refractory period that makes every neuron fire at most once in `time_steps` steps.
fn refractory_for(time_steps: u32, target: &Target) -> Result<Refractory, QuantizeError> {
    match target.neuron.max_refractory_steps {
        None => Ok(Refractory::UntilEnd),
        Some(n) if n >= time_steps => Ok(Refractory::Steps(time_steps)),
        Some(n) => Err(QuantizeError::RefractoryTooShort {
            target: target.name.clone(),
            max: n,
            needed: time_steps,
        }),
    }
}

/// Quantizes one layer; `per_neuron` selects one scale per neuron instead of one per layer.
/// How the quantizer chooses each scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleRule {
    /// `s = qmax / max |w|`: no weight clipped.
    LargestWeight,
    /// `s = qmax / (alpha max |w|)`, `alpha` in 0.30..=1.00 by 0.02 chosen for the least
    /// squared quantization error of the group's weights (the largest ones clipped when that
    /// costs less than the coarser steps of the rest).
    LeastError,
}

impl ScaleRule {
    /// The rule for `net` on `target`: least error at 4 weight bits or fewer, where it was
    /// measured better (trainer/RECIPES.md, "Low-precision targets"), unless the model was
    /// trained for exactly these weights (its integers are then the largest-weight rule's);
    /// the largest weight otherwise.
    pub fn for_network(net: &FoldedNetwork, target: &Target) -> ScaleRule {
        let bits = target.core.weight_bits;
        let trained = net.trained_for.is_some_and(|q| q.weight_bits == bits);
        if bits <= 4 && !trained {
            ScaleRule::LeastError
        } else {
            ScaleRule::LargestWeight
        }
    }

    /// Words for the compile report.
    pub fn describe(self) -> &'static str {
        match self {
            ScaleRule::LargestWeight => "scale qmax / max |w|",
            ScaleRule::LeastError => "scale by least squared error",
        }
    }
}

fn quantize_layer(
    layer: &FoldedLayer,
    threshold: f32,
    per_neuron: bool,
    params: NeuronParams,
    target: &Target,
    rule: ScaleRule,
) -> Result<(QuantLayer, LayerQuantReport), QuantizeError> {
    let n = layer.neurons();
    let syn = &layer.synapses;
    let qmax = register_max(target.core.weight_bits);
    let th_max = register_max(target.core.threshold_bits) as f64;
    let theta = f64::from(threshold);

    // Largest |w| per neuron, or over the layer.
    let mut max_abs = vec![0.0f64; n];
    for (&t, &w) in syn.target.iter().zip(&syn.weight) {
        let a = f64::from(w.abs());
        if a > max_abs[t as usize] {
            max_abs[t as usize] = a;
        }
    }
    if !per_neuron {
        let m = max_abs.iter().copied().fold(0.0, f64::max);
        max_abs.fill(m);
    } else if let [channels, h, w] = layer.shape[..] {
        // A convolution's neurons share their channel's kernel, so they share its scale
        // (a border neuron, with fewer synapses, would otherwise get another one).
        let plane = h * w;
        if channels * plane == n && plane > 0 {
            for chunk in max_abs.chunks_mut(plane) {
                let m = chunk.iter().copied().fold(0.0, f64::max);
                chunk.fill(m);
            }
        }
    }

    if rule == ScaleRule::LeastError {
        shrink_to_least_error(syn, &mut max_abs, qmax as f64);
    }
    let mut scale = Vec::with_capacity(n);
    let mut thresholds = Vec::with_capacity(n);
    let mut threshold_limited = 0;
    for &m in &max_abs {
        let (s, th, limited) = scale_and_threshold(m, theta, qmax as f64, th_max);
        threshold_limited += usize::from(limited);
        scale.push(s);
        // th_max < 2^31, so the cast is exact.
        thresholds.push(th as i32);
    }

    // Weights, row by row, dropping the ones that round to 0 (rows stay sorted).
    let mut offsets = Vec::with_capacity(syn.axons + 1);
    let mut targets = Vec::with_capacity(syn.len());
    let mut weights = Vec::with_capacity(syn.len());
    let (mut clipped_weights, mut zeroed_weights, mut weight_max_abs) = (0, 0, 0i32);
    offsets.push(0);
    for j in 0..syn.axons {
        for (t, w) in syn.row(j) {
            let raw = (f64::from(w) * scale[t as usize]).round();
            let q = raw.clamp(-(qmax as f64), qmax as f64);
            if q != raw {
                clipped_weights += 1;
            }
            // |q| <= qmax < 2^15, so the cast is exact.
            let q = q as i32;
            if q == 0 {
                zeroed_weights += 1;
            } else {
                targets.push(t);
                weights.push(q);
                weight_max_abs = weight_max_abs.max(q.abs());
            }
        }
        offsets.push(targets.len());
    }

    // Biases.
    let (b_min, b_max) = (
        register_min(target.core.current_bits) as f64,
        register_max(target.core.current_bits) as f64,
    );
    let mut bias = Vec::with_capacity(n);
    let mut clipped_biases = 0;
    for (&b, &s) in layer.bias.iter().zip(&scale) {
        let raw = (f64::from(b) * s).round();
        let q = raw.clamp(b_min, b_max);
        if q != raw {
            clipped_biases += 1;
        }
        // Within a signed 32-bit range (current_bits <= 32), so the cast is exact.
        bias.push(q as i32);
    }
    if !target.neuron.bias && bias.iter().any(|&b| b != 0) {
        return Err(QuantizeError::BiasUnsupported {
            layer: layer.name.clone(),
            target: target.name.clone(),
            largest: layer.bias.iter().fold(0.0f32, |m, b| m.max(b.abs())),
        });
    }

    let report = LayerQuantReport {
        name: layer.name.clone(),
        neurons: n,
        synapses: targets.len(),
        scale_min: scale.iter().copied().fold(f64::INFINITY, f64::min),
        scale_max: scale.iter().copied().fold(0.0, f64::max),
        threshold_min: thresholds.iter().copied().min().unwrap_or(0),
        threshold_max: thresholds.iter().copied().max().unwrap_or(0),
        weight_max_abs,
        clipped_weights,
        zeroed_weights,
        clipped_biases,
        threshold_limited,
    };
    let quant = QuantLayer {
        name: layer.name.clone(),
        model_layer: layer.model_layer,
        folded: layer.folded.clone(),
        shape: layer.shape.clone(),
        routing: layer.routing.clone(),
        synapses: SynapseMatrix {
            axons: syn.axons,
            targets: n,
            offsets,
            target: targets,
            weight: weights,
        },
        threshold: thresholds,
        bias,
        scale,
        params,
    };
    Ok((quant, report))
}

/// The scale `s` and integer threshold `th` of a neuron whose largest `|w|` (or its group's) is
/// `m`, with float threshold `theta`, on registers of `qmax` (weights) and `th_max`
/// (thresholds): `s = qmax / m` (`qmax / theta` if `m = 0`), `th = round(theta s)`, at least 1;
/// where `th` would exceed `th_max`, `s` is lowered to `th_max / theta` first and the third
/// value is `true`. The one rule of the compiler and of quantization-aware training.
pub fn scale_and_threshold(m: f64, theta: f64, qmax: f64, th_max: f64) -> (f64, f64, bool) {
    let mut s = if m > 0.0 { qmax / m } else { qmax / theta };
    let mut th = (theta * s).round();
    let limited = th > th_max;
    if limited {
        s = th_max / theta;
        th = (theta * s).round().min(th_max);
    }
    (s, th.max(1.0), limited)
}

/// Lowers each group's `max |w|` (neurons sharing a value share a scale) to the clipping
/// point `alpha max` (alpha in 0.30..=1.00 by 0.02) of least squared quantization error.
fn shrink_to_least_error(syn: &crate::ir::SynapseMatrix<f32>, max_abs: &mut [f64], qmax: f64) {
    use std::collections::BTreeMap;
    // Groups: neurons with the same max share it (one per layer, channel or neuron).
    let mut groups: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, &m) in max_abs.iter().enumerate() {
        groups.entry(m.to_bits()).or_default().push(i);
    }
    let mut weights_of: Vec<Vec<f64>> = vec![Vec::new(); max_abs.len()];
    for (&t, &w) in syn.target.iter().zip(&syn.weight) {
        weights_of[t as usize].push(f64::from(w));
    }
    for (bits, members) in groups {
        let m = f64::from_bits(bits);
        if m <= 0.0 {
            continue;
        }
        let mut best = (f64::INFINITY, 1.0);
        for k in 0..=35 {
            let alpha = 1.0 - 0.02 * f64::from(k);
            let s = qmax / (alpha * m);
            let err: f64 = members
                .iter()
                .flat_map(|&i| weights_of[i].iter())
                .map(|&w| {
                    let q = (w * s).round().clamp(-qmax, qmax) / s;
                    (w - q) * (w - q)
                })
                .sum();
            if err < best.0 {
                best = (err, alpha);
            }
        }
        for &i in &members {
            max_abs[i] = best.1 * m;
        }
    }
}

#[cfg(test)]
mod tests;
