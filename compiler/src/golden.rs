//! The golden model: a plain layer-by-layer integer simulation of a [`QuantNetwork`]
//! (ARCHITECTURE.md, "The integer neuron"), written independently of the runtime's emulator: no
//! cores, no cycles, no packets. The emulator's spike times must equal these exactly. The two share
//! only the chip's neuron update itself ([`NeuronUpdate`], the one implementation of the rule), so
//! what the comparison checks is everything around it: partitioning, routing, the order of events
//! and the phases of a step.
//!
//! # Semantics of one inference
//! ```text
//! state: u = v = 0, not refractory, for every neuron
//! for t in 1..=T:
//!     phase 0:     the input channels that the encoding spikes at step t (latency: channel c
//!                  at encoding.spike_step(pixels[c], T); thermometer: the active lines of
//!                  each pixel at step 1)
//!     phase l + 1: layer l integrates the spikes of this step t of its sources (the input
//!                  for l = 0, layer l - 1's spikes of phase l otherwise), then every neuron of
//!                  the layer updates by the rule of `ttfs_runtime::neuron`
//! ```
//! The accumulation is event-driven: each source spike adds the row of weights of every axon
//! it drives (its own, or the shared axon of each pooling window it lies in) into a wide
//! (`i64`, never saturating) accumulator per neuron; a frozen refractory neuron drops its
//! accumulator without an update. All buffers are allocated once in [`GoldenModel::new`]; a run
//! allocates only its [`GoldenRun`].
//!
//! On a network whose neurons update only on input ([`NeuronUpdateMode::OnInput`], an
//! event-driven target), a neuron that no spike reached in a step is not updated at all.
//!
//! Counters of a run: `neuron_updates` counts updates performed (a frozen refractory neuron is
//! not updated; an integrating one is; on input only, an untouched neuron is not); `synaptic_ops` counts synapses traversed, i.e. the
//! fan-out into the layer of every spike delivered to it, whether or not its target is frozen;
//! the register peaks are the largest `|u|` and `|v|` after saturation (and after a reset), and
//! a saturation event is one clamp of `u` or of `v`.

use ttfs_runtime::neuron::{NeuronUpdate, UpdateOutcome};
use ttfs_runtime::target::NeuronUpdateMode;

use crate::ir::{QuantLayer, QuantNetwork};
use ttfs_runtime::decision::{Decision, DecisionRule, decide};

/// Why the golden model cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GoldenError {
    /// The input does not have one value per pixel.
    #[error("the input has {found} values but the network expects {expected} (C x H x W)")]
    InputLength {
        /// Values given.
        found: usize,
        /// Pixels of the network's input (`C x H x W`).
        expected: usize,
    },
    /// The network breaks an invariant of the IR (found by [`GoldenModel::new`]).
    #[error("the quantized network is malformed: {0}")]
    Malformed(String),
}

/// Register use of one layer during one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisterPeaks {
    /// Largest `|u|` reached.
    pub max_abs_u: i64,
    /// Largest `|v|` reached.
    pub max_abs_v: i64,
    /// How many times `u` was clamped to its register.
    pub u_saturations: u64,
    /// How many times `v` was clamped to its register.
    pub v_saturations: u64,
}

/// Everything one inference produced.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenRun {
    /// Per layer, the spikes as `(neuron, step)`, ordered by step, then neuron.
    pub spikes: Vec<Vec<(u32, u32)>>,
    /// `output_potential[k][t - 1]`: output neuron `k`'s `v` after step `t`.
    pub output_potential: Vec<Vec<i64>>,
    /// The decision rule applied to the output layer.
    pub decision: Decision,
    /// Per layer, the register peaks and saturation counts.
    pub peaks: Vec<RegisterPeaks>,
    /// Per layer, the neuron updates performed.
    pub neuron_updates: Vec<u64>,
    /// Per layer, the synapses traversed by the spikes delivered to it.
    pub synaptic_ops: Vec<u64>,
    /// Per layer, the number of neurons.
    pub neurons: Vec<usize>,
}

impl GoldenRun {
    /// The first spike step of every neuron of `layer` (`None`: silent); empty if there is no
    /// such layer.
    pub fn first_spike_steps(&self, layer: usize) -> Vec<Option<u32>> {
        match (self.spikes.get(layer), self.neurons.get(layer)) {
            (Some(spikes), Some(&n)) => first_steps(spikes, n),
            _ => Vec::new(),
        }
    }
}

/// The first step of each of `n` neurons in a spike list ordered by step.
fn first_steps(spikes: &[(u32, u32)], n: usize) -> Vec<Option<u32>> {
    let mut first = vec![None; n];
    for &(i, t) in spikes {
        if let Some(slot @ None) = first.get_mut(i as usize) {
            *slot = Some(t);
        }
    }
    first
}

