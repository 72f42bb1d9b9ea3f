//! The run stage: a configuration on the cycle-accurate emulator over test images, against
//! the golden model when there is one: the report printed and written as
//! `<stem>.run.json` with three pictures, or, for one shard of a run, its records.
//!
//! A [`RunJob`] holds everything checked, in the order the checks run: the configuration
//! against the target (every limit, once), the test images against the configuration's input,
//! the golden model, the output folder. The emulation and its report are the runtime's
//! ([`ttfs_runtime::batch::run_report`], with the compiler's golden cross-check plugged in);
//! this module shows progress, prints and writes. Failed verdicts (a neuron that fired twice,
//! a difference from the golden model) are returned after the report and pictures are written,
//! so they can be read.

pub(crate) mod outputs;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ttfs_compiler::crosscheck::GoldenReference;
use ttfs_compiler::ir::QuantNetwork;
use ttfs_runtime::batch::{Batch, run_report, ticks};
use ttfs_runtime::config::{ChipConfig, ConfigError};
use ttfs_runtime::decision::EarlyExit;
use ttfs_runtime::emulator::{Emulator, EmulatorError, RunOptions};
use ttfs_runtime::report::shard::{SHARD_FORMAT, Shard, config_digest, slice};
use ttfs_runtime::report::{GoldenSummary, RunReport, Sources, format_report, summarize};

use super::{CompileOutput, TargetFile, TestSet};
use outputs::{Outputs, verdicts, write_outputs};

/// The golden model of a run: the model file it came from and its quantized network.
pub struct Golden {
    /// The model file (named in the report).
    pub model: PathBuf,
    /// The network the golden model simulates.
    pub network: QuantNetwork,
}

/// Where a run's test images come from: a folder still to load (after the configuration is
/// checked, so a wrong target is named before a missing file), or a split already loaded and
/// shared between runs.
pub enum Images {
    /// The folder of the IDX files.
    Folder(PathBuf),
    /// A loaded test split.
    Loaded(Arc<TestSet>),
}

/// How a run goes, as the user asked: every setting but the inputs.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Test images to run, from the first; 0 runs all.
    pub limit: usize,
    /// When each inference stops at its first output spike (resolved against the
    /// configuration's tie break).
    pub early_exit: EarlyExit,
    /// Folder for the report and pictures (default: beside the configuration).
    pub out: Option<PathBuf>,
    /// Write every event of the first inference here, one JSON object per line.
    pub trace: Option<PathBuf>,
    /// Report single-spike violations without failing.
    pub allow_violations: bool,
    /// Run only the `I`-th of `N` slices of the images and write its records as a shard.
    pub shard: Option<(usize, usize)>,
}

impl RunSettings {
    /// A whole run of `limit` images written into `out`, the way the pipeline and the
    /// explorations run a point.
    pub fn point(limit: usize, early_exit: EarlyExit, out: PathBuf) -> RunSettings {
        RunSettings {
            limit,
            early_exit,
            out: Some(out),
            trace: None,
            allow_violations: false,
            shard: None,
        }
    }
}

/// A run, checked: everything the emulation needs, loaded.
pub struct RunJob {
    config_path: PathBuf,
    config: ChipConfig,
    target: TargetFile,
    /// Whether the target is the one the user named, rather than the shipped one the
    /// configuration names (said in the first line printed).
    target_named: bool,
    test: Arc<TestSet>,
    images: usize,
    golden: Option<Golden>,
    outputs: Outputs,
    early_exit: bool,
    settings: RunSettings,
}

impl RunJob {
    /// Checks the configuration against the target, loads the test images, then the golden
    /// model, and prepares the output folder, in that order; each error is one line naming
    /// the file.
    pub fn new(
        config_path: PathBuf,
        config: ChipConfig,
        (target, target_named): (TargetFile, bool),
        images: Images,
        golden: impl FnOnce(&ChipConfig, &TargetFile) -> anyhow::Result<Option<Golden>>,
        settings: RunSettings,
    ) -> anyhow::Result<RunJob> {
        Emulator::new(&config, &target.target).map_err(|e| {
            let hint = match &e {
                EmulatorError::Config(c) => match c.inner() {
                    ConfigError::WrongTarget { config_target, .. } => {
                        format!("; or run it as compiled, with --target {config_target}")
                    }
                    _ => String::new(),
                },
                EmulatorError::InputLength { .. } | EmulatorError::Target(_) => String::new(),
            };
            anyhow!("{}: {e}{hint}", config_path.display())
        })?;
        let pixels = config.input.pixels();

        let test = match images {
            Images::Folder(dir) => Arc::new(TestSet::load(&dir)?),
            Images::Loaded(test) => test,
        };
        let data = &test.data;
        let shape = [1, data.rows as u64, data.cols as u64];
        let expected: Vec<u64> = config.input.shape.iter().map(|&d| u64::from(d)).collect();
        if data.pixels_per_image() != pixels || shape[..] != expected[..] {
            bail!(
                "{}: the test images are {} x {} pixels, but the configuration's input is {:?} \
                 (channels, rows, columns); pass --data with the data set it was compiled for",
                test.dir.display(),
                data.rows,
                data.cols,
                config.input.shape
            );
        }
        let images = match settings.limit {
            0 => data.len(),
            n => n.min(data.len()),
        };
        if images == 0 {
            bail!("{}: the test split has no images", test.dir.display());
        }

        let golden = golden(&config, &target)?;
        let outputs = Outputs::new(&config_path, settings.out.as_deref())?;
        let early_exit = settings
            .early_exit
            .stops(config.decoding.tie_break)
            .with_context(|| format!("{}: --early-exit", config_path.display()))?;
        Ok(RunJob {
            config_path,
            config,
            target,
            target_named,
            test,
            images,
            golden,
            outputs,
            early_exit,
            settings,
        })
    }

