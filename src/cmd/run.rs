//! `ttfs run`: a chip configuration on the cycle-accurate emulator, over test images: accuracy,
//! latency, energy per inference and its breakdown, the ANN comparison, the single-spike verdict
//! and (with `--golden`) the comparison with the compiler's golden model; written as
//! `<stem>.run.json` and three pictures.
//!
//! The flags are checked once, in [`Setup::new`], before anything runs. The emulation and its
//! report are the runtime's ([`ttfs_runtime::batch::run_report`], with the golden cross-check
//! plugged in from the compiler); this module loads the inputs, shows progress, prints and
//! writes. Failures of the verdicts (a neuron that fired
//! twice, a difference from the golden model) are returned after the report and pictures are
//! written, so they can be read.

pub(crate) mod outputs;

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ttfs_compiler::crosscheck::GoldenReference;
use ttfs_compiler::ir::QuantNetwork;
use ttfs_runtime::batch::{Batch, run_report};
use ttfs_runtime::config::{ChipConfig, ConfigError};
use ttfs_runtime::emulator::{Emulator, EmulatorError, RunOptions};
use ttfs_runtime::report::shard::{SHARD_FORMAT, Shard, config_digest, parse_shard, slice};
use ttfs_runtime::report::{GoldenSummary, RunReport, Sources, format_report, summarize};
use ttfs_runtime::target::Target;
use ttfs_trainer::data::{Dataset, Split};

use super::paths::{default_mnist_dir, resolve_target};
use outputs::{Outputs, verdicts, write_outputs};

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
    /// Stop each inference after the step of its first output spike (the chip's early exit).
    #[arg(long)]
    early_exit: bool,
    /// Write every event of the first inference to FILE, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Folder for the report (`<stem>.run.json`) and the pictures (`<stem>.energy.svg`,
    /// `.latency.svg`, `.raster.svg`) [default: beside the configuration].
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The trained model the configuration was compiled from (safetensors): recompile it for
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
}

impl RunArgs {
    /// The arguments of `ttfs run CONFIG --target TARGET [--data DIR] --limit LIMIT -o OUT
    /// [--early-exit] [--golden MODEL]`.
    pub fn new(
        config: PathBuf,
        target: String,
        data: Option<PathBuf>,
        limit: usize,
        out: PathBuf,
        early_exit: bool,
        golden: Option<PathBuf>,
    ) -> Self {
        Self {
            config,
            target: Some(target),
            data,
            limit,
            early_exit,
            trace: None,
            out: Some(out),
            golden,
            allow_violations: false,
            shard: None,
        }
    }
}

/// The golden model of a run: the model file it came from and its quantized network.
pub struct Golden {
    /// The model file (named in the report).
    pub model: PathBuf,
    /// The network the golden model simulates.
    pub network: QuantNetwork,
}

/// The flags, checked: everything the run needs, loaded.
pub struct Setup {
    config_path: PathBuf,
    config: ChipConfig,
    target_path: PathBuf,
    target: Target,
    data_dir: PathBuf,
    test: Dataset,
    images: usize,
    golden: Option<Golden>,
    outputs: Outputs,
}

impl Setup {
    /// Loads and checks every input named by `args`; each error is one line naming the file.
    fn new(args: &RunArgs) -> anyhow::Result<Setup> {
        let config = ttfs_runtime::config::read(&args.config)?;
        let (target_path, target) = match &args.target {
            Some(name) => resolve_target(name)?,
            None => shipped_target_of(&config).map_err(|reason| {
                anyhow!(
                    "{}: no --target given, and {reason}; pass the description it was compiled \
                     for with --target FILE",
                    args.config.display()
                )
            })?,
        };
        Self::assemble(args, config, target_path, target, |config, target| {
            args.golden
                .as_deref()
                .map(|model| load_golden(model, config, target))
                .transpose()
        })
    }

    /// The setup of a configuration just compiled (the pipeline's compile stage, a point of
    /// `ttfs explore`), with the golden model of the network it was compiled from, `model`.
    pub fn compiled(
        args: &RunArgs,
        compiled: &super::compile::CompileOutput,
        model: PathBuf,
    ) -> anyhow::Result<Setup> {
        let golden = Golden {
            model,
            network: compiled.compiled.quantized.network.clone(),
        };
        Self::assemble(
            args,
            compiled.compiled.config().clone(),
            compiled.target_path.clone(),
            compiled.target.clone(),
            |_, _| Ok(Some(golden)),
        )
    }

