//! `ttfs sweep`: the sparsity-accuracy trade-off of the sparse-firing regularizers.
//!
//! Trains one unregularized model and one per (method, gamma), each through the whole pipeline
//! (train, compile, emulate against the golden model) in its own folder, then writes
//! `sweep.json` (accuracy and spikes per neuron as the trainer and as the emulator measure
//! them, synaptic ops and energy per inference) and `sweep.svg` (accuracy against spikes per
//! hidden neuron, one series per method, the baseline marked), like the sparse-firing paper's
//! trade-off figure.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use ttfs_runtime::decision::EarlyExit;
use ttfs_runtime::report::LayerStats;

use super::pipeline::{Stages, StagesDone};
use super::train::{SparsityArg, TrainArgs};
use crate::paths::resolve_target;
use crate::pictures::{TradeOffPoint, draw_trade_off};

/// Flags of `ttfs sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Folder of the sweep: one sub-folder per model, then sweep.json and sweep.svg.
    #[arg(long, default_value = "runs/sweep")]
    run_dir: PathBuf,
    /// Regularizers to sweep, comma-separated (count, m-ssr, f-ssr).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "m-ssr,f-ssr")]
    methods: Vec<SparsityArg>,
    /// Strengths gamma to sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.03,0.1,0.3")]
    gammas: Vec<f32>,
    /// Target: a JSON file or a shipped target's name.
    #[arg(long, default_value = "loihi")]
    target: String,
    /// Calibration images of each compile.
    #[arg(long, default_value_t = 200)]
    calibrate: usize,
    /// Test images each model is emulated on (0 = all).
    #[arg(long, default_value_t = 1000)]
    images: usize,
    /// Training flags, as in `ttfs train` (each model trains 3 epochs unless --epochs says
    /// otherwise; --sparsity and --gamma are set by the sweep).
    #[command(flatten)]
    train: TrainArgs,
}

/// One trained, compiled and emulated model.
#[derive(Serialize)]
struct SweepRow {
    method: String,
    gamma: f32,
    folder: String,
    trainer_accuracy: f64,
    trainer_hidden_spikes_per_neuron: f64,
    emulator_accuracy: f64,
    emulator_hidden_spikes_per_neuron: f64,
    emulator_spikes_per_neuron: f64,
    synaptic_ops: f64,
    energy_nj: f64,
    cores: u64,
}

/// Runs `ttfs sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let stages = Stages {
        target: resolve_target(&args.target)?,
        calibrate: args.calibrate,
        images: args.images,
        early_exit: EarlyExit::Auto,
    };
    let mut points = vec![(SparsityArg::None, 0.0f32)];
    for &m in &args.methods {
        if m == SparsityArg::None {
            continue;
        }
        for &g in &args.gammas {
            points.push((m, g));
        }
    }
    let mut rows = Vec::new();
    for (k, &(method, gamma)) in points.iter().enumerate() {
        let name = method_name(method);
        let folder = args.run_dir.join(format!("{name}-g{gamma}"));
        println!(
            "\n##### sweep {}/{}: {name}, gamma = {gamma} #####",
            k + 1,
            points.len()
        );
        let mut train: TrainArgs = args.train.clone();
        train.sparsity = Some(method);
        train.gamma = Some(gamma);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create the run folder {}", folder.display()))?;
        let done = stages.run(&train, &folder)?;
        rows.push(row(name, gamma, &folder, &done));
    }
    let json = serde_json::to_string_pretty(&rows)?;
    let json_path = args.run_dir.join("sweep.json");
    let svg_path = args.run_dir.join("sweep.svg");
    let picture: Vec<TradeOffPoint> = rows
        .iter()
        .map(|r| TradeOffPoint {
            series: r.method.clone(),
            label: format!("{}", r.gamma),
            spikes_per_neuron: r.emulator_hidden_spikes_per_neuron,
            accuracy: r.emulator_accuracy,
        })
        .collect();
    let svg = draw_trade_off(
        &svg_path,
        &picture,
        &format!("sparse-firing regularization on {}", args.target),
    )?;
    ttfs_runtime::atomic::write_all_atomic(&[
        (&json_path, json.as_bytes()),
        (&svg_path, svg.svg.as_bytes()),
    ])?;
    println!(
        "\n{:<8} {:>7} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "method", "gamma", "trainer", "emulator", "spikes/hid.", "syn. ops", "energy nJ"
    );
    for r in &rows {
        println!(
            "{:<8} {:>7} {:>9.2}% {:>9.2}% {:>12.3} {:>12.0} {:>12.1}",
            r.method,
            r.gamma,
            100.0 * r.trainer_accuracy,
            100.0 * r.emulator_accuracy,
            r.emulator_hidden_spikes_per_neuron,
            r.synaptic_ops,
            r.energy_nj
        );
    }
    println!("\nwrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}

fn method_name(m: SparsityArg) -> &'static str {
    match m {
        SparsityArg::None => "none",
        SparsityArg::Count => "count",
        SparsityArg::MSsr => "m-ssr",
        SparsityArg::FSsr => "f-ssr",
    }
}

fn row(method: &str, gamma: f32, folder: &std::path::Path, done: &StagesDone) -> SweepRow {
    let layers = &done.run.layers;
    let hidden = &layers[..layers.len().saturating_sub(1)];
    let spikes_and_neurons = |layers: &[LayerStats]| {
        layers.iter().fold((0.0, 0.0), |(s, n), l| {
            (s + l.spikes_per_inference, n + f64::from(l.neurons))
        })
    };
    let (spikes, neurons) = spikes_and_neurons(hidden);
    let (all_spikes, all_neurons) = spikes_and_neurons(layers);
    let firing = &done.train.firing;
    let hidden_firing = if firing.len() > 1 {
        firing[..firing.len() - 1]
            .iter()
            .map(|l| l.fired)
            .sum::<f64>()
            / (firing.len() - 1) as f64
    } else {
        f64::NAN
    };
    SweepRow {
        method: method.to_string(),
        gamma,
        folder: folder.display().to_string(),
        trainer_accuracy: done.train.test.accuracy,
        trainer_hidden_spikes_per_neuron: hidden_firing,
        emulator_accuracy: done.run.accuracy,
        emulator_hidden_spikes_per_neuron: spikes / f64::max(neurons, 1.0),
        emulator_spikes_per_neuron: all_spikes / f64::max(all_neurons, 1.0),
        synaptic_ops: done.run.counters.synaptic_ops,
        energy_nj: done.run.energy.total_nj,
        cores: done.compile.compiled.mapping.report.cores_used as u64,
    }
}
