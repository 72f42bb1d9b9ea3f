//! The one error of NIR files: what is wrong, with the node, its type and what is supported.

use std::path::PathBuf;

/// Why a NIR file could not be read, imported or written.
#[derive(Debug, thiserror::Error)]
pub enum NirError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not HDF5 at all.
    #[error("{}: not a NIR file (NIR files are HDF5; this one does not start with the HDF5 signature)", path.display())]
    NotHdf5 {
        /// The file.
        path: PathBuf,
    },
    /// The HDF5 structure is not one the `nir` package writes, or cannot be decoded.
    #[error("{}: {what}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the HDF5 object.
        what: String,
    },
    /// A node cannot be imported: its type, a parameter, or how it is connected.
    #[error("node '{node}' ({kind}): {why}")]
    Node {
        /// The node's name.
        node: String,
        /// Its type.
        kind: String,
        /// Why, and what is supported.
        why: String,
    },
    /// The graph as a whole cannot be imported (its shape, its inputs and outputs).
    #[error("{0}")]
    Graph(String),
    /// The model this graph lowers to is not a valid model.
    #[error("the imported model is not valid: {0}")]
    Model(#[from] ttfs_compiler::model::ModelError),
    /// A model or network cannot be exported.
    #[error("{0}")]
    Export(String),
}

impl NirError {
    /// The error of `node` (of `kind`) for `why`.
    pub fn node(node: &str, kind: &str, why: impl Into<String>) -> NirError {
        NirError::Node {
            node: node.to_string(),
            kind: kind.to_string(),
            why: why.into(),
        }
    }
}
