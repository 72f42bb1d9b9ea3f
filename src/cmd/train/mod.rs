//! `ttfs train`: the flags, checked once into the trainer's configuration and a
//! [`TrainJob`]; the training itself, its progress and summary are the train stage's
//! ([`crate::stage::train`]). The pipeline and the sweep take the same flags and turn them into
//! jobs the same way ([`TrainArgs::stage_job`]).

mod flags;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use ttfs_compiler::model::QuantizedFor;
use ttfs_trainer::{Overrides, Prune, TrainConfig, bench};

pub(crate) use flags::SparsityArg;
use flags::{DecodeArg, InitArg, InputArg, PoolArg, SurrogateArg, Switch, TieArg, overrides};

use crate::stage::TrainJob;
use crate::stage::train::{checkpoint_to_resume, train_model};

/// Epochs of the pipeline's (and the sweep's) default training run (the whole pipeline then takes
/// about 35 s on 2 cores).
pub const STAGE_EPOCHS: u32 = 3;

/// Flags of `ttfs train`. Unset flags take the measured default recipe (trainer/RECIPES.md).
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Data set: mnist or fashion-mnist.
    /// [default: mnist]
    #[arg(long)]
    pub(crate) dataset: Option<String>,
    /// Folder with the four IDX files [default: fixtures/mnist for mnist; required otherwise].
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Architecture: mlp (784-800-10), mlp2 (784-400-400-10), cnn
    /// (c32k3-a2-c64k3-a2-f256-f10) or a spec string such as 784-800-10.
    /// [default: mlp]
    #[arg(long)]
    pub(crate) arch: Option<String>,
    /// Epochs in total [default: 20].
    #[arg(long)]
    pub(crate) epochs: Option<u32>,
    /// Samples per batch [default: 128].
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate of AdamW with cosine decay [default: 0.01].
    #[arg(long)]
    lr: Option<f64>,
    /// AdamW decoupled weight decay [default: 0.01].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Time steps T per inference [default: 2 on MNIST, 8 on Fashion-MNIST].
    #[arg(long = "steps", short = 'T')]
    steps: Option<usize>,
    /// Seed of initialisation, sample order and augmentation [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Weight initialisation [default: ettfs].
    #[arg(long, value_enum)]
    init: Option<InitArg>,
    /// ETTFS-init variance gain g (Var W = g / n_in) [default: T].
    #[arg(long)]
    init_gain: Option<f32>,
    /// Weight normalisation [default: on].
    #[arg(long, value_enum)]
    weight_norm: Option<Switch>,
    /// Learnable per-neuron scale of the affine transform [default: on].
    #[arg(long, value_enum)]
    affine: Option<Switch>,
    /// Learnable per-neuron shift (a bias current every step); off for chips without a bias
    /// [default: on].
    #[arg(long, value_enum)]
    bias: Option<Switch>,
    /// Temporal weighting of the decoder [default: exp].
    #[arg(long, value_enum)]
    decode: Option<DecodeArg>,
    /// Decay per step of the exponential weighting [default: 0.5].
    #[arg(long)]
    lambda: Option<f32>,
    /// Logit scale of the decoder's cross-entropy [default: 10].
    #[arg(long)]
    logit_scale: Option<f32>,
    /// Weight of the cross-entropy on the output potentials: after the last step, or at each
    /// sample's decision step with --tie-break decision [default: 1.0].
    #[arg(long)]
    potential_weight: Option<f32>,
    /// Weight of the first-spike term: the target output's potential must be over the
    /// threshold by the step of the earliest output spike, where the chip decides [default: 0].
    #[arg(long)]
    first_spike_weight: Option<f32>,
    /// Surrogate gradient [default: sigmoid].
    #[arg(long, value_enum)]
    surrogate: Option<SurrogateArg>,
    /// Surrogate steepness alpha [default: 4 for sigmoid (1 for fashion-mnist), 2 for atan].
    #[arg(long)]
    alpha: Option<f32>,
    /// Gradient through the not-yet-fired mask [default: on; off for fashion-mnist].
    #[arg(long, value_enum)]
    mask_grad: Option<Switch>,
    /// Pooling: avg (single-spike) or max (ablation; the chip refuses it) [default: avg].
    #[arg(long, value_enum)]
    pool: Option<PoolArg>,
    /// Input coding [default: latency for mnist, thermometer for fashion-mnist].
    #[arg(long, value_enum)]
    input: Option<InputArg>,
    /// Quantization levels of thermometer input, 1 to 255 [default: 4]
    #[arg(long)]
    levels: Option<u32>,
    /// Tie-break between output neurons firing at the same step [default: decision on MNIST,
    /// end on Fashion-MNIST].
    #[arg(long, value_enum)]
    tie_break: Option<TieArg>,
    /// Sparse-firing regularizer of the hidden layers [default: none].
    #[arg(long, value_enum)]
    pub(crate) sparsity: Option<SparsityArg>,
    /// Strength gamma of the sparse-firing regularizer [default: 0].
    #[arg(long)]
    pub(crate) gamma: Option<f32>,
    /// Per hidden layer weights xi of the regularizer, comma-separated, input side first
    /// (missing layers weigh 1) [default: 1 for every layer].
    #[arg(long, value_delimiter = ',')]
    xi: Vec<f32>,
    /// F-SSR's margin below the threshold [default: 0].
    #[arg(long)]
    margin: Option<f32>,
    /// Weigh each hidden neuron's regularizer by how far its firing rate over the batch
    /// exceeds this fraction (0 weighs by the rate itself): neurons firing for nearly every
    /// input are pushed hardest, neurons at or below it are left alone [default: off, every
    /// neuron weighs 1].
    #[arg(long, value_name = "RATE")]
    target_rate: Option<f32>,
    /// Random-crop augmentation with this zero padding in pixels; 0 turns it off
    /// [default: 1 for mnist, 2 for fashion-mnist].
    #[arg(long)]
    crop_pad: Option<usize>,
    /// Train on the first N training images only.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long)]
    test_limit: Option<usize>,
    /// Hold out the last N training images (after --train-limit) as a validation split: each
    /// epoch is scored on it, and the model of the best-scoring epoch is written next to the
    /// model X.safetensors as X.best.safetensors [default: 0, none].
    #[arg(long, value_name = "N")]
    validation: Option<usize>,
    /// Model file to write; the checkpoint, log and curves go beside it
    /// [default: runs/<dataset>-<arch>/model.safetensors].
    #[arg(long, short = 'o')]
    pub(crate) out: Option<PathBuf>,
    /// Continue the run whose checkpoint sits beside --out.
    #[arg(long)]
    resume: bool,
    /// Start from this trained model's weights (same architecture) instead of a fresh
    /// initialisation: fine-tuning, e.g. with --sparsity. Each layer keeps the weight norm,
    /// gain and affine scale it was saved with (--bias off drops its biases).
    #[arg(long, value_name = "MODEL")]
    pub(crate) from: Option<PathBuf>,
    /// With --from: remove this fraction (0 to 1) of every hidden-input layer's weights (every
    /// weighted layer but the output one), the smallest by magnitude, then fine-tune; pruned
    /// weights stay zero and get no synapse. Several fractions, comma-separated, give one per
    /// layer in order (e.g. 0,0.5,0.8 keeps the first layer whole).
    #[arg(long, value_name = "FRACTION", value_parser = Prune::parse)]
    prune: Option<Prune>,
    /// Quantization-aware training for this target (a JSON file or a shipped target's name):
    /// the forward pass uses its integer weights, biases and thresholds (its weight and
    /// threshold widths; one scale per neuron where it has per-neuron thresholds), and the
    /// model compiles for it to exactly those integers. Best as a fine-tune (--from).
    #[arg(long, value_name = "TARGET")]
    pub(crate) quantize_for: Option<String>,
    /// Quantization-aware training with this many weight bits (2 to 16): with --quantize-for,
    /// instead of the target's; alone, one scale per layer and 24-bit thresholds.
    #[arg(long, value_name = "BITS")]
    weight_bits: Option<u32>,
    /// Measure training samples/s on this many batches instead of training.
    #[arg(long, value_name = "BATCHES", num_args = 0..=1, default_missing_value = "20")]
    pub(crate) bench: Option<usize>,
}

