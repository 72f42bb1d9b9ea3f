//! What defines a training run, in one place: [`TrainConfig`] (stored in checkpoints, recorded
//! in the exported model), the measured default recipes ([`TrainConfig::recipe`]), the
//! settings a user may change on top of a recipe ([`Overrides`], what `ttfs train`'s flags
//! say) and every rule a configuration must obey ([`TrainConfig::validate`], with its own
//! error, [`ConfigError`]). The CLI only turns flags into [`Overrides`].

use std::path::PathBuf;

use ttfs_compiler::model::{QuantizedFor, TieBreak, WeightNorm};

use crate::arch::{LayerOptions, with_max_pool};
use crate::decode::{Loss, Weighting};
use crate::init::Init;
use crate::input::{DEFAULT_THERMOMETER_LEVELS, Encoding};
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

/// How much of each hidden-input layer (every weighted layer but the output one) pruning
/// removes: one fraction for all of them, or one per layer in order (`--prune 0,0.5,0.8`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Prune {
    /// The same fraction, above 0 and below 1, in every hidden-input layer.
    All(f32),
    /// One fraction per hidden-input layer, each at least 0 and below 1 (0 keeps the layer
    /// whole).
    PerLayer(Vec<f32>),
}

impl Prune {
    /// Reads `--prune`'s value: one fraction, or several separated by commas.
    ///
    /// # Errors
    /// A sentence naming the part that is not a number.
    pub fn parse(text: &str) -> Result<Prune, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let mut values = Vec::with_capacity(parts.len());
        for part in &parts {
            values.push(part.parse::<f32>().map_err(|_| {
                format!("'{part}' is not a fraction (e.g. 0.5, or 0,0.5,0.8 per layer)")
            })?);
        }
        Ok(match values.as_slice() {
            [one] => Prune::All(*one),
            _ => Prune::PerLayer(values),
        })
    }

    /// The fractions for `layers` hidden-input layers, in order.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when a per-layer list does not have one fraction per layer.
    pub fn fractions(&self, layers: usize) -> Result<Vec<f32>, ConfigError> {
        match self {
            Prune::All(f) => Ok(vec![*f; layers]),
            Prune::PerLayer(v) if v.len() == layers => Ok(v.clone()),
            Prune::PerLayer(v) => Err(invalid(
                "--prune",
                format!(
                    "lists {} fractions but the network has {layers} hidden-input layers (every \
                     weighted layer but the output one)",
                    v.len()
                ),
            )),
        }
    }

    /// Checks every fraction's range.
    fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Prune::All(f) if !(*f > 0.0 && *f < 1.0) => Err(invalid(
                "--prune",
                format!("is the fraction of weights to remove, above 0 and below 1, got {f}"),
            )),
            Prune::PerLayer(v) => {
                if let Some(f) = v.iter().find(|f| !(**f >= 0.0 && **f < 1.0)) {
                    return Err(invalid(
                        "--prune",
                        format!("takes per-layer fractions of at least 0 and below 1, got {f}"),
                    ));
                }
                if v.iter().all(|f| *f == 0.0) {
                    return Err(invalid("--prune", "removes nothing: every fraction is 0"));
                }
                Ok(())
            }
            Prune::All(_) => Ok(()),
        }
    }
}

impl std::fmt::Display for Prune {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prune::All(x) => write!(f, "{x}"),
            Prune::PerLayer(v) => {
                let parts: Vec<String> = v.iter().map(f32::to_string).collect();
                write!(f, "{}", parts.join(","))
            }
        }
    }
}

