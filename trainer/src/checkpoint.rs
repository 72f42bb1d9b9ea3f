//! Training checkpoints: parameters, optimiser moments and progress in one safetensors file.
//!
//! Tensors are named `param.{name}`, `adam.m.{name}`, `adam.v.{name}`; the metadata key
//! `ttfs.checkpoint` holds a JSON [`CheckpointState`] with the run's configuration, and
//! `ttfs.checkpoint.digest` the FNV-1a 64 digest of that JSON text and every tensor's name,
//! shape and values (in name order), as a model file has: a checkpoint with one bit changed
//! anywhere is refused, not trained on. Because the sample order and augmentation of every
//! epoch are pure functions of `(seed, epoch)`, a run resumed from the checkpoint of epoch `k`
//! continues exactly as the uninterrupted run would. Files are written to a temporary name and
//! renamed, so a kill never leaves half a checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors, View};

use crate::config::TrainConfig;
use crate::log::EpochRecord;
use ttfs_runtime::atomic::write_atomic;
use ttfs_runtime::digest::Fnv1a64;

/// Version of the checkpoint layout (2: with the digest).
pub const CHECKPOINT_VERSION: u32 = 2;
const METADATA_KEY: &str = "ttfs.checkpoint";
const DIGEST_KEY: &str = "ttfs.checkpoint.digest";

/// FNV-1a 64 of the state's JSON text and each tensor (in name order): its name, shape and
/// little-endian values.
fn digest<'a>(json: &str, tensors: impl Iterator<Item = (&'a str, &'a [usize], &'a [u8])>) -> u64 {
    let mut sorted: Vec<_> = tensors.collect();
    sorted.sort_by_key(|(name, _, _)| *name);
    let mut h = Fnv1a64::new();
    h.update(json.as_bytes());
    for (name, shape, bytes) in sorted {
        h.update(&[0xff]);
        h.update(name.as_bytes());
        for d in shape {
            h.update(&(*d as u64).to_le_bytes());
        }
        h.update(bytes);
    }
    h.finish()
}

/// Progress and configuration stored beside the tensors.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CheckpointState {
    /// Layout version.
    pub version: u32,
    /// The run's configuration.
    pub config: TrainConfig,
    /// Epochs completed.
    pub epochs_done: u32,
    /// Optimiser steps taken.
    pub optimizer_step: u64,
    /// Training wall time so far, in seconds.
    pub wall_seconds: f64,
    /// The log records of the epochs done.
    pub records: Vec<EpochRecord>,
}

/// What a checkpoint holds.
pub struct Checkpoint {
    /// Progress and configuration.
    pub state: CheckpointState,
    /// Parameters by name.
    pub params: BTreeMap<String, Tensor>,
    /// First moments by parameter name.
    pub adam_m: BTreeMap<String, Tensor>,
    /// Second moments by parameter name.
    pub adam_v: BTreeMap<String, Tensor>,
}

/// Errors reading or writing a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// File system error.
    #[error("checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a checkpoint of this version, or damaged.
    #[error("checkpoint {path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

struct F32View {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &F32View {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn view(t: &Tensor) -> candle_core::Result<F32View> {
    let data = t.flatten_all()?.to_vec1::<f32>()?;
    Ok(F32View {
        shape: t.dims().to_vec(),
        bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
    })
}

/// The configuration of the run whose checkpoint is at `path` (the whole file read and its
/// digest checked), for a resume to hold its flags against.
///
/// # Errors
/// As [`Checkpoint::read`].
pub fn checkpoint_config(path: &Path) -> Result<TrainConfig, CheckpointError> {
    Ok(Checkpoint::read(path)?.state.config)
}

impl Checkpoint {
    /// Writes the checkpoint atomically.
    pub fn write(&self, path: &Path) -> Result<(), CheckpointError> {
        let format = |reason: String| CheckpointError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let mut views = Vec::new();
        let groups = [
            ("param", &self.params),
            ("adam.m", &self.adam_m),
            ("adam.v", &self.adam_v),
        ];
        for (prefix, map) in groups {
            for (name, t) in map {
                views.push((
                    format!("{prefix}.{name}"),
                    view(t).map_err(|e| format(e.to_string()))?,
                ));
            }
        }
        let json = serde_json::to_string(&self.state).map_err(|e| format(e.to_string()))?;
        let digest = digest(
            &json,
            views
                .iter()
                .map(|(n, v)| (n.as_str(), v.shape.as_slice(), v.bytes.as_slice())),
        );
        let metadata = HashMap::from([
            (METADATA_KEY.to_string(), json),
            (DIGEST_KEY.to_string(), format!("fnv1a64:{digest:016x}")),
        ]);
        let bytes =
            safetensors::serialize(views.iter().map(|(n, v)| (n.as_str(), v)), Some(metadata))
                .map_err(|e| format(e.to_string()))?;
        write_atomic(path, &bytes).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source: source.into(),
        })
    }