/// The trainer's settings from the flags: the data folder (the embedded MNIST by default), then
/// the recipe with the flags applied and checked by the trainer
/// ([`TrainConfig::with_overrides`]). A run from a model (`--from`) that trains it with another
/// T, input coding or tie break than it was trained with says so in one line.
fn config_from(args: &TrainArgs) -> anyhow::Result<TrainConfig> {
    config_and_model(args).map(|(config, _)| config)
}

/// [`config_from`], and the `--from` model it read.
fn config_and_model(
    args: &TrainArgs,
) -> anyhow::Result<(TrainConfig, Option<ttfs_compiler::model::Model>)> {
    let saved = from_model(args)?;
    let data_dir = match (&args.data, args.dataset()) {
        (Some(dir), _) => dir.clone(),
        (None, "mnist") => crate::paths::default_mnist_dir(),
        (None, other) => bail!(
            "--data DIR is required for dataset '{other}' (only MNIST is embedded): {}",
            crate::paths::data_hint(other)
        ),
    };
    let config =
        TrainConfig::with_overrides(args.dataset(), data_dir, args.arch(), &settings(args)?)?;
    warn_max_pool(args);
    if let (Some(from), Some(saved)) = (&args.from, &saved) {
        if let Some(differences) = ttfs_trainer::differences_from(&config, &saved.description) {
            eprintln!(
                "warning: this run trains {} with {differences}: give -T, --input or \
                 --tie-break to keep what it was trained with",
                from.display()
            );
        }
    }
    Ok((config, saved))
}

