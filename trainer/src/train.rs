//! The training loop: epochs with progress, evaluation, logs and checkpoints.
//!
//! A run writes, next to the model path `X.safetensors` ([`RunPaths`]): `X.ckpt.safetensors`
//! (checkpoint after every epoch) and `X.train.jsonl` (one JSON record per epoch); its
//! [`Progress`] observer gets the records as they come (the CLI draws the curves from them).
//! `resume` picks the run up from the checkpoint after a
//! kill; because every epoch's sample order and augmentation are derived from `(seed, epoch)`,
//! the resumed run is bit-identical to an uninterrupted one (on one thread; several threads may
//! sum in another order inside the matrix products).

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{Device, Tensor, backprop::GradStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::arch::resolve;
use crate::checkpoint::{CHECKPOINT_VERSION, Checkpoint, CheckpointError, CheckpointState};
use crate::config::{ConfigError, TrainConfig};
use crate::decode::Loss;
use crate::error::TrainError;
use crate::evaluate::{Evaluation, LayerFiring, decisions_of, evaluate, firing_stats};
use crate::export::export_model;
use crate::input::{self, batch_input, images_input};
use crate::log::{self, EpochRecord, LogError};
use crate::network::{Currents, DirectLayer, Forward, InputMode, Network};
use crate::optim::{AdamW, cosine_lr};
use crate::paths::RunPaths;
use crate::progress::Progress;
use crate::regularize::Sparsity;
use crate::warm_start::{adopt_forms, load_weights, read_model};
use ttfs_compiler::model::Model;
use ttfs_data::{Dataset, Split};
use ttfs_runtime::decision::DecisionRule;

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The trained model, as written to `paths.model`.
    pub model: ttfs_compiler::model::Model,
    /// One record per epoch, including epochs done before a resume.
    pub records: Vec<EpochRecord>,
    /// Final evaluation on the test set.
    pub test: Evaluation,
    /// Firing per layer of neurons at initialisation (of a fresh network, also on a resume), on
    /// up to 256 test samples.
    pub firing_at_init: Vec<LayerFiring>,
    /// Firing per layer of neurons after training, on the same samples.
    pub firing: Vec<LayerFiring>,
    /// Where the files went.
    pub paths: RunPaths,
}

/// Where a run starts: its first epoch, the wall time and log of the epochs before.
struct Start {
    epoch: u32,
    wall_seconds: f64,
    records: Vec<EpochRecord>,
}

