//! `ttfs pipeline`: train, compile, emulate and report in one run folder.
//!
//! The stages are the train, compile and run stages of `ttfs train`, `ttfs compile` and `ttfs
//! run`, each handed the typed result of the one before; every training flag is accepted as in
//! `ttfs train`, and the compile and run stages take `--target`, `--calibrate`, `--images` and
//! `--early-exit` (by default, early exit when the trained model breaks ties at the decision
//! step). At the end it writes `summary.md`, which links every file and quotes the figures
//! that matter.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use ttfs_compiler::ir::PoolLowering;
use ttfs_runtime::decision::EarlyExit;
use ttfs_runtime::report::RunReport;
use ttfs_trainer::TrainOutcome;

use super::early_exit_values;
use super::train::TrainArgs;
use crate::paths::{resolve_data, resolve_target};
use crate::stage::compile::{LossLimits, compile_model};
use crate::stage::run::{RunSettings, emulate};
use crate::stage::train::train_model;
use crate::stage::{CompileJob, CompileOutput, RunJob, TargetFile, TestSet};

/// Flags of `ttfs pipeline`.
#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// Run folder: model, checkpoint, configuration, reports, pictures and summary.md go here.
    #[arg(long, default_value = "runs/pipeline")]
    run_dir: std::path::PathBuf,
    /// Target: a JSON file or a shipped target's name (loihi, akida, speck, truenorth, xylo, tiny).
    #[arg(long, default_value = "loihi")]
    target: String,
    /// Test images for calibration and the float vs golden comparison in the compile stage.
    #[arg(long, default_value_t = 1000)]
    calibrate: usize,
    /// Test images to emulate (0 = the whole test set).
    #[arg(long, default_value_t = 1000)]
    images: usize,
    /// Whether the emulator stops each inference at its first output spike.
    #[arg(long, default_value = "auto", value_parser = early_exit_values())]
    early_exit: EarlyExit,
    /// Training flags, as in `ttfs train` (the pipeline trains 3 epochs unless --epochs says
    /// otherwise, and writes the model into the run folder; --out is ignored).
    #[command(flatten)]
    train: TrainArgs,
}

/// Runs `ttfs pipeline`.
pub fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = args.run_dir.clone();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the run folder {}", dir.display()))?;
    // The target is checked before hours of training can end in "no such target".
    let stages = Stages {
        target: resolve_target(&args.target)?,
        calibrate: args.calibrate,
        images: args.images,
        early_exit: args.early_exit,
    };
    let done = stages.run(&args.train, &dir)?;
    let summary = dir.join("summary.md");
    let text = summary_text(&done, started.elapsed().as_secs_f64());
    ttfs_runtime::atomic::write_atomic(&summary, text.as_bytes())
        .with_context(|| format!("{}: could not write the summary", summary.display()))?;
    println!(
        "\npipeline done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        summary.display()
    );
    Ok(())
}

/// The compile and emulate settings of a pipeline run, checked.
#[derive(Clone, Debug)]
pub struct Stages {
    /// The target.
    pub target: TargetFile,
    /// Calibration images of the compile stage.
    pub calibrate: usize,
    /// Images emulated.
    pub images: usize,
    /// When to emulate with early exit.
    pub early_exit: EarlyExit,
}

