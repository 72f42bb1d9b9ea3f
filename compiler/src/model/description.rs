//! The JSON model description stored in the safetensors metadata under [`METADATA_KEY`].
//!
//! These structs are the "raw" form of a model: what the trainer wrote. Nothing here is
//! checked; [`Model::validate`](super::Model::validate) is the one place that decides
//! whether a description and its tensors make a network.
//!
//! Every struct denies unknown fields, so a misspelt optional key (`"weight_nrom"`) is an
//! error rather than a silently absent weight norm.

use serde::{Deserialize, Serialize};

/// The format version this build writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The safetensors metadata key whose value is the JSON [`ModelDescription`].
pub const METADATA_KEY: &str = "ttfs.model";

/// The field of the description's JSON object, after all of [`ModelDescription`]'s, that holds
/// the file's digest ([`super::Model::file_digest`]) as `fnv1a64:` and 16 hex digits.
pub const DIGEST_FIELD: &str = "digest";

/// Everything about a trained model except its tensors.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelDescription {
    /// Format version; must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Architecture name, informational (e.g. `"784-800-10"`).
    pub arch: String,
    /// Data set the model was trained on, informational (e.g. `"mnist"`).
    pub dataset: String,
    /// Input shape and how pixels become spikes or currents.
    pub input: InputSpec,
    /// Number of time steps T of one inference (at least 1).
    pub time_steps: u32,
    /// The single-spike integrate-and-fire neuron that follows every weighted layer.
    pub neuron: NeuronSpec,
    /// The layers, input first; tensors of layer `i` are named `layers.{i}.*`.
    pub layers: Vec<LayerSpec>,
    /// How output spikes become a class decision.
    pub decoding: DecodingSpec,
    /// How the model was trained, informational.
    pub training: TrainingSummary,
    /// The integer weights the model was trained for (quantization-aware training), if any:
    /// its weights are then exactly representable on such a target, and the compiler's scales
    /// reproduce the integers the trainer used. Absent in models trained in float (and then
    /// not written, so their digests are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantized_for: Option<QuantizedFor>,
}

/// The quantization a model was trained with: the compiler's rules (scale `qmax / max |w|`
/// per layer, or per neuron where thresholds are per neuron; `round`; threshold `round(theta
/// s)`, limited by its register) at these widths.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuantizedFor {
    /// Signed weight width, 2..=16 bits.
    pub weight_bits: u32,
    /// Signed threshold register width, 2..=32 bits.
    pub threshold_bits: u32,
    /// One scale (and threshold) per neuron in the hidden layers, as on a target with
    /// `neuron.per_neuron_threshold`; otherwise one per layer.
    pub per_neuron_threshold: bool,
}

impl QuantizedFor {
    /// The widths of `target`, as quantization-aware training for it uses them.
    pub fn of(target: &ttfs_runtime::target::Target) -> QuantizedFor {
        QuantizedFor {
            weight_bits: target.core.weight_bits,
            threshold_bits: target.core.threshold_bits,
            per_neuron_threshold: target.neuron.per_neuron_threshold,
        }
    }

    /// How `target`'s widths differ from these, as a phrase (`8-bit weights where the model
    /// was trained with 4`), or `None` when the compiler will emit exactly the integers the
    /// model was trained with. A model compiled for other widths than it was trained for
    /// loses what quantization-aware training bought.
    pub fn differences(&self, target: &ttfs_runtime::target::Target) -> Option<String> {
        let there = QuantizedFor::of(target);
        let mut parts = Vec::new();
        if there.weight_bits != self.weight_bits {
            parts.push(format!(
                "{}-bit weights where the model was trained with {}",
                there.weight_bits, self.weight_bits
            ));
        }
        // Another threshold width can lower (or stop lowering) a layer's scale.
        if there.threshold_bits != self.threshold_bits {
            parts.push(format!(
                "{}-bit thresholds where the model was trained with {}",
                there.threshold_bits, self.threshold_bits
            ));
        }
        if there.per_neuron_threshold != self.per_neuron_threshold {
            parts.push(if there.per_neuron_threshold {
                "a threshold per neuron where the model was trained with one per layer".into()
            } else {
                "one threshold per layer where the model was trained with one per neuron".into()
            });
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Input shape and encoding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input shape `[C, H, W]`, every dimension at least 1 (an MNIST MLP uses `[1, 28, 28]`
    /// followed by a [`LayerSpec::Flatten`]).
    pub shape: Vec<usize>,
    /// How a pixel value enters the network.
    pub encoding: InputEncoding,
}

/// How a pixel value in `[0, 1]` enters the network.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InputEncoding {
    /// Pixel x in `[0, 1]` spikes once at step t = round((1 - x)(T - 1)) + 1; x = 0 never spikes.
    Latency,
    /// Pixel value applied as an analog input current at every step (needs a host-side
    /// front end on chip).
    Direct,
    /// Pixel value quantized to `levels` steps, `round(x * levels) / levels`, applied as an
    /// input current at every step: on chip a thermometer code of `levels` input lines per
    /// pixel, spiking at step 1, into a first layer whose current persists (`du = 0`).
    Thermometer {
        /// Quantization levels (input lines per pixel), 1 to 255.
        levels: u32,
    },
}

/// The integrate-and-fire neuron shared by all layers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NeuronSpec {
    /// Firing threshold, positive and finite.
    pub threshold: f32,
    /// Surrogate gradient used in training, informational (e.g. `"sigmoid(alpha=4)"`).
    pub surrogate: String,
}

/// Weight normalisation of a layer: each output unit's fan-in is standardised, then scaled
/// by `sqrt(gain / fan_in)`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeightNorm {
    /// Gain g, positive and finite.
    pub gain: f32,
    /// Variance epsilon, positive and finite.
    pub eps: f32,
}

