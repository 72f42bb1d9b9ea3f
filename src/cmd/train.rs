//! `ttfs train`: flags, progress bars, and the summary of a run.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ttfs_compiler::model::{QuantizedFor, TieBreak};
use ttfs_trainer::bench::bench;
use ttfs_trainer::config::{
    DecodeKind, InitKind, InputKind, Overrides, Prune, SurrogateKind, TrainConfig,
};
use ttfs_trainer::evaluate::LayerFiring;
use ttfs_trainer::paths::RunPaths;
use ttfs_trainer::progress::Progress;
use ttfs_trainer::regularize::SparsityMethod;
use ttfs_trainer::report::EpochRecord;
use ttfs_trainer::train::{TrainOutcome, train};

/// Flags of `ttfs train`. Unset flags take the measured default recipe (trainer/RECIPES.md).
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Data set: mnist or fashion-mnist.
    #[arg(long, default_value = "mnist")]
    pub(crate) dataset: String,
    /// Folder with the four IDX files [default: fixtures/mnist for mnist; required otherwise].
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Architecture: mlp (784-800-10), mlp2 (784-400-400-10), cnn
    /// (c32k3-a2-c64k3-a2-f256-f10) or a spec string such as 784-800-10.
    #[arg(long, default_value = "mlp")]
    pub(crate) arch: String,
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
    /// Pooling: avg (default, single-spike) or max (ablation; the chip refuses it).
    #[arg(long, value_enum, default_value = "avg")]
    pool: PoolArg,
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
    /// Model file to write; the checkpoint, log and curves go beside it
    /// [default: runs/<dataset>-<arch>/model.safetensors].
    #[arg(long, short = 'o')]
    pub(crate) out: Option<PathBuf>,
    /// Continue the run whose checkpoint sits beside --out.
    #[arg(long)]
    resume: bool,
    /// Start from this trained model's weights (same architecture) instead of a fresh
    /// initialisation: fine-tuning, e.g. with --sparsity.
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

/// An on/off flag.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Switch {
    /// Use it.
    On,
    /// Leave it out.
    Off,
}

/// `--init` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum InitArg {
    /// Kaiming (He) uniform, Var W = 2 / n_in: the ANN default, too weak for a TTFS network.
    Kaiming,
    /// ETTFS-init, Var W = g / n_in with g = T: keeps the drive from dying out with depth.
    Ettfs,
}

/// `--decode` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum DecodeArg {
    /// Weight w[t] = exp(-lambda (t - 1)) for an output spike at step t.
    Exp,
    /// Weight w[t] = (T - t + 1) / T.
    Linear,
}

/// `--surrogate` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum SurrogateArg {
    /// The derivative of sigmoid(alpha x) stands in for the step's.
    Sigmoid,
    /// The derivative of atan(pi/2 alpha x) / pi + 1/2 stands in for the step's.
    Atan,
}

/// `--pool` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum PoolArg {
    /// Average pooling: single-spike, and the compiler makes it part of the next layer (its
    /// shared axons, or its synapses).
    Avg,
    /// Max pooling, for the ablation only: a pooled unit can spike several times, so the
    /// compiler refuses the model.
    Max,
}

/// `--input` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum InputArg {
    /// One spike per lit pixel, brighter pixels earlier; what a chip receives.
    Latency,
    /// The analog grey level as a current at every step; no shipped chip takes it.
    Direct,
    /// The grey level quantized to --levels steps; on the chip, that many input lines per
    /// pixel, round(p * K / 255) of them spiking at step 1.
    Thermometer,
}

/// `--sparsity` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SparsityArg {
    /// No regularizer.
    None,
    /// The spike count per hidden neuron, through the surrogate gradient (the baseline).
    Count,
    /// M-SSR: the membrane potential at each hidden neuron's firing step, the spike held fixed.
    MSsr,
    /// F-SSR: the softplus of each hidden neuron's firing-condition margin.
    FSsr,
}

/// `--tie-break` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum TieArg {
    /// Outputs firing at the same first step: the larger potential after the last step wins.
    End,
    /// The larger potential at the decision step wins, so the chip may stop there.
    Decision,
}

impl Switch {
    fn on(self) -> bool {
        matches!(self, Switch::On)
    }
}

/// The trainer's settings from the flags: the data folder (the embedded MNIST by default), then
/// the recipe with the flags applied and checked by the trainer
/// ([`TrainConfig::with_overrides`]).
fn config_from(args: &TrainArgs) -> anyhow::Result<TrainConfig> {
    let data_dir = match (&args.data, args.dataset.as_str()) {
        (Some(dir), _) => dir.clone(),
        (None, "mnist") => super::paths::default_mnist_dir(),
        (None, other) => bail!(
            "--data DIR is required for dataset '{other}' (only MNIST is embedded): {}",
            super::paths::data_hint(other)
        ),
    };
    let mut o = overrides(args);
    o.quantize = quantize_for(args)?;
    let config = TrainConfig::with_overrides(&args.dataset, data_dir, &args.arch, &o)?;
    if let PoolArg::Max = args.pool {
        eprintln!(
            "warning: max pooling lets a pooled unit spike several times, which breaks the single-spike property; the compiler will refuse this model"
        );
    }
    Ok(config)
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
            let (_, t) = super::paths::resolve_target(target)?;
            Some(QuantizedFor {
                weight_bits: bits.unwrap_or(t.core.weight_bits),
                threshold_bits: t.core.threshold_bits,
                per_neuron_threshold: t.neuron.per_neuron_threshold,
            })
        }
    })
}

