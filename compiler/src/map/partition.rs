//! Partition: each layer's neurons into cores, within the target's `max_neurons`, `max_axons`
//! and `max_synapses`.
//!
//! A core holds neurons of one layer only (one phase, one parameter set). Neurons are taken in a
//! locality order, [`fill_order`]: for a convolution `[C, H, W]`, position-major and channel-minor
//! (`y`, then `x`, then `c`), so that the neurons on a core share their receptive field and the
//! core needs few distinct axons; for a flat layer, the index order. Cores are filled greedily:
//! the next neuron goes on the open core unless one of the three limits would be exceeded, then
//! a new core opens. An axon is one distinct row of the layer's synapse matrix (a source, a
//! neuron of the layer before or an input channel, or a pooling window's shared axon) that
//! drives at least one neuron of the core; a synapse-memory entry is one (axon, neuron) pair,
//! so a core's synapse count is the sum of its neurons' fan-ins.

use ttfs_runtime::target::Target;

use super::{FanInExcess, MapError};
use crate::ir::{QuantLayer, SynapseMatrix};

/// The neurons of one core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreAssignment {
    /// Index of the layer in the network.
    pub layer: usize,
    /// The neurons (indices within the layer), in core order: neuron `k` of the core is
    /// `neurons[k]`.
    pub neurons: Vec<u32>,
    /// The distinct axons (rows of the layer's synapse matrix) driving the core, sorted: axon
    /// `a` of the core is row `axons[a]`.
    pub axons: Vec<u32>,
    /// Synapse-memory entries used (the sum of the neurons' fan-ins).
    pub synapses: usize,
}

/// Which limit closed a core: the one the next neuron would have exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// `core.max_neurons`.
    Neurons,
    /// `core.max_axons`.
    Axons,
    /// `core.max_synapses`.
    Synapses,
    /// The layer ended.
    LayerEnd,
}

impl Binding {
    /// The target field name of the limit.
    pub fn field(self) -> &'static str {
        match self {
            Binding::Neurons => "core.max_neurons",
            Binding::Axons => "core.max_axons",
            Binding::Synapses => "core.max_synapses",
            Binding::LayerEnd => "end of layer",
        }
    }
}

/// The order in which a layer's neurons fill cores (see the module docs).
pub fn fill_order(shape: &[usize]) -> Vec<u32> {
    match *shape {
        [c, h, w] => {
            let mut order = Vec::with_capacity(c * h * w);
            for y in 0..h {
                for x in 0..w {
                    for ch in 0..c {
                        order.push(((ch * h + y) * w + x) as u32);
                    }
                }
            }
            order
        }
        _ => (0..shape.iter().product::<usize>() as u32).collect(),
    }
}

