//! [`ConfigError`]: every way a chip configuration file, or a configuration in memory, can be
//! wrong.
//!
//! Errors about a configuration's content carry no path: [`read`](super::read) and
//! [`write`](fn@super::write) wrap them in [`ConfigError::File`] (through
//! [`ConfigError::in_file`]), so every message about a file starts with that file. Use
//! [`ConfigError::inner`] to match on the cause. Messages are one line and include their cause;
//! nothing is hidden behind `source()`, so a caller that prints the whole chain (anyhow's `{:#}`)
//! does not print it twice.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// A chip configuration could not be read, written, or used on a target.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Any of the errors below, found in a particular file.
    #[error("{}: {error}", path.display())]
    File {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        error: Box<ConfigError>,
    },
    /// The file system refused.
    #[error("could not {action}: {error}")]
    Io {
        /// What was being done, e.g. `"read the configuration"`.
        action: &'static str,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// The file does not start with [`MAGIC`](super::MAGIC).
    #[error("not a ttfs chip configuration (bad magic bytes)")]
    NotAConfig,
    /// A format version this build does not read.
    #[error(
        "chip configuration format version {found} is not supported (this build reads version {supported}); recompile the network"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The file ends before its header or its payload does.
    #[error("the file is truncated: it has {found} bytes, but at least {needed} are needed")]
    Truncated {
        /// Bytes the file would need to hold what its header announces (a lower bound when the
        /// header itself is cut).
        needed: u64,
        /// Bytes present.
        found: u64,
    },
    /// The header or the payload is not valid postcard for its type.
    #[error("the {part} is corrupt: {reason}")]
    Corrupt {
        /// `"header"` or `"payload"`.
        part: &'static str,
        /// The decoder's reason.
        reason: String,
    },
    /// The payload bytes do not hash to the header's checksum.
    #[error(
        "the payload's checksum is {computed:#018x}, but the header says {stored:#018x}, so the file is corrupt"
    )]
    ChecksumMismatch {
        /// Checksum in the header.
        stored: u64,
        /// FNV-1a 64 of the payload bytes.
        computed: u64,
    },
    /// Bytes follow the payload.
    #[error("{extra} unexpected bytes follow the {payload_len}-byte payload")]
    TrailingBytes {
        /// Number of extra bytes.
        extra: u64,
        /// Payload length announced by the header.
        payload_len: u64,
    },
    /// The header names another target than the payload's own copy.
    #[error(
        "the header says target \"{header_target}\" (hash {header_hash:#018x}), but the payload says \"{payload_target}\" (hash {payload_hash:#018x})"
    )]
    HeaderMismatch {
        /// Target name in the header.
        header_target: String,
        /// Target hash in the header.
        header_hash: u64,
        /// Target name in the payload.
        payload_target: String,
        /// Target hash in the payload.
        payload_hash: u64,
    },
    /// The configuration was compiled for another target (or another version of this one).
    #[error(
        "compiled for target \"{config_target}\" (hash {config_hash:#018x}), not for \"{target}\" (hash {target_hash:#018x}); recompile it with --target set to this target"
    )]
    WrongTarget {
        /// Target name in the configuration.
        config_target: String,
        /// Target hash in the configuration.
        config_hash: u64,
        /// Name of the target it was checked against.
        target: String,
        /// Hash of the target it was checked against.
        target_hash: u64,
    },
    /// A structural invariant is broken (an index out of range, a table out of order...).
    #[error("invalid configuration: {what}")]
    Invalid {
        /// What is wrong, naming the core, layer, row or index.
        what: String,
    },
    /// More cores than the target's mesh holds.
    #[error(
        "the configuration uses {cores} cores, but the target's {cols} x {rows} mesh has only {available}"
    )]
    TooManyCores {
        /// Cores in the configuration.
        cores: usize,
        /// Cores on the target (`mesh.cols * mesh.rows`).
        available: u64,
        /// The target's `mesh.cols`.
        cols: u32,
        /// The target's `mesh.rows`.
        rows: u32,
    },
    /// A core placed outside the target's mesh.
    #[error(
        "core {core} sits at column {x}, row {y}, outside the target's mesh of {cols} columns (mesh.cols) and {rows} rows (mesh.rows)"
    )]
    OffMesh {
        /// Index of the core.
        core: usize,
        /// Its column.
        x: u32,
        /// Its row.
        y: u32,
        /// The target's `mesh.cols`.
        cols: u32,
        /// The target's `mesh.rows`.
        rows: u32,
    },
    /// A value of one core is beyond a limit of the target.
    #[error("core {core}: {what} is {value}, beyond the target's limit of {limit} ({field})")]
    ExceedsTarget {
        /// Index of the core.
        core: usize,
        /// The target's field that sets the limit, as dotted in its JSON, e.g.
        /// `core.max_synapses`.
        field: &'static str,
        /// What was measured, e.g. `the synapse count` or `the weight of axon 3 to neuron 1`.
        what: String,
        /// The value found.
        value: i64,
        /// The largest (or, for a negative value, the smallest) value the target allows.
        limit: i64,
    },
    /// The configuration needs a feature the target's neuron does not have.
    #[error("{what}, but the target has {field} = {setting}")]
    Unsupported {
        /// The target's field, as dotted in its JSON, e.g. `neuron.bias`.
        field: &'static str,
        /// What the configuration needs, naming the core and neuron.
        what: String,
        /// The target's value of `field`.
        setting: String,
    },
    /// The configuration could not be serialized.
    #[error("could not encode the configuration: {reason}")]
    Encode {
        /// The encoder's reason.
        reason: String,
    },
}

