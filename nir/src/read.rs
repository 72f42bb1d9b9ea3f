//! A model given by its path, whatever wrote it: the one place that tells a NIR file from a
//! model file written by `ttfs train` and reads either into the compiler's model. The CLI, the
//! trainer's `--from` and the Python package read models through [`read_model`].

use std::path::{Path, PathBuf};

use ttfs_compiler::model::{Integrity, Model, ModelError};

use crate::import::{ImportOptions, import};
use crate::{NirError, hdf5};

/// A model read from a file, with what the reader has to say about it.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// The model, ready to compile.
    pub model: Model,
    /// Lines a person should read (a NIR import's semantic notes), each without the file name.
    pub notes: Vec<String>,
    /// Whether an edit of the file would have been detected: false for a model file written
    /// before digests existed (a NIR file has no digest either way; it is `Checked` when the
    /// graph imported, since every parameter was checked on import).
    pub integrity: Integrity,
}

/// Why a path could not be read as a model; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at the path.
    #[error(
        "{}: no such file (expected a model file written by `ttfs train`, or a NIR file)",
        path.display()
    )]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// A folder at the path.
    #[error("{}: a folder, not a model file", path.display())]
    Folder {
        /// The path.
        path: PathBuf,
    },
    /// A NIR file that could not be read.
    #[error(transparent)]
    NirFile(NirError),
    /// A NIR graph the chip cannot run.
    #[error("{}: cannot run this NIR graph on the chip: {source}", path.display())]
    NirGraph {
        /// The file.
        path: PathBuf,
        /// Why, naming the node.
        source: NirError,
    },
    /// Not a model file the compiler reads.
    #[error(
        "{} is not a model this compiler reads (expected a model file written by `ttfs train`, \
         or a NIR file): {source}",
        path.display()
    )]
    Model {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ModelError,
    },
}

/// Whether `path` is read as NIR: named `.nir`, or an HDF5 file by its first bytes.
pub fn is_nir(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nir"))
        || hdf5_signature(path)
}

/// Whether the file starts with the HDF5 signature.
fn hdf5_signature(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == *b"\x89HDF\r\n\x1a\n")
}

/// `options` with the model named after the file's stem where no name is given.
pub fn named(path: &Path, options: &ImportOptions) -> ImportOptions {
    ImportOptions {
        name: options.name.clone().or_else(|| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        }),
        ..options.clone()
    }
}

/// Reads `path` as a model: a NIR file imported under `options` (the model named after the
/// file unless `options` names it), or a model file written by `ttfs train` with its digest
/// checked.
///
/// # Errors
/// [`ReadError`], naming the file (and for a NIR graph the node and why).
pub fn read_model(path: &Path, options: &ImportOptions) -> Result<ModelFile, ReadError> {
    if !path.exists() {
        return Err(ReadError::Missing {
            path: path.to_path_buf(),
        });
    }
    if path.is_dir() {
        return Err(ReadError::Folder {
            path: path.to_path_buf(),
        });
    }
    if is_nir(path) {
        let file = hdf5::read(path).map_err(ReadError::NirFile)?;
        let imported =
            import(&file, &named(path, options)).map_err(|source| ReadError::NirGraph {
                path: path.to_path_buf(),
                source,
            })?;
        return Ok(ModelFile {
            model: imported.model,
            notes: imported.notes,
            integrity: Integrity::Checked,
        });
    }
    let (model, integrity) =
        ttfs_compiler::model::read_checked(path).map_err(|source| ReadError::Model {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(ModelFile {
        model,
        notes: Vec::new(),
        integrity,
    })
}