/// One layer. Every [`LayerSpec::Linear`] and [`LayerSpec::Conv2d`] is followed by a layer of
/// single-spike IF neurons.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// Fully connected layer; needs a 1-D input of `in_features`.
    Linear {
        /// Input features (fan-in).
        in_features: usize,
        /// Output features (neurons).
        out_features: usize,
        /// Weight normalisation, folded into the effective weights.
        weight_norm: Option<WeightNorm>,
        /// Whether a per-output `scale` tensor multiplies the weights.
        affine_scale: bool,
        /// Whether a per-output `shift` tensor is added to the input current.
        bias: bool,
    },
    /// 2-D convolution over a `[C, H, W]` input, zero padding.
    Conv2d {
        /// Input channels; must equal the input's C.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel `[kh, kw]`.
        kernel: [usize; 2],
        /// Stride in both directions.
        stride: usize,
        /// Zero padding on every side.
        padding: usize,
        /// Weight normalisation, folded into the effective weights.
        weight_norm: Option<WeightNorm>,
        /// Whether a per-output-channel `scale` tensor multiplies the weights.
        affine_scale: bool,
        /// Whether a per-output-channel `shift` tensor is added to the input current.
        bias: bool,
    },
    /// Average pooling with a square kernel, no padding.
    AvgPool2d {
        /// Kernel side.
        kernel: usize,
        /// Stride in both directions.
        stride: usize,
    },
    /// Max pooling with a square kernel, no padding. Kept only for the ablation: it breaks
    /// the single-spike property.
    MaxPool2d {
        /// Kernel side.
        kernel: usize,
        /// Stride in both directions.
        stride: usize,
    },
    /// Turns `[C, H, W]` into `[C * H * W]` (row-major, channel first).
    Flatten,
}

/// Which tensor of a weighted layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorRole {
    /// Raw weights: Linear `[out, in]`, Conv2d `[out, in_ch, kh, kw]`.
    Weight,
    /// Per-output multiplier `[out]`, present iff `affine_scale`.
    Scale,
    /// Per-output bias `[out]`, present iff `bias`.
    Shift,
}

impl TensorRole {
    /// The tensor name of this role in layer `layer`, e.g. `layers.2.weight`.
    pub fn tensor_name(self, layer: usize) -> String {
        let role = match self {
            TensorRole::Weight => "weight",
            TensorRole::Scale => "scale",
            TensorRole::Shift => "shift",
        };
        format!("layers.{layer}.{role}")
    }
}

