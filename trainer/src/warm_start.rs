//! Starting a run from a trained model's weights (`--from`: fine-tuning) instead of a fresh
//! initialisation.

use std::path::Path;

use candle_core::{Device, Tensor};

use crate::network::Network;
use crate::train::TrainError;

/// Sets every parameter of `net` from the model file at `path`, which must hold a tensor of
/// the same name and shape for each (a model of the same architecture).
///
/// # Errors
/// [`TrainError::WarmStart`] naming the file and the parameter that is missing or has another
/// shape; a tensor error from Candle.
pub fn load_weights(net: &Network, path: &Path) -> Result<(), TrainError> {
    let model = ttfs_compiler::model::read(path)
        .map_err(|e| TrainError::WarmStart(format!("--from {}: {e}", path.display())))?;
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
