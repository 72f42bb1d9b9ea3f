//! Tiny hand-built models shared by the unit tests of this module.

use std::collections::BTreeMap;

use super::description::*;
use super::{Model, TensorData};

/// A description with the given input shape and layers, T = 4, and plain values elsewhere.
pub(crate) fn description(shape: Vec<usize>, layers: Vec<LayerSpec>) -> ModelDescription {
    ModelDescription {
        format_version: FORMAT_VERSION,
        arch: "test".into(),
        dataset: "none".into(),
        input: InputSpec {
            shape,
            encoding: InputEncoding::Latency,
        },
        time_steps: 4,
        neuron: NeuronSpec {
            threshold: 1.0,
            surrogate: "sigmoid(alpha=4)".into(),
        },
        layers,
        decoding: DecodingSpec {
            rule: DecisionRule::EarliestSpike,
            tie_break: TieBreak::PotentialAtEnd,
            weights: vec![1.0, 0.5, 0.25, 0.125],
            kind: "exponential(lambda=0.5)".into(),
            logit_scale: 1.0,
        },
        training: TrainingSummary {
            epochs: 1,
            test_accuracy: Some(0.5),
            seed: 7,
            recipe: "unit test".into(),
            wall_seconds: None,
        },
    }
}

/// Input `[1, 1, 3]`, a flatten, then a 3 -> 2 linear layer (index 1) with weight rows
/// `[1, 2, 3]` and `[0, 0, 6]`, and the given weight norm, scale and shift.
pub(crate) fn tiny_linear(
    weight_norm: Option<WeightNorm>,
    scale: Option<Vec<f32>>,
    shift: Option<Vec<f32>>,
) -> Model {
    let layers = vec![
        LayerSpec::Flatten,
        LayerSpec::Linear {
            in_features: 3,
            out_features: 2,
            weight_norm,
            affine_scale: scale.is_some(),
            bias: shift.is_some(),
        },
    ];
    let mut tensors = BTreeMap::new();
    tensors.insert(
        "layers.1.weight".to_string(),
        TensorData {
            shape: vec![2, 3],
            data: vec![1.0, 2.0, 3.0, 0.0, 0.0, 6.0],
        },
    );
    for (name, values) in [("layers.1.scale", scale), ("layers.1.shift", shift)] {
        if let Some(data) = values {
            tensors.insert(
                name.to_string(),
                TensorData {
                    shape: vec![2],
                    data,
                },
            );
        }
    }
    Model {
        description: description(vec![1, 1, 3], layers),
        tensors,
    }
}