/// Trains a network as `config` says, writing the model and side files of `paths`.
/// With `resume`, continues from the checkpoint at `paths.checkpoint` (its configuration wins,
/// except for the number of epochs, which may be raised).
///
/// # Errors
/// [`TrainError`]: a configuration that breaks a rule, unreadable data or checkpoint, a file
/// that cannot be written, a tensor error.
pub fn train(
    config: TrainConfig,
    paths: &RunPaths,
    resume: bool,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome, TrainError> {
    train_from(config, None, paths, resume, progress)
}

/// [`train`], with the model of `config.init_from` given (`from`) rather than read from its
/// path: a caller that has the model in hand already (imported from a NIR file, say) hands it
/// over. Ignored without `init_from`.
///
/// # Errors
/// As [`train`].
pub fn train_from(
    mut config: TrainConfig,
    from: Option<&Model>,
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
    config.validate()?;
    let (train_set, validation_set) = hold_out(
        load_split(&config, Split::Train, config.train_limit)?,
        config.validation,
    )?;
    let test_set = load_split(&config, Split::Test, config.test_limit)?;
    let read;
    let initial = match (&config.init_from, from) {
        (Some(_), Some(model)) => Some(model),
        (Some(path), None) => {
            read = read_model(path)?;
            Some(&read)
        }
        (None, _) => None,
    };
    let mut net = build_network_with(&config, [1, train_set.rows, train_set.cols], initial)?;
    if let (Some(from), Some(initial)) = (&config.init_from, initial) {
        if checkpoint.is_none() {
            load_weights(&net, initial, from)?;
        }
        // The masks are a function of the --from model alone, so a resumed run (whose
        // parameters come from the checkpoint) recomputes the same ones from that model.
        if let Some(prune) = &config.prune {
            let fractions = prune.fractions(net.hidden_input_layers().len())?;
            net.masks = if checkpoint.is_none() {
                net.magnitude_masks(&fractions)?
            } else {
                let source = build_network_with(
                    &config,
                    [1, train_set.rows, train_set.cols],
                    Some(initial),
                )?;
                load_weights(&source, initial, from)?;
                source.magnitude_masks(&fractions)?
            };
        }
    }
    let firing_at_init = firing_stats(&net, &test_set, &config)?;
    let mut optimizer = AdamW::new(config.optimizer, &net.params)?;
    let start = match checkpoint {
        Some(ckpt) => {
            let start = restore(ckpt, &net, &mut optimizer, paths)?;
            progress.resumed(start.epoch, config.epochs);
            start
        }
        None => {
            progress.init_firing(&firing_at_init);
            fresh_start(paths)?
        }
    };
    progress.started(&config);
    let mut records = start.records;
    let loss_fn = config.loss();
    let objective = Objective {
        loss: &loss_fn,
        sparsity: &config.sparsity,
    };
    let started = Instant::now();
    let mut buffers = Buffers::default();
    let mut last_test = None;
    for epoch in start.epoch..config.epochs {
        let epoch_start = Instant::now();
        let stats = run_epoch(
            &config,
            &train_set,
            &net,
            &objective,
            &mut optimizer,
            epoch,
            &mut buffers,
            progress,
        )?;
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let test = evaluate(&net, &test_set, &config)?;
        last_test = Some(test);
        let validation = match &validation_set {
            Some(set) => Some(evaluate(&net, set, &config)?.accuracy),
            None => None,
        };
        let seen = stats.seen.max(1) as f64;
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: stats.loss_sum / seen,
            train_accuracy: stats.correct as f64 / seen,
            test_accuracy: Some(test.accuracy),
            mean_decision_step: Some(test.mean_decision_step),
            validation_accuracy: validation,
            learning_rate: stats.lr,
            samples_per_second: stats.seen as f64 / train_seconds.max(1e-9),
            wall_seconds: start.wall_seconds + started.elapsed().as_secs_f64(),
        };
        // The best epoch so far on the validation split (the first of equals) is written
        // beside the model, before the checkpoint that records its score.
        let best = log::best_validation(&records).and_then(|r| r.validation_accuracy);
        if let Some(score) = validation
            && best.is_none_or(|earlier| score > earlier)
        {
            let at_epoch = TrainConfig {
                epochs: record.epoch,
                ..config.clone()
            };
            export_model(
                &net,
                &at_epoch,
                test.accuracy,
                record.wall_seconds,
                &paths.best,
            )?;
        }
        save_epoch(&config, &net, &optimizer, &records, &record, paths)?;
        records.push(record);
        progress.epoch_end(&records).map_err(TrainError::Progress)?;
    }
    // The last epoch's evaluation is the final one; a resume with no epoch left evaluates.
    let test = match last_test {
        Some(test) => test,
        None => evaluate(&net, &test_set, &config)?,
    };
    let firing = firing_stats(&net, &test_set, &config)?;
    let wall = start.wall_seconds + started.elapsed().as_secs_f64();
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

/// Sets the network and the optimiser from `ckpt`; the log file is rewritten from the
/// checkpoint's records, which drops any line of an epoch that was logged but never
/// checkpointed.
fn restore(
    ckpt: Checkpoint,
    net: &Network,
    optimizer: &mut AdamW,
    paths: &RunPaths,
) -> Result<Start, TrainError> {
    for (name, var) in &net.params {
        let saved = ckpt
            .params
            .get(name)
            .ok_or_else(|| CheckpointError::Format {
                path: paths.checkpoint.clone(),
                reason: format!("lacks parameter {name}"),
            })?;
        var.set(saved)?;
    }
    optimizer.m = ckpt.adam_m;
    optimizer.v = ckpt.adam_v;
    optimizer.step = ckpt.state.optimizer_step;
    log::rewrite_jsonl(&paths.log, &ckpt.state.records)?;
    Ok(Start {
        epoch: ckpt.state.epochs_done,
        wall_seconds: ckpt.state.wall_seconds,
        records: ckpt.state.records,
    })
}

/// A fresh run: the log of an earlier run at the same path is removed.
fn fresh_start(paths: &RunPaths) -> Result<Start, TrainError> {
    if paths.log.exists() {
        std::fs::remove_file(&paths.log).map_err(|source| LogError::Io {
            path: paths.log.clone(),
            source,
        })?;
    }
    Ok(Start {
        epoch: 0,
        wall_seconds: 0.0,
        records: Vec::new(),
    })
}

/// Reused buffers of the input encoding and the random crops.
#[derive(Default)]
struct Buffers {
    input: Vec<f32>,
    crops: Vec<u8>,
}

/// Sums of one epoch's batches.
struct EpochStats {
    loss_sum: f64,
    correct: usize,
    seen: usize,
    /// The learning rate of the last batch.
    lr: f64,
}

/// One epoch over `train_set`: sample order and random crops from `(seed, epoch)`, one
/// optimisation step per batch at the cosine schedule's rate.
#[allow(clippy::too_many_arguments)]
fn run_epoch(
    config: &TrainConfig,
    train_set: &Dataset,
    net: &Network,
    objective: &Objective<'_>,
    optimizer: &mut AdamW,
    epoch: u32,
    buffers: &mut Buffers,
    progress: &mut dyn Progress,
) -> Result<EpochStats, TrainError> {
    let epoch_start = Instant::now();
    let batches_per_epoch = train_set.len().div_ceil(config.batch_size) as u64;
    let total_steps = batches_per_epoch * config.epochs as u64;
    let order = input::epoch_permutation(train_set.len(), config.seed, epoch);
    // Random crops, drawn in sample order from a generator seeded by (seed, epoch).
    let mut crop_rng =
        ChaCha8Rng::seed_from_u64(config.seed ^ 0xA5A5_5A5A ^ ((epoch as u64) << 32));
    progress.epoch_start(epoch + 1, config.epochs, batches_per_epoch as usize);
    let mut stats = EpochStats {
        loss_sum: 0.0,
        correct: 0,
        seen: 0,
        lr: config.optimizer.lr,
    };
    for chunk in order.chunks(config.batch_size) {
        let (input, mode) = match config.crop_pad {
            Some(pad) => {
                let n = train_set.pixels_per_image();
                buffers.crops.resize(chunk.len() * n, 0);
                for (&i, out) in chunk.iter().zip(buffers.crops.chunks_mut(n)) {
                    let (rows, cols) = (train_set.rows, train_set.cols);
                    input::random_crop(train_set.image(i), rows, cols, pad, &mut crop_rng, out);
                }
                let images: Vec<&[u8]> = buffers.crops.chunks(n).collect();
                images_input(&images, config.encoding, config.steps, &mut buffers.input)?
            }
            None => batch_input(
                train_set,
                chunk,
                config.encoding,
                config.steps,
                &mut buffers.input,
            )?,
        };
        let labels: Vec<u32> = chunk.iter().map(|&i| train_set.labels[i] as u32).collect();
        let targets = Tensor::from_vec(labels.clone(), labels.len(), &Device::Cpu)?;
        stats.lr = cosine_lr(config.optimizer.lr, optimizer.step, total_steps);
        let (out, loss) = train_step(net, objective, optimizer, &input, mode, &targets, stats.lr)?;
        let [decisions] = decisions_of(
            &out,
            net.num_classes(),
            [DecisionRule::full_run(config.tie_break.into())],
        )?;
        stats.correct += decisions
            .iter()
            .zip(&labels)
            .filter(|(d, l)| d.class == **l as usize)
            .count();
        stats.loss_sum += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
        stats.seen += chunk.len();
        let rate = stats.seen as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
        progress.batch(
            stats.loss_sum / stats.seen as f64,
            stats.correct as f64 / stats.seen as f64,
            rate,
        );
    }
    Ok(stats)
}

/// After an epoch: the checkpoint (with the log so far and `record`) and the log line.
fn save_epoch(
    config: &TrainConfig,
    net: &Network,
    optimizer: &AdamW,
    records: &[EpochRecord],
    record: &EpochRecord,
    paths: &RunPaths,
) -> Result<(), TrainError> {
    let state = CheckpointState {
        version: CHECKPOINT_VERSION,
        config: config.clone(),
        epochs_done: record.epoch,
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
    log::append_jsonl(&paths.log, record)?;
    Ok(())
}

/// The training or test split of `config`'s data, its first `limit` images if given.
/// Splits the last `count` images off `train` as the validation split (none for 0); refuses
/// a split that leaves no image to train on.
fn hold_out(train: Dataset, count: usize) -> Result<(Dataset, Option<Dataset>), TrainError> {
    if count == 0 {
        return Ok((train, None));
    }
    if count >= train.len() {
        return Err(ConfigError::Invalid {
            setting: "--validation",
            rule: format!(
                "holds out {count} of the {} training images and leaves none to train on",
                train.len()
            ),
        }
        .into());
    }
    let (kept, held) = train.split_at(train.len() - count);
    Ok((kept, Some(held)))
}

pub(crate) fn load_split(
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

/// A freshly initialised network for `config` on images shaped like `ds`'s (seeded by
/// `config.seed`).
pub(crate) fn build_network(config: &TrainConfig, ds: &Dataset) -> Result<Network, TrainError> {
    build_network_for(config, [1, ds.rows, ds.cols])
}

/// The network `config` trains on images of `input_shape` (`[C, H, W]`), freshly initialised,
/// with its quantization-aware setting.
///
/// # Errors
/// [`TrainError::Arch`] if the architecture does not fit the shape; a tensor error.
pub fn build_network_for(
    config: &TrainConfig,
    input_shape: [usize; 3],
) -> Result<Network, TrainError> {
    let initial = config.init_from.as_deref().map(read_model).transpose()?;
    build_network_with(config, input_shape, initial.as_ref())
}

/// [`build_network_for`] with the `init_from` model given, its layers' forms adopted.
fn build_network_with(
    config: &TrainConfig,
    input_shape: [usize; 3],
    initial: Option<&Model>,
) -> Result<Network, TrainError> {
    let mut layers = resolve(&config.arch, input_shape, &config.layer_options())?;
    if let (Some(from), Some(model)) = (&config.init_from, initial) {
        adopt_forms(&mut layers, config.bias, model, from)?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut net = Network::new(
        layers,
        input_shape,
        config.steps,
        config.fire(),
        config.init.gain(config.steps),
        &mut rng,
    )?;
    net.quantize = config.quantize;
    Ok(net)
}

/// What a training step minimises: the decoding loss plus the sparse-firing term.
pub(crate) struct Objective<'a> {
    /// The decoding loss.
    pub loss: &'a Loss,
    /// The sparse-firing term.
    pub sparsity: &'a Sparsity,
}

/// One optimisation step on a batch: forward, loss, backward ([`step_gradients`]), AdamW
/// update at rate `lr`. Returns the forward pass (for accuracy) and the loss before the update.
pub(crate) fn train_step(
    net: &Network,
    objective: &Objective<'_>,
    optimizer: &mut AdamW,
    input: &Tensor,
    mode: InputMode,
    targets: &Tensor,
    lr: f64,
) -> Result<(Forward, Tensor), TrainError> {
    let step = step_gradients(net, objective, input, mode, targets)?;
    optimizer.step(&net.params, &step.graph, &step.direct, lr)?;
    Ok((step.out, step.loss))
}

/// A batch's forward pass, loss and gradients: those in Candle's store (`graph`) and those
/// computed outside it (`direct`, by parameter name); a parameter has one or the other.
pub(crate) struct StepGradients {
    /// The forward pass (output spikes and currents).
    pub out: Forward,
    /// The batch's loss.
    pub loss: Tensor,
    /// Gradients from Candle's backward.
    pub graph: GradStore,
    /// Gradients computed outside Candle's graph.
    pub direct: BTreeMap<String, Vec<f32>>,
}

/// The forward pass, loss and gradients of a batch. The batch runs as two halves at once,
/// one per thread (each half's ops still share the pool), their losses weighed by their share
/// of the batch so that their gradients add up to the batch's; the halves are the same on any
/// thread count, so one thread gives the same bits as two would in order. A sparse-firing
/// term, which reads the whole batch's firing, keeps the batch whole.
pub(crate) fn step_gradients(
    net: &Network,
    objective: &Objective<'_>,
    input: &Tensor,
    mode: InputMode,
    targets: &Tensor,
) -> Result<StepGradients, TrainError> {
    // The hidden layers' currents join the graph only when the sparse-firing term reads them.
    let active = objective.sparsity.is_active();
    let currents = if active {
        Currents::All
    } else {
        Currents::OutputOnly
    };
    let shared = net.step_weights(mode, currents)?;
    let batch = targets.dim(0)?;
    let batch_dim = match mode {
        InputMode::Spikes => 1,
        InputMode::Direct => 0,
    };
    // The forward and backward of samples `start..start + len`, its loss weighed by its share
    // of the batch (so the parts' gradients add up to the batch's).
    let part = |start: usize, len: usize| -> Result<Part, TrainError> {
        let (input, targets) = if len == batch {
            (input.clone(), targets.clone())
        } else {
            (
                input.narrow(batch_dim, start, len)?.contiguous()?,
                targets.narrow(0, start, len)?,
            )
        };
        let (out, direct) = net.forward_for_step(&input, mode, currents, &shared)?;
        let mut loss = objective
            .loss
            .compute(&out.out_spikes, &out.out_currents, &targets)?;
        if active {
            let hidden = out
                .layer_currents
                .iter()
                .cloned()
                .collect::<Option<Vec<Tensor>>>()
                .ok_or_else(|| {
                    candle_core::Error::Msg("a layer's currents were not kept".into())
                })?;
            if let Some(term) =
                objective
                    .sparsity
                    .term(&out.layer_spikes, &hidden, net.fire.threshold)?
            {
                loss = (loss + term)?;
            }
        }
        if len != batch {
            loss = (loss * (len as f64 / batch as f64))?;
        }
        let grads = loss.backward()?;
        Ok(Part {
            out,
            loss,
            grads,
            direct,
        })
    };
    if active || batch < 2 {
        let Part {
            out,
            loss,
            grads,
            direct,
        } = part(0, batch)?;
        return Ok(StepGradients {
            out,
            loss,
            graph: grads,
            direct: net.direct_gradients(&direct)?,
        });
    }
    let half = batch / 2;
    let (a, b) = rayon::join(|| part(0, half), || part(half, batch - half));
    let (a, b) = (a?, b?);
    // dW^T of the two halves added, then one weight-norm backward.
    if a.direct.len() != b.direct.len() {
        return Err(candle_core::Error::Msg(
            "the halves ran different layers outside the graph".into(),
        )
        .into());
    }
    for (da, db) in a.direct.iter().zip(&b.direct) {
        da.absorb(db)?;
    }
    let mut grads = net.direct_gradients(&a.direct)?;
    for (name, var) in &net.params {
        let (ga, gb) = (a.grads.get(var.as_tensor()), b.grads.get(var.as_tensor()));
        let sum = match (ga, gb) {
            (Some(ga), Some(gb)) => (ga + gb)?,
            (Some(g), None) | (None, Some(g)) => g.clone(),
            (None, None) => continue,
        };
        grads.insert(name.clone(), sum.flatten_all()?.to_vec1::<f32>()?);
    }
    let out = Forward {
        out_spikes: Tensor::cat(&[&a.out.out_spikes, &b.out.out_spikes], 1)?,
        out_currents: Tensor::cat(&[&a.out.out_currents, &b.out.out_currents], 1)?,
        layer_spikes: Vec::new(),
        layer_currents: Vec::new(),
    };
    Ok(StepGradients {
        out,
        loss: (a.loss + b.loss)?,
        graph: GradStore::default(),
        direct: grads,
    })
}

/// One part of a batch's training step: its forward, its weighted loss, and its gradients
/// (Candle's, and the `dW^T` its direct layers left).
struct Part {
    out: Forward,
    loss: Tensor,
    grads: GradStore,
    direct: Vec<DirectLayer>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rand::Rng;

    /// The two halves' gradients add up to the whole batch's through Candle's graph (within
    /// rounding: the sums run in another order), for every parameter of an MLP and a CNN,
    /// and the halves' output spikes are the batch's, bit for bit.
    #[test]
    fn the_halves_gradients_add_up_to_the_whole_batchs() {
        for arch in ["784-24-16-10", "c4k3-a2-f12-10"] {
            let config = TrainConfig::recipe("mnist", "fixtures/mnist".into(), arch);
            let net = build_network_for(&config, [1, 28, 28]).unwrap();
            let loss = config.loss();
            let objective = Objective {
                loss: &loss,
                sparsity: &config.sparsity,
            };
            let (t, b) = (config.steps, 6);
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let spikes: Vec<f32> = (0..t * b * 784)
                .map(|_| if rng.gen_bool(0.1) { 1.0 } else { 0.0 })
                .collect();
            let input = Tensor::from_vec(spikes, (t, b, 784), &Device::Cpu).unwrap();
            let labels: Vec<u32> = (0..b).map(|_| rng.gen_range(0..10)).collect();
            let targets = Tensor::from_vec(labels, b, &Device::Cpu).unwrap();
            let step =
                step_gradients(&net, &objective, &input, InputMode::Spikes, &targets).unwrap();
            let whole = net
                .forward_with(&input, InputMode::Spikes, Currents::All)
                .unwrap();
            let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(values(&step.out.out_spikes), values(&whole.out_spikes));
            let full = loss
                .compute(&whole.out_spikes, &whole.out_currents, &targets)
                .unwrap();
            let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
            let l = (
                step.loss.to_scalar::<f32>().unwrap(),
                full.to_scalar::<f32>().unwrap(),
            );
            assert!(close(l.0, l.1), "{arch}: loss {l:?}");
            let grads = full.backward().unwrap();
            let mut nonzero = 0;
            for (name, var) in &net.params {
                let expected = values(grads.get(var.as_tensor()).expect("graph gradient"));
                let got = match step.direct.get(name) {
                    Some(g) => g.clone(),
                    None => values(step.graph.get(var.as_tensor()).expect("a gradient")),
                };
                assert_eq!(got.len(), expected.len(), "{arch} {name}");
                for (a, b) in got.iter().zip(&expected) {
                    assert!(close(*a, *b), "{arch} {name}: {a} vs {b}");
                }
                nonzero += expected.iter().filter(|v| **v != 0.0).count();
            }
            assert!(
                nonzero > 0,
                "{arch}: every gradient is zero, the test proves nothing"
            );
        }
    }
}
