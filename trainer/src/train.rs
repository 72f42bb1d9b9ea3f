//! The training loop: configuration, epochs with progress, evaluation, logs and checkpoints.
//!
//! A run writes, next to the model path `X.safetensors`: `X.ckpt.safetensors` (checkpoint
//! after every epoch), `X.train.jsonl` (one JSON record per epoch) and `X.curves.svg` (the
//! training curves). `resume` picks the run up from the checkpoint after a kill; because every
//! epoch's sample order and augmentation are derived from `(seed, epoch)`, the resumed run is
//! bit-identical to an uninterrupted one (on one thread; several threads may sum in another
//! order inside the matrix products).

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ttfs_compiler::model::{TieBreak, WeightNorm};

use crate::arch::{ArchError, LayerOptions, resolve};
use crate::checkpoint::{CHECKPOINT_VERSION, Checkpoint, CheckpointError, CheckpointState};
use crate::data::{self, DEFAULT_THERMOMETER_LEVELS, DataError, Dataset, Encoding, Split};
use crate::decode::{Decision, Loss, Weighting, decide};
use crate::export::{ExportError, export_model};
use crate::init::Init;
use crate::network::{Currents, Forward, InputMode, Network};
use crate::neuron::{FireConfig, Surrogate};
use crate::optim::{AdamW, AdamWConfig, cosine_lr};
use crate::regularize::Sparsity;
use crate::report::{self, EpochRecord, ReportError};

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
}

impl TrainConfig {
    /// The measured default recipe for `arch` on `dataset` (see the trainer's RECIPES.md).
    pub fn recipe(dataset: &str, data_dir: PathBuf, arch: &str) -> TrainConfig {
        // Fashion-MNIST needs its grey levels: latency-coded networks stop near a linear
        // classifier of the silhouette (RECIPES.md: 81% for the MLP), the thermometer code with
        // the gradient kept off the not-yet-fired mask and a wider surrogate reaches 87.25% on
        // the MLP (84.25% against 81.06% in the 3-epoch probes). Four levels keep an MLP's
        // first layer (3,136 lines) inside a 4,096-axon core.
        let fashion = dataset == "fashion-mnist";
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
            steps: 8,
            seed: 1,
            init: Init::Ettfs { gain: None },
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
            tie_break: TieBreak::PotentialAtEnd,
            // Random crops: pad 1 on MNIST (RECIPES.md row D: 98.50% against 98.10% without),
            // pad 2 on Fashion-MNIST (the paper's augmentation, method.md section 8).
            crop_pad: Some(if fashion { 2 } else { 1 }),
            train_limit: None,
            test_limit: None,
            sparsity: Sparsity::default(),
            init_from: None,
        }
    }

    fn fire(&self) -> FireConfig {
        FireConfig {
            threshold: self.threshold,
            surrogate: self.surrogate,
            mask_grad: self.mask_grad,
            soft: false,
        }
    }

    fn layer_options(&self) -> LayerOptions {
        LayerOptions {
            weight_norm: self.weight_norm.then_some(WeightNorm {
                gain: self.init.gain(self.steps),
                eps: 1e-5,
            }),
            affine_scale: self.affine,
            bias: self.bias,
        }
    }

    fn loss(&self) -> Loss {
        Loss {
            weights: self.weighting.weights(self.steps),
            logit_scale: self.logit_scale,
            potential_weight: self.potential_weight,
            first_spike_weight: self.first_spike_weight,
            threshold: self.threshold,
        }
    }
}

/// Errors of a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading the data set failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The architecture string is wrong.
    #[error(transparent)]
    Arch(#[from] ArchError),
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A checkpoint could not be read or written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The log or the picture could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The model could not be written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A setting is out of range.
    #[error("{0}")]
    Config(String),
}

/// Where a run writes its files.
#[derive(Clone, Debug)]
pub struct RunPaths {
    /// The trained model.
    pub model: PathBuf,
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// The per-epoch JSON-lines log.
    pub log: PathBuf,
    /// The training-curve picture.
    pub curves: PathBuf,
}