/// The flags as the trainer's overrides of its recipe.
fn overrides(args: &TrainArgs) -> Overrides {
    let on = |s: Option<Switch>| s.map(Switch::on);
    Overrides {
        max_pool: matches!(args.pool, PoolArg::Max),
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        weight_decay: args.weight_decay,
        steps: args.steps,
        seed: args.seed,
        init: args.init.map(|i| match i {
            InitArg::Kaiming => InitKind::Kaiming,
            InitArg::Ettfs => InitKind::Ettfs,
        }),
        init_gain: args.init_gain,
        weight_norm: on(args.weight_norm),
        affine: on(args.affine),
        bias: on(args.bias),
        decode: args.decode.map(|d| match d {
            DecodeArg::Exp => DecodeKind::Exponential,
            DecodeArg::Linear => DecodeKind::Linear,
        }),
        lambda: args.lambda,
        logit_scale: args.logit_scale,
        potential_weight: args.potential_weight,
        first_spike_weight: args.first_spike_weight,
        surrogate: args.surrogate.map(|s| match s {
            SurrogateArg::Sigmoid => SurrogateKind::Sigmoid,
            SurrogateArg::Atan => SurrogateKind::Atan,
        }),
        alpha: args.alpha,
        mask_grad: on(args.mask_grad),
        input: args.input.map(|i| match i {
            InputArg::Latency => InputKind::Latency,
            InputArg::Direct => InputKind::Direct,
            InputArg::Thermometer => InputKind::Thermometer,
        }),
        levels: args.levels,
        tie_break: args.tie_break.map(|t| match t {
            TieArg::End => TieBreak::PotentialAtEnd,
            TieArg::Decision => TieBreak::PotentialAtDecision,
        }),
        sparsity: args.sparsity.map(|m| match m {
            SparsityArg::None => SparsityMethod::None,
            SparsityArg::Count => SparsityMethod::SpikeCount,
            SparsityArg::MSsr => SparsityMethod::MSsr,
            SparsityArg::FSsr => SparsityMethod::FSsr,
        }),
        gamma: args.gamma,
        xi: args.xi.clone(),
        margin: args.margin,
        target_rate: args.target_rate,
        crop_pad: args.crop_pad,
        train_limit: args.train_limit,
        test_limit: args.test_limit,
        init_from: args.from.clone(),
        prune: args.prune.clone(),
        quantize: None,
    }
}

/// Progress bars on stderr, one per epoch, and one summary line per epoch.
struct Bars {
    bar: Option<ProgressBar>,
}

/// `layer 1: 60% fired (25% at step 1), layer 2: ...`
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

    fn epoch_end(&mut self, r: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!(
            "epoch {:>3}: loss {:.4}  train {:.2}%  test {:.2}%  decision step {:.2}  lr {:.2e}  {:.0} samples/s  {:.0} s",
            r.epoch,
            r.train_loss,
            100.0 * r.train_accuracy,
            100.0 * r.test_accuracy.unwrap_or(f64::NAN),
            r.mean_decision_step.unwrap_or(f64::NAN),
            r.learning_rate,
            r.samples_per_second,
            r.wall_seconds
        );
    }
}

/// Runs `ttfs train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    run_outcome(args, "--out").map(|_| ())
}

