//! [`read`] and [`write`](fn@write) of chip configuration files, their in-memory halves
//! [`decode`] and [`encode`], and [`read_header`] for tools that only show what a file is.
//!
//! The layout is the one in the [module docs](super): magic, version (u32 little-endian),
//! postcard [`Header`], postcard [`ChipConfig`] payload of exactly `payload_len` bytes whose
//! FNV-1a 64 is `payload_checksum`.
//!
//! [`encode`] validates before it serializes, so no invalid configuration is ever written.
//! [`decode`] checks, in order, and stops at the first failure: the magic (on whatever prefix
//! there is, so a short file of another kind is "not a configuration", a short prefix of one is
//! "truncated"), the 12-byte prefix, the version (before anything postcard-encoded), the header,
//! the payload length (beyond 4 GiB, or disagreeing with bytes that are the whole payload by its
//! checksum: a corrupt header; else truncated or trailing bytes), the checksum, the payload, the
//! agreement of the header with the payload's own target name and hash, and
//! [`ChipConfig::validate`].
//!
//! Decoding never panics and never allocates in proportion to a length the file declares:
//! lengths are compared with the bytes present before use, and postcard refuses a sequence
//! longer than its remaining input before serde preallocates (serde also caps preallocation at
//! 1 MiB), so a hostile length is a [`ConfigError::Corrupt`] error, not an abort.
//!
//! [`write`](fn@write) goes through the toolchain's one atomic write ([`crate::atomic`]), so
//! `path` is either the old file or the complete new one; on any error the temporary file is
//! removed. Every error of [`read`] and [`write`](fn@write) names the file.

use std::fs;
use std::path::Path;

use super::{CONFIG_VERSION, ChipConfig, ConfigError, Header, MAGIC};
use crate::digest::Fnv1a64;

/// Bytes before the header: the magic and the version.
const PREFIX_LEN: usize = MAGIC.len() + 4;

/// The largest payload a configuration may declare (4 GiB; the MNIST CNN's is about 40 MB).
const MAX_PAYLOAD: u64 = 1 << 32;

/// Reads, decodes and validates the configuration file at `path`.
///
/// # Errors
/// [`ConfigError::Io`] if the file cannot be read, any error of [`decode`]; each wrapped in
/// [`ConfigError::File`] naming `path`.
pub fn read(path: &Path) -> Result<ChipConfig, ConfigError> {
    // A compile killed between the renames of its outputs is completed first, so the
    // configuration read is the one its report and pictures describe.
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    crate::atomic::journal::complete_interrupted(folder);
    let bytes = fs::read(path).map_err(|error| {
        ConfigError::Io {
            action: "read the configuration",
            error,
        }
        .in_file(path)
    })?;
    decode(&bytes).map_err(|e| e.in_file(path))
}

/// Validates `config` and writes it to `path` atomically ([`crate::atomic::write_atomic`]). On
/// error nothing new is left at `path` or next to it.
///
/// # Errors
/// Any error of [`encode`], [`ConfigError::Io`] if the file cannot be written; each wrapped in
/// [`ConfigError::File`] naming `path`.
pub fn write(path: &Path, config: &ChipConfig) -> Result<(), ConfigError> {
    let bytes = encode(config).map_err(|e| e.in_file(path))?;
    write_atomic(path, &bytes).map_err(|e| e.in_file(path))
}

