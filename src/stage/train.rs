//! The training stage: a checked training run with progress bars on stderr, one line per
//! epoch, the training curves redrawn beside the model after every epoch (`X.curves.svg`, from
//! the epoch records the trainer reports), and a summary of what the run measured.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ttfs_compiler::model::Model;
use ttfs_runtime::atomic::write_atomic;
use ttfs_trainer::{
    EpochRecord, LayerFiring, ObserverError, Progress, RunPaths, TrainConfig, TrainOutcome,
    best_validation, train_from,
};

use crate::paths::side_file;
use crate::pictures::draw_training_curves;

/// A training run, checked: the trainer's configuration (the recipe with the flags applied,
/// every rule checked), the model file to write, and whether to resume from the checkpoint
/// beside it (which exists).
pub struct TrainJob {
    /// The configuration.
    pub config: TrainConfig,
    /// The files of the run: the model and, beside it, the checkpoint and the log.
    pub paths: RunPaths,
    /// Continue from the checkpoint.
    pub resume: bool,
    /// The model of `config.init_from`, read (or imported from NIR) once by the command.
    pub from: Option<Model>,
}

impl TrainJob {
    /// The run of `config` writing the model `out` (its folder is created), continuing the
    /// checkpoint beside `out` with `resume` (see [`checkpoint_to_resume`]).
    ///
    /// # Errors
    /// A folder that cannot be created.
    pub fn new(config: TrainConfig, out: PathBuf, resume: bool) -> anyhow::Result<TrainJob> {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create output folder {}", dir.display()))?;
        }
        Ok(TrainJob {
            config,
            paths: RunPaths::for_model(&out),
            resume,
            from: None,
        })
    }
}

/// The checkpoint a run writing the model `out` resumes from, which must exist (the hint
/// names `out_flag`, the flag that chose `out`).
///
/// # Errors
/// No checkpoint beside `out`.
pub fn checkpoint_to_resume(out: &Path, out_flag: &str) -> anyhow::Result<PathBuf> {
    let checkpoint = RunPaths::for_model(out).checkpoint;
    if !checkpoint.exists() {
        bail!(
            "--resume: no checkpoint at {} (train once without --resume first, with the same {out_flag})",
            checkpoint.display()
        );
    }
    Ok(checkpoint)
}

/// The training curves' file beside the model `X.safetensors`: `X.curves.svg`.
pub fn curves_path(model: &std::path::Path) -> PathBuf {
    side_file(model, ".curves.svg")
}

/// Trains as `job` says, showing progress, and prints what the run measured and where its
/// files went.
pub fn train_model(job: TrainJob) -> anyhow::Result<TrainOutcome> {
    let curves = curves_path(&job.paths.model);
    let c = &job.config;
    let mut bars = Bars {
        bar: None,
        curves: curves.clone(),
        title: format!("{} {} (T = {})", c.dataset, c.arch, c.steps),
    };
    let pruned = job.config.prune.is_some();
    let quantized = job.config.quantize;
    let outcome = train_from(
        job.config,
        job.from.as_ref(),
        &job.paths,
        job.resume,
        &mut bars,
    )?;
    println!(
        "test accuracy {:.2}% (chip decision rule: earliest output spike; {:.2}% stopped there, with early exit), mean decision step {:.2}, no output spike on {:.2}% of samples",
        100.0 * outcome.test.accuracy,
        100.0 * outcome.test.early_exit_accuracy,
        outcome.test.mean_decision_step,
        100.0 * outcome.test.silent_fraction
    );
    println!(
        "decided by the tie-break on {:.2}% of samples (on average {:.2} outputs fire at the decision step)",
        100.0 * outcome.test.tied_fraction,
        outcome.test.mean_tied
    );
    println!(
        "firing by layer after training: {}",
        describe_firing(&outcome.firing)
    );
    if let Some(q) = quantized {
        println!(
            "trained with the integers of {}-bit weights and {}-bit thresholds, one scale per {} (the model compiles to exactly these)",
            q.weight_bits,
            q.threshold_bits,
            if q.per_neuron_threshold {
                "hidden neuron"
            } else {
                "layer"
            }
        );
    }
    if pruned {
        println!(
            "weights kept by layer: {}",
            describe_density(&outcome.model)
        );
    }
    println!("model      {}", outcome.paths.model.display());
    if let Some((epoch, Some(score))) =
        best_validation(&outcome.records).map(|r| (r.epoch, r.validation_accuracy))
    {
        println!(
            "best       {} (epoch {epoch}: {:.2}% on the validation split)",
            outcome.paths.best.display(),
            100.0 * score
        );
    }
    println!("checkpoint {}", outcome.paths.checkpoint.display());
    println!("log        {}", outcome.paths.log.display());
    println!("curves     {}", curves.display());
    Ok(outcome)
}