/// Axon lists per target neuron, as compressed rows (offsets, axons): the transpose of an
/// axon-major synapse matrix without its weights.
pub fn fan_in_axons<W: Copy>(m: &SynapseMatrix<W>) -> (Vec<usize>, Vec<u32>) {
    let mut offsets = vec![0usize; m.targets + 1];
    for &t in &m.target {
        offsets[t as usize + 1] += 1;
    }
    for i in 0..m.targets {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let mut axons = vec![0u32; m.target.len()];
    for j in 0..m.axons {
        for &t in &m.target[m.offsets[j]..m.offsets[j + 1]] {
            axons[next[t as usize]] = j as u32;
            next[t as usize] += 1;
        }
    }
    (offsets, axons)
}

/// Splits one layer into cores; returns the cores and, for each, the limit that closed it.
///
/// # Errors
/// [`MapError::FanInTooLarge`] with every limit of a core that the layer's widest neuron
/// exceeds on its own.
pub fn partition_layer(
    index: usize,
    layer: &QuantLayer,
    target: &Target,
) -> Result<Vec<(CoreAssignment, Binding)>, MapError> {
    let limits = &target.core;
    let (offsets, axons) = fan_in_axons(&layer.synapses);
    // stamp[s] == core number + 1 when row s already has an axon on the open core.
    let mut stamp = vec![0u32; layer.synapses.axons];
    let mut cores = Vec::new();
    let mut open = CoreAssignment {
        layer: index,
        neurons: Vec::new(),
        axons: Vec::new(),
        synapses: 0,
    };
    let widest = (0..layer.neurons())
        .map(|n| offsets[n + 1] - offsets[n])
        .max()
        .unwrap_or(0);
    let excesses: Vec<FanInExcess> = [
        ("core.max_axons", limits.max_axons),
        ("core.max_synapses", limits.max_synapses),
    ]
    .into_iter()
    .filter(|&(_, limit)| widest > limit as usize)
    .map(|(field, limit)| FanInExcess {
        layer: layer.name.clone(),
        folded: layer.folded.clone(),
        shared_axons: layer.routing.is_shared(),
        field,
        fan_in: widest,
        limit,
    })
    .collect();
    if !excesses.is_empty() {
        return Err(MapError::FanInTooLarge {
            target: target.name.clone(),
            layers: excesses,
        });
    }
    for n in fill_order(&layer.shape) {
        let fan_in = &axons[offsets[n as usize]..offsets[n as usize + 1]];
        let mark = cores.len() as u32 + 1;
        let new_axons = fan_in
            .iter()
            .filter(|&&s| stamp[s as usize] != mark)
            .count();
        let binding = if open.neurons.len() + 1 > limits.max_neurons as usize {
            Some(Binding::Neurons)
        } else if open.axons.len() + new_axons > limits.max_axons as usize {
            Some(Binding::Axons)
        } else if open.synapses + fan_in.len() > limits.max_synapses as usize {
            Some(Binding::Synapses)
        } else {
            None
        };
        if let Some(binding) = binding {
            let full = std::mem::replace(
                &mut open,
                CoreAssignment {
                    layer: index,
                    neurons: Vec::new(),
                    axons: Vec::new(),
                    synapses: 0,
                },
            );
            cores.push((full, binding));
        }
        let mark = cores.len() as u32 + 1;
        for &s in fan_in {
            if stamp[s as usize] != mark {
                stamp[s as usize] = mark;
                open.axons.push(s);
            }
        }
        open.neurons.push(n);
        open.synapses += fan_in.len();
    }
    if !open.neurons.is_empty() {
        cores.push((open, Binding::LayerEnd));
    }
    for (core, _) in &mut cores {
        core.axons.sort_unstable();
    }
    Ok(cores)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::map::test_support::{dense_layer, tiny_target};

    #[test]
    fn conv_order_is_position_major() {
        // [C=2, H=1, W=2]: (c0,x0)=0, (c0,x1)=1, (c1,x0)=2, (c1,x1)=3.
        assert_eq!(fill_order(&[2, 1, 2]), vec![0, 2, 1, 3]);
        assert_eq!(fill_order(&[3]), vec![0, 1, 2]);
    }

    #[test]
    fn neuron_limit_splits_a_layer() {
        // 70 neurons, fan-in 4 each: tiny cores hold 32 neurons, so 32 + 32 + 6.
        let layer = dense_layer("l", 4, 70);
        let cores = partition_layer(0, &layer, &tiny_target()).unwrap();
        let sizes: Vec<usize> = cores.iter().map(|(c, _)| c.neurons.len()).collect();
        assert_eq!(sizes, vec![32, 32, 6]);
        assert_eq!(cores[0].1, Binding::Neurons);
        assert_eq!(cores[2].1, Binding::LayerEnd);
        assert_eq!(cores[0].0.axons, vec![0, 1, 2, 3]);
        assert_eq!(cores[0].0.synapses, 128);
    }

    #[test]
    fn synapse_limit_splits_a_layer() {
        // Fan-in 60 (<= 64 axons): 1024 / 60 = 17 neurons per core by synapse memory.
        let layer = dense_layer("l", 60, 20);
        let cores = partition_layer(0, &layer, &tiny_target()).unwrap();
        assert_eq!(cores[0].0.neurons.len(), 17);
        assert_eq!(cores[0].1, Binding::Synapses);
        assert_eq!(cores[1].0.neurons.len(), 3);
    }

    #[test]
    fn fan_in_beyond_the_axons_is_an_error_naming_layer_and_limit() {
        let layer = dense_layer("layer 1 (linear 100->2)", 100, 2);
        let err = partition_layer(0, &layer, &tiny_target()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("layer 1 (linear 100->2)"), "{text}");
        assert!(text.contains("core.max_axons = 64"), "{text}");
        assert!(text.contains("exceeded by 36"), "{text}");
        assert!(text.contains("a narrower layer"), "{text}");
    }

    #[test]
    fn a_thermometer_first_layer_too_wide_names_the_levels_as_the_way_out() {
        let name = "layer 0 (linear 25->2, thermometer input: 4 lines per pixel)";
        let mut layer = dense_layer(name, 100, 2);
        // The advice follows what was folded in, not the name.
        layer.folded.lines_per_pixel = Some(4);
        let text = partition_layer(0, &layer, &tiny_target())
            .unwrap_err()
            .to_string();
        assert!(text.contains(name), "{text}");
        assert!(
            text.contains("fewer levels (`ttfs train --levels`)"),
            "{text}"
        );
    }
}
