//! `ttfs pipeline`: train, compile, emulate and report in one run folder.
//!
//! The stages are the `train`, `compile` and `run` subcommands, called in order with the files
//! of one folder; every training flag is accepted as in `ttfs train`, and the compile and run
//! stages take `--target`, `--calibrate`, `--images` and `--early-exit`. At the end it writes
//! `summary.md`, which links every file and quotes the figures that matter.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::compile::CompileArgs;
use super::run::RunArgs;
use super::train::TrainArgs;
use ttfs_trainer::train::TrainOutcome;

/// Epochs of the pipeline's default training run: short enough for a few minutes on 2 cores.
const DEFAULT_EPOCHS: u32 = 3;

/// Flags of `ttfs pipeline`.
#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// Run folder: model, checkpoint, configuration, reports, pictures and summary.md go here.
    #[arg(long, default_value = "runs/pipeline")]
    run_dir: PathBuf,
    /// Target: a JSON file or a shipped target's name (loihi, truenorth, xylo, tiny).
    #[arg(long, default_value = "loihi")]
    target: String,
    /// Test images for calibration and the float vs golden comparison in the compile stage.
    #[arg(long, default_value_t = 1000)]
    calibrate: usize,
    /// Test images to emulate (0 = the whole test set).
    #[arg(long, default_value_t = 1000)]
    images: usize,
    /// Emulate with the chip's early exit (stop at the first output spike).
    #[arg(long)]
    early_exit: bool,
    /// Training flags, as in `ttfs train` (the pipeline trains 3 epochs unless --epochs says
    /// otherwise, and writes the model into the run folder; --out is ignored).
    #[command(flatten)]
    train: TrainArgs,
}

/// Runs `ttfs pipeline`.
pub fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = args.run_dir.clone();
    let stages = Stages {
        target: args.target,
        calibrate: args.calibrate,
        images: args.images,
        early_exit: args.early_exit,
    };
    let done = stages.run(args.train, &dir)?;
    let summary = dir.join("summary.md");
    let text = summary_text(&dir, &done.times, started.elapsed().as_secs_f64())?;
    ttfs_runtime::atomic::write_atomic(&summary, text.as_bytes())
        .with_context(|| format!("{}: could not write the summary", summary.display()))?;
    println!(
        "\npipeline done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        summary.display()
    );
    Ok(())
}

/// The compile and emulate settings of a pipeline run.
#[derive(Clone, Debug)]
pub struct Stages {
    /// Target name or file.
    pub target: String,
    /// Calibration images of the compile stage.
    pub calibrate: usize,
    /// Images emulated.
    pub images: usize,
    /// Emulate with early exit.
    pub early_exit: bool,
}

/// What the three stages produced.
pub struct StagesDone {
    /// The training outcome (accuracy, firing per layer).
    pub train: TrainOutcome,
    /// The compile report (`chip.map.json`).
    pub map: serde_json::Value,
    /// The emulation report (`chip.run.json`).
    pub run: serde_json::Value,
    /// Wall time per stage.
    pub times: Vec<(&'static str, f64)>,
}

impl Stages {
    /// Trains with `train` into `dir`, compiles, emulates against the golden model.
    pub fn run(&self, mut train: TrainArgs, dir: &Path) -> anyhow::Result<StagesDone> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the run folder {}", dir.display()))?;
        if train.bench.is_some() {
            anyhow::bail!("--bench measures training speed only; use `ttfs train --bench` instead");
        }
        // Check the target before hours of training can end in "no such target".
        super::paths::resolve_target(&self.target)?;
        let model = dir.join("model.safetensors");
        let config = dir.join("chip.bin");
        train.out = Some(model.clone());
        train.epochs = Some(train.epochs.unwrap_or(DEFAULT_EPOCHS));
        let data = train.data.clone();
        let mut times = Vec::new();

        stage(1, "train", &format!("{} on {}", train.arch, train.dataset));
        let t = Instant::now();
        let outcome = super::train::run_outcome(train)?
            .ok_or_else(|| anyhow::anyhow!("training did not run"))?;
        times.push(("train", t.elapsed().as_secs_f64()));

        stage(2, "compile", &format!("for target {}", self.target));
        let t = Instant::now();
        super::compile::run(CompileArgs::new(
            model.clone(),
            self.target.clone(),
            config.clone(),
            data.clone(),
            self.calibrate,
        ))?;
        times.push(("compile", t.elapsed().as_secs_f64()));

        stage(3, "emulate", "against the golden model");
        let t = Instant::now();
        super::run::run(RunArgs::new(
            config,
            self.target.clone(),
            data,
            self.images,
            dir.to_path_buf(),
            self.early_exit,
            Some(model),
        ))?;
        times.push(("emulate", t.elapsed().as_secs_f64()));
        Ok(StagesDone {
            train: outcome,
            map: read_json(&dir.join("chip.map.json"))?,
            run: read_json(&dir.join("chip.run.json"))?,
            times,
        })
    }
}