    /// Reads a checkpoint written by [`Checkpoint::write`].
    pub fn read(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let format = |reason: String| CheckpointError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (_, meta) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| format(format!("not a safetensors file ({e})")))?;
        let json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| {
                format(format!(
                    "no '{METADATA_KEY}' metadata: not a ttfs checkpoint"
                ))
            })?;
        let state: CheckpointState =
            serde_json::from_str(json).map_err(|e| format(format!("bad metadata: {e}")))?;
        if state.version != CHECKPOINT_VERSION {
            return Err(format(format!(
                "checkpoint version {} is not supported (this build reads version {CHECKPOINT_VERSION})",
                state.version
            )));
        }
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| format(e.to_string()))?;
        let stored = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(DIGEST_KEY))
            .ok_or_else(|| format(format!("no '{DIGEST_KEY}': it cannot be checked")))?;
        let views = tensors.tensors();
        let found = digest(
            json,
            views.iter().map(|(n, t)| (n.as_str(), t.shape(), t.data())),
        );
        if *stored != format!("fnv1a64:{found:016x}") {
            return Err(format(format!(
                "its contents do not match its digest ({stored}, contents fnv1a64:{found:016x}): \
                 damaged or edited; train again from the model, or from an older checkpoint"
            )));
        }
        let mut ckpt = Checkpoint {
            state,
            params: BTreeMap::new(),
            adam_m: BTreeMap::new(),
            adam_v: BTreeMap::new(),
        };
        for (name, t) in tensors.tensors() {
            if t.dtype() != Dtype::F32 {
                return Err(format(format!(
                    "tensor {name} is {:?}, expected F32",
                    t.dtype()
                )));
            }
            let values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let tensor = Tensor::from_vec(values, t.shape(), &Device::Cpu)
                .map_err(|e| format(e.to_string()))?;
            let (map, key) = if let Some(k) = name.strip_prefix("param.") {
                (&mut ckpt.params, k)
            } else if let Some(k) = name.strip_prefix("adam.m.") {
                (&mut ckpt.adam_m, k)
            } else if let Some(k) = name.strip_prefix("adam.v.") {
                (&mut ckpt.adam_v, k)
            } else {
                return Err(format(format!("unexpected tensor {name}")));
            };
            map.insert(key.to_string(), tensor);
        }
        Ok(ckpt)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn sample(dir: &Path) -> (Checkpoint, PathBuf) {
        let t = |v: Vec<f32>| Tensor::from_vec(v, (2,), &Device::Cpu).unwrap();
        let state = CheckpointState {
            version: CHECKPOINT_VERSION,
            config: TrainConfig::recipe("mnist", dir.to_path_buf(), "784-10"),
            epochs_done: 3,
            optimizer_step: 42,
            wall_seconds: 1.5,
            records: Vec::new(),
        };
        let ckpt = Checkpoint {
            state,
            params: BTreeMap::from([("layers.1.weight".to_string(), t(vec![1.0, -2.5]))]),
            adam_m: BTreeMap::from([("layers.1.weight".to_string(), t(vec![0.1, 0.2]))]),
            adam_v: BTreeMap::from([("layers.1.weight".to_string(), t(vec![0.01, 0.02]))]),
        };
        (ckpt, dir.join("run.ckpt.safetensors"))
    }

    #[test]
    fn round_trip_keeps_every_tensor_and_the_progress() {
        let dir = tempfile::tempdir().unwrap();
        let (ckpt, path) = sample(dir.path());
        ckpt.write(&path).unwrap();
        let back = Checkpoint::read(&path).unwrap();
        assert_eq!(back.state.epochs_done, 3);
        assert_eq!(back.state.optimizer_step, 42);
        assert_eq!(back.state.config, ckpt.state.config);
        let v = |m: &BTreeMap<String, Tensor>| m["layers.1.weight"].to_vec1::<f32>().unwrap();
        assert_eq!(v(&back.params), vec![1.0, -2.5]);
        assert_eq!(v(&back.adam_m), vec![0.1, 0.2]);
        assert_eq!(v(&back.adam_v), vec![0.01, 0.02]);
        assert!(!path.with_extension("safetensors.tmp").exists());
    }

    /// Every bit of a tensor's values, and every digit of the state, is covered by the digest.
    #[test]
    fn a_flipped_bit_anywhere_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (ckpt, path) = sample(dir.path());
        ckpt.write(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // The tensor data is the file's tail: 3 tensors of 2 values.
        for at in bytes.len() - 24..bytes.len() {
            for bit in [0, 3, 7] {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                std::fs::write(&path, &damaged).unwrap();
                let err = Checkpoint::read(&path).err().unwrap().to_string();
                assert!(
                    err.contains("do not match its digest") && err.contains("run.ckpt"),
                    "byte {at} bit {bit}: {err}"
                );
            }
        }
        let key = br#"\"epochs_done\":3"#;
        let at = bytes
            .windows(key.len())
            .position(|w| w == key)
            .expect("the state holds epochs_done");
        let mut edited = bytes.clone();
        edited[at + key.len() - 1] = b'4';
        std::fs::write(&path, &edited).unwrap();
        let err = Checkpoint::read(&path).err().unwrap().to_string();
        assert!(err.contains("do not match its digest"), "{err}");
    }

    #[test]
    fn damaged_or_foreign_files_are_refused_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ckpt, path) = sample(dir.path());
        std::fs::write(&path, b"not a checkpoint").unwrap();
        let err = Checkpoint::read(&path).err().unwrap().to_string();
        assert!(
            err.contains("not a safetensors file") && err.contains("run.ckpt"),
            "{err}"
        );
        ckpt.state.version = 99;
        ckpt.write(&path).unwrap();
        let err = Checkpoint::read(&path).err().unwrap().to_string();
        assert!(err.contains("version 99 is not supported"), "{err}");
        // A model file (or any safetensors without our metadata) is not a checkpoint.
        let bytes = safetensors::serialize(Vec::<(&str, &F32View)>::new(), None).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let err = Checkpoint::read(&path).err().unwrap().to_string();
        assert!(err.contains("not a ttfs checkpoint"), "{err}");
    }

    /// Fuzzing: a checkpoint with bytes flipped, cut or appended is refused, or reads back as
    /// exactly what was written (a flip in the header's JSON whitespace changes nothing): a
    /// resumed run never trains on from damaged state. `TTFS_FUZZ_CASES=N` (`TTFS_FUZZ_SEED`)
    /// for a longer campaign, `TTFS_FUZZ_REPORT=1` to print the counts.
    #[test]
    fn damaged_checkpoints_are_refused_or_read_back_exactly() {
        use rand::{Rng, SeedableRng};
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        let cases = env("TTFS_FUZZ_CASES").unwrap_or(300);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(env("TTFS_FUZZ_SEED").unwrap_or(1));
        let dir = tempfile::tempdir().unwrap();
        let (ckpt, path) = sample(dir.path());
        ckpt.write(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let values = |c: &Checkpoint| -> Vec<(String, Vec<u32>)> {
            [&c.params, &c.adam_m, &c.adam_v]
                .iter()
                .flat_map(|m| m.iter())
                .map(|(k, t)| {
                    let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                    (k.clone(), v.iter().map(|x| x.to_bits()).collect())
                })
                .collect()
        };
        let original = values(&ckpt);
        let state = serde_json::to_string(&ckpt.state).unwrap();
        let (mut refused, mut same) = (0u64, 0u64);
        for _ in 0..cases {
            let mut damaged = bytes.clone();
            match rng.gen_range(0..4) {
                0 => {
                    let at = rng.gen_range(0..damaged.len());
                    damaged.truncate(at);
                }
                1 => damaged.extend((0..rng.gen_range(1..9)).map(|_| rng.r#gen::<u8>())),
                _ => {
                    for _ in 0..rng.gen_range(1..=3) {
                        let at = rng.gen_range(0..damaged.len());
                        damaged[at] ^= rng.gen_range(1..=255u8);
                    }
                }
            }
            std::fs::write(&path, &damaged).unwrap();
            match Checkpoint::read(&path) {
                Err(_) => refused += 1,
                Ok(back) => {
                    assert_eq!(serde_json::to_string(&back.state).unwrap(), state);
                    assert_eq!(values(&back), original, "accepted damaged tensors");
                    same += 1;
                }
            }
        }
        if std::env::var("TTFS_FUZZ_REPORT").is_ok() {
            eprintln!("checkpoints: {cases} cases, {refused} refused, {same} read back exactly");
        }
    }
}