    /// Checks the configuration against the target, loads the test images, then the golden
    /// model, and prepares the output folder, in that order.
    fn assemble(
        args: &RunArgs,
        config: ChipConfig,
        target_path: PathBuf,
        target: Target,
        golden: impl FnOnce(&ChipConfig, &Target) -> anyhow::Result<Option<Golden>>,
    ) -> anyhow::Result<Setup> {
        Emulator::new(&config, &target).map_err(|e| {
            let hint = match &e {
                EmulatorError::Config(c) => match c.inner() {
                    ConfigError::WrongTarget { config_target, .. } => {
                        format!("; or run it as compiled, with --target {config_target}")
                    }
                    _ => String::new(),
                },
                EmulatorError::InputLength { .. } | EmulatorError::Target(_) => String::new(),
            };
            anyhow!("{}: {e}{hint}", args.config.display())
        })?;
        let pixels = config.input.pixels();

        let data_dir = args.data.clone().unwrap_or_else(default_mnist_dir);
        let test = Dataset::load(&data_dir, Split::Test)?;
        let shape = [1, test.rows as u64, test.cols as u64];
        let expected: Vec<u64> = config.input.shape.iter().map(|&d| u64::from(d)).collect();
        if test.pixels_per_image() != pixels || shape[..] != expected[..] {
            bail!(
                "{}: the test images are {} x {} pixels, but the configuration's input is {:?} \
                 (channels, rows, columns); pass --data with the data set it was compiled for",
                data_dir.display(),
                test.rows,
                test.cols,
                config.input.shape
            );
        }
        let images = match args.limit {
            0 => test.len(),
            n => n.min(test.len()),
        };
        if images == 0 {
            bail!("{}: the test split has no images", data_dir.display());
        }

        let golden = golden(&config, &target)?;
        let outputs = Outputs::new(&args.config, args.out.as_deref())?;
        Ok(Setup {
            config_path: args.config.clone(),
            config,
            target_path,
            target,
            data_dir,
            test,
            images,
            golden,
            outputs,
        })
    }
}

/// The shipped target a configuration names, if its description is the one the configuration
/// was compiled for (the same hash); otherwise why not, as a sentence fragment.
fn shipped_target_of(config: &ChipConfig) -> Result<(PathBuf, Target), String> {
    let name = &config.target_name;
    let shipped = super::paths::shipped_targets();
    if !shipped.contains(name) {
        return Err(format!(
            "the configuration's target \"{name}\" is not a shipped one (shipped: {})",
            shipped.join(", ")
        ));
    }
    // The shipped file itself: the name is not a path the user gave.
    let path = super::paths::shipped_target_path(name);
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
    Ok((path, target))
}

/// Reads `model` and prepares its golden model for `config` on `target`.
fn load_golden(model: &Path, config: &ChipConfig, target: &Target) -> anyhow::Result<Golden> {
    let parsed = ttfs_compiler::model::read(model)?;
    let network = ttfs_compiler::crosscheck::prepare(&parsed, config, target)
        .with_context(|| model.display().to_string())?;
    Ok(Golden {
        model: model.to_path_buf(),
        network,
    })
}

/// Runs `ttfs run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let setup = Setup::new(&args)?;
    emulate(&args, setup).map(|_| ())
}