fn stage(n: u32, name: &str, what: &str) {
    println!("\n== {n}/3 {name} {what} ==");
}

/// Reads a JSON report of an earlier stage.
fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: could not read the report", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a JSON report", path.display()))
}

/// `summary.md`: the figures of each stage and links to every file.
fn summary_text(dir: &Path, times: &[(&str, f64)], total: f64) -> anyhow::Result<String> {
    let model = ttfs_compiler::model::read(&dir.join("model.safetensors"))?;
    let map = read_json(&dir.join("chip.map.json"))?;
    let run = read_json(&dir.join("chip.run.json"))?;
    let d = &model.description;
    let pct = |v: &serde_json::Value| {
        v.as_f64()
            .map_or("-".to_string(), |x| format!("{:.2}%", 100.0 * x))
    };
    let num = |v: &serde_json::Value, digits: usize| {
        v.as_f64()
            .map_or("-".to_string(), |x| format!("{x:.digits$}"))
    };
    let eval = &map["evaluation"];
    let mapping = &map["mapping"];
    let energy = &run["energy"];
    let latency = &run["latency"];
    let ann = &run["ann"];
    let verdict = &run["single_spike"];
    let golden = &run["golden"];
    let mut s = String::new();
    s.push_str(&format!(
        "# ttfs pipeline: {} on {}, target {}\n\n",
        d.arch,
        d.dataset,
        mapping["target"].as_str().unwrap_or("?")
    ));
    s.push_str("| stage | result | files |\n|---|---|---|\n");
    s.push_str(&format!(
        "| train ({} epochs, T = {}) | test accuracy {} (chip decision rule) | [model](model.safetensors), [training curves](model.curves.svg), [epoch log](model.train.jsonl) |\n",
        d.training.epochs,
        d.time_steps,
        d.training
            .test_accuracy
            .map_or("-".to_string(), |a| format!("{:.2}%", 100.0 * a)),
    ));
    s.push_str(&format!(
        "| compile | {} of {} cores; on {} test images float {}, golden (integer) {}, agreement {} | [configuration](chip.bin), [report](chip.map.json), [core map](chip.cores.svg), [weights](chip.weights.svg) |\n",
        mapping["cores_used"],
        mapping["cols"].as_u64().unwrap_or(0) * mapping["rows"].as_u64().unwrap_or(0),
        eval["images"],
        pct(&eval["float_accuracy"]),
        pct(&eval["golden_accuracy"]),
        pct(&eval["agreement"]),
    ));
    s.push_str(&format!(
        "| emulate | accuracy {} on {} images; {} nJ and {} us per inference | [report](chip.run.json), [energy](chip.energy.svg), [latency](chip.latency.svg), [spike raster](chip.raster.svg) |\n\n",
        pct(&run["accuracy"]),
        run["images"],
        num(&energy["total_nj"], 1),
        num(&latency["microseconds"]["mean"], 1),
    ));
    s.push_str("## Per inference on the chip\n\n");
    s.push_str(&format!(
        "- latency: {} cycles = {} us mean, {} us p99; decision at step {} of {} on average\n",
        num(&latency["cycles"]["mean"], 0),
        num(&latency["microseconds"]["mean"], 1),
        num(&latency["microseconds"]["p99"], 1),
        num(&latency["decision_step_mean"], 2),
        d.time_steps
    ));
    s.push_str(&format!(
        "- energy: {} nJ ({}); the same network as a float ANN: {} nJ (MACs x 4.6 pJ), {}x the chip's\n",
        num(&energy["total_nj"], 1),
        energy["breakdown"]
            .as_array()
            .map(|parts| parts
                .iter()
                .map(|p| format!(
                    "{} {}%",
                    p["name"].as_str().unwrap_or("?"),
                    num(&p["percent"], 1)
                ))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
        ann["ann_pj"].as_f64().map_or("-".to_string(), |x| format!("{:.1}", x / 1000.0)),
        num(&ann["ann_over_chip"], 2),
    ));
    s.push_str(&format!(
        "- activity: {} synaptic ops, {} spikes per neuron in the first layer\n",
        num(&run["counters"]["synaptic_ops"], 0),
        num(&run["layers"][0]["spikes_per_neuron"], 3),
    ));
    s.push_str(&format!(
        "- single spike: {}\n",
        if verdict["verified"].as_bool() == Some(true) {
            format!(
                "verified, no neuron fired twice in {} inferences",
                verdict["inferences"]
            )
        } else {
            format!("VIOLATED in {} inferences", verdict["violating_inferences"])
        }
    ));
    if !golden.is_null() {
        s.push_str(&format!(
            "- golden model: spike times equal on {} of {} inferences, decisions equal on {}\n",
            golden["spikes_equal"], golden["compared"], golden["decisions_equal"]
        ));
    }
    s.push_str("\n## Wall time\n\n");
    for (name, secs) in times {
        s.push_str(&format!("- {name}: {secs:.1} s\n"));
    }
    s.push_str(&format!("- total: {total:.1} s\n"));
    Ok(s)
}