/// The state of one layer's neurons, and its update rule.
struct LayerState {
    u: Vec<i64>,
    v: Vec<i64>,
    /// Last step of the refractory window (0: never refractory yet; `u32::MAX`: until the end).
    refractory_through: Vec<u32>,
    acc: Vec<i64>,
    /// When neurons update only on input: whether a spike reached the neuron in this step
    /// (empty when every neuron updates every step).
    touched: Vec<bool>,
    rule: NeuronUpdate,
}

/// The golden model of one network: the network and the reusable state of every layer.
pub struct GoldenModel<'a> {
    net: &'a QuantNetwork,
    layers: Vec<LayerState>,
    /// Input channels in spike order: the channels spiking at step t are
    /// `input_order[input_start[t]..input_start[t + 1]]`.
    input_order: Vec<u32>,
    input_start: Vec<usize>,
    /// Insertion cursors of the counting sort.
    input_next: Vec<usize>,
    input_step: Vec<u32>,
    /// Per layer, where this step's spikes start in the run's spike list.
    step_start: Vec<usize>,
    /// Why `net` cannot be simulated, if it cannot.
    invalid: Option<GoldenError>,
}

impl<'a> GoldenModel<'a> {
    /// Prepares the model of `net`, checking the invariants it relies on with the IR's own
    /// verifier ([`QuantNetwork::verify`]: shapes, CSR rows, register widths 2..=32, decay
    /// factors within `2^D`, `T >= 1`, a non-empty output layer); a broken one makes every
    /// [`run`](Self::run) return [`GoldenError::Malformed`].
    pub fn new(net: &'a QuantNetwork) -> Self {
        let invalid = net
            .verify()
            .err()
            .map(|e| GoldenError::Malformed(e.to_string()));
        let r = net.registers;
        let on_input = net.neuron_update == NeuronUpdateMode::OnInput;
        let layers = net
            .layers
            .iter()
            .map(|l| {
                let n = l.neurons();
                LayerState {
                    u: vec![0; n],
                    v: vec![0; n],
                    refractory_through: vec![0; n],
                    acc: vec![0; n],
                    touched: vec![false; if on_input { n } else { 0 }],
                    rule: NeuronUpdate::new(
                        l.params,
                        r.decay_bits,
                        r.current_bits,
                        r.potential_bits,
                    ),
                }
            })
            .collect();
        let t = net.time_steps as usize;
        Self {
            net,
            layers,
            input_order: Vec::with_capacity(net.input.channels()),
            input_start: vec![0; t + 2],
            input_next: vec![0; t + 2],
            input_step: vec![0; net.input.channels()],
            step_start: vec![0; net.layers.len()],
            invalid,
        }
    }

    /// Runs one inference on `pixels` (one `u8` per pixel, row-major in `[C, H, W]`).
    ///
    /// # Errors
    /// [`GoldenError::InputLength`] if `pixels` does not have one value per pixel,
    /// [`GoldenError::Malformed`] if the network failed the checks of [`new`](Self::new).
    pub fn run(&mut self, pixels: &[u8]) -> Result<GoldenRun, GoldenError> {
        if let Some(e) = &self.invalid {
            return Err(e.clone());
        }
        let net = self.net;
        let expected = net.input.pixels();
        if pixels.len() != expected {
            return Err(GoldenError::InputLength {
                found: pixels.len(),
                expected,
            });
        }
        let t_max = net.time_steps;
        self.sort_input(pixels);
        for s in &mut self.layers {
            s.u.fill(0);
            s.v.fill(0);
            s.refractory_through.fill(0);
            s.acc.fill(0);
            s.touched.fill(false);
        }

        let n_layers = net.layers.len();
        let out_n = net.layers[n_layers - 1].neurons();
        let mut spikes: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n_layers];
        let mut output_potential = vec![Vec::with_capacity(t_max as usize); out_n];
        let mut peaks = vec![RegisterPeaks::default(); n_layers];
        let mut neuron_updates = vec![0u64; n_layers];
        let mut synaptic_ops = vec![0u64; n_layers];

