//! `ttfs explore`: the design space of trained models x targets x early exit.
//!
//! Each point compiles one model for one target (or records the compiler's refusal, one line)
//! and emulates the configuration on the test images against the golden model, with and
//! without early exit; every point is the plain `ttfs compile` and `ttfs run` pair its row
//! names, so a user can run any point anywhere and get the same JSON. At the end it writes
//! `explore.json` (every point: accuracy, energy and its ANN baselines, latency, cores, and
//! whether another point beats it on both accuracy and energy) and `explore.svg` (accuracy
//! against energy and against latency, the Pareto front joined, the dominated points hollow).
//!
//! - [`points`]: the points, their Pareto marks and outputs.
//! - [`shards`]: one slice of the exploration per machine, and their merge.

pub mod points;
pub mod shards;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use ttfs_compiler::ir::PoolLowering;
use ttfs_runtime::decision::EarlyExit;
use ttfs_runtime::report::shard::{parse_shard, slice};

use super::{describe, early_exit_values, read_model};
use crate::paths::{default_mnist_dir, resolve_data, resolve_target};
use crate::stage::compile::{LossLimits, compile_model};
use crate::stage::run::{RunSettings, emulate};
use crate::stage::{CompileJob, RunJob, TargetFile, TestSet};
use points::{Point, mark_dominated, print_table, refused_point, stem, write_outputs};
use shards::{ExploreShard, Space};
use ttfs_compiler::model::Model;

/// Flags of `ttfs explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// Trained models (files written by `ttfs train`, or NIR files).
    #[arg(required = true, value_name = "MODEL")]
    models: Vec<PathBuf>,
    /// Targets, comma-separated: JSON files or shipped targets' names.
    #[arg(long, value_delimiter = ',', default_value = "loihi,speck")]
    targets: Vec<String>,
    /// Whether each point stops at the first output spike, comma-separated (on, off, auto).
    #[arg(long, value_delimiter = ',', default_value = "on,off", value_parser = early_exit_values())]
    early_exit: Vec<EarlyExit>,
    /// Test images each point is emulated on (0 = the whole test set).
    #[arg(long, default_value_t = 1000)]
    images: usize,
    /// Calibration images of each compile (0: no float vs golden comparison).
    #[arg(long, default_value_t = 0)]
    calibrate: usize,
    /// MNIST folder (default: the embedded MNIST files).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Folder of the exploration: one configuration and run folder per point, then
    /// explore.json and explore.svg.
    #[arg(long, default_value = "runs/explore")]
    run_dir: PathBuf,
    /// Explore only the I-th of N contiguous slices of the (model, target) pairs, in the order
    /// given, and write its points as `explore.shard-I-of-N.json`; `ttfs merge` makes
    /// `explore.json` and `explore.svg` of the whole space from the N shard files.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// How NIR models among MODEL are imported.
    #[command(flatten)]
    nir: crate::cmd::nir::NirArgs,
}