impl TrainConfig {
    /// The measured default recipe for `arch` on `dataset` (see the trainer's RECIPES.md).
    pub fn recipe(dataset: &str, data_dir: PathBuf, arch: &str) -> TrainConfig {
        // Fashion-MNIST needs its grey levels: latency-coded networks stop near a linear
        // classifier of the silhouette (RECIPES.md: 81% for the MLP), the thermometer code with
        // the gradient kept off the not-yet-fired mask and a wider surrogate reaches 87.25% on
        // the MLP (84.25% against 81.06% in the 3-epoch probes). Four levels keep an MLP's
        // first layer (3,136 lines) inside a 4,096-axon core.
        //
        // On MNIST, T = 2 with the tie break at the decision step (RECIPES.md, "The first spike
        // decides"): step 1 carries every pixel of at least 128, the output that fires first is
        // nearly always alone (1.6% of test images tied against 99.97% at T = 8) and the
        // decision never waits for step T, so early exit loses nothing (98.51% either way, the
        // same as T = 8's 98.50% decided at the end). The CNN needs a larger ETTFS gain there:
        // with g = T = 2 it starts with 2% of its first layer firing and none of the others;
        // g = 16 starts at 11-25% and reaches 99.44% (RECIPES.md row H2).
        let fashion = dataset == "fashion-mnist";
        let cnn_gain = (arch == "cnn" && !fashion).then_some(16.0);
        TrainConfig {
            dataset: dataset.to_string(),
            data_dir,
            arch: arch.to_string(),
            epochs: 20,
            batch_size: 128,
            optimizer: AdamWConfig {
                lr: 1e-2,
                ..AdamWConfig::default()
            },
            steps: if fashion { 8 } else { 2 },
            seed: 1,
            init: Init::Ettfs { gain: cnn_gain },
            weight_norm: true,
            affine: true,
            bias: true,
            weighting: Weighting::Exponential { lambda: 0.5 },
            logit_scale: 10.0,
            potential_weight: 1.0,
            first_spike_weight: 0.0,
            threshold: 1.0,
            surrogate: Surrogate::Sigmoid {
                alpha: if fashion { 1.0 } else { 4.0 },
            },
            mask_grad: !fashion,
            encoding: if fashion {
                Encoding::Thermometer {
                    levels: DEFAULT_THERMOMETER_LEVELS,
                }
            } else {
                Encoding::Latency
            },
            tie_break: if fashion {
                TieBreak::PotentialAtEnd
            } else {
                TieBreak::PotentialAtDecision
            },
            // Random crops: pad 1 on MNIST (RECIPES.md row D: 98.50% against 98.10% without),
            // pad 2 on Fashion-MNIST (the ETTFS paper's augmentation).
            crop_pad: Some(if fashion { 2 } else { 1 }),
            train_limit: None,
            test_limit: None,
            sparsity: Sparsity::default(),
            init_from: None,
            prune: None,
            quantize: None,
        }
    }

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
        let mut c = TrainConfig::recipe(dataset, data_dir, arch);
        if o.max_pool {
            c.arch = with_max_pool(arch);
        }
        set(&mut c.epochs, o.epochs);
        set(&mut c.batch_size, o.batch_size);
        set(&mut c.optimizer.lr, o.lr);
        set(&mut c.optimizer.weight_decay, o.weight_decay);
        set(&mut c.steps, o.steps);
        set(&mut c.seed, o.seed);
        c.init = match (o.init, o.init_gain) {
            (Some(InitKind::Kaiming), Some(_)) => {
                return Err(invalid("--init-gain", "applies to --init ettfs only"));
            }
            (Some(InitKind::Kaiming), None) => Init::Kaiming,
            (_, Some(gain)) => Init::Ettfs { gain: Some(gain) },
            // No gain keeps the recipe's, e.g. the MNIST CNN's 16.
            (_, None) => match c.init {
                Init::Ettfs { gain } => Init::Ettfs { gain },
                Init::Kaiming => Init::Ettfs { gain: None },
            },
        };
        set(&mut c.weight_norm, o.weight_norm);
        set(&mut c.affine, o.affine);
        set(&mut c.bias, o.bias);
        c.weighting = match o.decode {
            Some(DecodeKind::Linear) => Weighting::Linear,
            _ => Weighting::Exponential {
                lambda: o.lambda.unwrap_or(0.5),
            },
        };
        set(&mut c.logit_scale, o.logit_scale);
        set(&mut c.potential_weight, o.potential_weight);
        // The recipe's steepness stands unless --alpha or --surrogate says otherwise.
        let recipe_alpha = match c.surrogate {
            Surrogate::Sigmoid { alpha } => alpha,
            Surrogate::Atan { .. } => 4.0,
        };
        c.surrogate = match o.surrogate {
            Some(SurrogateKind::Atan) => Surrogate::Atan {
                alpha: o.alpha.unwrap_or(2.0),
            },
            _ => Surrogate::Sigmoid {
                alpha: o.alpha.unwrap_or(recipe_alpha),
            },
        };
        set(&mut c.mask_grad, o.mask_grad);
        match o.input {
            Some(InputKind::Latency) => c.encoding = Encoding::Latency,
            Some(InputKind::Direct) => c.encoding = Encoding::Direct,
            Some(InputKind::Thermometer) => {
                c.encoding = Encoding::Thermometer {
                    levels: DEFAULT_THERMOMETER_LEVELS,
                }
            }
            None => {}
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
        c.train_limit = o.train_limit;
        c.test_limit = o.test_limit;
        c.init_from.clone_from(&o.init_from);
        c.prune.clone_from(&o.prune);
        c.quantize = o.quantize;
        set(&mut c.first_spike_weight, o.first_spike_weight);
        c.sparsity = Sparsity {
            method: o.sparsity.unwrap_or(SparsityMethod::None),
            gamma: o.gamma.unwrap_or(0.0),
            layer_weights: o.xi.clone(),
            margin: o.margin.unwrap_or(0.0),
            target_rate: o.target_rate,
        };
        c.validate()?;
        Ok(c)
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
    /// Start from this trained model's weights.
    pub init_from: Option<PathBuf>,
    /// Prune this fraction of each hidden-input layer's weights before fine-tuning.
    pub prune: Option<Prune>,
    /// Train with the integer weights of a target of these widths.
    pub quantize: Option<QuantizedFor>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn with(o: Overrides) -> Result<TrainConfig, ConfigError> {
        TrainConfig::with_overrides("mnist", PathBuf::from("d"), "mlp", &o)
    }

    #[test]
    fn the_recipe_without_overrides_is_valid_and_unchanged() {
        let c = with(Overrides::default()).unwrap();
        assert_eq!(c, TrainConfig::recipe("mnist", PathBuf::from("d"), "mlp"));
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn no_init_flag_keeps_every_recipes_gain_the_mnist_cnns_16_included() {
        for (dataset, arch) in [("mnist", "cnn"), ("mnist", "mlp"), ("fashion-mnist", "cnn")] {
            let c = TrainConfig::with_overrides(
                dataset,
                PathBuf::from("d"),
                arch,
                &Overrides::default(),
            )
            .unwrap();
            assert_eq!(
                c,
                TrainConfig::recipe(dataset, PathBuf::from("d"), arch),
                "{dataset} {arch}"
            );
        }
        let cnn = TrainConfig::recipe("mnist", PathBuf::from("d"), "cnn");
        assert_eq!(cnn.init, Init::Ettfs { gain: Some(16.0) });
        let explicit = Overrides {
            init: Some(InitKind::Ettfs),
            ..Overrides::default()
        };
        let c = TrainConfig::with_overrides("mnist", PathBuf::from("d"), "cnn", &explicit).unwrap();
        assert_eq!(c.init, Init::Ettfs { gain: Some(16.0) });
        let gain = Overrides {
            init_gain: Some(3.0),
            ..Overrides::default()
        };
        let c = TrainConfig::with_overrides("mnist", PathBuf::from("d"), "cnn", &gain).unwrap();
        assert_eq!(c.init, Init::Ettfs { gain: Some(3.0) });
    }

    #[test]
    fn quantization_aware_training_takes_2_to_16_bits_and_latency_input() {
        let spec = |bits| QuantizedFor {
            weight_bits: bits,
            threshold_bits: 16,
            per_neuron_threshold: true,
        };
        let rule = |dataset: &str, bits| {
            TrainConfig {
                quantize: Some(spec(bits)),
                ..TrainConfig::recipe(dataset, PathBuf::from("d"), "mlp")
            }
            .validate()
            .map_err(|e| e.to_string())
        };
        assert_eq!(rule("mnist", 4), Ok(()));
        assert_eq!(
            rule("mnist", 1),
            Err("--weight-bits takes 2 to 16 bits, got 1".into())
        );
        assert_eq!(
            rule("mnist", 17),
            Err("--weight-bits takes 2 to 16 bits, got 17".into())
        );
        let err = rule("fashion-mnist", 4).unwrap_err();
        assert!(err.contains("supports latency input only"), "{err}");
    }

    #[test]
    fn prune_takes_one_fraction_or_one_per_layer_in_range() {
        assert_eq!(Prune::parse("0.5"), Ok(Prune::All(0.5)));
        assert_eq!(
            Prune::parse("0, 0.5,0.8"),
            Ok(Prune::PerLayer(vec![0.0, 0.5, 0.8]))
        );
        assert!(
            Prune::parse("0,x")
                .unwrap_err()
                .contains("'x' is not a fraction")
        );
        assert_eq!(Prune::PerLayer(vec![0.0, 0.5]).to_string(), "0,0.5");
        assert_eq!(Prune::All(0.25).fractions(3), Ok(vec![0.25; 3]));
        let err = Prune::PerLayer(vec![0.0, 0.5]).fractions(3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--prune lists 2 fractions but the network has 3 hidden-input layers (every weighted \
             layer but the output one)"
        );
        let rule = |p: Prune| {
            TrainConfig {
                prune: Some(p),
                init_from: Some(PathBuf::from("m")),
                ..TrainConfig::recipe("mnist", PathBuf::from("d"), "mlp")
            }
            .validate()
            .map_err(|e| e.to_string())
        };
        assert_eq!(rule(Prune::PerLayer(vec![0.0, 0.9])), Ok(()));
        assert_eq!(
            rule(Prune::PerLayer(vec![0.0, 1.0])),
            Err("--prune takes per-layer fractions of at least 0 and below 1, got 1".into())
        );
        assert_eq!(
            rule(Prune::PerLayer(vec![0.0, 0.0])),
            Err("--prune removes nothing: every fraction is 0".into())
        );
        assert_eq!(
            rule(Prune::All(0.0)),
            Err("--prune is the fraction of weights to remove, above 0 and below 1, got 0".into())
        );
    }

    #[test]
    fn every_rule_names_its_setting() {
        let cases: Vec<(Overrides, &str)> = vec![
            (
                Overrides {
                    steps: Some(0),
                    ..Overrides::default()
                },
                "time steps T must be between 1 and 1024",
            ),
            (
                Overrides {
                    batch_size: Some(0),
                    ..Overrides::default()
                },
                "batch size must be at least 1",
            ),
            (
                Overrides {
                    lr: Some(f64::NAN),
                    ..Overrides::default()
                },
                "learning rate must be a positive number",
            ),
            (
                Overrides {
                    epochs: Some(0),
                    ..Overrides::default()
                },
                "epochs must be at least 1",
            ),
            (
                Overrides {
                    first_spike_weight: Some(-1.0),
                    ..Overrides::default()
                },
                "--first-spike-weight must be a number of at least 0, got -1",
            ),
            (
                Overrides {
                    gamma: Some(0.1),
                    ..Overrides::default()
                },
                "--gamma needs a regularizer: add --sparsity count, m-ssr or f-ssr",
            ),
            (
                Overrides {
                    sparsity: Some(SparsityMethod::MSsr),
                    gamma: Some(-0.1),
                    ..Overrides::default()
                },
                "--gamma must be a number of at least 0",
            ),
            (
                Overrides {
                    sparsity: Some(SparsityMethod::MSsr),
                    xi: vec![1.0, -2.0],
                    ..Overrides::default()
                },
                "--xi takes numbers of at least 0, one per hidden layer",
            ),
            (
                Overrides {
                    sparsity: Some(SparsityMethod::FSsr),
                    target_rate: Some(1.0),
                    ..Overrides::default()
                },
                "--target-rate is a firing fraction from 0 up to (not including) 1, got 1",
            ),
            (
                Overrides {
                    target_rate: Some(0.5),
                    ..Overrides::default()
                },
                "--target-rate needs a regularizer: add --sparsity count, m-ssr or f-ssr",
            ),
            (
                Overrides {
                    init: Some(InitKind::Kaiming),
                    init_gain: Some(2.0),
                    ..Overrides::default()
                },
                "--init-gain applies to --init ettfs only",
            ),
            (
                Overrides {
                    input: Some(InputKind::Thermometer),
                    levels: Some(256),
                    ..Overrides::default()
                },
                "--levels takes 1 to 255 quantization levels, got 256",
            ),
        ];
        for (o, message) in cases {
            assert_eq!(with(o).unwrap_err().to_string(), message);
        }
        let e = TrainConfig::with_overrides("cifar", PathBuf::new(), "mlp", &Overrides::default());
        assert_eq!(e, Err(ConfigError::UnknownDataset("cifar".into())));
    }

    #[test]
    fn a_checkpoint_configuration_is_checked_by_the_same_rules() {
        let mut c = TrainConfig::recipe("fashion-mnist", PathBuf::new(), "mlp");
        c.encoding = Encoding::Thermometer { levels: 0 };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "--levels takes 1 to 255 quantization levels, got 0"
        );
        c.encoding = Encoding::Thermometer { levels: 4 };
        c.threshold = 0.0;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "threshold must be a positive number"
        );
    }

    #[test]
    fn max_pooling_rewrites_the_architecture() {
        let o = Overrides {
            max_pool: true,
            ..Overrides::default()
        };
        let c = TrainConfig::with_overrides("mnist", PathBuf::new(), "cnn", &o).unwrap();
        assert_eq!(c.arch, "c32k3-m2-c64k3-m2-f256-f10");
    }
}