impl RunPaths {
    /// Derives the side files from the model path (`X.safetensors` -> `X.ckpt.safetensors`,
    /// `X.train.jsonl`, `X.curves.svg`).
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
            curves: side(".curves.svg"),
        }
    }
}

/// Accuracy and latency of the chip's decision rule on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Fraction of correct decisions.
    pub accuracy: f64,
    /// Mean decision step (1-based; `T` when no output fired).
    pub mean_decision_step: f64,
    /// Fraction of samples with no output spike.
    pub silent_fraction: f64,
    /// Fraction of samples where several outputs fired first together (the tie-break decided).
    pub tied_fraction: f64,
    /// Mean number of outputs firing at the decision step, over samples with an output spike.
    pub mean_tied: f64,
}

/// Observer of training progress (the CLI draws progress bars with it).
pub trait Progress {
    /// Firing per layer of the freshly initialised network (before any checkpoint is loaded).
    fn init_firing(&mut self, _layers: &[LayerFiring]) {}
    /// An epoch starts with this many batches.
    fn epoch_start(&mut self, epoch: u32, epochs: u32, batches: usize);
    /// A batch finished: running loss, accuracy and samples per second of the epoch.
    fn batch(&mut self, loss: f64, accuracy: f64, samples_per_second: f64);
    /// An epoch finished.
    fn epoch_end(&mut self, record: &EpochRecord);
}

/// A [`Progress`] that reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn epoch_start(&mut self, _: u32, _: u32, _: usize) {}
    fn batch(&mut self, _: f64, _: f64, _: f64) {}
    fn epoch_end(&mut self, _: &EpochRecord) {}
}

/// Encodes a batch of the data set into the network's input tensor.
pub fn batch_input(
    ds: &Dataset,
    indices: &[usize],
    encoding: Encoding,
    steps: usize,
    buffer: &mut Vec<f32>,
) -> candle_core::Result<(Tensor, InputMode)> {
    let images: Vec<&[u8]> = indices.iter().map(|&i| ds.image(i)).collect();
    images_input(&images, encoding, steps, buffer)
}

/// Encodes images of equal size (e.g. augmented ones) into the network's input tensor.
pub fn images_input(
    images: &[&[u8]],
    encoding: Encoding,
    steps: usize,
    buffer: &mut Vec<f32>,
) -> candle_core::Result<(Tensor, InputMode)> {
    data::encode_images(images, encoding, steps, buffer);
    let n = images.first().map_or(0, |image| image.len());
    let b = images.len();
    let values = std::mem::take(buffer);
    Ok(match encoding {
        Encoding::Latency => (
            Tensor::from_vec(values, (steps, b, n), &Device::Cpu)?,
            InputMode::Spikes,
        ),
        Encoding::Direct | Encoding::Thermometer { .. } => (
            Tensor::from_vec(values, (b, n), &Device::Cpu)?,
            InputMode::Direct,
        ),
    })
}

/// The chip's decision for every sample of a forward pass.
fn decisions_of(
    out: &Forward,
    classes: usize,
    tie: TieBreak,
) -> candle_core::Result<Vec<Decision>> {
    let (steps, batch, _) = out.out_spikes.dims3()?;
    let spikes = out.out_spikes.flatten_all()?.to_vec1::<f32>()?;
    let currents = out.out_currents.flatten_all()?.to_vec1::<f32>()?;
    Ok(decide(&spikes, &currents, steps, batch, classes, tie))
}

