//! Small hand-built configurations and the tiny target, shared by the unit tests of `config`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::{
    AxonRef, ChipConfig, CoreConfig, Csr, Decoding, InputEncoding, InputMap, LayerInfo,
    MeshPosition, NeuronParams, NeuronRef, OutputMap, Synapse, TieBreak,
};
use crate::target::{self, Target};

/// The tiny test target, `fixtures/targets/tiny.json`.
pub(crate) fn tiny() -> Target {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/targets/tiny.json");
    target::load(Path::new(path)).expect("the tiny target fixture loads")
}

/// A valid configuration for [`tiny`]: 4 input channels (shape `[1, 2, 2]`), a hidden layer of
/// 4 neurons split over cores 0 and 1 (2 neurons each), and an output layer of 2 neurons (the 2
/// classes) on core 2.
///
/// Every input channel `c` drives axon `c` of cores 0 and 1; hidden neuron `k` (layer index)
/// drives axon `k` of core 2.
pub(crate) fn sample() -> ChipConfig {
    let tiny = tiny();
    let d = tiny.neuron.decay_bits;
    let hidden_synapses = |first: i32| {
        Csr::from_rows((0..4).map(|a| {
            vec![
                Synapse {
                    neuron: 0,
                    weight: first + a,
                },
                Synapse {
                    neuron: 1,
                    weight: -5 + a,
                },
            ]
        }))
    };
    let hidden = |x: u32, first_index: u32, first_weight: i32| CoreConfig {
        position: MeshPosition { x, y: 0 },
        layer: 0,
        layer_index: vec![first_index, first_index + 1],
        params: NeuronParams::ttfs_hidden(d),
        threshold: vec![20, 24],
        bias: vec![0, 0],
        synapses: hidden_synapses(first_weight),
        routes: Csr::from_rows((0..2).map(|n| {
            vec![AxonRef {
                core: 2,
                axon: first_index + n,
            }]
        })),
    };
    let output = CoreConfig {
        position: MeshPosition { x: 0, y: 1 },
        layer: 1,
        layer_index: vec![0, 1],
        params: NeuronParams::ttfs_output(d),
        threshold: vec![30, 30],
        bias: vec![0, 0],
        synapses: Csr::from_rows((0..4).map(|a| {
            vec![
                Synapse {
                    neuron: 0,
                    weight: 12 - 3 * a,
                },
                Synapse {
                    neuron: 1,
                    weight: -12 + 3 * a,
                },
            ]
        })),
        routes: Csr::from_rows(vec![vec![], vec![]]),
    };
    ChipConfig {
        target_name: tiny.name.clone(),
        target_hash: tiny.hash(),
        model_digest: 0,
        pool_lowering: Default::default(),
        time_steps: 8,
        decay_bits: d,
        layers: vec![
            LayerInfo {
                name: "layer 0 (linear 4->4)".into(),
                neurons: 4,
                shape: vec![4],
                ann_macs: 16,
                ann_nonzero_macs: 12,
            },
            LayerInfo {
                name: "layer 1 (linear 4->2)".into(),
                neurons: 2,
                shape: vec![2],
                ann_macs: 8,
                ann_nonzero_macs: 8,
            },
        ],
        cores: vec![hidden(0, 0, 10), hidden(1, 2, 7), output],
        input: InputMap {
            shape: vec![1, 2, 2],
            encoding: InputEncoding::Latency,
            targets: Csr::from_rows(
                (0..4).map(|c| vec![AxonRef { core: 0, axon: c }, AxonRef { core: 1, axon: c }]),
            ),
        },
        output: OutputMap {
            classes: vec![
                NeuronRef { core: 2, neuron: 0 },
                NeuronRef { core: 2, neuron: 1 },
            ],
        },
        decoding: Decoding {
            tie_break: TieBreak::PotentialAtEnd,
        },
    }
}
