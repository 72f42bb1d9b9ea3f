//! The model as a conventional network: multiply-accumulates per inference of each weighted
//! layer, dense and at the model's own weight sparsity. A chip configuration records them with
//! the model's digest ([`Provenance`]), and the energy report prices them as its ANN baselines.

use super::Model;
use super::description::LayerSpec;
use super::error::ModelError;

/// One weighted layer's multiply-accumulates per inference as a conventional network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerMacs {
    /// Every weight: linear, inputs x outputs; conv, output positions x channels in x kernel.
    pub dense: u64,
    /// Only the nonzero effective weights (weight norm and scale folded in): linear, one per
    /// nonzero weight; conv, one per nonzero kernel weight and output position. A pruned
    /// model's baseline at its own weight sparsity.
    pub nonzero: u64,
}

/// What a chip configuration records of the model it was compiled from: the model's digest
/// (so the golden model of another network is refused) and its weighted layers' ANN
/// multiply-accumulates, in order (the energy report's baselines).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    /// [`Model::digest`].
    pub digest: u64,
    /// [`Model::ann_macs`], one entry per weighted layer.
    pub macs: Vec<LayerMacs>,
}

impl Provenance {
    /// The provenance of `model`.
    ///
    /// # Errors
    /// As [`Model::ann_macs`].
    pub fn of(model: &Model) -> Result<Provenance, ModelError> {
        Ok(Provenance {
            digest: model.digest(),
            macs: model.ann_macs()?,
        })
    }
}

impl Model {
    /// The multiply-accumulates per inference of each weighted layer, in order.
    ///
    /// # Errors
    /// [`ModelError`] if the shapes do not chain or a layer's tensors are missing or malformed.
    pub fn ann_macs(&self) -> Result<Vec<LayerMacs>, ModelError> {
        let shapes = self.layer_shapes()?;
        let mut macs = Vec::new();
        for (index, (layer, shape)) in self.description.layers.iter().zip(&shapes).enumerate() {
            let (dense, positions) = match layer {
                LayerSpec::Linear {
                    in_features,
                    out_features,
                    ..
                } => (*in_features * *out_features, 1),
                LayerSpec::Conv2d {
                    in_channels,
                    kernel,
                    ..
                } => (
                    shape.iter().product::<usize>() * *in_channels * kernel[0] * kernel[1],
                    shape.iter().skip(1).product::<usize>(),
                ),
                _ => continue,
            };
            let effective = self.effective_layer(index)?;
            let nonzero = effective.weight.data.iter().filter(|&&w| w != 0.0).count();
            macs.push(LayerMacs {
                dense: dense as u64,
                nonzero: (nonzero * positions) as u64,
            });
        }
        Ok(macs)
    }
}
