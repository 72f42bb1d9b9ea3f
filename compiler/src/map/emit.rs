//! Emit: the chip configuration from the partition and the placement: per core its neuron
//! parameters, thresholds, biases and synapse table; routing tables (neuron -> the (core, axon)
//! pairs of the next layer that read it: its own axon, or the shared axon of every pooling
//! window it lies in, on each core that holds it); the input map; the output map.

use ttfs_runtime::config::{
    AxonRef, ChipConfig, CoreConfig, Csr, Decoding, InputMap, LayerInfo, MeshPosition, NeuronRef,
    OutputMap, Synapse,
};
use ttfs_runtime::target::Target;

use super::partition::CoreAssignment;
use crate::ir::QuantNetwork;
use crate::model::Provenance;

/// Where a neuron lives: `home[layer][neuron] = (core, index on the core)`.
pub type Home = Vec<Vec<(u32, u32)>>;

/// Where each neuron of each layer was placed.
pub fn homes(net: &QuantNetwork, cores: &[CoreAssignment]) -> Home {
    let mut home: Home = net
        .layers
        .iter()
        .map(|l| vec![(u32::MAX, 0); l.neurons()])
        .collect();
    for (c, core) in cores.iter().enumerate() {
        for (k, &n) in core.neurons.iter().enumerate() {
            home[core.layer][n as usize] = (c as u32, k as u32);
        }
    }
    home
}

/// For each source of layer `layer` (a neuron of the layer before, or an input channel), the
/// (core, axon) pairs its spike goes to, one packet each: for every axon the layer's routing
/// gives the source, the cores that hold that axon, in axon then core order.
fn readers(net: &QuantNetwork, layer: usize, cores: &[CoreAssignment]) -> Vec<Vec<AxonRef>> {
    let l = &net.layers[layer];
    // Per row of the layer's synapse matrix, the cores (and their axon) that hold it.
    let mut by_row = vec![Vec::new(); l.synapses.axons];
    for (c, core) in cores.iter().enumerate() {
        if core.layer != layer {
            continue;
        }
        for (a, &row) in core.axons.iter().enumerate() {
            by_row[row as usize].push(AxonRef {
                core: c as u32,
                axon: a as u32,
            });
        }
    }
    let sources = if layer == 0 {
        net.input.channels()
    } else {
        net.layers[layer - 1].neurons()
    };
    (0..sources)
        .map(|j| {
            l.routing
                .axons_of(j)
                .flat_map(|row| by_row[row].iter().copied())
                .collect()
        })
        .collect()
}

/// Builds the configuration. `cores` and `positions` are in the same (logical) order;
/// `provenance` is what the configuration records of the model (its digest, and each layer's
/// ANN multiply-accumulates, 0 where it names none).
pub fn emit(
    net: &QuantNetwork,
    target: &Target,
    cores: &[CoreAssignment],
    positions: &[MeshPosition],
    provenance: &Provenance,
) -> ChipConfig {
    let home = homes(net, cores);
    let mut configs: Vec<CoreConfig> = Vec::with_capacity(cores.len());
    for (c, core) in cores.iter().enumerate() {
        let layer = &net.layers[core.layer];
        let local = |n: u32| home[core.layer][n as usize].1;
        // Synapse table: axon a = row core.axons[a]; keep the synapses into this core's neurons.
        let rows = core.axons.iter().map(|&s| {
            let mut row: Vec<Synapse> = layer
                .synapses
                .row(s as usize)
                .filter(|&(t, _)| home[core.layer][t as usize].0 == c as u32)
                .map(|(t, weight)| Synapse {
                    neuron: local(t),
                    weight,
                })
                .collect();
            row.sort_unstable_by_key(|s| s.neuron);
            row
        });
        let synapses = Csr::from_rows(rows);
        configs.push(CoreConfig {
            position: positions[c],
            layer: core.layer as u32,
            layer_index: core.neurons.clone(),
            params: layer.params,
            threshold: core
                .neurons
                .iter()
                .map(|&n| layer.threshold[n as usize])
                .collect(),
            bias: core
                .neurons
                .iter()
                .map(|&n| layer.bias[n as usize])
                .collect(),
            synapses,
            routes: Csr::default(),
        });
    }
    // Routes: neuron n of layer l is read by the cores of layer l + 1 that hold an axon it
    // drives.
    for l in 0..net.layers.len() {
        let next = l + 1;
        let read_by = if next < net.layers.len() {
            readers(net, next, cores)
        } else {
            vec![Vec::new(); net.layers[l].neurons()]
        };
        for (c, core) in cores.iter().enumerate() {
            if core.layer != l {
                continue;
            }
            configs[c].routes =
                Csr::from_rows(core.neurons.iter().map(|&n| read_by[n as usize].clone()));
        }
    }
    let input_targets = readers(net, 0, cores);
    let last = net.layers.len() - 1;
    let classes = home[last]
        .iter()
        .map(|&(core, neuron)| NeuronRef { core, neuron })
        .collect();
    ChipConfig {
        target_name: target.name.clone(),
        target_hash: target.hash(),
        model_digest: provenance.digest,
        pool_lowering: net.pool_lowering,
        time_steps: net.time_steps,
        decay_bits: net.registers.decay_bits,
        layers: net
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let macs = provenance.macs.get(i).copied().unwrap_or_default();
                LayerInfo {
                    name: l.name.clone(),
                    neurons: l.neurons() as u32,
                    shape: l.shape.iter().map(|&d| d as u32).collect(),
                    ann_macs: macs.dense,
                    ann_nonzero_macs: macs.nonzero,
                }
            })
            .collect(),
        cores: configs,
        input: InputMap {
            shape: net.input.shape.iter().map(|&d| d as u32).collect(),
            encoding: net.input.encoding,
            targets: Csr::from_rows(input_targets),
        },
        output: OutputMap { classes },
        decoding: Decoding {
            tie_break: net.tie_break,
        },
    }
}
