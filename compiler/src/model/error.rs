//! [`ModelError`]: every way a model file or a model in memory can be wrong.
//!
//! Errors about a model's content carry no path: [`read`](super::read) and
//! [`write`](fn@super::write) wrap them in [`ModelError::File`], so every message about a file
//! starts with that file. Use [`ModelError::inner`] to match on the cause. Messages are
//! one line and include their cause; nothing is hidden behind `source()`.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A model could not be read, written or used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Any of the errors below, found in a particular file.
    #[error("{}: {error}", path.display())]
    File {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        error: Box<ModelError>,
    },
    /// The file system refused.
    #[error("cannot {action}: {error}")]
    Io {
        /// What was being done, e.g. `"read the file"`.
        action: &'static str,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// The bytes are not a safetensors file (or it was cut short).
    #[error("not a safetensors file ({reason})")]
    NotSafetensors {
        /// The safetensors parser's reason.
        reason: String,
    },
    /// A safetensors file without the model description.
    #[error("no \"{key}\" metadata, so this is not a ttfs model file")]
    MissingMetadata {
        /// The metadata key looked for.
        key: &'static str,
    },
    /// The description is not valid JSON or does not fit
    /// [`ModelDescription`](super::ModelDescription).
    #[error("the \"{key}\" metadata is not a valid model description: {message}")]
    BadDescription {
        /// The metadata key.
        key: &'static str,
        /// The JSON parser's message.
        message: String,
    },
    /// The file's digest does not match its description and tensors: it was edited or damaged.
    #[error(
        "the model's digest does not match its contents (stored {stored:016x}, computed \
         {computed:016x}): the description or a tensor was edited or damaged after training; \
         train or export the model again"
    )]
    DigestMismatch {
        /// The digest the file holds.
        stored: u64,
        /// The digest of what it holds.
        computed: u64,
    },
    /// The description's digest field is not a digest.
    #[error(
        "the description's \"digest\" is not a digest (expected \"fnv1a64:\" and 16 hex \
         digits), found {found}"
    )]
    BadDigest {
        /// What it holds, as JSON.
        found: String,
    },
    /// The model could not be encoded as safetensors.
    #[error("cannot encode the model as safetensors: {reason}")]
    Encode {
        /// The encoder's reason.
        reason: String,
    },
    /// A format version this build does not read.
    #[error("model format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version in the file.
        found: u64,
        /// Version this build reads.
        supported: u32,
    },
    /// A tensor is stored in another element type.
    #[error("tensor {name} has dtype {dtype}, expected F32")]
    TensorDtype {
        /// Tensor name.
        name: String,
        /// Its dtype as safetensors names it.
        dtype: String,
    },
    /// A field of the description outside the layers has a bad value.
    #[error("{field} {problem}")]
    Field {
        /// Field path, e.g. `neuron.threshold`.
        field: &'static str,
        /// What is wrong, e.g. `must be positive and finite, found -1`.
        problem: String,
    },
    /// The model has no layers.
    #[error("the model has no layers")]
    NoLayers,
    /// A layer's parameters or its input shape are wrong.
    #[error("layer {index} ({kind}): {problem}")]
    Layer {
        /// Layer index.
        index: usize,
        /// Layer kind, e.g. `conv2d`.
        kind: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The last layer has no weights, so it has no output neurons to decide a class.
    #[error(
        "layer {index} ({kind}) is the last layer, but the last layer must be linear or conv2d (its neurons are the classes)"
    )]
    LastLayerNotWeighted {
        /// Layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
    },
    /// A tensor a layer needs is absent.
    #[error("layer {index} ({kind}): tensor {name} is missing")]
    MissingTensor {
        /// Layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
        /// Tensor name.
        name: String,
    },
    /// A tensor has another shape than its layer needs.
    #[error(
        "layer {index} ({kind}): tensor {name} has shape {}, expected {}",
        Shape(found),
        Shape(expected)
    )]
    TensorShape {
        /// Layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
        /// Tensor name.
        name: String,
        /// Shape found.
        found: Vec<usize>,
        /// Shape expected.
        expected: Vec<usize>,
    },
    /// A tensor's data length does not match its shape.
    #[error(
        "layer {index} ({kind}): tensor {name} has {found} values, but its shape {} holds {expected}",
        Shape(shape)
    )]
    TensorLength {
        /// Layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
        /// Tensor name.
        name: String,
        /// The tensor's shape.
        shape: Vec<usize>,
        /// Values present.
        found: usize,
        /// Values the shape holds.
        expected: usize,
    },
    /// A tensor holds NaN or an infinity.
    #[error(
        "layer {index} ({kind}): tensor {name} holds the non-finite value {value} at flat index {position}"
    )]
    NonFinite {
        /// Layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
        /// Tensor name.
        name: String,
        /// Row-major index of the first bad value.
        position: usize,
        /// The value.
        value: f32,
    },
    /// A tensor no layer uses.
    #[error("tensor {name} is not used by any layer")]
    UnexpectedTensor {
        /// Tensor name.
        name: String,
    },
    /// A layer index past the end of the layer list.
    #[error("layer {index} does not exist (the model has {count} layers)")]
    NoSuchLayer {
        /// Index asked for.
        index: usize,
        /// Number of layers.
        count: usize,
    },
    /// Effective weights were asked of a layer without weights.
    #[error("layer {index} ({kind}) has no weights")]
    NotWeighted {
        /// Layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
    },
}

impl ModelError {
    /// Attaches the file the error was found in (once; an error that already names a file
    /// is returned unchanged).
    pub fn in_file(self, path: &Path) -> ModelError {
        match self {
            ModelError::File { .. } => self,
            error => ModelError::File {
                path: path.to_path_buf(),
                error: Box::new(error),
            },
        }
    }

    /// The cause without the file: the error to match on.
    pub fn inner(&self) -> &ModelError {
        match self {
            ModelError::File { error, .. } => error.inner(),
            error => error,
        }
    }

    /// The file the error was found in, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ModelError::File { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Formats a shape as `[10, 800]`.
pub(crate) struct Shape<'a>(pub(crate) &'a [usize]);

impl fmt::Display for Shape<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_wrapper_prefixes_path_once_and_inner_unwraps() {
        let error = ModelError::TensorShape {
            index: 2,
            kind: "linear",
            name: "layers.2.weight".into(),
            found: vec![10, 799],
            expected: vec![10, 800],
        };
        let path = Path::new("m.safetensors");
        let wrapped = error.in_file(path).in_file(Path::new("other"));
        assert_eq!(
            wrapped.to_string(),
            "m.safetensors: layer 2 (linear): tensor layers.2.weight has shape [10, 799], expected [10, 800]"
        );
        assert_eq!(wrapped.path(), Some(path));
        assert!(matches!(
            wrapped.inner(),
            ModelError::TensorShape { index: 2, .. }
        ));
    }
}
