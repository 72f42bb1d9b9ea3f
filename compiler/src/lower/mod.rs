//! The fold/lower pass: from a trained [`Model`] to the [`FoldedNetwork`] of neuron layers with
//! explicit `f32` synapse lists that quantization, mapping and the golden model work on.
//!
//! The pass walks the model's layers keeping a *pending* linear map from the current sources
//! (the previous neuron layer, or the input channels at the start) to the current feature
//! map: the identity at first and after every neuron layer. A flatten keeps it (row-major
//! `[C, H, W]` to `[C * H * W]` is the identity on indices); an average pool composes into
//! it (each pooled value is the mean of its `k * k` window, so pool after pool and pool on
//! the input work too). A linear or conv2d layer takes its effective weights
//! ([`Model::effective_layer`]: weight norm and affine folded), lowers them to synapses from
//! the feature map (conv: stride, zero padding, padded positions have no synapse), composes
//! them with the pending map, summing the weights of a source reached twice (overlapping
//! pools), drops nothing, and starts a new neuron layer. The `compose` submodule says how
//! that stays linear in the size of the result.
//!
//! Two kinds of model are refused rather than lowered: max pooling (a pooled unit can spike
//! several times) and direct analog input (no analog front end on the chip). A model trained
//! on the thermometer-quantized input (its grey levels as a current) is lowered with
//! `levels` input channels per pixel: the first layer's rows are repeated per line with the
//! weights divided by `levels` (the quantizer then gives that layer a persistent current).

mod compose;
#[cfg(test)]
mod tests;

use thiserror::Error;
use ttfs_runtime::config;

use crate::ir::{FoldedLayer, FoldedNetwork, InputDesc, SynapseMatrix};
use crate::model::{InputEncoding, LayerSpec, Model, ModelError, TieBreak};
use compose::{ConvGeometry, Pending, conv_fan_in, linear_fan_in};

/// Why a model cannot be lowered (or simulated by the float reference).
#[derive(Debug, Error)]
pub enum LowerError {
    /// A max-pooling layer: refused, never lowered.
    #[error(
        "layer {layer} (max_pool2d) is max pooling: a pooled unit can spike several times, which breaks the single-spike property the chip relies on; retrain with --pool avg"
    )]
    MaxPool {
        /// Index of the max-pooling layer in the model's layers.
        layer: usize,
    },
    /// The model takes direct (analog) input.
    #[error(
        "the model takes direct (analog) input, which needs a host-side analog front end this chip does not have; retrain with --input thermometer (the grey levels as spikes, into a first layer with a persistent current) or --input latency"
    )]
    DirectInput,
    /// The model itself is malformed (shapes, tensors, fields).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// An image whose pixel count does not match the model's input.
    #[error("the image has {found} pixels, but the model's input {shape:?} needs {expected}")]
    InputSize {
        /// Pixels given.
        found: usize,
        /// Pixels the input shape holds (`C * H * W`).
        expected: usize,
        /// The input shape `[C, H, W]`.
        shape: [usize; 3],
    },
}

/// Lowers a trained model to its folded network: one [`FoldedLayer`] per linear or conv2d
/// layer, pooling folded into the synapses of the layer after it, flatten as an index map.
///
/// The model is validated first; max pooling and direct input are refused.
pub fn lower(model: &Model) -> Result<FoldedNetwork, LowerError> {
    let input = check_supported(model)?;
    let d = &model.description;
    let shapes = model.layer_shapes()?;
    let mut layers = Vec::new();
    let mut pending = Pending::Identity;
    let mut folded_pools: Vec<String> = Vec::new();
    // Sources of the pending map, and the shape of the feature map it makes.
    let mut sources = input.iter().product::<usize>();
    let mut in_shape: Vec<usize> = input.to_vec();
    for (index, (layer, out_shape)) in d.layers.iter().zip(&shapes).enumerate() {
        match layer {
            LayerSpec::Flatten => {}
            LayerSpec::MaxPool2d { .. } => return Err(LowerError::MaxPool { layer: index }),
            LayerSpec::AvgPool2d { kernel, stride } => {
                let map = feature_map(index, layer, &in_shape)?;
                pending = pending.pool(sources, map, *kernel, *stride);
                folded_pools.push(if kernel == stride {
                    format!("avg_pool2d {kernel}")
                } else {
                    format!("avg_pool2d {kernel} stride {stride}")
                });
            }
            LayerSpec::Linear {
                in_features,
                out_features,
                ..
            } => {
                let effective = model.effective_layer(index)?;
                let fan_in = linear_fan_in(
                    &effective.weight.data,
                    [*out_features, *in_features],
                    sources,
                    &pending,
                );
                let what = format!("linear {in_features}->{out_features}");
                layers.push(folded_layer(
                    index,
                    what,
                    &folded_pools,
                    out_shape,
                    SynapseMatrix::from_fan_in(sources, &fan_in),
                    effective.bias,
                ));
            }
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                padding,
                ..
            } => {
                let effective = model.effective_layer(index)?;
                let geometry = ConvGeometry {
                    input: feature_map(index, layer, &in_shape)?,
                    output: feature_map(index, layer, out_shape)?,
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                };
                let fan_in = conv_fan_in(&geometry, &effective.weight.data, sources, &pending);
                let k = if kernel[0] == kernel[1] {
                    format!("k{}", kernel[0])
                } else {
                    format!("k{}x{}", kernel[0], kernel[1])
                };
                let what = format!("conv2d {in_channels}->{out_channels} {k}");
                // One bias per output channel, repeated over the channel's positions.
                let per_channel = out_shape.iter().skip(1).product::<usize>();
                let bias = effective
                    .bias
                    .iter()
                    .flat_map(|&b| std::iter::repeat_n(b, per_channel))
                    .collect();
                layers.push(folded_layer(
                    index,
                    what,
                    &folded_pools,
                    out_shape,
                    SynapseMatrix::from_fan_in(sources, &fan_in),
                    bias,
                ));
            }
        }
        if layer.is_weighted() {
            pending = Pending::Identity;
            folded_pools.clear();
            sources = out_shape.iter().product();
        }
        in_shape.clone_from(out_shape);
    }
    let encoding = runtime_encoding(d.input.encoding);
    if let (config::InputEncoding::Thermometer { levels }, Some(first)) =
        (encoding, layers.first_mut())
    {
        first.synapses = thermometer_lines(&first.synapses, levels);
        if let Some(head) = first.name.strip_suffix(')') {
            first.name = format!("{head}, thermometer input: {levels} lines per pixel)");
        }
    }
    Ok(FoldedNetwork {
        input: InputDesc {
            shape: input,
            encoding,
        },
        time_steps: d.time_steps,
        threshold: d.neuron.threshold,
        layers,
        tie_break: runtime_tie_break(d.decoding.tie_break),
    })
}

