//! `ttfs explore`: the design space of trained models x targets x early exit.
//!
//! Each point compiles one model for one target (or records the compiler's refusal, one line)
//! and emulates the configuration on the test images against the golden model, with and
//! without early exit; every point is the plain `ttfs compile` and `ttfs run` pair its row
//! names, so a user can run any point anywhere and get the same JSON. At the end it writes
//! `explore.json` (every point: accuracy, energy and its ANN baselines, latency, cores, and
//! whether another point beats it on both accuracy and energy) and `explore.svg` (accuracy
//! against energy and against latency, the Pareto front joined, the dominated points hollow).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use ttfs_runtime::report::shard::{parse_shard, slice};

use super::compile::{CompileArgs, compile_model};
use super::describe;
use super::run::{RunArgs, Setup, emulate};
use crate::cmd::explore_shards::{ExploreShard, Space};
use crate::pictures::{DesignPoint, draw_design_space};

/// Flags of `ttfs explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// Trained models (files written by `ttfs train`).
    #[arg(required = true, value_name = "MODEL")]
    models: Vec<PathBuf>,
    /// Targets, comma-separated: JSON files or shipped targets' names.
    #[arg(long, value_delimiter = ',', default_value = "loihi,speck")]
    targets: Vec<String>,
    /// Whether each point stops at the first output spike, comma-separated (on, off).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "on,off")]
    early_exit: Vec<OnOff>,
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
}

/// `--early-exit` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Stop at the first output spike.
    On,
    /// Run all T steps.
    Off,
}

/// One point of the design space, as `explore.json` holds it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Point {
    /// The model file.
    pub model: String,
    /// The target's name.
    pub target: String,
    /// Whether the run stopped at the first output spike.
    pub early_exit: bool,
    /// The compiler's refusal, when the model does not fit the target (the rest is then
    /// empty).
    pub refused: Option<String>,
    /// Test accuracy on the chip.
    pub accuracy: Option<f64>,
    /// Mean energy per inference, nJ.
    pub energy_nj: Option<f64>,
    /// The same network as a dense float ANN (MACs x 4.6 pJ), nJ.
    pub ann_nj: Option<f64>,
    /// The ANN at the model's weight sparsity (nonzero MACs x 4.6 pJ), nJ.
    pub sparse_ann_nj: Option<f64>,
    /// Mean latency per inference, us.
    pub latency_us: Option<f64>,
    /// Mean time steps run.
    pub steps_run: Option<f64>,
    /// Mean synaptic ops per inference.
    pub synaptic_ops: Option<f64>,
    /// Mean neuron updates per inference.
    pub neuron_updates: Option<f64>,
    /// Cores used.
    pub cores: Option<u64>,
    /// Inferences whose every spike equalled the golden model's, of those compared.
    pub golden_equal: Option<String>,
    /// Another fitting point is at least as accurate and at most as costly, and better in one.
    pub dominated: bool,
    /// The two `ttfs` invocations that reproduce the point.
    pub commands: Vec<String>,
}

