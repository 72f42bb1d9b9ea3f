//! Where a training run writes its files: the model and, beside it, the checkpoint and the
//! epoch log.

use std::path::{Path, PathBuf};

/// Where a run writes its files.
#[derive(Clone, Debug)]
pub struct RunPaths {
    /// The trained model.
    pub model: PathBuf,
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// The per-epoch JSON-lines log.
    pub log: PathBuf,
    /// The model of the best epoch on the validation split, when the run holds one out.
    pub best: PathBuf,
}

impl RunPaths {
    /// Derives the side files from the model path (`X.safetensors` -> `X.ckpt.safetensors`,
    /// `X.train.jsonl`, `X.best.safetensors`).
    pub fn for_model(model: &Path) -> RunPaths {
        let stem = model.with_extension("");
        let side = |suffix: &str| {
            let mut s = stem.as_os_str().to_owned();
            s.push(suffix);
            PathBuf::from(s)
        };
        RunPaths {
            model: model.to_path_buf(),
            checkpoint: side(".ckpt.safetensors"),
            log: side(".train.jsonl"),
            best: side(".best.safetensors"),
        }
    }
}
