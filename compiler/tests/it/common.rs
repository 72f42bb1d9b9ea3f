//! Small deterministic models and a raw safetensors writer that bypasses validation.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::Dtype;
use safetensors::tensor::TensorView;
use ttfs_compiler::model::*;

/// A xorshift64 sequence from `seed`, for the random networks and models of the tests.
pub struct Rng(u64);

impl Rng {
    /// A sequence from any seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

/// `n` values in [-1, 1) from a fixed xorshift sequence.
pub fn pseudo_random(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn description(shape: Vec<usize>, layers: Vec<LayerSpec>, arch: &str) -> ModelDescription {
    ModelDescription {
        format_version: FORMAT_VERSION,
        arch: arch.into(),
        dataset: "mnist".into(),
        input: InputSpec {
            shape,
            encoding: InputEncoding::Latency,
        },
        time_steps: 5,
        neuron: NeuronSpec {
            threshold: 1.0,
            surrogate: "sigmoid(alpha=4)".into(),
        },
        layers,
        decoding: DecodingSpec {
            rule: DecisionRule::EarliestSpike,
            tie_break: TieBreak::PotentialAtDecision,
            weights: vec![1.0, 0.5, 0.25, 0.125, 0.0625],
            kind: "exponential(lambda=0.5)".into(),
            logit_scale: 4.0,
        },
        training: TrainingSummary {
            epochs: 3,
            test_accuracy: Some(0.9812),
            seed: 42,
            recipe: "ttfs train --epochs 3".into(),
            wall_seconds: Some(12.5),
        },
        quantized_for: None,
    }
}

/// Fills every tensor the layers need with deterministic values (scales near 1).
pub fn with_tensors(description: ModelDescription) -> Model {
    let mut tensors = BTreeMap::new();
    for (index, layer) in description.layers.iter().enumerate() {
        for (role, name, shape) in layer.expected_tensors(index) {
            let n = shape.iter().product();
            let mut data = pseudo_random(index as u64 * 10 + role as u64, n);
            if role == TensorRole::Scale {
                data.iter_mut().for_each(|v| *v = 1.0 + 0.5 * *v);
            }
            tensors.insert(name, TensorData { shape, data });
        }
    }
    Model {
        description,
        tensors,
    }
}

pub fn linear(i: usize, o: usize, weight_norm: bool, affine_scale: bool, bias: bool) -> LayerSpec {
    LayerSpec::Linear {
        in_features: i,
        out_features: o,
        weight_norm: weight_norm.then_some(WeightNorm {
            gain: 2.0,
            eps: 1e-5,
        }),
        affine_scale,
        bias,
    }
}

/// `[1, 4, 5]` -> flatten -> 20-8 (weight norm, scale, bias) -> 8-3 (plain).
pub fn mlp() -> Model {
    with_tensors(description(
        vec![1, 4, 5],
        vec![
            LayerSpec::Flatten,
            linear(20, 8, true, true, true),
            linear(8, 3, false, false, false),
        ],
        "20-8-3",
    ))
}

pub fn conv_layer(kernel: usize, padding: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        in_channels: 1,
        out_channels: 2,
        kernel: [kernel, kernel],
        stride: 1,
        padding,
        weight_norm: Some(WeightNorm {
            gain: 1.0,
            eps: 1e-4,
        }),
        affine_scale: true,
        bias: true,
    }
}

/// `[1, 6, 6]` -> conv 1->2 k3 p1 -> `[2, 6, 6]` -> avg pool 2/2 -> `[2, 3, 3]` -> flatten
/// -> 18-3 (bias).
pub fn conv() -> Model {
    with_tensors(description(
        vec![1, 6, 6],
        vec![
            conv_layer(3, 1),
            LayerSpec::AvgPool2d {
                kernel: 2,
                stride: 2,
            },
            LayerSpec::Flatten,
            linear(18, 3, false, false, true),
        ],
        "c2k3-a2-f3",
    ))
}

/// Writes a safetensors file with the given metadata and f32 tensors, without any check.
pub fn write_raw(
    path: &Path,
    metadata: Option<HashMap<String, String>>,
    tensors: &BTreeMap<String, TensorData>,
) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.shape.clone(),
                t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, metadata).unwrap()).unwrap();
}

/// Writes `model` without validating it, with `json` as the description.
pub fn write_unchecked(path: &Path, json: String, tensors: &BTreeMap<String, TensorData>) {
    let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
    write_raw(path, Some(metadata), tensors);
}

/// Writes `model` without validating it.
pub fn write_model_unchecked(path: &Path, model: &Model) {
    let json = serde_json::to_string(&model.description).unwrap();
    write_unchecked(path, json, &model.tensors);
}