impl ConfigError {
    /// Attaches the file the error was found in (once; an error that already names a file is
    /// returned unchanged).
    #[must_use]
    pub fn in_file(self, path: &Path) -> ConfigError {
        match self {
            ConfigError::File { .. } => self,
            error => ConfigError::File {
                path: path.to_path_buf(),
                error: Box::new(error),
            },
        }
    }

    /// The cause without the file: the error to match on.
    #[must_use]
    pub fn inner(&self) -> &ConfigError {
        match self {
            ConfigError::File { error, .. } => error.inner(),
            error => error,
        }
    }

    /// The file the error was found in, if any.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigError::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// An [`Invalid`](ConfigError::Invalid) error.
    pub(crate) fn invalid(what: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { what: what.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_wrapper_prefixes_the_path_once_and_inner_unwraps() {
        let path = Path::new("net.ttfs");
        let wrapped = ConfigError::NotAConfig
            .in_file(path)
            .in_file(Path::new("other"));
        assert_eq!(
            wrapped.to_string(),
            "net.ttfs: not a ttfs chip configuration (bad magic bytes)"
        );
        assert_eq!(wrapped.path(), Some(path));
        assert!(matches!(wrapped.inner(), ConfigError::NotAConfig));
        assert_eq!(ConfigError::NotAConfig.path(), None);
    }

    #[test]
    fn wrong_target_names_both_targets_and_the_fix() {
        let e = ConfigError::WrongTarget {
            config_target: "loihi".into(),
            config_hash: 0x12,
            target: "tiny".into(),
            target_hash: 0xab,
        };
        assert_eq!(
            e.to_string(),
            "compiled for target \"loihi\" (hash 0x0000000000000012), not for \"tiny\" \
             (hash 0x00000000000000ab); recompile it with --target set to this target"
        );
    }

    #[test]
    fn exceeds_target_reads_as_a_sentence() {
        let e = ConfigError::ExceedsTarget {
            core: 2,
            field: "core.max_neurons",
            what: "the neuron count".into(),
            value: 40,
            limit: 32,
        };
        assert_eq!(
            e.to_string(),
            "core 2: the neuron count is 40, beyond the target's limit of 32 (core.max_neurons)"
        );
    }
}
