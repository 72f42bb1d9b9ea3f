//! Writes a trained network in the model format that `ttfs-compiler` owns.

use std::collections::BTreeMap;
use std::path::Path;

use ttfs_compiler::model::{
    self, DecisionRule, DecodingSpec, FORMAT_VERSION, InputEncoding, InputSpec, LayerSpec, Model,
    ModelDescription, ModelError, NeuronSpec, TensorData, TrainingSummary,
};

use crate::config::TrainConfig;
use crate::input::Encoding;
use crate::network::Network;

/// Errors writing a model.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A tensor could not be read out of Candle.
    #[error("reading parameter {name}: {source}")]
    Tensor {
        /// Parameter name.
        name: String,
        /// The cause.
        source: candle_core::Error,
    },
    /// The model format refused the model or the file could not be written.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// The values and shape of `t`, the tensor called `name`, as the model format stores them.
fn tensor_data(name: &str, t: &candle_core::Tensor) -> Result<TensorData, ExportError> {
    let data = t
        .flatten_all()
        .and_then(|f| f.to_vec1::<f32>())
        .map_err(|source| ExportError::Tensor {
            name: name.to_owned(),
            source,
        })?;
    Ok(TensorData {
        shape: t.dims().to_vec(),
        data,
    })
}

/// The model format's name for a training input coding.
pub(crate) fn model_encoding(encoding: Encoding) -> InputEncoding {
    match encoding {
        Encoding::Latency => InputEncoding::Latency,
        Encoding::Direct => InputEncoding::Direct,
        Encoding::Thermometer { levels } => InputEncoding::Thermometer { levels },
    }
}

/// Builds the model-format description and tensors of `net`.
pub fn to_model(
    net: &Network,
    config: &TrainConfig,
    test_accuracy: f64,
    wall_seconds: f64,
) -> Result<Model, ExportError> {
    let mut tensors = BTreeMap::new();
    let mut layers = net.layers.clone();
    for (name, var) in &net.params {
        tensors.insert(name.clone(), tensor_data(name, var.as_tensor())?);
    }
    // A pruned layer is written with its mask folded in: the effective weight (weight norm,
    // affine scale and mask applied) as a plain weight, so the pruned weights are exact zeros
    // in the file and the compiler gives them no synapse. Under quantization-aware training
    // every weighted layer is written as the values of its integers (weight and shift), which
    // compile back to exactly those integers.
    let folded: Vec<usize> = if net.quantize.is_some() {
        (0..net.layers.len())
            .filter(|&i| net.params.contains_key(&format!("layers.{i}.weight")))
            .collect()
    } else {
        net.masks.keys().copied().collect()
    };
    for index in folded {
        let name = format!("layers.{index}.weight");
        let (w, shift) = net
            .weight_and_shift_with(index, crate::qat::Margin::None)
            .map_err(|source| ExportError::Tensor {
                name: name.clone(),
                source,
            })?;
        let data = tensor_data(&name, &w)?;
        tensors.insert(name, data);
        if let Some(shift) = shift {
            let name = format!("layers.{index}.shift");
            let data = tensor_data(&name, &shift)?;
            tensors.insert(name, data);
        }
        tensors.remove(&format!("layers.{index}.scale"));
        if let Some(
            LayerSpec::Linear {
                weight_norm,
                affine_scale,
                ..
            }
            | LayerSpec::Conv2d {
                weight_norm,
                affine_scale,
                ..
            },
        ) = layers.get_mut(index)
        {
            *weight_norm = None;
            *affine_scale = false;
        }
    }
    let description = ModelDescription {
        format_version: FORMAT_VERSION,
        arch: config.arch.clone(),
        dataset: config.dataset.clone(),
        input: InputSpec {
            shape: net.input_shape.to_vec(),
            encoding: model_encoding(config.encoding),
        },
        time_steps: net.steps as u32,
        neuron: NeuronSpec {
            threshold: config.threshold,
            surrogate: config.surrogate.describe(),
        },
        layers,
        decoding: DecodingSpec {
            rule: DecisionRule::EarliestSpike,
            tie_break: config.tie_break,
            weights: config.weighting.weights(net.steps),
            kind: config.weighting.describe(),
            logit_scale: config.logit_scale,
        },
        training: TrainingSummary {
            epochs: config.epochs,
            test_accuracy: Some(test_accuracy as f32),
            seed: config.seed,
            recipe: serde_json::to_string(config).unwrap_or_default(),
            wall_seconds: Some(wall_seconds),
        },
        quantized_for: config.quantize,
    };
    Ok(Model {
        description,
        tensors,
    })
}

/// Writes `net` to `path` (atomically, validated by the model format) and returns the model.
pub fn export_model(
    net: &Network,
    config: &TrainConfig,
    test_accuracy: f64,
    wall_seconds: f64,
    path: &Path,
) -> Result<Model, ExportError> {
    let model = to_model(net, config, test_accuracy, wall_seconds)?;
    model::write(path, &model)?;
    Ok(model)
}