/// Runs `ttfs explore`.
pub fn run(args: ExploreArgs) -> anyhow::Result<()> {
    // Every argument is checked before the first point: a misspelled target or a missing
    // model at the end of the list must not cost the points before it.
    let targets: Vec<TargetFile> = args
        .targets
        .iter()
        .map(|given| resolve_target(given))
        .collect::<anyhow::Result<_>>()?;
    let nir = args.nir.options()?;
    let models: Vec<Model> = args
        .models
        .iter()
        .map(|path| read_model(path, &nir))
        .collect::<anyhow::Result<_>>()?;
    let data_dir = args.data.clone().unwrap_or_else(default_mnist_dir);
    let test = Arc::new(TestSet::load(&data_dir)?);
    std::fs::create_dir_all(&args.run_dir)
        .with_context(|| format!("cannot create the run folder {}", args.run_dir.display()))?;
    let mut points = Vec::new();
    let total = args.models.len() * args.targets.len();
    let pairs = match args.shard {
        Some((index, count)) => {
            let pairs = slice(index, count, total);
            if pairs.is_empty() {
                anyhow::bail!(
                    "--shard {index}/{count}: {total} (model, target) pairs leave this shard \
                     none; use at most {total} shards"
                );
            }
            println!(
                "shard {index} of {count}: pairs {}..{} of {total}",
                pairs.start, pairs.end
            );
            pairs
        }
        None => 0..total,
    };
    for (m, (model_path, model)) in args.models.iter().zip(&models).enumerate() {
        let first = m * args.targets.len();
        if !(first..first + args.targets.len()).any(|p| pairs.contains(&p)) {
            continue;
        }
        let tie_break = model.description.decoding.tie_break.into();
        let stem = stem(model_path);
        for (t, given) in args.targets.iter().enumerate() {
            if !pairs.contains(&(first + t)) {
                continue;
            }
            println!(
                "\n##### explore {}/{total}: {stem} on {given} #####",
                m * args.targets.len() + t + 1
            );
            let target = &targets[t];
            let name = target.target.name.clone();
            let config_path = args.run_dir.join(format!("{stem}.{name}.bin"));
            let compile_command = format!(
                "ttfs compile {} --target {given} -o {} --limit {}",
                model_path.display(),
                config_path.display(),
                args.calibrate
            );
            let compiled =
                resolve_data(args.data.as_deref(), &model.description.dataset).and_then(|_| {
                    compile_model(&CompileJob {
                        model_path,
                        model,
                        target,
                        out: config_path.clone(),
                        calibration: (args.calibrate > 0).then_some((&*test, args.calibrate)),
                        pool_lowering: PoolLowering::SharedAxons,
                        loss: LossLimits::default(),
                    })
                });
            let compiled = match compiled {
                Ok(c) => c,
                Err(e) => {
                    let reason = describe(&e);
                    println!("refused: {reason}");
                    for &early in &args.early_exit {
                        points.push(refused_point(
                            model_path,
                            &name,
                            early.stops(tie_break).unwrap_or(true),
                            &reason,
                            &compile_command,
                        ));
                    }
                    continue;
                }
            };
            for &early in &args.early_exit {
                let early_exit = match early.stops(tie_break) {
                    Ok(stops) => stops,
                    Err(inexact) => {
                        let reason = format!("--early-exit {early}: {inexact}");
                        println!("refused: {reason}");
                        points.push(refused_point(
                            model_path,
                            &name,
                            true,
                            &reason,
                            &compile_command,
                        ));
                        continue;
                    }
                };
                let out = args.run_dir.join(format!(
                    "{stem}.{name}.{}",
                    if early_exit {
                        "early-exit"
                    } else {
                        "all-steps"
                    }
                ));
                let settings = RunSettings::point(
                    args.images,
                    if early_exit { early } else { EarlyExit::Off },
                    out.clone(),
                );
                let job = RunJob::compiled(
                    &compiled,
                    target,
                    model_path.clone(),
                    Arc::clone(&test),
                    settings,
                )?;
                let report = emulate(job)?;
                let run_command = format!(
                    "ttfs run {} --target {given} --limit {}{} --golden {} -o {}",
                    config_path.display(),
                    args.images,
                    match early {
                        _ if !early_exit => String::new(),
                        EarlyExit::Anyway => " --early-exit=anyway".to_string(),
                        _ => " --early-exit".to_string(),
                    },
                    model_path.display(),
                    out.display()
                );
                points.push(Point {
                    model: model_path.display().to_string(),
                    target: name.clone(),
                    early_exit,
                    refused: None,
                    accuracy: Some(report.accuracy),
                    energy_nj: Some(report.energy.total_nj),
                    ann_nj: report.ann.ann_pj.map(|pj| pj / 1000.0),
                    sparse_ann_nj: report.ann.sparse_ann_pj.map(|pj| pj / 1000.0),
                    latency_us: Some(report.latency.microseconds.mean),
                    steps_run: Some(report.latency.steps_run_mean),
                    synaptic_ops: Some(report.counters.synaptic_ops),
                    neuron_updates: Some(report.counters.neuron_updates),
                    cores: Some(compiled.compiled.mapping.report.cores_used as u64),
                    golden_equal: report
                        .golden
                        .as_ref()
                        .map(|g| format!("{} of {}", g.spikes_equal, g.compared)),
                    dominated: None,
                    commands: vec![compile_command.clone(), run_command],
                });
            }
        }
    }
    if let Some((index, count)) = args.shard {
        let shard = ExploreShard::new(index, count, space(&args), points);
        print_table(&shard.points);
        return shard.write(&args.run_dir);
    }
    mark_dominated(&mut points);
    write_outputs(&args.run_dir, &points)?;
    print_table(&points);
    Ok(())
}

/// The axes of the exploration, which the shards of one exploration share.
fn space(args: &ExploreArgs) -> Space {
    Space {
        models: args
            .models
            .iter()
            .map(|m| m.display().to_string())
            .collect(),
        targets: args.targets.clone(),
        early_exit: args.early_exit.clone(),
        images: args.images,
        calibrate: args.calibrate,
    }
}
