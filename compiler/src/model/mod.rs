//! The trained-model file format (version 1) and the model it holds.
//!
//! A model file is one safetensors file. Tensors are little-endian `f32`, named
//! `layers.{i}.weight`, `layers.{i}.scale` and `layers.{i}.shift` after the index of their
//! layer; pooling and flatten layers have none. The safetensors metadata holds the key
//! [`METADATA_KEY`] whose value is a JSON [`ModelDescription`] followed by the field
//! [`DIGEST_FIELD`], the model's digest ([`Model::digest`]): a file whose description or tensors
//! were edited after it was written no longer matches its digest and is refused (files written
//! before digests existed have none and are read as they are).
//!
//! - [`description`]: the JSON structs (what the trainer writes).
//! - [`shapes`]: shape inference and each layer's parameter checks.
//! - `validate`: [`Model::validate`], the one place that decides a model is well formed.
//! - [`io`]: [`read`] and [`write`](fn@write) (atomic: temporary file, then rename).
//! - [`fold`]: the effective weights (weight norm and affine scale folded in).
//! - `macs`: the model as a conventional network ([`Model::ann_macs`]) and what a chip
//!   configuration records of it ([`Provenance`]).

pub mod description;
mod error;
pub mod fold;
pub mod io;
mod macs;
pub mod shapes;
mod validate;

use std::collections::BTreeMap;

pub use description::{
    DIGEST_FIELD, DecisionRule, DecodingSpec, FORMAT_VERSION, InputEncoding, InputSpec, LayerSpec,
    METADATA_KEY, ModelDescription, NeuronSpec, QuantizedFor, TensorRole, TieBreak,
    TrainingSummary, WeightNorm,
};
pub use error::ModelError;
pub use fold::EffectiveLayer;
pub use io::{Integrity, read, read_checked, write};
pub use macs::{LayerMacs, Provenance};
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

impl Model {
    /// The network's digest: what it computes, not how it was trained. FNV-1a 64 over its
    /// description as compact JSON without the training summary (epochs, accuracy, seed,
    /// recipe, wall time: a resumed run and an uninterrupted one have the same network) and,
    /// in name order, each tensor's name, shape and little-endian values. The chip
    /// configuration records it, so the golden model of another network is refused and the
    /// same network, however it was trained, is not.
    pub fn digest(&self) -> u64 {
        // A description always serializes (strings, numbers, lists); an empty text would only
        // change the digest, never pass a check it should fail. The object's keys come out
        // sorted, so the text is canonical.
        let mut value = serde_json::to_value(&self.description).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("training");
        }
        digest_of(&value.to_string(), &self.tensors)
    }

    /// The file's digest, which a model file carries to catch any edit: FNV-1a 64 over the
    /// whole description as compact JSON (the file's text without the digest field, the
    /// training summary included) and the tensors as in [`Model::digest`].
    pub fn file_digest(&self) -> u64 {
        let json = serde_json::to_string(&self.description).unwrap_or_default();
        digest_of(&json, &self.tensors)
    }
}

/// FNV-1a 64 of a description's JSON text and the tensors (see [`Model::file_digest`]).
pub fn digest_of(json: &str, tensors: &BTreeMap<String, TensorData>) -> u64 {
    let mut h = ttfs_runtime::digest::Fnv1a64::new();
    h.update(json.as_bytes());
    for (name, t) in tensors {
        h.update(&[0xff]);
        h.update(name.as_bytes());
        h.update(&[0xff]);
        h.update(&(t.shape.len() as u64).to_le_bytes());
        for &d in &t.shape {
            h.update(&(d as u64).to_le_bytes());
        }
        for v in &t.data {
            h.update(&v.to_le_bytes());
        }
    }
    h.finish()
}

/// The text form of a digest in the file.
pub(crate) fn digest_text(digest: u64) -> String {
    format!("fnv1a64:{digest:016x}")
}

#[cfg(test)]
pub(crate) mod test_models;
