//! Starting a run from a trained model's weights (`--from`: fine-tuning) instead of a fresh
//! initialisation.

use std::path::Path;

use candle_core::{Device, Tensor};

use crate::error::TrainError;
use crate::network::Network;

/// Sets every parameter of `net` from the model file at `path`, which must hold a tensor of
/// the same name and shape for each (a model of the same architecture) and have been trained
/// with the same weight normalisation in every layer: its gain is part of each effective
/// weight, so another gain would start from a different network than the one saved.
///
/// # Errors
/// [`TrainError::WarmStart`] naming the file and the parameter that is missing or has another
/// shape, or the layer whose weight normalisation differs; a tensor error from Candle.
pub fn load_weights(net: &Network, path: &Path) -> Result<(), TrainError> {
    let model = ttfs_compiler::model::read(path)
        .map_err(|e| TrainError::WarmStart(format!("--from {}: {e}", path.display())))?;
    for (index, (ours, saved)) in net.layers.iter().zip(&model.description.layers).enumerate() {
        if ours.weight_norm() != saved.weight_norm() {
            let describe = |w: Option<&ttfs_compiler::model::WeightNorm>| match w {
                Some(w) => format!("weight norm with gain {}", w.gain),
                None => "no weight norm".to_string(),
            };
            let advice = match saved.weight_norm() {
                Some(w) => format!("; add --init-gain {} to start from it as saved", w.gain),
                None => String::new(),
            };
            return Err(TrainError::WarmStart(format!(
                "--from {}: layer {index} was trained with {}, this run has {}{advice}",
                path.display(),
                describe(saved.weight_norm()),
                describe(ours.weight_norm()),
            )));
        }
    }
    for (name, var) in &net.params {
        let saved = model.tensors.get(name).ok_or_else(|| {
            TrainError::WarmStart(format!(
                "--from {}: the model has no parameter {name} (trained for architecture {}, not this one)",
                path.display(),
                model.description.arch
            ))
        })?;
        if saved.shape != var.as_tensor().dims() {
            return Err(TrainError::WarmStart(format!(
                "--from {}: parameter {name} has shape {:?}, this network needs {:?} (architecture {})",
                path.display(),
                saved.shape,
                var.as_tensor().dims(),
                model.description.arch
            )));
        }
        var.set(&Tensor::from_slice(
            &saved.data,
            saved.shape.as_slice(),
            &Device::Cpu,
        )?)?;
    }
    Ok(())
}