/// Evaluates `net` with the chip's decision rule on `ds`.
pub fn evaluate(
    net: &Network,
    ds: &Dataset,
    config: &TrainConfig,
) -> Result<Evaluation, TrainError> {
    let mut correct = 0usize;
    let mut steps_sum = 0usize;
    let mut silent = 0usize;
    let (mut tied_samples, mut tied_sum) = (0usize, 0usize);
    let mut buffer = Vec::new();
    let indices: Vec<usize> = (0..ds.len()).collect();
    let classes = net.num_classes();
    for chunk in indices.chunks(config.batch_size.max(1) * 2) {
        let (input, mode) = batch_input(ds, chunk, config.encoding, config.steps, &mut buffer)?;
        let out = net.forward_with(&input, mode, Currents::OutputOnly)?;
        let decisions = decisions_of(&out, classes, config.tie_break)?;
        for (d, &i) in decisions.iter().zip(chunk) {
            correct += usize::from(d.class == ds.labels[i] as usize);
            steps_sum += d.step.map_or(config.steps, |t| t as usize);
            silent += usize::from(d.step.is_none());
            tied_samples += usize::from(d.tied > 1);
            tied_sum += d.tied;
        }
    }
    let n = ds.len().max(1) as f64;
    Ok(Evaluation {
        accuracy: correct as f64 / n,
        mean_decision_step: steps_sum as f64 / n,
        silent_fraction: silent as f64 / n,
        tied_fraction: tied_samples as f64 / n,
        mean_tied: tied_sum as f64 / (ds.len() - silent).max(1) as f64,
    })
}

fn load_split(
    config: &TrainConfig,
    split: Split,
    limit: Option<usize>,
) -> Result<Dataset, TrainError> {
    let ds = Dataset::load(&config.data_dir, split)?;
    Ok(match limit {
        Some(n) => ds.take(n),
        None => ds,
    })
}

fn validate(config: &TrainConfig) -> Result<(), TrainError> {
    let bad = |what: &str| Err(TrainError::Config(what.to_string()));
    if config.steps == 0 || config.steps > 1024 {
        return bad("time steps T must be between 1 and 1024");
    }
    if config.batch_size == 0 {
        return bad("batch size must be at least 1");
    }
    if !(config.optimizer.lr > 0.0 && config.optimizer.lr.is_finite()) {
        return bad("learning rate must be a positive number");
    }
    if config.epochs == 0 {
        return bad("epochs must be at least 1");
    }
    if !(config.threshold > 0.0 && config.threshold.is_finite()) {
        return bad("threshold must be a positive number");
    }
    Ok(())
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The trained model, as written to `paths.model`.
    pub model: ttfs_compiler::model::Model,
    /// One record per epoch, including epochs done before a resume.
    pub records: Vec<EpochRecord>,
    /// Final evaluation on the test set.
    pub test: Evaluation,
    /// Firing per layer of neurons at initialisation, on up to 256 test samples.
    pub firing_at_init: Vec<LayerFiring>,
    /// Firing per layer of neurons after training, on the same samples.
    pub firing: Vec<LayerFiring>,
    /// Where the files went.
    pub paths: RunPaths,
}