/// What the three stages produced, as the stages returned it.
pub struct StagesDone {
    /// The training outcome (the model, accuracy, firing per layer).
    pub train: TrainOutcome,
    /// The compile stage's result (configuration, evaluation, mapping report).
    pub compile: CompileOutput,
    /// The emulation report.
    pub run: RunReport,
    /// Wall time per stage.
    pub times: Vec<(&'static str, f64)>,
}

impl Stages {
    /// Trains with `train`'s flags into `dir` (which exists), compiles the trained model,
    /// emulates the configuration against the golden model of the compiled network; each stage
    /// takes the typed result of the one before (the files are written for the user, never
    /// read back).
    pub fn run(&self, train: &TrainArgs, dir: &Path) -> anyhow::Result<StagesDone> {
        let job = train.stage_job(dir)?;
        let model = job.paths.model.clone();
        let data = train.data.clone();
        let mut times = Vec::new();

        stage(
            1,
            "train",
            &format!("{} on {}", train.arch(), train.dataset()),
        );
        let t = Instant::now();
        let outcome = train_model(job)?;
        times.push(("train", t.elapsed().as_secs_f64()));

        stage(2, "compile", &format!("for target {}", self.target.given));
        let t = Instant::now();
        let dataset = &outcome.model.description.dataset;
        let test = Arc::new(TestSet::load(&resolve_data(data.as_deref(), dataset)?)?);
        let compiled = compile_model(&CompileJob {
            model_path: &model,
            model: &outcome.model,
            target: &self.target,
            out: dir.join("chip.bin"),
            calibration: (self.calibrate > 0).then_some((&*test, self.calibrate)),
            pool_lowering: PoolLowering::SharedAxons,
            loss: LossLimits::default(),
        })?;
        times.push(("compile", t.elapsed().as_secs_f64()));

        let tie_break = compiled.compiled.config().decoding.tie_break;
        let how = if self.early_exit.stops(tie_break)? {
            "against the golden model, stopping at the first output spike"
        } else {
            "against the golden model"
        };
        stage(3, "emulate", how);
        let t = Instant::now();
        let settings = RunSettings::point(self.images, self.early_exit, dir.to_path_buf());
        let job = RunJob::compiled(&compiled, &self.target, model, test, settings)?;
        let run = emulate(job)?;
        times.push(("emulate", t.elapsed().as_secs_f64()));
        Ok(StagesDone {
            train: outcome,
            compile: compiled,
            run,
            times,
        })
    }
}

fn stage(n: u32, name: &str, what: &str) {
    println!("\n== {n}/3 {name} {what} ==");
}

/// A fraction as a percentage with two decimals.
fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// `summary.md`: the figures of each stage and links to every file.
fn summary_text(done: &StagesDone, total: f64) -> String {
    let d = &done.train.model.description;
    let compiled = &done.compile.compiled;
    let mapping = &compiled.mapping.report;
    let eval = compiled.evaluation.as_ref();
    let run = &done.run;
    let (energy, latency, ann) = (&run.energy, &run.latency, &run.ann);
    let verdict = &run.single_spike;
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    let mut s = String::new();
    s.push_str(&format!(
        "# ttfs pipeline: {} on {}, target {}\n\n",
        d.arch, d.dataset, mapping.target
    ));
    s.push_str("| stage | result | files |\n|---|---|---|\n");
    s.push_str(&format!(
        "| train ({} epochs, T = {}) | test accuracy {} (chip decision rule) | [model](model.safetensors), [training curves](model.curves.svg), [epoch log](model.train.jsonl) |\n",
        d.training.epochs,
        d.time_steps,
        or_dash(d.training.test_accuracy.map(|a| format!("{:.2}%", 100.0 * a))),
    ));
    s.push_str(&format!(
        "| compile | {} of {} cores; on {} test images float {}, golden (integer) {}, agreement {} | [configuration](chip.bin), [report](chip.map.json), [core map](chip.cores.svg), [weights](chip.weights.svg) |\n",
        mapping.cores_used,
        u64::from(mapping.cols) * u64::from(mapping.rows),
        or_dash(eval.map(|e| e.images.to_string())),
        or_dash(eval.map(|e| pct(e.float_accuracy))),
        or_dash(eval.map(|e| pct(e.golden_accuracy))),
        or_dash(eval.map(|e| pct(e.agreement))),
    ));
    s.push_str(&format!(
        "| emulate | accuracy {} on {} images; {:.1} nJ and {:.1} us per inference | [report](chip.run.json), [energy](chip.energy.svg), [latency](chip.latency.svg), [spike raster](chip.raster.svg) |\n\n",
        pct(run.accuracy),
        run.images,
        energy.total_nj,
        latency.microseconds.mean,
    ));
    s.push_str("## Per inference on the chip\n\n");
    let unique = run
        .images
        .saturating_sub(latency.decided_by_tie_break + latency.no_output_spike);
    s.push_str(&format!(
        "- latency: {:.0} cycles = {:.1} us mean, {:.1} us p99; decision at step {:.2} of {} on average, by a unique first spike in {} of {} inferences; {:.2} steps run{}\n",
        latency.cycles.mean,
        latency.microseconds.mean,
        latency.microseconds.p99,
        latency.decision_step_mean,
        d.time_steps,
        unique,
        run.images,
        latency.steps_run_mean,
        if run.early_exit { " (early exit)" } else { "" },
    ));
    s.push_str(&format!(
        "- energy: {:.1} nJ ({}); the same network as a float ANN: {} nJ (MACs x 4.6 pJ), {}x the chip's\n",
        energy.total_nj,
        energy
            .breakdown
            .iter()
            .map(|p| format!("{} {:.1}%", p.name, p.percent))
            .collect::<Vec<_>>()
            .join(", "),
        or_dash(ann.ann_pj.map(|x| format!("{:.1}", x / 1000.0))),
        or_dash(ann.ann_over_chip.map(|x| format!("{x:.2}"))),
    ));
    if let (Some(sparse), true) = (ann.sparse_ann_pj, ann.nonzero_macs < ann.macs) {
        s.push_str(&format!(
            "- at the same weight sparsity the ANN needs {:.1} nJ (nonzero MACs x 4.6 pJ), {}x the chip's\n",
            sparse / 1000.0,
            or_dash(ann.sparse_ann_over_chip.map(|x| format!("{x:.2}"))),
        ));
    }
    s.push_str(&format!(
        "- activity: {:.0} synaptic ops, {} spikes per neuron in the first layer\n",
        run.counters.synaptic_ops,
        or_dash(
            run.layers
                .first()
                .map(|l| format!("{:.3}", l.spikes_per_neuron))
        ),
    ));
    s.push_str(&format!(
        "- single spike: {}\n",
        if verdict.verified {
            format!(
                "verified, no neuron fired twice in {} inferences",
                verdict.inferences
            )
        } else {
            format!("VIOLATED in {} inferences", verdict.violating_inferences)
        }
    ));
    if let Some(golden) = &run.golden {
        s.push_str(&format!(
            "- golden model: spike times equal on {} of {} inferences, decisions equal on {}\n",
            golden.spikes_equal, golden.compared, golden.decisions_equal
        ));
    }
    s.push_str("\n## Wall time\n\n");
    for (name, secs) in &done.times {
        s.push_str(&format!("- {name}: {secs:.1} s\n"));
    }
    s.push_str(&format!("- total: {total:.1} s\n"));
    s
}
