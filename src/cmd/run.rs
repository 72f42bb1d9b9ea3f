//! `ttfs run`: a chip configuration on the cycle-accurate emulator, over test images: accuracy,
//! latency, energy per inference and its breakdown, the ANN comparison, the single-spike verdict
//! and (with `--golden`) the comparison with the compiler's golden model; written as
//! `<stem>.run.json` and three pictures.
//!
//! The flags are checked once, in [`Setup::new`], before anything runs. Inferences run in
//! parallel (rayon, one emulator per worker) and are collected in image order, and the emulator
//! is deterministic, so everything but the `timing` part of the report is the same for any
//! number of threads. Failures of the verdicts (a neuron that fired twice, a difference from the
//! golden model) are returned after the report and pictures are written, so they can be read.

mod golden;
mod stats;
mod text;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use ttfs_compiler::golden::GoldenModel;
use ttfs_compiler::ir::QuantNetwork;
use ttfs_runtime::config::{ChipConfig, ConfigError};
use ttfs_runtime::emulator::{Emulator, EmulatorError, Energy, RunOptions, TraceEvent};
use ttfs_runtime::target::Target;
use ttfs_trainer::data::{Dataset, Split};

use super::paths::{default_mnist_dir, resolve_target};
use crate::pictures::{EnergyBars, Raster, draw_energy, draw_latency, draw_raster};
use stats::{Inferences, Record, RunReport, Sources, Timing};

/// Flags of `ttfs run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The chip configuration (written by `ttfs compile`).
    config: PathBuf,
    /// Target description: a JSON file, or the name of a shipped one (loihi, truenorth, xylo,
    /// tiny); the configuration must have been compiled for it.
    #[arg(long, short)]
    target: String,
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
}

/// The files `ttfs run` writes.
struct Outputs {
    json: PathBuf,
    energy: PathBuf,
    latency: PathBuf,
    raster: PathBuf,
    /// The configuration's file stem, for titles.
    stem: String,
}

/// The flags, checked: everything the run needs, loaded.
struct Setup {
    config_path: PathBuf,
    config: ChipConfig,
    target_path: PathBuf,
    target: Target,
    data_dir: PathBuf,
    test: Dataset,
    images: usize,
    golden: Option<QuantNetwork>,
    outputs: Outputs,
}

impl Setup {
    /// Loads and checks every input named by `args`; each error is one line naming the file.
    fn new(args: &RunArgs) -> anyhow::Result<Setup> {
        let config = ttfs_runtime::config::read(&args.config)?;
        let (target_path, target) = resolve_target(&args.target)?;
        Emulator::new(&config, &target).map_err(|e| {
            let hint = match &e {
                EmulatorError::Config(c) => match c.inner() {
                    ConfigError::WrongTarget { config_target, .. } => {
                        format!("; or run it as compiled, with --target {config_target}")
                    }
                    _ => String::new(),
                },
                EmulatorError::InputLength { .. } => String::new(),
            };
            anyhow!("{}: {e}{hint}", args.config.display())
        })?;
        let pixels = config.input.pixels();

        let data_dir = args.data.clone().unwrap_or_else(default_mnist_dir);
        let test = Dataset::load(&data_dir, Split::Test)?;
        if test.pixels_per_image() != pixels {
            bail!(
                "{}: the test images have {} pixels ({} x {}), but the configuration's input has \
                 {pixels} pixels (shape {:?}); pass --data with the data set it was compiled \
                 for",
                data_dir.display(),
                test.pixels_per_image(),
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

        let golden = args
            .golden
            .as_deref()
            .map(|model| golden::prepare(model, &config, &target))
            .transpose()?;
        let outputs = outputs(&args.config, args.out.as_deref())?;
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

/// Where the report and pictures go: `out` (created if needed) or beside `config`.
fn outputs(config: &Path, out: Option<&Path>) -> anyhow::Result<Outputs> {
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chip".to_string());
    let dir = match out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: could not create the folder", dir.display()))?;
            dir.to_path_buf()
        }
        None => config.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let file = |ext: &str| dir.join(format!("{stem}.{ext}"));
    Ok(Outputs {
        json: file("run.json"),
        energy: file("energy.svg"),
        latency: file("latency.svg"),
        raster: file("raster.svg"),
        stem,
    })
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
            target,
            data,
            limit,
            early_exit,
            trace: None,
            out: Some(out),
            golden,
            allow_violations: false,
        }
    }
}

/// Runs `ttfs run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let s = Setup::new(&args)?;
    let options = RunOptions {
        early_exit: args.early_exit,
    };
    let c = &s.config;
    println!(
        "running {} ({} layers on {} cores, T = {}) on target \"{}\" ({})",
        s.config_path.display(),
        c.layers.len(),
        c.cores.len(),
        c.time_steps,
        s.target.name,
        s.target_path.display()
    );
    println!(
        "{} test images from {}{}{}",
        s.images,
        s.data_dir.display(),
        if args.early_exit { ", early exit" } else { "" },
        match &args.golden {
            Some(m) => format!(", against the golden model of {}", m.display()),
            None => String::new(),
        }
    );

