//! What defines a training run, in one place: [`TrainConfig`] (stored in checkpoints, recorded
//! in the exported model) and every rule a configuration must obey
//! ([`TrainConfig::validate`], with its own error, [`ConfigError`]). Split along its jobs:
//!
//! - `recipe`: the measured default recipes ([`TrainConfig::recipe`]).
//! - `overrides`: the settings a user may change on top of a recipe ([`Overrides`], what
//!   `ttfs train`'s flags say) and their application ([`TrainConfig::with_overrides`]). The
//!   CLI only turns flags into [`Overrides`].
//! - `prune`: how much of each layer pruning removes ([`Prune`]).
//! - `resume`: what a resumed run continues ([`TrainConfig::resumed`]); a flag that
//!   contradicts the checkpoint is refused, not ignored.

mod overrides;
mod prune;
mod recipe;
mod resume;

use std::path::PathBuf;

use ttfs_compiler::model::{QuantizedFor, TieBreak, WeightNorm};

pub use overrides::{DecodeKind, InitKind, InputKind, Overrides, SurrogateKind};
pub use prune::Prune;

use crate::arch::LayerOptions;
use crate::decode::{Loss, Weighting};
use crate::init::Init;
use crate::input::Encoding;
use crate::ops::neuron::{FireConfig, Surrogate};
use crate::optim::AdamWConfig;
use crate::regularize::{Sparsity, SparsityMethod};

/// The data sets the trainer knows (their names in the model file).
pub const DATASETS: [&str; 2] = ["mnist", "fashion-mnist"];

/// A setting that breaks a rule: the setting (as `ttfs train` names it) and the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The data set is not one the trainer knows.
    #[error("unknown dataset '{0}' (expected mnist or fashion-mnist)")]
    UnknownDataset(String),
    /// A value out of its range, or a setting that needs another.
    #[error("{setting} {rule}")]
    Invalid {
        /// The setting, e.g. `--levels` or `time steps T`.
        setting: &'static str,
        /// The rule it breaks, e.g. `takes 1 to 255 quantization levels, got 0`.
        rule: String,
    },
    /// A flag given with `--resume` says another thing than the checkpoint it resumes.
    #[error(
        "--resume: {flag} gives {given}, but the checkpoint was trained with {kept}; a resumed \
         run continues the checkpoint's configuration (only --epochs may raise its epochs): \
         drop {flag}, or start another run with another --out"
    )]
    Resume {
        /// The flag, as `ttfs train` names it.
        flag: &'static str,
        /// The checkpoint's value.
        kept: String,
        /// The value the flags give.
        given: String,
    },
}

/// Replaces `target` by `value` if there is one.
fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

fn invalid(setting: &'static str, rule: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        rule: rule.into(),
    }
}

/// Everything that defines a training run (stored in checkpoints; `--resume` reuses it).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Data set name (`mnist`, `fashion-mnist`), recorded in the model.
    pub dataset: String,
    /// Folder with the four IDX files.
    pub data_dir: PathBuf,
    /// Architecture name or spec string ([`crate::arch`]).
    pub arch: String,
    /// Epochs to train in total.
    pub epochs: u32,
    /// Samples per batch.
    pub batch_size: usize,
    /// Optimiser settings (peak learning rate, weight decay, ...).
    pub optimizer: AdamWConfig,
    /// Time steps `T`.
    pub steps: usize,
    /// Seed of initialisation, sample order and augmentation.
    pub seed: u64,
    /// Weight initialisation (its gain also scales normalised weights).
    pub init: Init,
    /// Weight normalisation on or off.
    pub weight_norm: bool,
    /// Learnable per-neuron scale (the affine transform's gamma) on or off.
    pub affine: bool,
    /// Learnable per-neuron shift (bias) on or off.
    pub bias: bool,
    /// Temporal weighting of the decoder.
    pub weighting: Weighting,
    /// Logit scale of the TWD cross-entropy.
    pub logit_scale: f32,
    /// Weight of the cross-entropy on the output potentials `H[T]`.
    pub potential_weight: f32,
    /// Weight of the first-spike term ([`crate::decode::Loss::first_spike_term`]); 0 in runs
    /// written before it existed.
    #[serde(default)]
    pub first_spike_weight: f32,
    /// Neuron firing threshold.
    pub threshold: f32,
    /// Surrogate derivative.
    pub surrogate: Surrogate,
    /// Let gradients flow through the not-yet-fired mask.
    pub mask_grad: bool,
    /// Input encoding.
    pub encoding: Encoding,
    /// Tie-break of the decision rule (written into the model for the chip).
    pub tie_break: TieBreak,
    /// Random-crop augmentation with this zero padding, if any.
    pub crop_pad: Option<usize>,
    /// Train on the first N training images only.
    pub train_limit: Option<usize>,
    /// Evaluate on the first N test images only.
    pub test_limit: Option<usize>,
    /// Training images held out as a validation split (the last N of the training set, after
    /// `train_limit`), on which each epoch is scored to pick the best one; 0: none (and in
    /// runs written before it existed).
    #[serde(default)]
    pub validation: usize,
    /// Sparse-firing regularization of the hidden layers (none by default; absent in
    /// checkpoints written before it existed).
    #[serde(default)]
    pub sparsity: Sparsity,
    /// Start from this trained model's weights instead of a fresh initialisation (fine-tuning,
    /// e.g. with a sparse-firing regularizer); its architecture must match `arch`.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// With `init_from`: the fraction of each hidden-input layer's weights (every weighted
    /// layer but the output one) pruned by magnitude before fine-tuning; the pruned weights
    /// stay zero through training and are exported as zeros (no synapse on the chip).
    #[serde(default)]
    pub prune: Option<Prune>,
    /// Quantization-aware training: the forward pass uses the integer weights, biases and
    /// thresholds of a target with these widths (`crate::qat`), and the model is exported with
    /// them, so it compiles to exactly the integers it was trained with.
    #[serde(default)]
    pub quantize: Option<QuantizedFor>,
}

