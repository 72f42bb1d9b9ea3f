//! The trained-model file format (version 1) and the model it holds.
//!
//! A model file is one safetensors file. Tensors are little-endian `f32`, named
//! `layers.{i}.weight`, `layers.{i}.scale` and `layers.{i}.shift` after the index of their
//! layer; pooling and flatten layers have none. The safetensors metadata holds the key
//! [`METADATA_KEY`] whose value is a JSON [`ModelDescription`].
//!
//! - [`description`]: the JSON structs (what the trainer writes).
//! - [`shapes`]: shape inference and each layer's parameter checks.
//! - `validate`: [`Model::validate`], the one place that decides a model is well formed.
//! - [`io`]: [`read`] and [`write`](fn@write) (atomic: temporary file, then rename).
//! - [`fold`]: the effective weights (weight norm and affine scale folded in).

pub mod description;
mod error;
pub mod fold;
pub mod io;
pub mod shapes;
mod validate;

use std::collections::BTreeMap;

pub use description::{
    DecisionRule, DecodingSpec, FORMAT_VERSION, InputEncoding, InputSpec, LayerSpec, METADATA_KEY,
    ModelDescription, NeuronSpec, TensorRole, TieBreak, TrainingSummary, WeightNorm,
};
pub use error::ModelError;
pub use fold::EffectiveLayer;
pub use io::{read, write};
pub use shapes::infer_shapes;

/// A dense row-major `f32` tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

/// A trained model: its description and its tensors by name.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Architecture, neuron, decoding and training summary.
    pub description: ModelDescription,
    /// Tensors by name (`layers.{i}.weight` and so on).
    pub tensors: BTreeMap<String, TensorData>,
}

#[cfg(test)]
pub(crate) mod test_models;