/// Runs `ttfs train` and returns what the training measured (`None` for `--bench`);
/// `out_flag` names the flag that chose the model's path, for the hints (`--out` for `ttfs
/// train`, `--run-dir` for the pipeline).
pub fn run_outcome(args: TrainArgs, out_flag: &str) -> anyhow::Result<Option<TrainOutcome>> {
    let config = config_from(&args)?;
    if let Some(batches) = args.bench {
        let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
        let r = bench(&config, batches.max(1)).context("benchmark failed")?;
        println!(
            "bench: {} T={} batch {} threads {}: {:.0} training samples/s ({} batches timed)",
            config.arch, config.steps, r.batch_size, threads, r.samples_per_second, r.batches
        );
        return Ok(None);
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "runs/{}-{}/model.safetensors",
            config.dataset, args.arch
        ))
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    }
    let paths = RunPaths::for_model(&out);
    if args.resume && !paths.checkpoint.exists() {
        bail!(
            "--resume: no checkpoint at {} (train once without --resume first, with the same {out_flag})",
            paths.checkpoint.display()
        );
    }
    let mut bars = Bars { bar: None };
    let pruned = config.prune.is_some();
    let quantized = config.quantize;
    let outcome = train(config, &paths, args.resume, &mut bars)?;
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
    println!("checkpoint {}", outcome.paths.checkpoint.display());
    println!("log        {}", outcome.paths.log.display());
    println!("curves     {}", outcome.paths.curves.display());
    Ok(Some(outcome))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;
    use ttfs_trainer::data::Encoding;
    use ttfs_trainer::decode::Weighting;
    use ttfs_trainer::init::Init;
    use ttfs_trainer::ops::neuron::Surrogate;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TrainArgs,
    }

    fn config(args: &[&str]) -> anyhow::Result<TrainConfig> {
        let cli = Cli::try_parse_from(std::iter::once("train").chain(args.iter().copied()))?;
        config_from(&cli.args)
    }

    #[test]
    fn max_pooling_rewrites_every_average_pool_of_the_architecture() {
        use ttfs_trainer::arch::with_max_pool;
        assert_eq!(with_max_pool("cnn"), "c32k3-m2-c64k3-m2-f256-f10");
        assert_eq!(with_max_pool("784-800-10"), "784-800-10");
        let c = config(&["--arch", "cnn", "--pool", "max"]).unwrap();
        assert_eq!(c.arch, "c32k3-m2-c64k3-m2-f256-f10");
    }

    #[test]
    fn flags_reach_the_configuration() {
        let c = config(&[
            "--init",
            "kaiming",
            "--decode",
            "linear",
            "--surrogate",
            "atan",
            "--crop-pad",
            "0",
            "--input",
            "direct",
            "-T",
            "16",
            "--lr",
            "0.002",
        ])
        .unwrap();
        assert_eq!(c.init, Init::Kaiming);
        assert_eq!(c.weighting, Weighting::Linear);
        assert_eq!(c.surrogate, Surrogate::Atan { alpha: 2.0 });
        assert_eq!(c.crop_pad, None);
        assert_eq!(c.encoding, Encoding::Direct);
        let t = config(&["--input", "thermometer"]).unwrap();
        assert_eq!(t.encoding, Encoding::Thermometer { levels: 4 });
        let t = config(&["--input", "thermometer", "--levels", "16"]).unwrap();
        assert_eq!(t.encoding, Encoding::Thermometer { levels: 16 });
        for (args, message) in [
            (
                &["--input", "thermometer", "--levels", "0"][..],
                "--levels takes 1 to 255 quantization levels, got 0",
            ),
            (
                &["--input", "thermometer", "--levels", "256"][..],
                "--levels takes 1 to 255 quantization levels, got 256",
            ),
            (
                &["--levels", "8"][..],
                "--levels applies to thermometer input only (--input thermometer; the default for fashion-mnist)",
            ),
        ] {
            let err = config(args).unwrap_err().to_string();
            assert_eq!(err, message, "{args:?}");
        }
        assert_eq!((c.steps, c.optimizer.lr), (16, 0.002));
        // Defaults: the measured recipe (trainer/RECIPES.md row D).
        let d = config(&[]).unwrap();
        assert_eq!((d.optimizer.lr, d.crop_pad, d.epochs), (1e-2, Some(1), 20));
        assert_eq!(
            (d.encoding, d.mask_grad, d.surrogate),
            (Encoding::Latency, true, Surrogate::Sigmoid { alpha: 4.0 })
        );
        // Fashion-MNIST: the thermometer recipe (RECIPES.md, Fashion-MNIST), each part of it
        // overridable.
        let f = config(&["--dataset", "fashion-mnist", "--data", "somewhere"]).unwrap();
        assert_eq!(
            (f.encoding, f.mask_grad, f.surrogate, f.crop_pad),
            (
                Encoding::Thermometer { levels: 4 },
                false,
                Surrogate::Sigmoid { alpha: 1.0 },
                Some(2)
            )
        );
        let f = config(&[
            "--dataset",
            "fashion-mnist",
            "--data",
            "somewhere",
            "--levels",
            "8",
            "--alpha",
            "4",
            "--mask-grad",
            "on",
        ])
        .unwrap();
        assert_eq!(
            (f.encoding, f.mask_grad, f.surrogate),
            (
                Encoding::Thermometer { levels: 8 },
                true,
                Surrogate::Sigmoid { alpha: 4.0 }
            )
        );
        let f = config(&[
            "--dataset",
            "fashion-mnist",
            "--data",
            "x",
            "--input",
            "latency",
        ])
        .unwrap();
        assert_eq!(f.encoding, Encoding::Latency);
    }

    #[test]
    fn impossible_combinations_are_refused_with_a_hint() {
        let err = config(&["--init", "kaiming", "--init-gain", "4"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("--init-gain applies to --init ettfs"),
            "{err}"
        );
        let err = config(&["--dataset", "fashion-mnist"]).unwrap_err();
        assert!(err.to_string().contains("--data DIR is required"), "{err}");
        let err = config(&["--dataset", "cifar", "--data", "x"]).unwrap_err();
        assert!(err.to_string().contains("unknown dataset 'cifar'"), "{err}");
    }
}
