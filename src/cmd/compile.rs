//! `ttfs compile`: the flags, checked into a [`CompileJob`] (the model read, the target
//! resolved, the calibration images loaded); the compile itself and its outputs are the
//! compile stage's ([`crate::stage::compile`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ttfs_compiler::ir::PoolLowering;

use super::read_model;
use crate::paths::{file_stem, resolve_data, resolve_target};
use crate::stage::compile::{LossLimits, compile_model};
use crate::stage::{CompileJob, TestSet};

/// Flags of `ttfs compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// The trained model file (written by `ttfs train`), or a NIR file from another tool.
    model: PathBuf,
    /// Target description: a JSON file, or the name of a shipped one (loihi, truenorth, xylo,
    /// tiny).
    #[arg(long, short)]
    target: String,
    /// Chip configuration to write; the mapping report (`.map.json`) and the core map
    /// (`.cores.svg`) go beside it [default: the model's name with `.<target>.bin`].
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Folder with the IDX test files, for calibration (register peaks, firing rates for
    /// placement) and the float vs golden comparison [default: fixtures/mnist for an MNIST
    /// model].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Test images to calibrate and compare on; 0 skips both.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// How an average pool becomes part of the layer after it.
    #[arg(long, value_enum, default_value_t = PoolLoweringArg::Axons)]
    pool_lowering: PoolLoweringArg,
    /// Points of accuracy the integer (golden) model may lose against the float model on the
    /// calibration images before a warning says so.
    #[arg(long, value_name = "POINTS", default_value_t = 1.0, value_parser = points)]
    warn_loss: f64,
    /// Points of accuracy the integer model may lose before the compile fails (and writes
    /// nothing) [default: no limit].
    #[arg(long, value_name = "POINTS", value_parser = points)]
    max_loss: Option<f64>,
    /// How a NIR model is imported.
    #[command(flatten)]
    nir: super::nir::NirArgs,
}

/// A number of accuracy points: finite, from 0 to 100.
fn points(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("'{text}' is not a number of points from 0 to 100")),
    }
}

/// `--pool-lowering` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum PoolLoweringArg {
    /// Each pooling window is one shared axon, which every neuron of the window sends its
    /// spike to: the fan-in and synapse memory of the pooled map.
    Axons,
    /// The pool is folded into the synapses, one per neuron before the pool: the pool's
    /// window times the fan-in and synapse memory.
    Synapses,
}

impl From<PoolLoweringArg> for PoolLowering {
    fn from(arg: PoolLoweringArg) -> Self {
        match arg {
            PoolLoweringArg::Axons => PoolLowering::SharedAxons,
            PoolLoweringArg::Synapses => PoolLowering::Synapses,
        }
    }
}

/// Runs `ttfs compile`.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    let model = read_model(&args.model, &args.nir.options()?)?;
    let target = resolve_target(&args.target)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = file_stem(&args.model, "model");
        args.model
            .with_file_name(format!("{stem}.{}.bin", target.target.name))
    });
    let test = match args.limit {
        0 => None,
        _ => Some(TestSet::load(&resolve_data(
            args.data.as_deref(),
            &model.description.dataset,
        )?)?),
    };
    compile_model(&CompileJob {
        model_path: &args.model,
        model: &model,
        target: &target,
        out,
        calibration: test.as_ref().map(|t| (t, args.limit)),
        pool_lowering: args.pool_lowering.into(),
        loss: LossLimits {
            warn: args.warn_loss,
            max: args.max_loss,
        },
    })
    .map(|_| ())
}