/// Trains a network as `config` says, writing the model and side files of `paths`.
/// With `resume`, continues from the checkpoint at `paths.checkpoint` (its configuration wins,
/// except for the number of epochs, which may be raised).
pub fn train(
    mut config: TrainConfig,
    paths: &RunPaths,
    resume: bool,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome, TrainError> {
    let checkpoint = if resume {
        let ckpt = Checkpoint::read(&paths.checkpoint)?;
        let epochs = config.epochs.max(ckpt.state.config.epochs);
        config = ckpt.state.config.clone();
        config.epochs = epochs;
        Some(ckpt)
    } else {
        None
    };
    validate(&config)?;
    let train_set = load_split(&config, Split::Train, config.train_limit)?;
    let test_set = load_split(&config, Split::Test, config.test_limit)?;
    let net = build_network(&config, &train_set)?;
    if let (None, Some(from)) = (&checkpoint, &config.init_from) {
        load_weights(&net, from)?;
    }
    let firing_at_init = firing_stats(&net, &test_set, &config)?;
    progress.init_firing(&firing_at_init);
    let mut optimizer = AdamW::new(config.optimizer, &net.params)?;
    let mut records = Vec::new();
    let mut start_epoch = 0;
    let mut wall_before = 0.0;
    if let Some(ckpt) = checkpoint {
        for (name, var) in &net.params {
            let saved = ckpt.params.get(name).ok_or_else(|| {
                TrainError::Config(format!(
                    "checkpoint {} lacks parameter {name}",
                    paths.checkpoint.display()
                ))
            })?;
            var.set(saved)?;
        }
        optimizer.m = ckpt.adam_m;
        optimizer.v = ckpt.adam_v;
        optimizer.step = ckpt.state.optimizer_step;
        start_epoch = ckpt.state.epochs_done;
        wall_before = ckpt.state.wall_seconds;
        // The checkpoint carries the log of the epochs it holds; rewriting the file from it
        // drops any line of an epoch that was logged but never checkpointed.
        records = ckpt.state.records.clone();
        report::rewrite_jsonl(&paths.log, &records)?;
    } else if paths.log.exists() {
        std::fs::remove_file(&paths.log).map_err(|e| {
            TrainError::Config(format!("cannot replace {}: {e}", paths.log.display()))
        })?;
    }
    let loss_fn = config.loss();
    let objective = Objective {
        loss: &loss_fn,
        sparsity: &config.sparsity,
    };
    let batches_per_epoch = train_set.len().div_ceil(config.batch_size) as u64;
    let total_steps = batches_per_epoch * config.epochs as u64;
    let started = Instant::now();
    let mut buffer = Vec::new();
    let mut crop_buffer = Vec::new();
    let mut last_test = None;
    for epoch in start_epoch..config.epochs {
        let epoch_start = Instant::now();
        let order = data::epoch_permutation(train_set.len(), config.seed, epoch);
        // Random crops, drawn in sample order from a generator seeded by (seed, epoch).
        let mut crop_rng =
            ChaCha8Rng::seed_from_u64(config.seed ^ 0xA5A5_5A5A ^ ((epoch as u64) << 32));
        progress.epoch_start(epoch + 1, config.epochs, batches_per_epoch as usize);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut lr = config.optimizer.lr;
        for chunk in order.chunks(config.batch_size) {
            let (input, mode) = match config.crop_pad {
                Some(pad) => {
                    let n = train_set.pixels_per_image();
                    crop_buffer.resize(chunk.len() * n, 0);
                    for (&i, out) in chunk.iter().zip(crop_buffer.chunks_mut(n)) {
                        let (rows, cols) = (train_set.rows, train_set.cols);
                        data::random_crop(train_set.image(i), rows, cols, pad, &mut crop_rng, out);
                    }
                    let images: Vec<&[u8]> = crop_buffer.chunks(n).collect();
                    images_input(&images, config.encoding, config.steps, &mut buffer)?
                }
                None => batch_input(
                    &train_set,
                    chunk,
                    config.encoding,
                    config.steps,
                    &mut buffer,
                )?,
            };
            let labels: Vec<u32> = chunk.iter().map(|&i| train_set.labels[i] as u32).collect();
            let targets = Tensor::from_vec(labels.clone(), labels.len(), &Device::Cpu)?;
            lr = cosine_lr(config.optimizer.lr, optimizer.step, total_steps);
            let (out, loss) =
                train_step(&net, &objective, &mut optimizer, &input, mode, &targets, lr)?;
            let decisions = decisions_of(&out, net.num_classes(), config.tie_break)?;
            correct += decisions
                .iter()
                .zip(&labels)
                .filter(|(d, l)| d.class == **l as usize)
                .count();
            loss_sum += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            seen += chunk.len();
            let rate = seen as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
            progress.batch(loss_sum / seen as f64, correct as f64 / seen as f64, rate);
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let test = evaluate(&net, &test_set, &config)?;
        last_test = Some(test);
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: correct as f64 / seen.max(1) as f64,
            test_accuracy: Some(test.accuracy),
            mean_decision_step: Some(test.mean_decision_step),
            learning_rate: lr,
            samples_per_second: seen as f64 / train_seconds.max(1e-9),
            wall_seconds: wall_before + started.elapsed().as_secs_f64(),
        };
        let state = CheckpointState {
            version: CHECKPOINT_VERSION,
            config: config.clone(),
            epochs_done: epoch + 1,
            optimizer_step: optimizer.step,
            wall_seconds: record.wall_seconds,
            records: records.iter().cloned().chain([record.clone()]).collect(),
        };
        Checkpoint {
            state,
            params: net
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
                .collect(),
            adam_m: optimizer.m.clone(),
            adam_v: optimizer.v.clone(),
        }
        .write(&paths.checkpoint)?;
        report::append_jsonl(&paths.log, &record)?;
        records.push(record.clone());
        report::plot_training_curves(
            &paths.curves,
            &records,
            &format!("{} {} (T = {})", config.dataset, config.arch, config.steps),
        )?;
        progress.epoch_end(&record);
    }
    // The last epoch's evaluation is the final one; a resume with no epoch left evaluates.
    let test = match last_test {
        Some(test) => test,
        None => evaluate(&net, &test_set, &config)?,
    };
    let firing = firing_stats(&net, &test_set, &config)?;
    let wall = wall_before + started.elapsed().as_secs_f64();
    let model = export_model(&net, &config, test.accuracy, wall, &paths.model)?;
    Ok(TrainOutcome {
        model,
        records,
        test,
        firing_at_init,
        firing,
        paths: paths.clone(),
    })
}

/// A freshly initialised network for `config` on images shaped like `ds`'s (seeded by
/// `config.seed`).
fn build_network(config: &TrainConfig, ds: &Dataset) -> Result<Network, TrainError> {
    let input_shape = [1, ds.rows, ds.cols];
    let layers = resolve(&config.arch, input_shape, &config.layer_options())?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    Ok(Network::new(
        layers,
        input_shape,
        config.steps,
        config.fire(),
        config.init.gain(config.steps),
        &mut rng,
    )?)
}

/// Sets every parameter of `net` from the model file at `path`, which must hold a tensor of
/// the same name and shape for each (a model of the same architecture).
fn load_weights(net: &Network, path: &Path) -> Result<(), TrainError> {
    let model = ttfs_compiler::model::read(path)
        .map_err(|e| TrainError::Config(format!("--from {}: {e}", path.display())))?;
    for (name, var) in &net.params {
        let saved = model.tensors.get(name).ok_or_else(|| {
            TrainError::Config(format!(
                "--from {}: the model has no parameter {name} (trained for architecture {}, not this one)",
                path.display(),
                model.description.arch
            ))
        })?;
        if saved.shape != var.as_tensor().dims() {
            return Err(TrainError::Config(format!(
                "--from {}: parameter {name} has shape {:?}, this network needs {:?} (architecture {})",
                path.display(),
                saved.shape,
                var.as_tensor().dims(),
                model.description.arch
            )));
        }
        var.set(&Tensor::from_slice(
            &saved.data,
            saved.shape.as_slice(),
            &Device::Cpu,
        )?)?;
    }
    Ok(())
}

/// One optimisation step on a batch: forward, loss, backward, AdamW update at rate `lr`.
/// Returns the forward pass (for accuracy) and the loss before the update.
/// What a training step minimises: the decoding loss plus the sparse-firing term.
struct Objective<'a> {
    loss: &'a Loss,
    sparsity: &'a Sparsity,
}