/// The `--from` model, read once (a file without a digest is named, or refused with
/// `--strict`), and the flags that cannot apply to it refused.
fn from_model(args: &TrainArgs) -> anyhow::Result<Option<ttfs_compiler::model::Model>> {
    let Some(from) = &args.from else {
        return Ok(None);
    };
    let model = super::read_model(from, &nir_options(args))?;
    let forms = [
        ("--weight-norm", args.weight_norm.is_some()),
        ("--affine", args.affine.is_some()),
        ("--init-gain", args.init_gain.is_some()),
    ];
    if let Some((flag, _)) = forms.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} does not apply with --from: each layer keeps the weight norm (and its \
             gain) and affine scale {} was saved with, which its weights compute with; drop \
             {flag}",
            from.display()
        );
    }
    Ok(Some(model))
}

/// How a `--from` NIR file is imported: under the run's steps, input coding, tie break and
/// data set, as far as the flags give them.
fn nir_options(args: &TrainArgs) -> ttfs_nir::ImportOptions {
    use ttfs_compiler::model::{InputEncoding, TieBreak as ModelTieBreak};
    ttfs_nir::ImportOptions {
        steps: args.steps.and_then(|s| u32::try_from(s).ok()),
        input: match args.input {
            Some(InputArg::Latency) => Some(InputEncoding::Latency),
            Some(InputArg::Thermometer) => Some(InputEncoding::Thermometer {
                levels: args.levels.unwrap_or(4),
            }),
            Some(InputArg::Direct) | None => None,
        },
        tie_break: args.tie_break.map(|t| match t {
            TieArg::End => ModelTieBreak::PotentialAtEnd,
            TieArg::Decision => ModelTieBreak::PotentialAtDecision,
        }),
        dataset: args.dataset.clone(),
        ..ttfs_nir::ImportOptions::default()
    }
}

/// The flags as the trainer's overrides, `--quantize-for`'s target resolved.
fn settings(args: &TrainArgs) -> anyhow::Result<Overrides> {
    let mut o = overrides(args);
    o.quantize = quantize_for(args)?;
    Ok(o)
}