    // The first inference again, traced, for the raster and --trace (the emulator is
    // deterministic, so it equals the first of the parallel run).
    let mut emulator = Emulator::new(c, &s.target)?;
    let (first, trace) = emulator.run_traced(s.test.image(0), options)?;
    if let Some(path) = &args.trace {
        write_trace(path, &trace)?;
    }

    let started = Instant::now();
    let inferences = run_all(&s, options)?;
    let records = &inferences.records;
    let wall_seconds = started.elapsed().as_secs_f64();
    let total_sops: u64 = records.iter().map(|r| r.counters.synaptic_ops).sum();
    let timing = Timing {
        threads: rayon::current_num_threads(),
        wall_seconds,
        inferences_per_second: records.len() as f64 / wall_seconds.max(1e-9),
        synaptic_ops_per_second: total_sops as f64 / wall_seconds.max(1e-9),
    };
    let golden = args
        .golden
        .as_deref()
        .map(|model| golden::summarize(model, records.iter().filter_map(|r| r.golden.as_ref())));
    let sources = Sources {
        config: s.config_path.display().to_string(),
        config_target: c.target_name.clone(),
        target: s.target.name.clone(),
        target_file: s.target_path.display().to_string(),
        data: s.data_dir.display().to_string(),
    };
    let report = stats::summarize(
        &inferences,
        c,
        &s.target,
        args.early_exit,
        sources,
        golden,
        timing,
    );
    println!(
        "emulated {} inferences in {:.2} s on {} thread{} ({:.0} inferences/s, {:.3e} synaptic \
         ops/s)\n",
        report.images,
        wall_seconds,
        report.timing.threads,
        if report.timing.threads == 1 { "" } else { "s" },
        report.timing.inferences_per_second,
        report.timing.synaptic_ops_per_second
    );
    print!("{}", text::format_report(&report));

    write_outputs(&s, &report, &first, &trace)?;
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
    verdicts(&report, args.allow_violations, &o.json)
}