    /// The run of a configuration just compiled (the pipeline's compile stage, a point of an
    /// exploration) on `test`, against the golden model of the network it was compiled from,
    /// read from `model`.
    pub fn compiled(
        compiled: &CompileOutput,
        target: &TargetFile,
        model: PathBuf,
        test: Arc<TestSet>,
        settings: RunSettings,
    ) -> anyhow::Result<RunJob> {
        let golden = Golden {
            model,
            network: compiled.compiled.quantized.network.clone(),
        };
        Self::new(
            compiled.config_path.clone(),
            compiled.compiled.config().clone(),
            (target.clone(), true),
            Images::Loaded(test),
            |_, _| Ok(Some(golden)),
            settings,
        )
    }
}

/// Emulates the run `job` describes: prints and writes the report and pictures (or the
/// shard), then returns the report, or the failed verdicts as an error.
pub fn emulate(job: RunJob) -> anyhow::Result<RunReport> {
    let s = &job;
    let options = RunOptions {
        early_exit: s.early_exit,
    };
    let c = &s.config;
    let target = &s.target.target;
    println!(
        "running {} ({} layers on {} cores, T = {}) on target \"{}\" ({}{})",
        s.config_path.display(),
        c.layers.len(),
        c.cores.len(),
        c.time_steps,
        target.name,
        s.target.path.display(),
        if s.target_named {
            ""
        } else {
            ", the shipped target the configuration names, with its hash"
        }
    );
    println!(
        "{} test images from {}{}{}",
        s.images,
        s.test.dir.display(),
        if s.early_exit { ", early exit" } else { "" },
        match &s.golden {
            Some(g) => format!(", against the golden model of {}", g.model.display()),
            None => String::new(),
        }
    );

    // The first inference again, traced, for the raster and --trace (the emulator is
    // deterministic, so it equals the first of the parallel run).
    let test = &s.test.data;
    let mut emulator = Emulator::new(c, target)?;
    let (first, trace) = emulator.run_traced(test.image(0), options)?;

    let images: Vec<&[u8]> = (0..s.images).map(|i| test.image(i)).collect();
    let reference = s.golden.as_ref().map(|g| GoldenReference {
        network: &g.network,
        config: c,
        early_exit: s.early_exit,
    });
    let sources = Sources {
        config: s.config_path.display().to_string(),
        config_target: c.target_name.clone(),
        target: target.name.clone(),
        target_file: s.target.path.display().to_string(),
        data: s.test.dir.display().to_string(),
    };
    if let Some((index, count)) = s.settings.shard {
        return run_shard(s, (index, count), &images, reference.as_ref(), sources);
    }
    let batch = Batch {
        images: &images,
        labels: &test.labels[..s.images],
        options,
        first_image: 0,
    };
    let golden = reference
        .as_ref()
        .zip(s.golden.as_ref())
        .map(|(r, g)| (r, g.model.display().to_string()));
    let bar = progress_bar(s.images);
    let report = run_report(c, target, batch, golden, sources, &ticks(|| bar.inc(1)));
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

    let trace_path = s.settings.trace.as_deref();
    write_outputs(s, &report, &first, &trace, trace_path)?;
    let o = &s.outputs;
    println!(
        "\nwrote {}, {}, {}, {}{}",
        o.json.display(),
        o.energy.display(),
        o.latency.display(),
        o.raster.display(),
        match trace_path {
            Some(t) => format!(", {} ({} events)", t.display(), trace.len()),
            None => String::new(),
        }
    );
    verdicts(&report, s.settings.allow_violations, &o.json)?;
    Ok(report)
}

/// `--shard I/N`: the slice's records as a shard file, its report printed.
fn run_shard(
    s: &RunJob,
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
    let target = &s.target.target;
    let batch = Batch {
        images: &images[range.clone()],
        labels: &s.test.data.labels[range.clone()],
        options: RunOptions {
            early_exit: s.early_exit,
        },
        first_image: range.start,
    };
    println!(
        "shard {index} of {count}: images {}..{} of {}",
        range.start, range.end, s.images
    );
    let bar = progress_bar(range.len());
    let run =
        ttfs_runtime::batch::run_timed(&s.config, target, &batch, reference, &ticks(|| bar.inc(1)));
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
        target,
        s.early_exit,
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
        early_exit: s.early_exit,
        golden_model,
        sources,
        records: inferences.records,
        firing: inferences.firing,
        timing,
        checksum: 0,
    }
    .sealed();
    let path = s.outputs.json.with_file_name(format!(
        "{}.shard-{index}-of-{count}.json",
        s.outputs.stem()
    ));
    let json = serde_json::to_string(&shard)?;
    ttfs_runtime::atomic::write_atomic(&path, json.as_bytes())
        .with_context(|| format!("{}: could not write the shard", path.display()))?;
    println!("\nwrote {}", path.display());
    verdicts(&report, s.settings.allow_violations, &path)?;
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