fn train_step(
    net: &Network,
    objective: &Objective<'_>,
    optimizer: &mut AdamW,
    input: &Tensor,
    mode: InputMode,
    targets: &Tensor,
    lr: f64,
) -> Result<(Forward, Tensor), TrainError> {
    // The hidden layers' currents join the graph only when the sparse-firing term reads them.
    let active = objective.sparsity.is_active();
    let currents = if active {
        Currents::All
    } else {
        Currents::OutputOnly
    };
    let out = net.forward_with(input, mode, currents)?;
    let mut loss = objective
        .loss
        .compute(&out.out_spikes, &out.out_currents, targets)?;
    if active {
        let hidden = out
            .layer_currents
            .iter()
            .cloned()
            .collect::<Option<Vec<Tensor>>>()
            .ok_or_else(|| candle_core::Error::Msg("a layer's currents were not kept".into()))?;
        if let Some(term) =
            objective
                .sparsity
                .term(&out.layer_spikes, &hidden, net.fire.threshold)?
        {
            loss = (loss + term)?;
        }
    }
    let grads = loss.backward()?;
    optimizer.step(&net.params, &grads, lr)?;
    Ok((out, loss))
}

/// How a layer of neurons fires on a sample of inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerFiring {
    /// Fraction of the layer's neurons that fire at all.
    pub fired: f64,
    /// Fraction that fire at the first step.
    pub at_first_step: f64,
}

