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
        quantized_for: None,
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

/// A model with the given input shape, layers and tensors (`(name, shape, values)`), T = 4.
pub(crate) fn with_tensors(
    shape: Vec<usize>,
    layers: Vec<LayerSpec>,
    tensors: Vec<(&str, Vec<usize>, Vec<f32>)>,
) -> Model {
    Model {
        description: description(shape, layers),
        tensors: tensors
            .into_iter()
            .map(|(name, shape, data)| (name.to_string(), TensorData { shape, data }))
            .collect(),
    }
}

/// A small xorshift64* generator for random test models (this crate has no `rand`).
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from a seed (any value; 0 is remapped).
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, n)`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f32) -> bool {
        self.uniform(0.0, 1.0) < p
    }
}

/// Random tensors for every weighted layer of `layers`: raw weights uniform in
/// `+-2 / sqrt(fan_in)` (so a handful of input spikes can reach threshold 1), scales in
/// `[0.5, 1.5)`, shifts in `[-0.1, 0.2)`.
pub(crate) fn random_tensors(
    layers: &[LayerSpec],
    rng: &mut XorShift,
) -> BTreeMap<String, TensorData> {
    let mut tensors = BTreeMap::new();
    for (index, layer) in layers.iter().enumerate() {
        for (role, name, shape) in layer.expected_tensors(index) {
            let count: usize = shape.iter().product();
            let fan_in: usize = shape.iter().skip(1).product();
            let bound = 2.0 / (fan_in.max(1) as f32).sqrt();
            let data = (0..count)
                .map(|_| match role {
                    TensorRole::Weight => rng.uniform(-bound, bound),
                    TensorRole::Scale => rng.uniform(0.5, 1.5),
                    TensorRole::Shift => rng.uniform(-0.1, 0.2),
                })
                .collect();
            tensors.insert(name, TensorData { shape, data });
        }
    }
    tensors
}

/// A random small model: input `[1..=2, 4..=9, 4..=9]`, an optional average pool on the
/// input, up to two convolutions (kernel 2 or 3, padding 0 or 1, stride 1 or 2, each maybe
/// followed by one or two average pools of kernel 2), a flatten, an optional hidden linear
/// layer and a linear output of 2 to 4 classes; each weighted layer with or without weight
/// norm, scale and shift; T from 1 to 8 and either tie break.
pub(crate) fn random_model(rng: &mut XorShift) -> Model {
    let input = vec![1 + rng.below(2), 4 + rng.below(6), 4 + rng.below(6)];
    let mut layers = Vec::new();
    // Pushes a layer if the shapes still chain, and says whether it did.
    let push = |layers: &mut Vec<LayerSpec>, layer: LayerSpec| {
        layers.push(layer);
        let fits = super::infer_shapes(&input, layers).is_ok();
        if !fits {
            layers.pop();
        }
        fits
    };
    let pool = LayerSpec::AvgPool2d {
        kernel: 2,
        stride: 2,
    };
    if rng.chance(0.15) {
        push(&mut layers, pool.clone());
    }
    let mut channels = input[0];
    for _ in 0..rng.below(3) {
        let out = 1 + rng.below(3);
        let conv = LayerSpec::Conv2d {
            in_channels: channels,
            out_channels: out,
            kernel: [2 + rng.below(2), 2 + rng.below(2)],
            stride: 1 + rng.below(2),
            padding: rng.below(2),
            weight_norm: random_norm(rng),
            affine_scale: rng.chance(0.5),
            bias: rng.chance(0.5),
        };
        if push(&mut layers, conv) {
            channels = out;
            if rng.chance(0.5) && push(&mut layers, pool.clone()) && rng.chance(0.2) {
                push(&mut layers, pool.clone());
            }
        }
    }
    push(&mut layers, LayerSpec::Flatten);
    let mut features = match super::infer_shapes(&input, &layers) {
        Ok(shapes) => shapes.last().map_or(0, |s| s.iter().product()),
        Err(_) => 0,
    };
    let widths = if rng.chance(0.5) {
        vec![2 + rng.below(6), 2 + rng.below(3)]
    } else {
        vec![2 + rng.below(3)]
    };
    for width in widths {
        layers.push(LayerSpec::Linear {
            in_features: features,
            out_features: width,
            weight_norm: random_norm(rng),
            affine_scale: rng.chance(0.5),
            bias: rng.chance(0.5),
        });
        features = width;
    }
    let tensors = random_tensors(&layers, rng);
    let mut description = description(input, layers);
    description.time_steps = 1 + rng.below(8) as u32;
    description.decoding.weights = vec![1.0; description.time_steps as usize];
    if rng.chance(0.5) {
        description.decoding.tie_break = TieBreak::PotentialAtDecision;
    }
    Model {
        description,
        tensors,
    }
}

fn random_norm(rng: &mut XorShift) -> Option<WeightNorm> {
    rng.chance(0.5).then(|| WeightNorm {
        gain: rng.uniform(1.0, 8.0),
        eps: 1e-4,
    })
}
