//! [`read`] and [`write`](fn@write) of model files, and their in-memory halves [`decode`] and
//! [`encode`].
//!
//! [`write`](fn@write) validates first and then writes through the toolchain's one atomic write
//! ([`ttfs_runtime::atomic`]), so the target is either the old file or the complete new one, never
//! half written. [`read`] checks, in order: safetensors framing, the [`METADATA_KEY`] metadata, the
//! JSON, the format version (before the rest of the JSON, so a newer file says "version 2 is not
//! supported" rather than "missing field"), tensor dtypes, the digest (when the file has one: every
//! file this toolchain writes does), then [`Model::validate`]. Every error from either names the
//! file.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::description::{DIGEST_FIELD, FORMAT_VERSION, METADATA_KEY, ModelDescription};
use super::error::ModelError;
use super::{Model, TensorData, digest_of, digest_text};

/// Whether a model file's contents could be checked against a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// The file carries a digest and its contents match it.
    Checked,
    /// The file carries no digest (written before digests existed, or with it removed): an
    /// edit cannot be detected. A caller says so, or refuses it.
    Unchecked,
}

/// Reads and validates a model file.
pub fn read(path: &Path) -> Result<Model, ModelError> {
    read_checked(path).map(|(model, _)| model)
}

/// Reads and validates a model file, and says whether its digest was checked.
pub fn read_checked(path: &Path) -> Result<(Model, Integrity), ModelError> {
    let bytes = fs::read(path).map_err(|error| {
        ModelError::Io {
            action: "read the model file",
            error,
        }
        .in_file(path)
    })?;
    decode_checked(&bytes).map_err(|e| e.in_file(path))
}

/// Validates a model and writes it to `path` atomically ([`ttfs_runtime::atomic::write_atomic`]).
/// On error nothing is left at `path` that was not there before.
pub fn write(path: &Path, model: &Model) -> Result<(), ModelError> {
    let bytes = encode(model).map_err(|e| e.in_file(path))?;
    write_atomic(path, &bytes).map_err(|e| e.in_file(path))
}

/// Parses and validates the bytes of a model file.
pub fn decode(bytes: &[u8]) -> Result<Model, ModelError> {
    decode_checked(bytes).map(|(model, _)| model)
}

