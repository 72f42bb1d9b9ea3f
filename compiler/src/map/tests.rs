//! Partition and placement: what fits, what is refused with which limit, and the placed cost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use ttfs_runtime::config::{InputEncoding, NeuronParams, TieBreak};

use super::test_support::tiny_target;
use super::*;
use crate::ir::{Folded, LayerKind};
use crate::ir::{InputDesc, QuantLayer, Registers, SynapseMatrix};

/// A layered network from per-layer fan-in lists (`(source, weight)` per neuron).
fn network(inputs: usize, layers: &[Vec<Vec<(u32, i32)>>]) -> QuantNetwork {
    let mut sources = inputs;
    let count = layers.len();
    let layers = layers
        .iter()
        .enumerate()
        .map(|(i, fan_in)| {
            let n = fan_in.len();
            let layer = QuantLayer {
                name: format!("layer {i}"),
                model_layer: i,
                folded: Default::default(),
                shape: vec![n],
                routing: Default::default(),
                synapses: SynapseMatrix::from_fan_in(sources, fan_in),
                threshold: vec![3; n],
                bias: vec![0; n],
                scale: vec![1.0; n],
                params: if i + 1 == count {
                    NeuronParams::ttfs_output(12)
                } else {
                    NeuronParams::ttfs_hidden(12)
                },
            };
            sources = n;
            layer
        })
        .collect();
    QuantNetwork {
        input: InputDesc {
            shape: [1, 1, inputs],
            encoding: InputEncoding::Latency,
        },
        time_steps: 4,
        registers: Registers {
            weight_bits: 8,
            current_bits: 24,
            potential_bits: 24,
            threshold_bits: 24,
            decay_bits: 12,
        },
        layers,
        tie_break: TieBreak::PotentialAtEnd,
        pool_lowering: Default::default(),
        neuron_update: Default::default(),
    }
}

/// Every weight a spike of `source` adds to `target` in `layer`, as the configuration
/// realises it, reconstructed from the input map, the routing tables and the synapse tables
/// alone: one entry per (axon, synapse) it reaches, sorted.
fn synapses_of(config: &ChipConfig) -> BTreeMap<(usize, u32, u32), Vec<i32>> {
    let mut out: BTreeMap<_, Vec<i32>> = BTreeMap::new();
    let mut deliver = |layer: usize, source: u32, axon: ttfs_runtime::config::AxonRef| {
        let core = &config.cores[axon.core as usize];
        assert_eq!(core.layer as usize, layer);
        for s in core.synapses.row(axon.axon as usize) {
            let target = core.layer_index[s.neuron as usize];
            out.entry((layer, source, target))
                .or_default()
                .push(s.weight);
        }
    };
    for channel in 0..config.input.targets.rows() {
        for &a in config.input.targets.row(channel) {
            deliver(0, channel as u32, a);
        }
    }
    for core in &config.cores {
        for (k, &n) in core.layer_index.iter().enumerate() {
            for &a in core.routes.row(k) {
                deliver(core.layer as usize + 1, n, a);
            }
        }
    }
    out.values_mut().for_each(|w| w.sort_unstable());
    out
}

/// The same from the network: every (axon, synapse) a source's spike reaches.
fn synapses_of_network(net: &QuantNetwork) -> BTreeMap<(usize, u32, u32), Vec<i32>> {
    let mut out: BTreeMap<_, Vec<i32>> = BTreeMap::new();
    let mut sources = net.input.channels();
    for (l, layer) in net.layers.iter().enumerate() {
        for j in 0..sources {
            for axon in layer.routing.axons_of(j) {
                for (t, w) in layer.synapses.row(axon) {
                    out.entry((l, j as u32, t)).or_default().push(w);
                }
            }
        }
        sources = layer.neurons();
    }
    out.values_mut().for_each(|w| w.sort_unstable());
    out
}