/// Every inference, in parallel, collected in image order, and per neuron the number of
/// inferences it fired in.
fn run_all(s: &Setup, options: RunOptions) -> anyhow::Result<Inferences> {
    let fired: Vec<Vec<AtomicU32>> = s
        .config
        .layers
        .iter()
        .map(|l| (0..l.neurons).map(|_| AtomicU32::new(0)).collect())
        .collect();
    let bar = ProgressBar::new(s.images as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "[{bar:30}] {pos}/{len} inferences ({per_sec}, {elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let records = (0..s.images)
        .into_par_iter()
        .map_init(
            || {
                (
                    Emulator::new(&s.config, &s.target),
                    s.golden.as_ref().map(GoldenModel::new),
                )
            },
            |(emulator, golden_model), i| -> anyhow::Result<Record> {
                let emulator = emulator.as_mut().map_err(|e| anyhow!("{e}"))?;
                let image = s.test.image(i);
                let inference = emulator.run(image, options)?;
                for (layer, spikes) in fired.iter().zip(&inference.spikes) {
                    for &(neuron, _) in spikes {
                        if let Some(count) = layer.get(neuron as usize) {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let golden = match golden_model {
                    Some(g) => {
                        let run = g.run(image).context("the golden model failed")?;
                        Some(golden::check(
                            i,
                            &inference,
                            &run,
                            &s.config,
                            options.early_exit,
                        ))
                    }
                    None => None,
                };
                bar.inc(1);
                Ok(Record {
                    energy: Energy::of(&inference.counters, &s.target),
                    counters: inference.counters,
                    decision: inference.decision,
                    label: s.test.labels[i],
                    violations: inference.violations,
                    golden,
                })
            },
        )
        .collect::<anyhow::Result<Vec<_>>>();
    bar.finish_and_clear();
    let counts = fired
        .into_iter()
        .map(|l| l.into_iter().map(AtomicU32::into_inner).collect())
        .collect();
    Ok(Inferences {
        records: records?,
        firing: counts,
    })
}

/// The report and the three pictures, each written atomically.
fn write_outputs(
    s: &Setup,
    report: &RunReport,
    first: &ttfs_runtime::emulator::Inference,
    trace: &[TraceEvent],
) -> anyhow::Result<()> {
    let o = &s.outputs;
    let json = serde_json::to_string_pretty(report)?;
    ttfs_runtime::atomic::write_atomic(&o.json, json.as_bytes())
        .with_context(|| format!("{}: could not write the report", o.json.display()))?;

    let who = format!("{} on {}", o.stem, s.target.name);
    let e = &report.energy;
    let bars = EnergyBars {
        parts: e.breakdown.iter().map(|p| (p.name, p.pj)).collect(),
        total_pj: e.total_pj,
        ann_pj: report.ann.ann_pj,
        sop_pj: report.ann.sop_pj,
    };
    draw_energy(
        &o.energy,
        &bars,
        &format!(
            "{who}: energy per inference (mean of {} images)",
            report.images
        ),
    )?;

    let us: Vec<f64> = report
        .per_inference
        .cycles
        .iter()
        .map(|&c| ttfs_runtime::emulator::latency_us(c, &s.target))
        .collect();
    let l = &report.latency.microseconds;
    draw_latency(
        &o.latency,
        &us,
        l.mean,
        l.p99,
        &format!("{who}: latency of {} inferences", report.images),
    )?;

    let raster = Raster::from_trace(&s.config, first, trace);
    let label = s.test.labels[0];
    let decided = match first.decision.step {
        Some(t) => format!("decided {} at step {t}", first.decision.class),
        None => format!("decided {} without an output spike", first.decision.class),
    };
    draw_raster(
        &o.raster,
        &raster,
        &format!("{who}: spikes of test image 0 (label {label}, {decided})"),
    )?;
    Ok(())
}

/// Writes `trace` as JSON lines.
fn write_trace(path: &Path, trace: &[TraceEvent]) -> anyhow::Result<()> {
    let mut text = String::new();
    for event in trace {
        text.push_str(&serde_json::to_string(event)?);
        text.push('\n');
    }
    ttfs_runtime::atomic::write_atomic(path, text.as_bytes())
        .with_context(|| format!("{}: could not write the trace", path.display()))
}

/// The run's failures: single-spike violations (unless allowed), golden-model differences.
fn verdicts(report: &RunReport, allow_violations: bool, json: &Path) -> anyhow::Result<()> {
    let v = &report.single_spike;
    if !v.verified && !allow_violations {
        let first = v.first.first().map_or_else(String::new, |x| {
            format!(
                " (first: image {}, {}, neuron {} at steps {:?})",
                x.image, x.layer_name, x.index, x.steps
            )
        });
        bail!(
            "single-spike violations: {} of {} inferences had a neuron that fired more than \
             once{first}; details in {}; --allow-violations reports them without failing",
            v.violating_inferences,
            v.inferences,
            json.display()
        );
    }
    if let Some(g) = report.golden.as_ref().filter(|g| !g.all_equal()) {
        let detail = match (&g.first_spike_difference, &g.first_decision_difference) {
            (Some(d), _) => format!(
                "first at image {}, {}, neuron {}: emulator steps {:?}, golden steps {:?}",
                d.image, d.layer_name, d.neuron, d.emulator_steps, d.golden_steps
            ),
            (None, Some(d)) => format!(
                "first at image {}: emulator class {}, golden class {}",
                d.image, d.emulator_class, d.golden_class
            ),
            (None, None) => String::new(),
        };
        bail!(
            "the emulator differs from the golden model: spike times equal on {} of {} \
             inferences, decisions equal on {}; {detail}",
            g.spikes_equal,
            g.compared,
            g.decisions_equal
        );
    }
    Ok(())
}
