//! `ttfs run`: the flags, checked into a [`RunJob`] (the configuration read, the target
//! resolved, or the shipped one it names, the golden model prepared); the emulation, its report,
//! pictures and verdicts are the run stage's ([`crate::stage::run`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::decision::EarlyExit;
use ttfs_runtime::report::shard::parse_shard;

use super::early_exit_values;
use crate::paths::{default_mnist_dir, resolve_target, shipped_target_path, shipped_targets};
use crate::stage::run::{Golden, Images, RunSettings, emulate};
use crate::stage::{RunJob, TargetFile};

/// Flags of `ttfs run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The chip configuration (written by `ttfs compile`).
    config: PathBuf,
    /// Target description: a JSON file, or the name of a shipped one (loihi, truenorth, xylo,
    /// tiny); the configuration must have been compiled for it [default: the shipped target
    /// the configuration names, when its description is the one compiled for (same hash)].
    #[arg(long, short)]
    target: Option<String>,
    /// Folder with the IDX test files (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally
    /// gzipped) [default: the embedded MNIST, fixtures/mnist].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Test images to run, from the first; 0 runs all.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Stop each inference after the step of its first output spike (the chip's early exit);
    /// refused where that changes decisions (ties broken after the last step):
    /// `--early-exit=auto` stops only where no decision changes, `--early-exit=anyway` stops
    /// regardless.
    #[arg(
        long,
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_value = "off",
        default_missing_value = "on",
        value_parser = early_exit_values(),
    )]
    early_exit: EarlyExit,
    /// Write every event of the first inference to FILE, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Folder for the report (`<stem>.run.json`) and the pictures (`<stem>.energy.svg`,
    /// `.latency.svg`, `.raster.svg`) [default: beside the configuration].
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The trained model the configuration was compiled from (or its NIR file): recompile it for
    /// the target, run the compiler's golden model on the same images and compare every
    /// neuron's spike times and every decision; any difference fails the run.
    #[arg(long, value_name = "MODEL")]
    golden: Option<PathBuf>,
    /// Report single-spike violations (a neuron that fired twice) without failing.
    #[arg(long)]
    allow_violations: bool,
    /// Run only the I-th of N contiguous slices of the images (I from 0) and write its
    /// records as `<stem>.shard-I-of-N.json`; `ttfs merge` makes the report of the whole run
    /// from the N shard files.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// How a NIR model given to --golden is imported.
    #[command(flatten)]
    nir: super::nir::NirArgs,
}

/// Runs `ttfs run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = ttfs_runtime::config::read(&args.config)?;
    let target = match &args.target {
        Some(name) => (resolve_target(name)?, true),
        None => {
            let shipped = shipped_target_of(&config).map_err(|reason| {
                anyhow!(
                    "{}: no --target given, and {reason}; pass the description it was compiled \
                     for with --target FILE",
                    args.config.display()
                )
            })?;
            (shipped, false)
        }
    };
    let settings = RunSettings {
        limit: args.limit,
        early_exit: args.early_exit,
        out: args.out,
        trace: args.trace,
        allow_violations: args.allow_violations,
        shard: args.shard,
    };
    let golden = args.golden;
    let nir = args.nir.options()?;
    let job = RunJob::new(
        args.config,
        config,
        target,
        Images::Folder(args.data.unwrap_or_else(default_mnist_dir)),
        |config, target| {
            golden
                .as_deref()
                .map(|model| load_golden(model, &nir, config, target))
                .transpose()
        },
        settings,
    )?;
    emulate(job).map(|_| ())
}

/// The shipped target a configuration names, if its description is the one the configuration
/// was compiled for (the same hash); otherwise why not, as a sentence fragment.
fn shipped_target_of(config: &ChipConfig) -> Result<TargetFile, String> {
    let name = &config.target_name;
    let shipped = shipped_targets();
    if !shipped.contains(name) {
        return Err(format!(
            "the configuration's target \"{name}\" is not a shipped one (shipped: {})",
            shipped.join(", ")
        ));
    }
    // The shipped file itself: the name is not a path the user gave.
    let path = shipped_target_path(name);
    let target = ttfs_runtime::target::load(&path).map_err(|e| e.to_string())?;
    if target.hash() != config.target_hash {
        return Err(format!(
            "the shipped target \"{name}\" ({}) has hash {:016x}, not the configuration's \
             {:016x} (it was compiled for another description of that name)",
            path.display(),
            target.hash(),
            config.target_hash
        ));
    }
    Ok(TargetFile {
        given: name.clone(),
        path,
        target,
    })
}

/// Reads `model` and prepares its golden model for `config` on `target`.
fn load_golden(
    model: &Path,
    nir: &ttfs_nir::ImportOptions,
    config: &ChipConfig,
    target: &TargetFile,
) -> anyhow::Result<Golden> {
    let parsed = super::read_model(model, nir)?;
    let network = ttfs_compiler::crosscheck::prepare(&parsed, config, &target.target)
        .with_context(|| model.display().to_string())?;
    Ok(Golden {
        model: model.to_path_buf(),
        network,
    })
}