fn random_layers(
    inputs: usize,
    sizes: &[usize],
    density: f64,
    seed: u64,
) -> Vec<Vec<Vec<(u32, i32)>>> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut sources = inputs;
    sizes
        .iter()
        .map(|&n| {
            let layer = (0..n)
                .map(|_| {
                    let mut fan_in = Vec::new();
                    for s in 0..sources as u32 {
                        let keep = (next() % 1000) as f64 / 1000.0 < density;
                        let w = (next() % 255) as i32 - 127;
                        if keep && w != 0 {
                            fan_in.push((s, w));
                        }
                    }
                    fan_in
                })
                .collect();
            sources = n;
            layer
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    /// The configuration realises exactly the network's synapses, on as many cores as the
    /// tiny target needs, and passes the runtime's own checks.
    #[test]
    fn config_realises_every_synapse_exactly(
        inputs in 1usize..60,
        sizes in proptest::collection::vec(1usize..70, 1..4),
        density in 0.05f64..0.9,
        seed in any::<u64>(),
    ) {
        let net = network(inputs, &random_layers(inputs, &sizes, density, seed));
        let target = tiny_target();
        match map(&net, &target, None, &Provenance::default()) {
            Ok(mapping) => {
                mapping.config.check_target(&target).unwrap();
                prop_assert_eq!(synapses_of(&mapping.config), synapses_of_network(&net));
                prop_assert_eq!(mapping.config.cores.len(), mapping.report.cores_used);
                let needed: usize = sizes.iter().map(|&n| n.div_ceil(32)).sum();
                prop_assert!(mapping.config.cores.len() >= needed);
                prop_assert!(mapping.report.cost_placed <= mapping.report.cost_serpentine + 1e-9);
            }
            Err(MapError::TooManyCores { needed, available, .. }) => {
                prop_assert!(needed > available);
            }
            Err(e @ MapError::FanInTooLarge { .. }) => {
                prop_assert!(e.to_string().contains("core.max_axons = 64"), "{}", e);
            }
        }
    }
}

#[test]
fn a_layer_split_over_cores_routes_each_spike_to_every_reader() {
    // 10 inputs -> 40 hidden (two cores of 32 + 8) -> 3 outputs reading all 40.
    let layers = random_layers(10, &[40, 3], 1.0, 7);
    let net = network(10, &layers);
    let mapping = map(&net, &tiny_target(), None, &Provenance::default()).unwrap();
    let c = &mapping.config;
    assert_eq!(c.cores.len(), 3);
    assert_eq!(
        c.cores.iter().map(|c| c.neurons()).collect::<Vec<_>>(),
        vec![32, 8, 3]
    );
    // Every input channel feeds both hidden cores: two (core, axon) targets each.
    for ch in 0..10 {
        assert_eq!(c.input.targets.row(ch).len(), 2);
    }
    // Every hidden neuron routes to the output core only, one packet.
    for core in &c.cores[..2] {
        for k in 0..core.neurons() {
            assert_eq!(core.routes.row(k).len(), 1);
            assert_eq!(core.routes.row(k)[0].core, 2);
        }
    }
    assert_eq!(c.output.classes.len(), 3);
    assert!(c.output.classes.iter().all(|n| n.core == 2));
    assert_eq!(synapses_of(c), synapses_of_network(&net));
}

#[test]
fn too_many_cores_names_the_count_the_excess_and_what_fits() {
    // 20 inputs -> 600 neurons: 19 cores of 32, plus 1 output core: 20 > 16.
    let mut layers = random_layers(20, &[600], 1.0, 3);
    layers.push(vec![(0..10).map(|s| (s, 1)).collect(); 2]);
    let err = map(
        &network(20, &layers),
        &tiny_target(),
        None,
        &Provenance::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("needs 20 cores"), "{text}");
    assert!(
        text.contains("has 16 (4 x 4 mesh; exceeded by 4)"),
        "{text}"
    );
    assert!(
        text.contains("layer 0: 19 (bound by core.max_neurons)"),
        "{text}"
    );
    assert!(text.contains("the first 0 of 2 layers fit"), "{text}");
}

#[test]
fn every_layer_that_exceeds_a_core_is_named_with_advice_for_its_kind() {
    // 100 inputs -> 3 (fan-in 100) -> 2 (fan-in 3): only the first exceeds 64 axons; make
    // the second a convolution behind a folded pool with a fan-in of 70 over 70 sources.
    let mut layers = random_layers(100, &[70, 2], 1.0, 9);
    layers[0].truncate(70);
    let mut net = network(100, &layers);
    net.layers[1].folded = Folded {
        kind: LayerKind::Conv2d {
            kernel: [3, 3],
            in_channels: 8,
        },
        pools: vec![crate::ir::PoolFold {
            kernel: 2,
            stride: 2,
        }],
        lines_per_pixel: None,
    };
    let err = map(&net, &tiny_target(), None, &Provenance::default()).unwrap_err();
    let MapError::FanInTooLarge { layers: excess, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(
        excess
            .iter()
            .map(|x| (x.layer.as_str(), x.field))
            .collect::<Vec<_>>(),
        [("layer 0", "core.max_axons"), ("layer 1", "core.max_axons")]
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "2 layers exceed a core of target \"tiny\": layer 0: its widest neuron has 100 inputs"
        ),
        "{text}"
    );
    assert!(
        text.contains("; and layer 1: its widest neuron has 70 inputs"),
        "{text}"
    );
    // The convolution behind the pool: more pooling would not help it.
    assert!(
        text.contains("a smaller kernel, or a stride in place of the pool"),
        "{text}"
    );
    assert!(!text.contains("more pooling"), "{text}");
}

#[test]
fn fan_in_beyond_synapse_memory_is_an_error() {
    let mut target = tiny_target();
    target.core.max_synapses = 16;
    let layers = random_layers(20, &[2], 1.0, 5);
    let err = map(&network(20, &layers), &target, None, &Provenance::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("core.max_synapses = 16"), "{text}");
    assert!(text.contains("exceeded by 4"), "{text}");
}

#[test]
fn placement_beats_row_major_on_a_pipeline() {
    let layers = random_layers(40, &[60, 60, 60, 10], 0.5, 11);
    let mapping = map(
        &network(40, &layers),
        &tiny_target(),
        None,
        &Provenance::default(),
    )
    .unwrap();
    let r = &mapping.report;
    assert!(
        r.cost_placed < r.cost_row_major,
        "placed {} row-major {}",
        r.cost_placed,
        r.cost_row_major
    );
    let text = format_mapping(r);
    assert!(text.contains("mapping onto tiny (4 x 4 mesh)"), "{text}");
}
