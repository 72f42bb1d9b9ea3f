//! NIR, the Neuromorphic Intermediate Representation (the `nir` Python package's HDF5 files,
//! which snnTorch, Norse, Sinabs, Rockpool, Lava and others read and write), in and out of ttfs.
//!
//! - [`hdf5`]: the file, read and written with a pure-Rust HDF5 implementation.
//! - [`graph`]: the graph in memory, nodes with their parameters, as the file holds them.
//! - [`import`]: a graph into the compiler's model, the node mapping's one home (NIR -> ttfs).
//! - [`export`]: a model, or its compiled integer network, out to a graph (ttfs -> NIR).
//! - [`meta`]: what an export says in the graph's metadata that NIR cannot.
//! - [`read`]: a model given by its path, NIR or a `ttfs train` model file.
//! - [`summary`]: a graph as a person reads it (`ttfs inspect FILE.nir`).
//!
//! It knows the compiler's model format, and nothing of training or the emulator.

pub mod error;
pub mod export;
pub mod graph;
pub mod hdf5;
pub mod import;
pub mod meta;
pub mod read;
pub mod summary;

pub use error::NirError;
pub use export::{ExportOptions, export_model, export_quantized};
pub use graph::{Array, Dtype, Graph, NirFile, Node, Value};
pub use import::{ImportOptions, Imported, Origin, import};
pub use read::{ModelFile, ReadError, read_model};