/// Validates `config` and encodes it as the bytes of a configuration file.
///
/// # Errors
/// Any error of [`ChipConfig::validate`]; [`ConfigError::Encode`] if postcard fails (it does
/// not for these types).
pub fn encode(config: &ChipConfig) -> Result<Vec<u8>, ConfigError> {
    config.validate()?;
    let encode_error = |e: postcard::Error| ConfigError::Encode {
        reason: e.to_string(),
    };
    let payload = postcard::to_stdvec(config).map_err(encode_error)?;
    let header = Header {
        target_name: config.target_name.clone(),
        target_hash: config.target_hash,
        payload_len: payload.len() as u64,
        payload_checksum: Fnv1a64::hash_bytes(&payload),
    };
    let header = postcard::to_stdvec(&header).map_err(encode_error)?;
    let mut bytes = Vec::with_capacity(PREFIX_LEN + header.len() + payload.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&CONFIG_VERSION.to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// Decodes and validates the bytes of a configuration file (see the module docs for the order
/// of the checks).
///
/// # Errors
/// [`ConfigError::NotAConfig`], [`ConfigError::Truncated`],
/// [`ConfigError::UnsupportedVersion`], [`ConfigError::Corrupt`] (header or payload),
/// [`ConfigError::TrailingBytes`], [`ConfigError::ChecksumMismatch`],
/// [`ConfigError::HeaderMismatch`], or any error of [`ChipConfig::validate`].
pub fn decode(bytes: &[u8]) -> Result<ChipConfig, ConfigError> {
    let (_, header, payload) = split_header(bytes)?;
    let found = bytes.len() as u64;
    let present = payload.len() as u64;
    if header.payload_len > MAX_PAYLOAD {
        return Err(ConfigError::Corrupt {
            part: "header",
            reason: format!(
                "it declares a payload of {} bytes, more than the {MAX_PAYLOAD} a configuration \
                 may have",
                header.payload_len
            ),
        });
    }
    // A length that disagrees with the bytes present means a cut file, unless those bytes are
    // the whole payload (their checksum matches): then the length itself is damaged.
    if present != header.payload_len && Fnv1a64::hash_bytes(payload) == header.payload_checksum {
        return Err(ConfigError::Corrupt {
            part: "header",
            reason: format!(
                "it declares a payload of {} bytes, but the {present} bytes after it are the \
                 whole payload (their checksum matches)",
                header.payload_len
            ),
        });
    }
    if present < header.payload_len {
        let header_end = found - present;
        return Err(ConfigError::Truncated {
            needed: header_end.saturating_add(header.payload_len),
            found,
        });
    }
    if present > header.payload_len {
        return Err(ConfigError::TrailingBytes {
            extra: present - header.payload_len,
            payload_len: header.payload_len,
        });
    }
    let computed = Fnv1a64::hash_bytes(payload);
    if computed != header.payload_checksum {
        return Err(ConfigError::ChecksumMismatch {
            stored: header.payload_checksum,
            computed,
        });
    }
    let config: ChipConfig = match postcard::take_from_bytes(payload) {
        Ok((config, [])) => config,
        Ok((_, rest)) => {
            return Err(ConfigError::Corrupt {
                part: "payload",
                reason: format!("{} bytes are left over after the configuration", rest.len()),
            });
        }
        Err(e) => {
            return Err(ConfigError::Corrupt {
                part: "payload",
                reason: e.to_string(),
            });
        }
    };
    if header.target_name != config.target_name || header.target_hash != config.target_hash {
        return Err(ConfigError::HeaderMismatch {
            header_target: header.target_name,
            header_hash: header.target_hash,
            payload_target: config.target_name,
            payload_hash: config.target_hash,
        });
    }
    config.validate()?;
    Ok(config)
}

/// Decodes only the version and the header of a configuration file (for `ttfs inspect`); the
/// payload is neither checked nor decoded. The version is always [`CONFIG_VERSION`] today:
/// the header's layout belongs to its version, so another version is refused.
///
/// # Errors
/// [`ConfigError::NotAConfig`], [`ConfigError::Truncated`],
/// [`ConfigError::UnsupportedVersion`], or [`ConfigError::Corrupt`] for the header.
pub fn read_header(bytes: &[u8]) -> Result<(u32, Header), ConfigError> {
    let (version, header, _) = split_header(bytes)?;
    Ok((version, header))
}

/// Checks the magic and the version, decodes the header, and returns the bytes after it.
fn split_header(bytes: &[u8]) -> Result<(u32, Header, &[u8]), ConfigError> {
    let found = bytes.len() as u64;
    let seen = bytes.len().min(MAGIC.len());
    if bytes.get(..seen) != MAGIC.get(..seen) {
        return Err(ConfigError::NotAConfig);
    }
    let Some((prefix, rest)) = bytes.split_first_chunk::<PREFIX_LEN>() else {
        return Err(ConfigError::Truncated {
            needed: PREFIX_LEN as u64,
            found,
        });
    };
    let version = u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
    if version != CONFIG_VERSION {
        return Err(ConfigError::UnsupportedVersion {
            found: version,
            supported: CONFIG_VERSION,
        });
    }
    match postcard::take_from_bytes::<Header>(rest) {
        Ok((header, payload)) => Ok((version, header, payload)),
        // The header runs past the end: at least one more byte is needed.
        Err(postcard::Error::DeserializeUnexpectedEnd) => Err(ConfigError::Truncated {
            needed: found + 1,
            found,
        }),
        Err(e) => Err(ConfigError::Corrupt {
            part: "header",
            reason: e.to_string(),
        }),
    }
}

/// [`crate::atomic::write_atomic`], its error as a [`ConfigError::Io`] naming the step.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    crate::atomic::write_atomic(path, bytes).map_err(|e| ConfigError::Io {
        action: e.step.action(),
        error: e.source,
    })
}

#[cfg(test)]
mod tests;
