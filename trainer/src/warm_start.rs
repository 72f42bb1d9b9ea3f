//! Starting a run from a trained model's weights (`--from`: fine-tuning) instead of a fresh
//! initialisation.

use std::path::Path;

use candle_core::{Device, Tensor};
use ttfs_compiler::model::{InputEncoding, LayerSpec, Model, TieBreak};

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::network::Network;

/// Gives each weighted layer of `layers` (a network about to be built for a `--from` model)
/// the form that model's layer was saved with: its weight normalisation (and gain) and affine
/// scale, which are part of what the saved weights compute, and its bias unless `bias` is off
/// (`--bias off` drops the saved biases; none is invented). A pruned model's folded layers
/// have no weight norm while its output layer keeps its own, so no switch for the whole
/// network could build it.
///
/// # Errors
/// [`TrainError::WarmStart`] naming the file `path` the model came from when its layers are
/// not the architecture's (their number or kinds).
pub(crate) fn adopt_forms(
    layers: &mut [LayerSpec],
    bias: bool,
    model: &Model,
    path: &Path,
) -> Result<(), TrainError> {
    let saved = &model.description.layers;
    let kinds = |l: &[LayerSpec]| l.iter().map(LayerSpec::kind_name).collect::<Vec<_>>();
    if kinds(layers) != kinds(saved) {
        return Err(TrainError::WarmStart(format!(
            "--from {}: its layers are {:?} (architecture {}), this network's are {:?}",
            path.display(),
            kinds(saved),
            model.description.arch,
            kinds(layers)
        )));
    }
    for (ours, saved) in layers.iter_mut().zip(saved) {
        match (ours, saved) {
            (
                LayerSpec::Linear {
                    weight_norm,
                    affine_scale,
                    bias: ours_bias,
                    ..
                },
                LayerSpec::Linear {
                    weight_norm: w,
                    affine_scale: a,
                    bias: b,
                    ..
                },
            )
            | (
                LayerSpec::Conv2d {
                    weight_norm,
                    affine_scale,
                    bias: ours_bias,
                    ..
                },
                LayerSpec::Conv2d {
                    weight_norm: w,
                    affine_scale: a,
                    bias: b,
                    ..
                },
            ) => {
                weight_norm.clone_from(w);
                *affine_scale = *a;
                *ours_bias = *b && bias;
            }
            _ => {}
        }
    }
    Ok(())
}

/// What a run of `config` from the model `saved` (`--from`) does differently from how that
/// model was trained, as a phrase (`T = 2 where the model was trained with T = 8`), or `None`
/// when it keeps the model's time steps, input coding and tie break. The weights carry over,
/// but a model trained for one of these and fine-tuned for another starts from a network that
/// was never tuned for it.
pub fn differences_from(
    config: &TrainConfig,
    saved: &ttfs_compiler::model::ModelDescription,
) -> Option<String> {
    let mut parts = Vec::new();
    if config.steps as u64 != u64::from(saved.time_steps) {
        parts.push(format!(
            "T = {} where the model was trained with T = {}",
            config.steps, saved.time_steps
        ));
    }
    let coding = |e: &InputEncoding| match e {
        InputEncoding::Latency => "latency input".to_string(),
        InputEncoding::Direct => "direct input".to_string(),
        InputEncoding::Thermometer { levels } => format!("{levels}-level thermometer input"),
    };
    let encoding = crate::export::model_encoding(config.encoding);
    if encoding != saved.input.encoding {
        parts.push(format!(
            "{} where the model was trained with {}",
            coding(&encoding),
            coding(&saved.input.encoding)
        ));
    }
    let ties = |t: TieBreak| match t {
        TieBreak::PotentialAtDecision => "at the decision step",
        TieBreak::PotentialAtEnd => "after the last step",
    };
    if config.tie_break != saved.decoding.tie_break {
        parts.push(format!(
            "ties broken {} where the model was trained with them broken {}",
            ties(config.tie_break),
            ties(saved.decoding.tie_break)
        ));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The `--from` model file at `path`.
///
/// # Errors
/// [`TrainError::WarmStart`] naming the file when it cannot be read.
pub(crate) fn read_model(path: &Path) -> Result<Model, TrainError> {
    ttfs_compiler::model::read(path)
        .map_err(|e| TrainError::WarmStart(format!("--from {}: {e}", path.display())))
}

/// Sets every parameter of `net` from `model` (read from `path`), which must hold a tensor of
/// the same name and shape for each (a model of the same architecture, the network built with
/// its layers' forms by [`adopt_forms`]).
///
/// # Errors
/// [`TrainError::WarmStart`] naming the file and the parameter that is missing or has another
/// shape; a tensor error from Candle.
pub fn load_weights(net: &Network, model: &Model, path: &Path) -> Result<(), TrainError> {
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