impl LayerSpec {
    /// The layer kind as written in the JSON `"kind"` field (e.g. `"avg_pool2d"`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::AvgPool2d { .. } => "avg_pool2d",
            LayerSpec::MaxPool2d { .. } => "max_pool2d",
            LayerSpec::Flatten => "flatten",
        }
    }

    /// Whether the layer has weights (and so is followed by IF neurons).
    pub fn is_weighted(&self) -> bool {
        matches!(self, LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. })
    }

    /// The tensors this layer needs when it sits at index `layer`, with their shapes, in
    /// the order weight, scale, shift. Empty for pooling and flatten.
    pub fn expected_tensors(&self, layer: usize) -> Vec<(TensorRole, String, Vec<usize>)> {
        let (weight_shape, outputs, affine_scale, bias) = match self {
            LayerSpec::Linear {
                in_features,
                out_features,
                affine_scale,
                bias,
                ..
            } => (
                vec![*out_features, *in_features],
                *out_features,
                *affine_scale,
                *bias,
            ),
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel,
                affine_scale,
                bias,
                ..
            } => (
                vec![*out_channels, *in_channels, kernel[0], kernel[1]],
                *out_channels,
                *affine_scale,
                *bias,
            ),
            LayerSpec::AvgPool2d { .. } | LayerSpec::MaxPool2d { .. } | LayerSpec::Flatten => {
                return Vec::new();
            }
        };
        let mut tensors = vec![(
            TensorRole::Weight,
            TensorRole::Weight.tensor_name(layer),
            weight_shape,
        )];
        if affine_scale {
            tensors.push((
                TensorRole::Scale,
                TensorRole::Scale.tensor_name(layer),
                vec![outputs],
            ));
        }
        if bias {
            tensors.push((
                TensorRole::Shift,
                TensorRole::Shift.tensor_name(layer),
                vec![outputs],
            ));
        }
        tensors
    }

    /// The layer's weight normalisation, if it is weighted and has one.
    pub fn weight_norm(&self) -> Option<&WeightNorm> {
        match self {
            LayerSpec::Linear { weight_norm, .. } | LayerSpec::Conv2d { weight_norm, .. } => {
                weight_norm.as_ref()
            }
            _ => None,
        }
    }
}

/// How the first output spike is turned into a class.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRule {
    /// The class whose output neuron spikes first wins.
    EarliestSpike,
}

/// How ties between output neurons are broken.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// Larger membrane potential H at step T, then lower index.
    PotentialAtEnd,
    /// Larger membrane potential H at the decision step, then lower index.
    PotentialAtDecision,
}

impl From<TieBreak> for ttfs_runtime::config::TieBreak {
    /// The chip configuration's tie break for the model's (the same rule).
    fn from(tie_break: TieBreak) -> Self {
        match tie_break {
            TieBreak::PotentialAtEnd => Self::PotentialAtEnd,
            TieBreak::PotentialAtDecision => Self::PotentialAtDecision,
        }
    }
}

/// Output decoding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecodingSpec {
    /// Decision rule.
    pub rule: DecisionRule,
    /// Tie break between output neurons that spike at the same step.
    pub tie_break: TieBreak,
    /// Temporal weighting w\[t\] for t = 1..T; exactly T finite values.
    pub weights: Vec<f32>,
    /// Name of the weighting, informational (e.g. `"exponential(lambda=0.5)"`).
    pub kind: String,
    /// Scale applied to the decoded logits in training; finite.
    pub logit_scale: f32,
}

/// How the model was trained; informational, never read by the compiler.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingSummary {
    /// Epochs trained.
    pub epochs: u32,
    /// Test accuracy in `[0, 1]`, if measured; finite.
    pub test_accuracy: Option<f32>,
    /// Random seed.
    pub seed: u64,
    /// Recipe name or command line.
    pub recipe: String,
    /// Training time in seconds, if measured; finite.
    pub wall_seconds: Option<f64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn layer_json_uses_kind_tag_and_snake_case() {
        let layer = LayerSpec::AvgPool2d {
            kernel: 2,
            stride: 2,
        };
        let json = serde_json::to_string(&layer).unwrap();
        assert_eq!(json, r#"{"kind":"avg_pool2d","kernel":2,"stride":2}"#);
        assert_eq!(
            serde_json::to_string(&LayerSpec::Flatten).unwrap(),
            r#"{"kind":"flatten"}"#
        );
        let back: LayerSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, layer);
        assert_eq!(layer.kind_name(), "avg_pool2d");
    }

    #[test]
    fn misspelt_layer_field_is_rejected() {
        let json = r#"{"kind":"linear","in_features":2,"out_features":1,
            "weight_nrom":null,"affine_scale":false,"bias":false}"#;
        let err = serde_json::from_str::<LayerSpec>(json).unwrap_err();
        assert!(err.to_string().contains("weight_nrom"), "{err}");
    }

    #[test]
    fn expected_tensors_follow_flags() {
        let conv = LayerSpec::Conv2d {
            in_channels: 1,
            out_channels: 4,
            kernel: [3, 2],
            stride: 1,
            padding: 0,
            weight_norm: None,
            affine_scale: false,
            bias: true,
        };
        let tensors = conv.expected_tensors(3);
        assert_eq!(
            tensors,
            vec![
                (
                    TensorRole::Weight,
                    "layers.3.weight".to_string(),
                    vec![4, 1, 3, 2]
                ),
                (TensorRole::Shift, "layers.3.shift".to_string(), vec![4]),
            ]
        );
        assert!(LayerSpec::Flatten.expected_tensors(0).is_empty());
    }
}