/// Validates the model, refuses direct input and max pooling, and returns the input shape
/// `[C, H, W]`. Shared with the float reference, which simulates the same models.
pub(crate) fn check_supported(model: &Model) -> Result<[usize; 3], LowerError> {
    model.validate()?;
    let d = &model.description;
    match d.input.encoding {
        InputEncoding::Direct => return Err(LowerError::DirectInput),
        InputEncoding::Thermometer { levels } if !(1..=255).contains(&levels) => {
            return Err(ModelError::Field {
                field: "input.encoding.thermometer.levels",
                problem: format!("must be 1 to 255, found {levels}"),
            }
            .into());
        }
        InputEncoding::Latency | InputEncoding::Thermometer { .. } => {}
    }
    if let Some(layer) = d
        .layers
        .iter()
        .position(|l| matches!(l, LayerSpec::MaxPool2d { .. }))
    {
        return Err(LowerError::MaxPool { layer });
    }
    match d.input.shape[..] {
        [c, h, w] => Ok([c, h, w]),
        _ => Err(ModelError::Field {
            field: "input.shape",
            problem: format!("must be [C, H, W], found {:?}", d.input.shape),
        }
        .into()),
    }
}

/// The chip configuration's input encoding for the model's (direct input never gets here).
pub(crate) fn runtime_encoding(encoding: InputEncoding) -> config::InputEncoding {
    match encoding {
        InputEncoding::Thermometer { levels } => config::InputEncoding::Thermometer { levels },
        InputEncoding::Latency | InputEncoding::Direct => config::InputEncoding::Latency,
    }
}

/// The first layer's synapses from pixels rewritten for the thermometer code: pixel `j`'s row
/// becomes the `levels` rows `j * levels + k`, each with the weights divided by `levels`, so
/// `n` active lines add `w * n / levels`, the pixel's quantized value times its weight.
fn thermometer_lines(pixels: &SynapseMatrix<f32>, levels: u32) -> SynapseMatrix<f32> {
    let lines = levels as usize;
    let scale = 1.0 / levels as f32;
    let mut offsets = Vec::with_capacity(pixels.sources * lines + 1);
    let mut target = Vec::with_capacity(pixels.len() * lines);
    let mut weight = Vec::with_capacity(pixels.len() * lines);
    offsets.push(0);
    for j in 0..pixels.sources {
        for _ in 0..lines {
            for (t, w) in pixels.row(j) {
                target.push(t);
                weight.push(w * scale);
            }
            offsets.push(target.len());
        }
    }
    SynapseMatrix {
        sources: pixels.sources * lines,
        targets: pixels.targets,
        offsets,
        target,
        weight,
    }
}

/// The chip configuration's tie break for the model's.
pub(crate) fn runtime_tie_break(tie_break: TieBreak) -> config::TieBreak {
    match tie_break {
        TieBreak::PotentialAtEnd => config::TieBreak::PotentialAtEnd,
        TieBreak::PotentialAtDecision => config::TieBreak::PotentialAtDecision,
    }
}

/// A `[C, H, W]` shape as an array, or the layer error shape inference would give.
fn feature_map(index: usize, layer: &LayerSpec, shape: &[usize]) -> Result<[usize; 3], ModelError> {
    match shape {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => Err(ModelError::Layer {
            index,
            kind: layer.kind_name(),
            problem: format!("expects a [C, H, W] input, found shape {shape:?}"),
        }),
    }
}

fn folded_layer(
    index: usize,
    what: String,
    folded_pools: &[String],
    shape: &[usize],
    synapses: SynapseMatrix<f32>,
    bias: Vec<f32>,
) -> FoldedLayer {
    let name = if folded_pools.is_empty() {
        format!("layer {index} ({what})")
    } else {
        format!(
            "layer {index} ({what}, {} folded in)",
            folded_pools.join(" + ")
        )
    };
    FoldedLayer {
        name,
        model_layer: index,
        shape: shape.to_vec(),
        synapses,
        bias,
    }
}