impl TrainConfig {
    /// The firing scan's settings.
    pub fn fire(&self) -> FireConfig {
        FireConfig {
            threshold: self.threshold,
            surrogate: self.surrogate,
            mask_grad: self.mask_grad,
            soft: false,
        }
    }

    /// How the architecture's layers are built (weight norm, affine scale, bias).
    pub fn layer_options(&self) -> LayerOptions {
        LayerOptions {
            weight_norm: self.weight_norm.then_some(WeightNorm {
                gain: self.init.gain(self.steps),
                eps: 1e-5,
            }),
            affine_scale: self.affine,
            bias: self.bias,
        }
    }

    /// The decoding loss.
    pub fn loss(&self) -> Loss {
        Loss {
            weights: self.weighting.weights(self.steps),
            logit_scale: self.logit_scale,
            potential_weight: self.potential_weight,
            potential_at_decision: self.tie_break == TieBreak::PotentialAtDecision,
            first_spike_weight: self.first_spike_weight,
            threshold: self.threshold,
        }
    }

    /// Checks every rule of a configuration: the ranges of T, batch, learning rate, epochs,
    /// threshold, thermometer levels, the first-spike weight and the sparse-firing settings,
    /// and that a regularizer strength or target rate comes with a regularizer.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first setting that breaks its rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.steps == 0 || self.steps > 1024 {
            return Err(invalid("time steps T", "must be between 1 and 1024"));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch size", "must be at least 1"));
        }
        if !(self.optimizer.lr > 0.0 && self.optimizer.lr.is_finite()) {
            return Err(invalid("learning rate", "must be a positive number"));
        }
        if self.epochs == 0 {
            return Err(invalid("epochs", "must be at least 1"));
        }
        if !(self.threshold > 0.0 && self.threshold.is_finite()) {
            return Err(invalid("threshold", "must be a positive number"));
        }
        if let Encoding::Thermometer { levels } = self.encoding {
            if !(1..=255).contains(&levels) {
                return Err(invalid(
                    "--levels",
                    format!("takes 1 to 255 quantization levels, got {levels}"),
                ));
            }
        }
        let w = self.first_spike_weight;
        if !w.is_finite() || w < 0.0 {
            return Err(invalid(
                "--first-spike-weight",
                format!("must be a number of at least 0, got {w}"),
            ));
        }
        if let Some(q) = &self.quantize {
            if !(2..=16).contains(&q.weight_bits) {
                return Err(invalid(
                    "--weight-bits",
                    format!("takes 2 to 16 bits, got {}", q.weight_bits),
                ));
            }
            if !matches!(self.encoding, Encoding::Latency) {
                return Err(invalid(
                    "--weight-bits",
                    "(quantization-aware training) supports latency input only: the \
                     thermometer's lines reach the first layer folded with their own factors",
                ));
            }
        }
        if let Some(prune) = &self.prune {
            prune.validate()?;
            if self.init_from.is_none() {
                return Err(invalid(
                    "--prune",
                    "prunes a trained model before fine-tuning it: add --from MODEL",
                ));
            }
        }
        let s = &self.sparsity;
        if !s.gamma.is_finite() || s.gamma < 0.0 {
            return Err(invalid("--gamma", "must be a number of at least 0"));
        }
        if s.gamma > 0.0 && s.method == SparsityMethod::None {
            return Err(invalid(
                "--gamma",
                "needs a regularizer: add --sparsity count, m-ssr or f-ssr",
            ));
        }
        if s.layer_weights.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(invalid(
                "--xi",
                "takes numbers of at least 0, one per hidden layer",
            ));
        }
        if let Some(r) = s.target_rate {
            if !(0.0..1.0).contains(&r) {
                return Err(invalid(
                    "--target-rate",
                    format!("is a firing fraction from 0 up to (not including) 1, got {r}"),
                ));
            }
            if s.method == SparsityMethod::None {
                return Err(invalid(
                    "--target-rate",
                    "needs a regularizer: add --sparsity count, m-ssr or f-ssr",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