/// Says, once, what `--pool max` costs.
fn warn_max_pool(args: &TrainArgs) {
    if let Some(PoolArg::Max) = args.pool {
        eprintln!(
            "warning: max pooling lets a pooled unit spike several times, which breaks the single-spike property; the compiler will refuse this model"
        );
    }
}

/// The training run the flags ask for, writing the model `out`: a fresh run of the recipe
/// under the flags, or with `--resume` the checkpoint's run beside `out`, every flag given
/// checked against it ([`TrainConfig::resumed`]). `out_flag` names the flag that chose `out`.
fn job(args: &TrainArgs, out: PathBuf, out_flag: &str) -> anyhow::Result<TrainJob> {
    if !args.resume {
        let (config, from) = config_and_model(args)?;
        let mut job = TrainJob::new(config, out, false)?;
        job.from = from;
        return Ok(job);
    }
    let checkpoint = checkpoint_to_resume(&out, out_flag)?;
    let from = from_model(args)?;
    let config = ttfs_trainer::checkpoint_config(&checkpoint)?
        .resumed(
            &settings(args)?,
            args.dataset.as_deref(),
            args.arch.as_deref(),
            args.data.clone(),
        )
        .with_context(|| checkpoint.display().to_string())?;
    warn_max_pool(args);
    let mut job = TrainJob::new(config, out, true)?;
    job.from = from;
    Ok(job)
}

/// The widths quantization-aware training uses: the target's (`--quantize-for`), with `--weight-bits`
/// instead of its weight width when given; `--weight-bits` alone: one scale per layer, 24-bit
/// thresholds.
fn quantize_for(args: &TrainArgs) -> anyhow::Result<Option<QuantizedFor>> {
    Ok(match (&args.quantize_for, args.weight_bits) {
        (None, None) => None,
        (None, Some(weight_bits)) => Some(QuantizedFor {
            weight_bits,
            threshold_bits: 24,
            per_neuron_threshold: false,
        }),
        (Some(target), bits) => {
            let widths = QuantizedFor::of(&crate::paths::resolve_target(target)?.target);
            Some(QuantizedFor {
                weight_bits: bits.unwrap_or(widths.weight_bits),
                ..widths
            })
        }
    })
}

impl TrainArgs {
    /// The training run of a pipeline or a sweep point in `dir`: the model is
    /// `dir/model.safetensors`, the epochs default to [`STAGE_EPOCHS`], `--bench` is refused.
    ///
    /// # Errors
    /// `--bench`, a configuration the trainer refuses, a missing checkpoint for `--resume`.
    pub fn stage_job(&self, dir: &Path) -> anyhow::Result<TrainJob> {
        if self.bench.is_some() {
            bail!("--bench measures training speed only; use `ttfs train --bench` instead");
        }
        let mut args = self.clone();
        args.epochs = Some(args.epochs.unwrap_or(STAGE_EPOCHS));
        job(&args, dir.join("model.safetensors"), "--run-dir")
    }

    /// The data set: `--dataset`, or MNIST.
    pub fn dataset(&self) -> &str {
        self.dataset.as_deref().unwrap_or("mnist")
    }

    /// The architecture: `--arch`, or the MLP.
    pub fn arch(&self) -> &str {
        self.arch.as_deref().unwrap_or("mlp")
    }
}

/// Runs `ttfs train`: the benchmark with `--bench`, else the training run.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    if let Some(batches) = args.bench {
        let config = config_from(&args)?;
        let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
        let r = bench(&config, batches.max(1)).context("benchmark failed")?;
        println!(
            "bench: {} T={} batch {} threads {}: {:.0} training samples/s ({} batches timed)",
            config.arch, config.steps, r.batch_size, threads, r.samples_per_second, r.batches
        );
        return Ok(());
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "runs/{}-{}/model.safetensors",
            args.dataset(),
            args.arch()
        ))
    });
    train_model(job(&args, out, "--out")?).map(|_| ())
}