/// Emulates the run `setup` describes with the flags of `args`: prints and writes the report
/// and pictures, then returns the report, or the failed verdicts as an error.
pub fn emulate(args: &RunArgs, s: Setup) -> anyhow::Result<RunReport> {
    let options = RunOptions {
        early_exit: args.early_exit,
    };
    let c = &s.config;
    println!(
        "running {} ({} layers on {} cores, T = {}) on target \"{}\" ({}{})",
        s.config_path.display(),
        c.layers.len(),
        c.cores.len(),
        c.time_steps,
        s.target.name,
        s.target_path.display(),
        if args.target.is_none() {
            ", the shipped target the configuration names, with its hash"
        } else {
            ""
        }
    );
    println!(
        "{} test images from {}{}{}",
        s.images,
        s.data_dir.display(),
        if args.early_exit { ", early exit" } else { "" },
        match &s.golden {
            Some(g) => format!(", against the golden model of {}", g.model.display()),
            None => String::new(),
        }
    );

    // The first inference again, traced, for the raster and --trace (the emulator is
    // deterministic, so it equals the first of the parallel run).
    let mut emulator = Emulator::new(c, &s.target)?;
    let (first, trace) = emulator.run_traced(s.test.image(0), options)?;

    let images: Vec<&[u8]> = (0..s.images).map(|i| s.test.image(i)).collect();
    let reference = s.golden.as_ref().map(|g| GoldenReference {
        network: &g.network,
        config: c,
        early_exit: args.early_exit,
    });
    let sources = Sources {
        config: s.config_path.display().to_string(),
        config_target: c.target_name.clone(),
        target: s.target.name.clone(),
        target_file: s.target_path.display().to_string(),
        data: s.data_dir.display().to_string(),
    };
    if let Some((index, count)) = args.shard {
        return run_shard(
            &s,
            args,
            (index, count),
            &images,
            reference.as_ref(),
            sources,
        );
    }
    let batch = Batch {
        images: &images,
        labels: &s.test.labels[..s.images],
        options,
        first_image: 0,
    };
    let golden = reference
        .as_ref()
        .zip(s.golden.as_ref())
        .map(|(r, g)| (r, g.model.display().to_string()));
    let bar = progress_bar(s.images);
    let report = run_report(c, &s.target, batch, golden, sources, &|| bar.inc(1));
    bar.finish_and_clear();
    let report = report?;
    println!(
        "emulated {} inferences in {:.2} s on {} thread{} ({:.0} inferences/s, {:.3e} synaptic \
         ops/s)\n",
        report.images,
        report.timing.wall_seconds,
        report.timing.threads,
        if report.timing.threads == 1 { "" } else { "s" },
        report.timing.inferences_per_second,
        report.timing.synaptic_ops_per_second
    );
    print!("{}", format_report(&report));

    write_outputs(&s, &report, &first, &trace, args.trace.as_deref())?;
    let o = &s.outputs;
    println!(
        "\nwrote {}, {}, {}, {}{}",
        o.json.display(),
        o.energy.display(),
        o.latency.display(),
        o.raster.display(),
        match &args.trace {
            Some(t) => format!(", {} ({} events)", t.display(), trace.len()),
            None => String::new(),
        }
    );
    verdicts(&report, args.allow_violations, &o.json)?;
    Ok(report)
}

/// `ttfs run --shard I/N`: the slice's records as a shard file, its report printed.
fn run_shard(
    s: &Setup,
    args: &RunArgs,
    (index, count): (usize, usize),
    images: &[&[u8]],
    reference: Option<&GoldenReference<'_>>,
    sources: Sources,
) -> anyhow::Result<RunReport> {
    let range = slice(index, count, s.images);
    if range.is_empty() {
        bail!(
            "--shard {index}/{count}: {} images leave this shard none; use at most {} shards",
            s.images,
            s.images
        );
    }
    let batch = Batch {
        images: &images[range.clone()],
        labels: &s.test.labels[range.clone()],
        options: RunOptions {
            early_exit: args.early_exit,
        },
        first_image: range.start,
    };
    println!(
        "shard {index} of {count}: images {}..{} of {}",
        range.start, range.end, s.images
    );
    let bar = progress_bar(range.len());
    let run =
        ttfs_runtime::batch::run_timed(&s.config, &s.target, &batch, reference, &|| bar.inc(1));
    bar.finish_and_clear();
    let (inferences, timing) = run?;
    let golden_model = s.golden.as_ref().map(|g| g.model.display().to_string());
    let golden = golden_model.clone().map(|model| {
        GoldenSummary::of(
            model,
            inferences.records.iter().filter_map(|r| r.golden.as_ref()),
        )
    });
    let report = summarize(
        &inferences,
        &s.config,
        &s.target,
        args.early_exit,
        sources.clone(),
        golden,
        timing.clone(),
    );
    print!("{}", format_report(&report));
    let shard = Shard {
        format: SHARD_FORMAT.to_string(),
        index,
        count,
        images: s.images,
        first_image: range.start,
        config_digest: config_digest(&s.config),
        early_exit: args.early_exit,
        golden_model,
        sources,
        records: inferences.records,
        firing: inferences.firing,
        timing,
    };
    let path = s.outputs.json.with_file_name(format!(
        "{}.shard-{index}-of-{count}.json",
        s.outputs.stem()
    ));
    let json = serde_json::to_string(&shard)?;
    ttfs_runtime::atomic::write_atomic(&path, json.as_bytes())
        .with_context(|| format!("{}: could not write the shard", path.display()))?;
    println!("\nwrote {}", path.display());
    verdicts(&report, args.allow_violations, &path)?;
    Ok(report)
}

/// A progress bar over `images` inferences on stderr.
fn progress_bar(images: usize) -> ProgressBar {
    let bar = ProgressBar::new(images as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "[{bar:30}] {pos}/{len} inferences ({per_sec}, {elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}
