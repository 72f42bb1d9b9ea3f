//! Evaluation with the chip's decision rule, and the firing statistics of a network.

use crate::config::TrainConfig;
use crate::decode::{Decision, decide};
use crate::error::TrainError;
use crate::input::batch_input;
use crate::network::{Currents, Forward, Network};
use ttfs_data::Dataset;
use ttfs_runtime::decision::DecisionRule;

/// Accuracy and latency of the chip's decision rule on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Fraction of correct decisions.
    pub accuracy: f64,
    /// Fraction of correct decisions of a chip that stops at the first output spike (ties by
    /// the potential there): equal to `accuracy` under the tie break at the decision step.
    pub early_exit_accuracy: f64,
    /// Mean decision step (1-based; `T` when no output fired).
    pub mean_decision_step: f64,
    /// Fraction of samples with no output spike.
    pub silent_fraction: f64,
    /// Fraction of samples where several outputs fired first together (the tie-break decided).
    pub tied_fraction: f64,
    /// Mean number of outputs firing at the decision step, over samples with an output spike.
    pub mean_tied: f64,
}

/// The chip's decision for every sample of a forward pass, under each of `rules` (the output
/// spikes and currents are read out of the tensors once for all of them).
///
/// # Errors
/// A tensor error from Candle.
pub fn decisions_of<const N: usize>(
    out: &Forward,
    classes: usize,
    rules: [DecisionRule; N],
) -> candle_core::Result<[Vec<Decision>; N]> {
    let (steps, batch, _) = out.out_spikes.dims3()?;
    let spikes = out.out_spikes.flatten_all()?.to_vec1::<f32>()?;
    let currents = out.out_currents.flatten_all()?.to_vec1::<f32>()?;
    Ok(rules.map(|rule| decide(&spikes, &currents, steps, batch, classes, rule)))
}

/// Evaluates `net` with the chip's decision rule on `ds`.
///
/// # Errors
/// A tensor error from Candle.
pub fn evaluate(
    net: &Network,
    ds: &Dataset,
    config: &TrainConfig,
) -> Result<Evaluation, TrainError> {
    let (mut correct, mut correct_early) = (0usize, 0usize);
    let full = DecisionRule::full_run(config.tie_break.into());
    let early = DecisionRule {
        early_exit: true,
        ..full
    };
    let mut steps_sum = 0usize;
    let mut silent = 0usize;
    let (mut tied_samples, mut tied_sum) = (0usize, 0usize);
    let mut buffer = Vec::new();
    let indices: Vec<usize> = (0..ds.len()).collect();
    let classes = net.num_classes();
    for chunk in indices.chunks(config.batch_size.max(1) * 2) {
        let (input, mode) = batch_input(ds, chunk, config.encoding, config.steps, &mut buffer)?;
        let out = net.forward_with(&input, mode, Currents::OutputOnly)?;
        let [decisions, early_decisions] = decisions_of(&out, classes, [full, early])?;
        for (d, &i) in early_decisions.iter().zip(chunk) {
            correct_early += usize::from(d.class == ds.labels[i] as usize);
        }
        for (d, &i) in decisions.iter().zip(chunk) {
            correct += usize::from(d.class == ds.labels[i] as usize);
            steps_sum += d.step.map_or(config.steps, |t| t as usize);
            silent += usize::from(d.step.is_none());
            tied_samples += usize::from(d.tied > 1);
            tied_sum += d.tied;
        }
    }
    let n = ds.len().max(1) as f64;
    Ok(Evaluation {
        accuracy: correct as f64 / n,
        early_exit_accuracy: correct_early as f64 / n,
        mean_decision_step: steps_sum as f64 / n,
        silent_fraction: silent as f64 / n,
        tied_fraction: tied_samples as f64 / n,
        mean_tied: tied_sum as f64 / (ds.len() - silent).max(1) as f64,
    })
}

/// How a layer of neurons fires on a sample of inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerFiring {
    /// Fraction of the layer's neurons that fire at all.
    pub fired: f64,
    /// Fraction that fire at the first step.
    pub at_first_step: f64,
}

/// Firing statistics per layer of neurons on up to 256 samples of `ds` (the ETTFS paper
/// asks for 20-70% fired and under 30% firing at step 1 at initialisation), counted on the
/// full-size spikes (no pooling fused into a layer).
///
/// # Errors
/// A tensor error from Candle.
pub fn firing_stats(
    net: &Network,
    ds: &Dataset,
    config: &TrainConfig,
) -> Result<Vec<LayerFiring>, TrainError> {
    let indices: Vec<usize> = (0..ds.len().min(256)).collect();
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let mut buffer = Vec::new();
    let (input, mode) = batch_input(ds, &indices, config.encoding, config.steps, &mut buffer)?;
    let out = net.forward_with(&input, mode, Currents::All)?;
    out.layer_spikes
        .iter()
        .map(|s| {
            Ok(LayerFiring {
                fired: s.mean_all()?.to_scalar::<f32>()? as f64 * config.steps as f64,
                at_first_step: s.get(0)?.mean_all()?.to_scalar::<f32>()? as f64,
            })
        })
        .collect()
}