        for t in 1..=t_max {
            for (l, layer) in net.layers.iter().enumerate() {
                let (done, rest) = spikes.split_at_mut(l);
                let out = &mut rest[0];
                let state = &mut self.layers[l];
                let syn = &layer.synapses;
                let mut ops = 0u64;
                // A slice, so the accumulator's length stays in a register in the hot loop.
                let acc = &mut state.acc[..];
                let touched = &mut state.touched[..];
                let routing = &layer.routing;
                // Each axon the source drives adds its row, once per delivery.
                let mut deliver = |j: usize| {
                    for axon in routing.axons_of(j) {
                        let (a, b) = (syn.offsets[axon], syn.offsets[axon + 1]);
                        let targets = &syn.target[a..b];
                        for (&i, &w) in targets.iter().zip(&syn.weight[a..b]) {
                            acc[i as usize] += i64::from(w);
                        }
                        if !touched.is_empty() {
                            targets.iter().for_each(|&i| touched[i as usize] = true);
                        }
                        ops += (b - a) as u64;
                    }
                };
                match done.last() {
                    None => {
                        let (a, b) = (
                            self.input_start[t as usize],
                            self.input_start[t as usize + 1],
                        );
                        self.input_order[a..b]
                            .iter()
                            .for_each(|&c| deliver(c as usize));
                    }
                    Some(prev) => prev[self.step_start[l - 1]..]
                        .iter()
                        .for_each(|&(j, _)| deliver(j as usize)),
                }
                synaptic_ops[l] += ops;
                self.step_start[l] = out.len();
                neuron_updates[l] += state.update(layer, t, out, &mut peaks[l]);
            }
            for (k, &v) in self.layers[n_layers - 1].v.iter().enumerate() {
                output_potential[k].push(v);
            }
        }

        let first = first_steps(&spikes[n_layers - 1], out_n);
        let decision = decide(
            &first,
            t_max,
            DecisionRule::full_run(net.tie_break),
            |k, t| output_potential[k][t as usize - 1],
        );
        Ok(GoldenRun {
            spikes,
            output_potential,
            decision,
            peaks,
            neuron_updates,
            synaptic_ops,
            neurons: net.layers.iter().map(QuantLayer::neurons).collect(),
        })
    }

    /// Buckets the input channels by spike step (a counting sort into reused buffers).
    fn sort_input(&mut self, pixels: &[u8]) {
        let t_max = self.net.time_steps;
        let encoding = self.net.input.encoding;
        self.input_start.fill(0);
        self.input_step.fill(0);
        let pixels = &pixels[..pixels.len().min(self.net.input.pixels())];
        let (steps, start) = (&mut self.input_step, &mut self.input_start);
        encoding.for_each_spike(pixels, t_max, |c, t| {
            // Steps outside 1..=T (none for either encoding) never spike.
            if t <= t_max {
                steps[c as usize] = t;
                start[t as usize + 1] += 1;
            }
        });
        for t in 1..self.input_start.len() {
            self.input_start[t] += self.input_start[t - 1];
        }
        let spiking = self.input_start[t_max as usize + 1];
        self.input_order.clear();
        self.input_order.resize(spiking, 0);
        self.input_next.copy_from_slice(&self.input_start);
        for (c, &t) in self.input_step.iter().enumerate() {
            if t > 0 {
                self.input_order[self.input_next[t as usize]] = c as u32;
                self.input_next[t as usize] += 1;
            }
        }
    }
}

impl LayerState {
    /// Updates every neuron of the layer at step `t` from its accumulator (which it clears) by
    /// the chip's rule ([`NeuronUpdate`]), appends the spikes to `out` and returns the number
    /// of updates performed.
    fn update(
        &mut self,
        layer: &QuantLayer,
        t: u32,
        out: &mut Vec<(u32, u32)>,
        peaks: &mut RegisterPeaks,
    ) -> u64 {
        // Slices of one length, so the loop indexes without bounds checks.
        let n = self.u.len();
        let (u_all, v_all) = (&mut self.u[..n], &mut self.v[..n]);
        let (acc_all, through) = (&mut self.acc[..n], &mut self.refractory_through[..n]);
        let (bias, threshold) = (&layer.bias[..n], &layer.threshold[..n]);
        let rule = self.rule;
        let on_input = !self.touched.is_empty();
        let mut updates = 0;
        for i in 0..n {
            // Updated only on input: a neuron no spike reached keeps its state (the quantizer
            // allows this mode only where that changes nothing).
            if on_input && !std::mem::take(&mut self.touched[i]) {
                continue;
            }
            let acc = std::mem::take(&mut acc_all[i]);
            let outcome = rule.update(
                &mut u_all[i],
                &mut v_all[i],
                &mut through[i],
                acc,
                bias[i],
                threshold[i],
                t,
            );
            let UpdateOutcome::Updated {
                fired,
                u_saturated,
                v_saturated,
                v_before_reset,
            } = outcome
            else {
                continue;
            };
            updates += 1;
            peaks.u_saturations += u64::from(u_saturated);
            peaks.v_saturations += u64::from(v_saturated);
            peaks.max_abs_u = peaks.max_abs_u.max(u_all[i].abs());
            peaks.max_abs_v = peaks.max_abs_v.max(v_before_reset.abs());
            if fired {
                out.push((i as u32, t));
                // After a reset `v` holds the reset value.
                peaks.max_abs_v = peaks.max_abs_v.max(v_all[i].abs());
            }
        }
        updates
    }
}

#[cfg(test)]
mod tests;