/// Progress bars on stderr, one per epoch, one summary line per epoch, and the training curves
/// redrawn after every epoch.
struct Bars {
    bar: Option<ProgressBar>,
    /// Where the curves go.
    curves: PathBuf,
    /// The curves' title (the run's data set, architecture and T).
    title: String,
}

/// The share of nonzero weights of each weighted layer of `model`, e.g. `layer 1: 40.0% of
/// 627200`.
fn describe_density(model: &ttfs_compiler::model::Model) -> String {
    model
        .description
        .layers
        .iter()
        .enumerate()
        .filter_map(|(i, _)| {
            let w = model.tensors.get(&format!("layers.{i}.weight"))?;
            let kept = w.data.iter().filter(|&&x| x != 0.0).count();
            Some(format!(
                "layer {i}: {:.1}% of {}",
                100.0 * kept as f64 / w.data.len().max(1) as f64,
                w.data.len()
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `layer 1: 60% fired (25% at step 1), layer 2: ...`
fn describe_firing(layers: &[LayerFiring]) -> String {
    layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "layer {}: {:.0}% fired ({:.0}% at step 1)",
                i + 1,
                100.0 * l.fired,
                100.0 * l.at_first_step
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Progress for Bars {
    fn started(&mut self, config: &TrainConfig) {
        self.title = format!("{} {} (T = {})", config.dataset, config.arch, config.steps);
    }

    fn init_firing(&mut self, layers: &[LayerFiring]) {
        eprintln!(
            "firing by layer at initialisation: {}",
            describe_firing(layers)
        );
    }

    fn resumed(&mut self, epochs_done: u32, epochs: u32) {
        if epochs_done >= epochs {
            eprintln!(
                "resuming: the checkpoint holds all {epochs} epochs; evaluating and exporting it"
            );
        } else {
            eprintln!(
                "resuming from epoch {} of {epochs} ({epochs_done} done in the checkpoint)",
                epochs_done + 1
            );
        }
    }

    fn epoch_start(&mut self, epoch: u32, epochs: u32, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        let style = ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    fn batch(&mut self, loss: f64, accuracy: f64, samples_per_second: f64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "loss {loss:.4} acc {:.2}% {samples_per_second:.0} samples/s",
                100.0 * accuracy
            ));
            bar.inc(1);
        }
    }

    fn epoch_end(&mut self, records: &[EpochRecord]) -> Result<(), ObserverError> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let curves = draw_training_curves(&self.curves, records, &self.title)?;
        write_atomic(&curves.path, curves.svg.as_bytes())
            .map_err(|e| format!("{}: {e}", curves.path.display()))?;
        let Some(r) = records.last() else {
            return Ok(());
        };
        let validation = r
            .validation_accuracy
            .map(|v| format!("  validation {:.2}%", 100.0 * v))
            .unwrap_or_default();
        eprintln!(
            "epoch {:>3}: loss {:.4}  train {:.2}%  test {:.2}%{validation}  decision step {:.2}  lr {:.2e}  {:.0} samples/s  {:.0} s",
            r.epoch,
            r.train_loss,
            100.0 * r.train_accuracy,
            100.0 * r.test_accuracy.unwrap_or(f64::NAN),
            r.mean_decision_step.unwrap_or(f64::NAN),
            r.learning_rate,
            r.samples_per_second,
            r.wall_seconds
        );
        Ok(())
    }
}
