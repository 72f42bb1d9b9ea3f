//! The settings a user may change on top of a recipe ([`Overrides`], what `ttfs train`'s
//! flags say, unchecked) and [`TrainConfig::with_overrides`], which applies and checks them.

use std::path::PathBuf;

use ttfs_compiler::model::{QuantizedFor, TieBreak};

use super::{ConfigError, DATASETS, Prune, TrainConfig, invalid, set};
use crate::arch::with_max_pool;
use crate::decode::Weighting;
use crate::init::Init;
use crate::input::{DEFAULT_THERMOMETER_LEVELS, Encoding};
use crate::ops::neuron::Surrogate;
use crate::regularize::SparsityMethod;

impl TrainConfig {
    /// The recipe for `arch` on `dataset` with `overrides` applied, validated.
    ///
    /// # Errors
    /// [`ConfigError::UnknownDataset`], or a setting that breaks a rule of [`Self::validate`]
    /// or needs another (`--init-gain` without ETTFS-init, `--levels` without thermometer
    /// input).
    pub fn with_overrides(
        dataset: &str,
        data_dir: PathBuf,
        arch: &str,
        o: &Overrides,
    ) -> Result<TrainConfig, ConfigError> {
        if !DATASETS.contains(&dataset) {
            return Err(ConfigError::UnknownDataset(dataset.to_string()));
        }
        TrainConfig::recipe(dataset, data_dir, arch).overridden(o)
    }

    /// This configuration with what `o` gives applied (what it leaves out stays as it is),
    /// validated: a recipe under the flags, or a checkpoint's configuration under the flags
    /// of a resume ([`TrainConfig::resumed`] then refuses any change but the epochs).
    ///
    /// # Errors
    /// As [`TrainConfig::with_overrides`].
    pub fn overridden(mut self, o: &Overrides) -> Result<TrainConfig, ConfigError> {
        let c = &mut self;
        if o.max_pool {
            c.arch = with_max_pool(&c.arch);
        }
        set(&mut c.epochs, o.epochs);
        set(&mut c.batch_size, o.batch_size);
        set(&mut c.optimizer.lr, o.lr);
        set(&mut c.optimizer.weight_decay, o.weight_decay);
        set(&mut c.steps, o.steps);
        set(&mut c.seed, o.seed);
        c.init = match (o.init, o.init_gain, c.init) {
            (Some(InitKind::Kaiming), Some(_), _) => {
                return Err(invalid("--init-gain", "applies to --init ettfs only"));
            }
            (Some(InitKind::Kaiming), None, _) => Init::Kaiming,
            (_, Some(gain), _) => Init::Ettfs { gain: Some(gain) },
            // No gain keeps the configuration's, e.g. the MNIST CNN recipe's 16.
            (Some(InitKind::Ettfs), None, Init::Kaiming) => Init::Ettfs { gain: None },
            (_, None, init) => init,
        };
        set(&mut c.weight_norm, o.weight_norm);
        set(&mut c.affine, o.affine);
        set(&mut c.bias, o.bias);
        let lambda = match c.weighting {
            Weighting::Exponential { lambda } => lambda,
            Weighting::Linear => 0.5,
        };
        c.weighting = match (o.decode, o.lambda) {
            (Some(DecodeKind::Linear), _) => Weighting::Linear,
            (None, None) => c.weighting,
            (_, given) => Weighting::Exponential {
                lambda: given.unwrap_or(lambda),
            },
        };
        set(&mut c.logit_scale, o.logit_scale);
        set(&mut c.potential_weight, o.potential_weight);
        // The configuration's steepness stands unless --alpha or --surrogate says otherwise;
        // a surrogate of another kind starts from that kind's default.
        c.surrogate = match (o.surrogate, c.surrogate) {
            (Some(SurrogateKind::Atan), Surrogate::Atan { alpha })
            | (None, Surrogate::Atan { alpha }) => Surrogate::Atan {
                alpha: o.alpha.unwrap_or(alpha),
            },
            (Some(SurrogateKind::Atan), Surrogate::Sigmoid { .. }) => Surrogate::Atan {
                alpha: o.alpha.unwrap_or(2.0),
            },
            (Some(SurrogateKind::Sigmoid), Surrogate::Sigmoid { alpha })
            | (None, Surrogate::Sigmoid { alpha }) => Surrogate::Sigmoid {
                alpha: o.alpha.unwrap_or(alpha),
            },
            (Some(SurrogateKind::Sigmoid), Surrogate::Atan { .. }) => Surrogate::Sigmoid {
                alpha: o.alpha.unwrap_or(4.0),
            },
        };
        set(&mut c.mask_grad, o.mask_grad);
        match o.input {
            Some(InputKind::Latency) => c.encoding = Encoding::Latency,
            Some(InputKind::Direct) => c.encoding = Encoding::Direct,
            Some(InputKind::Thermometer) if !matches!(c.encoding, Encoding::Thermometer { .. }) => {
                c.encoding = Encoding::Thermometer {
                    levels: DEFAULT_THERMOMETER_LEVELS,
                };
            }
            Some(InputKind::Thermometer) | None => {}
        }
        if let Some(levels) = o.levels {
            if !matches!(c.encoding, Encoding::Thermometer { .. }) {
                return Err(invalid(
                    "--levels",
                    "applies to thermometer input only (--input thermometer; the default for \
                     fashion-mnist)",
                ));
            }
            c.encoding = Encoding::Thermometer { levels };
        }
        set(&mut c.tie_break, o.tie_break);
        if let Some(pad) = o.crop_pad {
            c.crop_pad = (pad > 0).then_some(pad);
        }
        let some = |value: &Option<_>| value.is_some();
        if some(&o.train_limit) {
            c.train_limit = o.train_limit;
        }
        if some(&o.test_limit) {
            c.test_limit = o.test_limit;
        }
        set(&mut c.validation, o.validation);
        if o.init_from.is_some() {
            c.init_from.clone_from(&o.init_from);
        }
        if o.prune.is_some() {
            c.prune.clone_from(&o.prune);
        }
        if o.quantize.is_some() {
            c.quantize = o.quantize;
        }
        set(&mut c.first_spike_weight, o.first_spike_weight);
        let s = &mut c.sparsity;
        set(&mut s.method, o.sparsity);
        set(&mut s.gamma, o.gamma);
        if !o.xi.is_empty() {
            s.layer_weights.clone_from(&o.xi);
        }
        set(&mut s.margin, o.margin);
        if o.target_rate.is_some() {
            s.target_rate = o.target_rate;
        }
        self.validate()?;
        Ok(self)
    }
}

