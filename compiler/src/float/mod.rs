//! The float reference of a trained network, in `f64`, by two independent paths:
//!
//! - [`run_model`] simulates the model's own layers (conv2d as a convolution, avg_pool2d as
//!   pooling of the previous layer's spike map, flatten, linear) with the effective weights;
//! - [`run_folded`] (or a reusable [`FloatSim`]) simulates the lowered [`FoldedNetwork`]'s
//!   synapse lists, event-driven: each spiking source adds its row to its targets' input.
//!
//! Comparing the two checks the lower pass; the folded path is also the reference the
//! quantized network and the chip are measured against.
//!
//! Both use the training neuron (ARCHITECTURE.md, "The training neuron"): input pixels (row-major
//! `[C, H, W]`) are latency coded ([`InputEncoding::spike_step`]) or, with the thermometer code,
//! stand for their quantized grey level `n / levels` as an input current at every step
//! ([`run_model`] presents that value at every step; [`run_folded`] sends the `n` active lines at
//! step 1 into a first layer whose current persists); for t = 1..=T, layer by layer within the step
//! (layer l sees layer l-1's spikes of the same step), `I[t]` = the sum of the weights of this
//! step's input spikes (or pooled values) + bias, `H[t] = H[t-1] + I[t]`, and a neuron spikes at
//! the first t with `H[t] >= threshold`, once; `H` keeps integrating (no reset). The class comes
//! from [`decide`].
//!
//! [`FoldedNetwork`]: crate::ir::FoldedNetwork
//! [`InputEncoding::spike_step`]: ttfs_runtime::config::InputEncoding::spike_step

mod folded;
mod model;
#[cfg(test)]
mod tests;

pub use folded::{FloatSim, run_folded};
pub use model::run_model;

use ttfs_runtime::config::TieBreak;

use ttfs_runtime::decision::{Decision, DecisionRule, decide};

/// One inference of the float reference.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatRun {
    /// Per neuron layer, per neuron (row-major in the layer's shape): the 1-based step of its
    /// spike, `None` if it stayed silent.
    pub spike_steps: Vec<Vec<Option<u32>>>,
    /// Per output neuron (class), `H` after each step: `output_potential[k][t - 1]`.
    pub output_potential: Vec<Vec<f64>>,
    /// The decision of [`decide`] on the output layer.
    pub decision: Decision,
}

/// Builds the run from the spike steps and output potentials.
///
/// # Panics
/// If there is no neuron layer or the last one has no neuron (a lowered or validated model
/// always has both).
fn finish(
    spike_steps: Vec<Vec<Option<u32>>>,
    output_potential: Vec<Vec<f64>>,
    time_steps: u32,
    tie_break: TieBreak,
) -> FloatRun {
    let outputs: &[Option<u32>] = spike_steps.last().map_or(&[], Vec::as_slice);
    let decision = decide(
        outputs,
        time_steps,
        DecisionRule::full_run(tie_break),
        |k, t| {
            t.checked_sub(1)
                .and_then(|i| output_potential[k].get(i as usize))
                .copied()
                .unwrap_or(0.0)
        },
    );
    FloatRun {
        spike_steps,
        output_potential,
        decision,
    }
}
