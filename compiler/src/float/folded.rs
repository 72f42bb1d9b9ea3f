//! [`FloatSim`] and [`run_folded`]: the folded network's synapse lists, simulated
//! event-driven in `f64`.

use super::{FloatRun, finish};
use crate::ir::FoldedNetwork;

/// A reusable simulator of one [`FoldedNetwork`]: it holds the neuron state and scratch
/// buffers, allocated once, so running many images costs no allocation beyond each
/// [`FloatRun`] it returns.
pub struct FloatSim<'a> {
    net: &'a FoldedNetwork,
    /// `H` per layer, per neuron.
    potential: Vec<Vec<f64>>,
    /// Spike step per layer, per neuron.
    fired: Vec<Vec<Option<u32>>>,
    /// Synaptic input of the layer being updated.
    current: Vec<f64>,
    /// The first layer's persistent current (thermometer input only).
    held: Vec<f64>,
    /// Input channels by spike step: `by_step[t - 1]`.
    by_step: Vec<Vec<u32>>,
    /// Sources that spiked this step, and the spikes of the layer being updated.
    spikes: Vec<u32>,
    next_spikes: Vec<u32>,
}

impl<'a> FloatSim<'a> {
    /// A simulator for `net`, with its state allocated.
    pub fn new(net: &'a FoldedNetwork) -> Self {
        let widest = net.layers.iter().map(|l| l.neurons()).max().unwrap_or(0);
        Self {
            net,
            potential: net.layers.iter().map(|l| vec![0.0; l.neurons()]).collect(),
            fired: net.layers.iter().map(|l| vec![None; l.neurons()]).collect(),
            current: vec![0.0; widest],
            held: vec![0.0; net.layers.first().map_or(0, |l| l.neurons())],
            by_step: vec![Vec::new(); net.time_steps as usize],
            spikes: Vec::new(),
            next_spikes: Vec::new(),
        }
    }

    /// Runs one image: `pixels` row-major in the input shape `[C, H, W]`, one per input
    /// channel. Pixels past the input's channels are ignored and missing ones never spike:
    /// callers check the size ([`run_model`](super::run_model) does).
    ///
    /// # Panics
    /// If the network has no layer or its last layer no neuron ([`lower`](crate::lower::lower)
    /// never builds such a network).
    pub fn run(&mut self, pixels: &[u8]) -> FloatRun {
        let net = self.net;
        let time_steps = net.time_steps;
        let threshold = f64::from(net.threshold);
        for bucket in &mut self.by_step {
            bucket.clear();
        }
        let pixels = &pixels[..pixels.len().min(net.input.pixels())];
        let by_step = &mut self.by_step;
        net.input
            .encoding
            .for_each_spike(pixels, time_steps, |channel, t| {
                if let Some(bucket) = by_step.get_mut(t as usize - 1) {
                    bucket.push(channel);
                }
            });
        let persists = net.input.first_layer_current_persists();
        self.held.fill(0.0);
        for layer in &mut self.potential {
            layer.fill(0.0);
        }
        for layer in &mut self.fired {
            layer.fill(None);
        }
        let classes = net.layers.last().map_or(0, |l| l.neurons());
        let mut output_potential = vec![Vec::with_capacity(time_steps as usize); classes];

        for t in 1..=time_steps {
            self.spikes.clear();
            self.spikes.extend_from_slice(&self.by_step[t as usize - 1]);
            for (l, layer) in net.layers.iter().enumerate() {
                let current = &mut self.current[..layer.neurons()];
                if l == 0 && persists {
                    // The thermometer lines' current persists: keep adding to it.
                    current.copy_from_slice(&self.held);
                } else {
                    current.fill(0.0);
                }
                let syn = &layer.synapses;
                for &j in &self.spikes {
                    for axon in layer.routing.axons_of(j as usize) {
                        let range = syn.offsets[axon]..syn.offsets[axon + 1];
                        for (&target, &w) in
                            syn.target[range.clone()].iter().zip(&syn.weight[range])
                        {
                            current[target as usize] += f64::from(w);
                        }
                    }
                }
                if l == 0 && persists {
                    self.held.copy_from_slice(current);
                }
                self.next_spikes.clear();
                let potential = &mut self.potential[l];
                let fired = &mut self.fired[l];
                for (i, (&input, &bias)) in current.iter().zip(&layer.bias).enumerate() {
                    potential[i] += input + f64::from(bias);
                    if fired[i].is_none() && potential[i] >= threshold {
                        fired[i] = Some(t);
                        self.next_spikes.push(i as u32);
                    }
                }
                std::mem::swap(&mut self.spikes, &mut self.next_spikes);
            }
            if let Some(last) = self.potential.last() {
                for (k, &h) in last.iter().enumerate() {
                    output_potential[k].push(h);
                }
            }
        }
        finish(
            self.fired.clone(),
            output_potential,
            time_steps,
            net.tie_break,
        )
    }
}

/// Simulates the folded network on one image (`pixels` row-major `[C, H, W]`); see
/// [`FloatSim::run`], which this calls once. Use a [`FloatSim`] to run many images.
///
/// # Panics
/// As [`FloatSim::run`].
pub fn run_folded(net: &FoldedNetwork, pixels: &[u8]) -> FloatRun {
    FloatSim::new(net).run(pixels)
}