/// Weight initialisation, as chosen (the gain comes separately, [`Overrides::init_gain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitKind {
    /// Kaiming (He) uniform.
    Kaiming,
    /// ETTFS-init.
    Ettfs,
}

/// Temporal weighting of the decoder, as chosen (the decay comes as [`Overrides::lambda`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeKind {
    /// Exponential weights.
    Exponential,
    /// Linear weights.
    Linear,
}

/// Surrogate derivative, as chosen (the steepness comes as [`Overrides::alpha`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SurrogateKind {
    /// The sigmoid's derivative.
    Sigmoid,
    /// The arc tangent's derivative.
    Atan,
}

/// Input coding, as chosen (thermometer levels come as [`Overrides::levels`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// One spike per pixel.
    Latency,
    /// The analog value at every step.
    Direct,
    /// The quantized grey level.
    Thermometer,
}

/// Settings that replace parts of a recipe: what `ttfs train`'s flags say, unchecked (`None`
/// keeps the recipe's value). [`TrainConfig::with_overrides`] applies and checks them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// Every average pool of the architecture becomes a max pool (the ablation).
    pub max_pool: bool,
    /// Epochs in total.
    pub epochs: Option<u32>,
    /// Samples per batch.
    pub batch_size: Option<usize>,
    /// Peak learning rate.
    pub lr: Option<f64>,
    /// AdamW decoupled weight decay.
    pub weight_decay: Option<f64>,
    /// Time steps T.
    pub steps: Option<usize>,
    /// Seed.
    pub seed: Option<u64>,
    /// Initialisation.
    pub init: Option<InitKind>,
    /// ETTFS-init's variance gain.
    pub init_gain: Option<f32>,
    /// Weight normalisation.
    pub weight_norm: Option<bool>,
    /// Learnable per-neuron scale.
    pub affine: Option<bool>,
    /// Learnable per-neuron shift (bias).
    pub bias: Option<bool>,
    /// Temporal weighting of the decoder.
    pub decode: Option<DecodeKind>,
    /// Decay per step of the exponential weighting.
    pub lambda: Option<f32>,
    /// Logit scale of the decoder's cross-entropy.
    pub logit_scale: Option<f32>,
    /// Weight of the cross-entropy on the output potentials.
    pub potential_weight: Option<f32>,
    /// Weight of the first-spike term.
    pub first_spike_weight: Option<f32>,
    /// Surrogate derivative.
    pub surrogate: Option<SurrogateKind>,
    /// Surrogate steepness.
    pub alpha: Option<f32>,
    /// Gradient through the not-yet-fired mask.
    pub mask_grad: Option<bool>,
    /// Input coding.
    pub input: Option<InputKind>,
    /// Thermometer levels.
    pub levels: Option<u32>,
    /// Tie break of the decision rule.
    pub tie_break: Option<TieBreak>,
    /// Sparse-firing regularizer.
    pub sparsity: Option<SparsityMethod>,
    /// Its strength gamma.
    pub gamma: Option<f32>,
    /// Its per hidden layer weights xi.
    pub xi: Vec<f32>,
    /// F-SSR's margin.
    pub margin: Option<f32>,
    /// The firing rate above which neurons are regularized.
    pub target_rate: Option<f32>,
    /// Random-crop padding (0: off).
    pub crop_pad: Option<usize>,
    /// Train on the first N training images only.
    pub train_limit: Option<usize>,
    /// Evaluate on the first N test images only.
    pub test_limit: Option<usize>,
    /// Hold out the last N training images as a validation split.
    pub validation: Option<usize>,
    /// Start from this trained model's weights.
    pub init_from: Option<PathBuf>,
    /// Prune this fraction of each hidden-input layer's weights before fine-tuning.
    pub prune: Option<Prune>,
    /// Train with the integer weights of a target of these widths.
    pub quantize: Option<QuantizedFor>,
}
