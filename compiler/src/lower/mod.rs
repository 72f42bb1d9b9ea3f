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
//! the feature map (conv: stride, zero padding, padded positions have no synapse), drops
//! nothing, and starts a new neuron layer. What happens to the pending pools is the
//! [`PoolLowering`]:
//! - **shared axons** (the default): each value of the pooled map is one axon of the layer,
//!   its synapses carry the layer's weights times the pools' `1 / k^2`, and each source is
//!   routed to the axon of every window it lies in ([`Routing::Shared`]). An axon that gets
//!   several spikes in a step adds its weights once per spike, so the sum is the pool's.
//! - **synapses**: the layer's synapses are composed with the pending map, summing the
//!   weights of a source reached twice (overlapping pools), one synapse per source
//!   ([`Routing::Direct`]).
//!
//! Where windows do not overlap (stride >= kernel, stacked or not), each source lies in one
//! window and both lowerings give every synapse the same `f32` weight, so the quantized
//! networks spike alike; with overlapping windows the folded weight is rounded once for the
//! sum, the shared ones once per window. The `compose` submodule says how both stay linear in
//! the size of the result.
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

use crate::ir::{
    Folded, FoldedLayer, FoldedNetwork, InputDesc, LayerKind, PoolFold, PoolLowering, Routing,
    SharedAxons, SynapseMatrix,
};
use crate::model::{InputEncoding, LayerSpec, Model, ModelError};
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
/// layer, average pooling lowered into the layer after it as `pool_lowering` says, flatten as
/// an index map.
///
/// The model is validated first; max pooling and direct input are refused.
pub fn lower(model: &Model, pool_lowering: PoolLowering) -> Result<FoldedNetwork, LowerError> {
    let input = check_supported(model)?;
    let d = &model.description;
    let shapes = model.layer_shapes()?;
    let encoding = runtime_encoding(d.input.encoding);
    let thermometer_levels = match encoding {
        config::InputEncoding::Thermometer { levels } => Some(levels),
        config::InputEncoding::Latency => None,
    };
    let mut layers: Vec<FoldedLayer> = Vec::new();
    let mut pending = Pending::Identity;
    let mut folded_pools: Vec<PoolFold> = Vec::new();
    // Sources of the pending map, and the shape of the feature map it makes.
    let mut sources = input.iter().product::<usize>();
    let mut in_shape: Vec<usize> = input.to_vec();
    for (index, (layer, out_shape)) in d.layers.iter().zip(&shapes).enumerate() {
        // Pools before a weighted layer become its shared axons, or stay in `pending` to be
        // folded into its synapses.
        let weighs = matches!(layer, LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. });
        let shared = match pool_lowering {
            PoolLowering::SharedAxons if weighs => pending.shared_axons(sources),
            PoolLowering::SharedAxons | PoolLowering::Synapses => None,
        };
        let axon_map;
        let (reading, axons) = if shared.is_some() {
            axon_map = pending.as_axons();
            (&axon_map, in_shape.iter().product::<usize>())
        } else {
            (&pending, sources)
        };
        // A weighted layer: what it is, its name's description, its fan-in and its biases.
        let weighted = match layer {
            LayerSpec::Flatten => None,
            LayerSpec::MaxPool2d { .. } => return Err(LowerError::MaxPool { layer: index }),
            LayerSpec::AvgPool2d { kernel, stride } => {
                let map = feature_map(index, layer, &in_shape)?;
                pending = pending.pool(sources, map, *kernel, *stride);
                folded_pools.push(PoolFold {
                    kernel: *kernel,
                    stride: *stride,
                });
                None
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
                    reading,
                );
                let what = format!("linear {in_features}->{out_features}");
                Some((LayerKind::Linear, what, fan_in, effective.bias))
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
                let fan_in = conv_fan_in(&geometry, &effective.weight.data, sources, reading);
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
                let kind = LayerKind::Conv2d {
                    kernel: *kernel,
                    in_channels: *in_channels,
                };
                Some((kind, what, fan_in, bias))
            }
        };
        if let Some((kind, what, fan_in, bias)) = weighted {
            let folded = Folded {
                kind,
                pools: std::mem::take(&mut folded_pools),
                lines_per_pixel: thermometer_levels.filter(|_| layers.is_empty()),
            };
            let routing = shared.map_or(Routing::Direct, Routing::Shared);
            layers.push(FoldedLayer {
                name: layer_name(index, &what, &folded, routing.is_shared()),
                model_layer: index,
                folded,
                shape: out_shape.to_vec(),
                routing,
                synapses: SynapseMatrix::from_fan_in(axons, &fan_in),
                bias,
            });
            pending = Pending::Identity;
            sources = out_shape.iter().product();
        }
        in_shape.clone_from(out_shape);
    }
    if let (Some(levels), Some(first)) = (thermometer_levels, layers.first_mut()) {
        first.synapses = thermometer_lines(&first.synapses, levels);
        if let Routing::Shared(shared) = &first.routing {
            first.routing = Routing::Shared(thermometer_routing(shared, levels));
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
        tie_break: d.decoding.tie_break.into(),
        pool_lowering,
        trained_for: d.quantized_for,
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

/// The first layer's synapses from pixels rewritten for the thermometer code: axon `j`'s row (a
/// pixel's, or a pooling window's over pixels) becomes the `levels` rows `j * levels + k`, each
/// with the weights divided by `levels`, so `n` active lines add `w * n / levels`, the pixel's
/// quantized value times its weight.
fn thermometer_lines(pixels: &SynapseMatrix<f32>, levels: u32) -> SynapseMatrix<f32> {
    let lines = levels as usize;
    let scale = 1.0 / levels as f32;
    let mut offsets = Vec::with_capacity(pixels.axons * lines + 1);
    let mut target = Vec::with_capacity(pixels.len() * lines);
    let mut weight = Vec::with_capacity(pixels.len() * lines);
    offsets.push(0);
    for j in 0..pixels.axons {
        for _ in 0..lines {
            for (t, w) in pixels.row(j) {
                target.push(t);
                weight.push(w * scale);
            }
            offsets.push(target.len());
        }
    }
    SynapseMatrix {
        axons: pixels.axons * lines,
        targets: pixels.targets,
        offsets,
        target,
        weight,
    }
}

/// The shared axons of a first layer over pixels rewritten for the thermometer code: line `k`
/// of pixel `j` (channel `j * levels + k`) drives line `k` of each of the pixel's axons (axon
/// `a * levels + k`), matching the rows [`thermometer_lines`] makes.
fn thermometer_routing(pixels: &SharedAxons, levels: u32) -> SharedAxons {
    let lines = levels as usize;
    let mut offsets = Vec::with_capacity(pixels.sources() * lines + 1);
    let mut axon = Vec::with_capacity(pixels.axon.len() * lines);
    offsets.push(0);
    for j in 0..pixels.sources() {
        for k in 0..lines {
            for &a in &pixels.axon[pixels.offsets[j]..pixels.offsets[j + 1]] {
                axon.push(a * levels + k as u32);
            }
            offsets.push(axon.len());
        }
    }
    SharedAxons { offsets, axon }
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

/// The layer's human name: `layer {index} ({what})`, with what was folded into it, e.g.
/// `layer 3 (conv2d 32->64 k3, avg_pool2d 2 as shared axons)`, `layer 3 (conv2d 32->64 k3,
/// avg_pool2d 2 folded in)` or `layer 0 (linear 784->800, thermometer input: 4 lines per
/// pixel)`.
fn layer_name(index: usize, what: &str, folded: &Folded, shared: bool) -> String {
    let mut name = format!("layer {index} ({what}");
    if !folded.pools.is_empty() {
        let pools: Vec<String> = folded
            .pools
            .iter()
            .map(|p| {
                if p.kernel == p.stride {
                    format!("avg_pool2d {}", p.kernel)
                } else {
                    format!("avg_pool2d {} stride {}", p.kernel, p.stride)
                }
            })
            .collect();
        let how = if shared {
            "as shared axons"
        } else {
            "folded in"
        };
        name.push_str(&format!(", {} {how}", pools.join(" + ")));
    }
    if let Some(levels) = folded.lines_per_pixel {
        name.push_str(&format!(", thermometer input: {levels} lines per pixel"));
    }
    name.push(')');
    name
}