/// Firing statistics per layer of neurons on up to 256 samples of `ds` (method.md section 4
/// asks for 20-70% fired and under 30% firing at step 1 at initialisation).
pub fn firing_stats(
    net: &Network,
    ds: &Dataset,
    config: &TrainConfig,
) -> Result<Vec<LayerFiring>, TrainError> {
    let indices: Vec<usize> = (0..ds.len().min(256)).collect();
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let mut buffer = Vec::new();
    let (input, mode) = batch_input(ds, &indices, config.encoding, config.steps, &mut buffer)?;
    let out = net.forward_with(&input, mode, Currents::OutputOnly)?;
    out.layer_spikes
        .iter()
        .map(|s| {
            Ok(LayerFiring {
                fired: s.mean_all()?.to_scalar::<f32>()? as f64 * config.steps as f64,
                at_first_step: s.get(0)?.mean_all()?.to_scalar::<f32>()? as f64,
            })
        })
        .collect()
}

/// Training throughput measured by [`bench`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BenchResult {
    /// Samples per second over the timed batches (forward, backward and update).
    pub samples_per_second: f64,
    /// Batches timed.
    pub batches: usize,
    /// Samples per batch.
    pub batch_size: usize,
}

/// Times `batches` training steps (after two warm-up steps) on the first training images.
pub fn bench(config: &TrainConfig, batches: usize) -> Result<BenchResult, TrainError> {
    validate(config)?;
    let need = config.batch_size * (batches + 2);
    let train_set = load_split(config, Split::Train, Some(need))?;
    let net = build_network(config, &train_set)?;
    let mut optimizer = AdamW::new(config.optimizer, &net.params)?;
    let loss_fn = config.loss();
    let mut buffer = Vec::new();
    let order: Vec<usize> = (0..train_set.len()).collect();
    let mut timed = 0usize;
    let mut start = Instant::now();
    for (b, chunk) in order.chunks(config.batch_size).enumerate() {
        if b == 2 {
            start = Instant::now();
        }
        let (input, mode) = batch_input(
            &train_set,
            chunk,
            config.encoding,
            config.steps,
            &mut buffer,
        )?;
        let labels: Vec<u32> = chunk.iter().map(|&i| train_set.labels[i] as u32).collect();
        let targets = Tensor::from_vec(labels, chunk.len(), &Device::Cpu)?;
        train_step(
            &net,
            &Objective {
                loss: &loss_fn,
                sparsity: &config.sparsity,
            },
            &mut optimizer,
            &input,
            mode,
            &targets,
            config.optimizer.lr,
        )?;
        if b >= 2 {
            timed += chunk.len();
        }
    }
    Ok(BenchResult {
        samples_per_second: timed as f64 / start.elapsed().as_secs_f64().max(1e-9),
        batches: timed / config.batch_size.max(1),
        batch_size: config.batch_size,
    })
}