/// Parses and validates the bytes of a model file, and says whether its digest was checked.
pub fn decode_checked(bytes: &[u8]) -> Result<(Model, Integrity), ModelError> {
    let not_safetensors = |e: safetensors::SafeTensorError| ModelError::NotSafetensors {
        reason: e.to_string(),
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or(ModelError::MissingMetadata { key: METADATA_KEY })?;
    let bad_json = |e: serde_json::Error| ModelError::BadDescription {
        key: METADATA_KEY,
        message: e.to_string(),
    };
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(bad_json)?;
    if let Some(found) = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
    {
        if found != u64::from(FORMAT_VERSION) {
            return Err(ModelError::UnsupportedVersion {
                found,
                supported: FORMAT_VERSION,
            });
        }
    }
    let stored_digest = match value.as_object_mut().and_then(|o| o.remove(DIGEST_FIELD)) {
        None => None,
        Some(text) => Some(parse_digest(&text).ok_or_else(|| ModelError::BadDigest {
            found: text.to_string(),
        })?),
    };
    let description: ModelDescription = serde_json::from_value(value).map_err(bad_json)?;

    let file = SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    let mut views: Vec<(&str, TensorView<'_>)> = file.iter().collect();
    views.sort_by(|a, b| a.0.cmp(b.0));
    let mut tensors = BTreeMap::new();
    for (name, view) in views {
        if view.dtype() != Dtype::F32 {
            return Err(ModelError::TensorDtype {
                name: name.to_string(),
                dtype: view.dtype().to_string(),
            });
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let tensor = TensorData {
            shape: view.shape().to_vec(),
            data,
        };
        tensors.insert(name.to_string(), tensor);
    }
    let model = Model {
        description,
        tensors,
    };
    let integrity = match stored_digest {
        Some(_) => Integrity::Checked,
        None => Integrity::Unchecked,
    };
    if let Some(stored) = stored_digest {
        // The digest covers the description's text as written (the JSON before the digest
        // field); a file whose text was re-laid out by hand is checked on the canonical text.
        let suffix = format!(",\"{DIGEST_FIELD}\":\"{}\"}}", digest_text(stored));
        let computed = match json.strip_suffix(&suffix) {
            Some(body) => digest_of(&format!("{body}}}"), &model.tensors),
            None => model.file_digest(),
        };
        if stored != computed {
            return Err(ModelError::DigestMismatch { stored, computed });
        }
    }
    model.validate()?;
    Ok((model, integrity))
}

/// Validates a model and encodes it as the bytes of a model file.
pub fn encode(model: &Model) -> Result<Vec<u8>, ModelError> {
    model.validate()?;
    let encode_error = |reason: String| ModelError::Encode { reason };
    let json =
        serde_json::to_string(&model.description).map_err(|e| encode_error(e.to_string()))?;
    // The description's object, with the digest of it and the tensors as its last field.
    let body = json
        .strip_suffix('}')
        .ok_or_else(|| encode_error("the description is not a JSON object".to_string()))?;
    let digest = digest_text(digest_of(&json, &model.tensors));
    let json = format!("{body},\"{DIGEST_FIELD}\":\"{digest}\"}}");
    let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
    let bytes: Vec<(&String, &TensorData, Vec<u8>)> = model
        .tensors
        .iter()
        .map(|(name, t)| {
            (
                name,
                t,
                t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let mut views = Vec::with_capacity(bytes.len());
    for (name, tensor, data) in &bytes {
        let view = TensorView::new(Dtype::F32, tensor.shape.clone(), data)
            .map_err(|e| encode_error(format!("tensor {name}: {e}")))?;
        views.push((name.as_str(), view));
    }
    safetensors::serialize(views, Some(metadata)).map_err(|e| encode_error(e.to_string()))
}

/// The digest in a file's description (`fnv1a64:` and 16 hex digits).
fn parse_digest(value: &serde_json::Value) -> Option<u64> {
    let hex = value.as_str()?.strip_prefix("fnv1a64:")?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

/// [`ttfs_runtime::atomic::write_atomic`], its error as a [`ModelError::Io`] naming the step.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    ttfs_runtime::atomic::write_atomic(path, bytes).map_err(|e| ModelError::Io {
        action: e.step.action(),
        error: e.source,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::test_models::tiny_linear;

    #[test]
    fn encode_then_decode_is_the_identity() {
        let model = tiny_linear(None, Some(vec![0.5, 2.0]), Some(vec![-1.0, 1.0]));
        let bytes = encode(&model).unwrap();
        assert_eq!(decode(&bytes).unwrap(), model);
    }

    proptest::proptest! {
        /// A model read back has the digest it was written with, whatever its floats (the
        /// configuration records the digest of the model in memory, the golden check that of
        /// the file read again).
        #[test]
        fn a_read_model_has_the_digest_it_was_written_with(
            eps in proptest::num::f32::POSITIVE,
            gain in proptest::num::f32::POSITIVE,
            wall in proptest::num::f64::POSITIVE,
            accuracy in 0.0f32..1.0,
        ) {
            let norm = crate::model::WeightNorm { gain, eps };
            let mut model = tiny_linear(Some(norm), Some(vec![0.5, 2.0]), Some(vec![-1.0, 1.0]));
            model.description.training.wall_seconds = Some(wall);
            model.description.training.test_accuracy = Some(accuracy);
            let back = decode(&encode(&model).unwrap()).unwrap();
            proptest::prop_assert_eq!(back.digest(), model.digest());
            proptest::prop_assert_eq!(back.file_digest(), model.file_digest());
            proptest::prop_assert_eq!(back, model);
        }
    }

    /// The network's digest ignores how it was trained (a resumed run and an uninterrupted
    /// one have the same tensors and different wall times); the file's digest does not, and
    /// both change with any weight.
    #[test]
    fn the_network_digest_ignores_the_training_summary_and_the_file_digest_does_not() {
        let model = tiny_linear(None, None, Some(vec![-1.0, 1.0]));
        let mut retrained = model.clone();
        retrained.description.training.wall_seconds = Some(1234.5);
        retrained.description.training.epochs += 3;
        retrained.description.training.test_accuracy = Some(0.25);
        assert_eq!(retrained.digest(), model.digest());
        assert_ne!(retrained.file_digest(), model.file_digest());
        let back = decode(&encode(&retrained).unwrap()).unwrap();
        assert_eq!(back.digest(), model.digest());
        let mut other = model.clone();
        let weight = other.tensors.values_mut().next().unwrap();
        weight.data[0] += 1.0;
        assert_ne!(other.digest(), model.digest());
        assert_ne!(other.file_digest(), model.file_digest());
        let mut other = model.clone();
        other.description.time_steps += 1;
        assert_ne!(other.digest(), model.digest());
    }

    #[test]
    fn encode_is_deterministic() {
        let model = tiny_linear(None, None, Some(vec![-1.0, 1.0]));
        assert_eq!(encode(&model).unwrap(), encode(&model).unwrap());
    }

    #[test]
    fn a_path_without_a_file_name_is_an_io_error() {
        let err = write(Path::new("/"), &tiny_linear(None, None, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/: cannot create a temporary file: the path has no file name"
        );
    }
}