/// Runs `ttfs explore`.
pub fn run(args: ExploreArgs) -> anyhow::Result<()> {
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
    for (m, model_path) in args.models.iter().enumerate() {
        let first = m * args.targets.len();
        if !(first..first + args.targets.len()).any(|p| pairs.contains(&p)) {
            continue;
        }
        let model = ttfs_compiler::model::read(model_path).with_context(|| {
            format!(
                "{} is not a model this compiler reads (expected a model file written by `ttfs train`)",
                model_path.display()
            )
        })?;
        let stem = stem(model_path);
        for (t, target) in args.targets.iter().enumerate() {
            if !pairs.contains(&(first + t)) {
                continue;
            }
            println!(
                "\n##### explore {}/{total}: {stem} on {target} #####",
                m * args.targets.len() + t + 1
            );
            let (_, target_desc) = super::paths::resolve_target(target)?;
            let name = target_desc.name.clone();
            let config_path = args.run_dir.join(format!("{stem}.{name}.bin"));
            let compile = CompileArgs::new(
                model_path.clone(),
                target.clone(),
                config_path.clone(),
                args.data.clone(),
                args.calibrate,
            );
            let compile_command = format!(
                "ttfs compile {} --target {target} -o {} --limit {}",
                model_path.display(),
                config_path.display(),
                args.calibrate
            );
            let compiled = match compile_model(&compile, &model) {
                Ok(c) => c,
                Err(e) => {
                    let reason = describe(&e);
                    println!("refused: {reason}");
                    for &early in &args.early_exit {
                        points.push(refused_point(
                            model_path,
                            &name,
                            early == OnOff::On,
                            &reason,
                            &compile_command,
                        ));
                    }
                    continue;
                }
            };
            for &early in &args.early_exit {
                let early_exit = early == OnOff::On;
                let out = args.run_dir.join(format!(
                    "{stem}.{name}.{}",
                    if early_exit {
                        "early-exit"
                    } else {
                        "all-steps"
                    }
                ));
                let run = RunArgs::new(
                    config_path.clone(),
                    target.clone(),
                    args.data.clone(),
                    args.images,
                    out.clone(),
                    early_exit,
                    Some(model_path.clone()),
                );
                let setup = Setup::compiled(&run, &compiled, model_path.clone())?;
                let report = emulate(&run, setup)?;
                let run_command = format!(
                    "ttfs run {} --target {target} --limit {}{} --golden {} -o {}",
                    config_path.display(),
                    args.images,
                    if early_exit { " --early-exit" } else { "" },
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
                    dominated: false,
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
        early_exit: args.early_exit.iter().map(|&e| e == OnOff::On).collect(),
        images: args.images,
        calibrate: args.calibrate,
    }
}

/// A point the compiler refused.
fn refused_point(
    model: &Path,
    target: &str,
    early_exit: bool,
    reason: &str,
    compile: &str,
) -> Point {
    Point {
        model: model.display().to_string(),
        target: target.to_string(),
        early_exit,
        refused: Some(reason.to_string()),
        accuracy: None,
        energy_nj: None,
        ann_nj: None,
        sparse_ann_nj: None,
        latency_us: None,
        steps_run: None,
        synaptic_ops: None,
        neuron_updates: None,
        cores: None,
        golden_equal: None,
        dominated: false,
        commands: vec![compile.to_string()],
    }
}

/// The file name of a model without its extension, which names its points' files.
fn stem(path: &Path) -> String {
    super::paths::file_stem(path, "model")
}

/// Marks every fitting point that another fitting point dominates: at least as accurate and
/// at most as costly in energy, and strictly better in one of the two.
pub fn mark_dominated(points: &mut [Point]) {
    let scored: Vec<Option<(f64, f64)>> =
        points.iter().map(|p| p.accuracy.zip(p.energy_nj)).collect();
    for (i, point) in points.iter_mut().enumerate() {
        let Some((acc, energy)) = scored[i] else {
            continue;
        };
        point.dominated = scored.iter().enumerate().any(|(j, other)| {
            j != i && other.is_some_and(|(a, e)| a >= acc && e <= energy && (a > acc || e < energy))
        });
    }
}

/// Writes `explore.json` and `explore.svg` together (both or neither).
pub fn write_outputs(dir: &Path, points: &[Point]) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(points)?;
    let json_path = dir.join("explore.json");
    let svg_path = dir.join("explore.svg");
    let drawn: Vec<DesignPoint> = points
        .iter()
        .filter_map(|p| {
            Some(DesignPoint {
                target: p.target.clone(),
                model: stem(Path::new(&p.model)),
                early_exit: p.early_exit,
                accuracy: p.accuracy?,
                energy_nj: p.energy_nj?,
                latency_us: p.latency_us?,
                dominated: p.dominated,
            })
        })
        .collect();
    let svg = draw_design_space(
        &svg_path,
        &drawn,
        "design space: accuracy on the chip against energy and latency per inference",
    )?;
    ttfs_runtime::atomic::write_all_atomic(&[
        (&json_path, json.as_bytes()),
        (&svg_path, svg.svg.as_bytes()),
    ])?;
    println!("\nwrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}

/// One line per point; the ANN column is the same network's at the model's weight sparsity
/// (nonzero MACs x 4.6 pJ).
pub fn print_table(points: &[Point]) {
    println!(
        "\n{:<24} {:<10} {:<10} {:>9} {:>11} {:>11} {:>11} {:>6}  front",
        "model", "target", "early exit", "accuracy", "energy nJ", "ANN nJ", "latency us", "cores"
    );
    for p in points {
        let model = stem(Path::new(&p.model));
        let exit = if p.early_exit { "on" } else { "off" };
        match (&p.refused, p.accuracy, p.energy_nj, p.latency_us) {
            (None, Some(acc), Some(energy), Some(latency)) => println!(
                "{model:<24} {:<10} {exit:<10} {:>8.2}% {energy:>11.1} {:>11} {latency:>11.1} {:>6}  {}",
                p.target,
                100.0 * acc,
                p.sparse_ann_nj
                    .map_or("-".to_string(), |x| format!("{x:.1}")),
                p.cores.unwrap_or(0),
                if p.dominated { "no" } else { "yes" }
            ),
            _ => println!("{model:<24} {:<10} {exit:<10} does not fit", p.target),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn point(accuracy: f64, energy: f64) -> Point {
        Point {
            accuracy: Some(accuracy),
            energy_nj: Some(energy),
            ..refused_point(Path::new("m"), "t", true, "", "")
        }
    }

    #[test]
    fn a_point_is_dominated_only_by_one_as_good_on_both_and_better_on_one() {
        let mut points = vec![
            point(0.98, 500.0), // front: the cheapest
            point(0.99, 900.0), // front: the most accurate
            point(0.98, 600.0), // dominated by the first (same accuracy, more energy)
            point(0.97, 800.0), // dominated by both
            point(0.99, 900.0), // equal to the second: neither dominates the other
            refused_point(Path::new("m"), "t", true, "too wide", "ttfs compile"),
        ];
        mark_dominated(&mut points);
        let dominated: Vec<bool> = points.iter().map(|p| p.dominated).collect();
        assert_eq!(dominated, vec![false, false, true, true, false, false]);
    }
}
