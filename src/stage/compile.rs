//! The compile stage: a model onto a resolved target, the chip configuration written with the
//! quantization and mapping reports (text, JSON) and two pictures (the core map, the quantized
//! weights).
//!
//! The passes are the compiler's ([`ttfs_compiler::compile::compile`]); this module prints
//! each pass's report as it comes and writes every output in one step, so a failure leaves the
//! old outputs as they were.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use ttfs_compiler::compile::{
    Calibration, CompileError, CompileOptions, Compiled, PassOutput, PoolLowerings, compile,
};
use ttfs_compiler::evaluate::{Evaluation, format_evaluation};
use ttfs_compiler::ir::PoolLowering;
use ttfs_compiler::map::needs::format_needs;
use ttfs_compiler::map::{MappingReport, format_mapping};
use ttfs_compiler::model::Model;
use ttfs_compiler::quantize::{LayerQuantReport, ScaleRule, format_report};

use super::{TargetFile, TestSet};
use crate::paths::sibling;
use crate::pictures::{WeightLayer, draw_core_map, draw_weight_histogram};

/// A compile, checked: the model, the resolved target, where the configuration goes and what
/// to calibrate on.
pub struct CompileJob<'a> {
    /// The model's file (named in the messages and the report; the model is not read again).
    pub model_path: &'a Path,
    /// The model.
    pub model: &'a Model,
    /// The target.
    pub target: &'a TargetFile,
    /// The configuration to write; the reports and pictures go beside it.
    pub out: PathBuf,
    /// The test images to calibrate on and compare float and golden models on, and how many
    /// of them (from the first); `None` skips both.
    pub calibration: Option<(&'a TestSet, usize)>,
    /// How average pools become part of the layer after them.
    pub pool_lowering: PoolLowering,
    /// What accuracy the quantization may cost before it is said or refused.
    pub loss: LossLimits,
}

/// How many points of accuracy the integer (golden) model may lose against the float model on
/// the calibration images: above `warn`, one line on stderr says so; above `max`, the compile
/// is refused and writes nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossLimits {
    /// Points lost above which a warning is printed.
    pub warn: f64,
    /// Points lost above which the compile fails.
    pub max: Option<f64>,
}

impl Default for LossLimits {
    /// A warning above 1 point, no failure.
    fn default() -> Self {
        LossLimits {
            warn: 1.0,
            max: None,
        }
    }
}

/// The JSON report written next to the configuration: the files, then the driver's report.
#[derive(Serialize)]
struct ReportFile<'a> {
    model: String,
    target: &'a str,
    config: String,
    config_bytes: u64,
    pass_seconds: &'a [(&'static str, f64)],
    quantization: &'a [LayerQuantReport],
    pool_lowerings: Option<&'a PoolLowerings>,
    evaluation: Option<&'a Evaluation>,
    mapping: &'a MappingReport,
}

/// What the compile stage produced, for the stages after it.
pub struct CompileOutput {
    /// The passes' results: configuration, networks, evaluation, reports.
    pub compiled: Compiled,
    /// The configuration file written.
    pub config_path: PathBuf,
}

/// Says, in one line on stderr each, what the quantization cost that no table should hide:
/// a model trained for other integer widths than the target's, and a golden model that
/// loses more than `job.loss.warn` points against the float model (an error above
/// `job.loss.max`, before anything is written).
fn say_losses(job: &CompileJob<'_>, compiled: &Compiled) -> anyhow::Result<()> {
    let target = &job.target.target;
    let model = job.model_path.display();
    if let Some(trained) = &job.model.description.quantized_for {
        if let Some(differences) = trained.differences(target) {
            eprintln!(
                "warning: {model} was trained for other integer widths than target \"{}\" \
                 has ({differences}): its integers will not be the ones it was trained with; \
                 train it for this target with --quantize-for {}",
                target.name, job.target.given
            );
        }
    }
    let Some(e) = &compiled.evaluation else {
        return Ok(());
    };
    let lost = 100.0 * (e.float_accuracy - e.golden_accuracy);
    let what = format!(
        "{model} on target \"{}\": the integer (golden) model decides {:.2}% of {} test \
         images right against the float model's {:.2}%, {lost:.2} points lost",
        target.name,
        100.0 * e.golden_accuracy,
        e.images,
        100.0 * e.float_accuracy
    );
    if let Some(max) = job.loss.max.filter(|&max| lost > max) {
        anyhow::bail!(
            "{what}, more than --max-loss {max}; the quantization report says which layers limit it"
        );
    }
    if lost > job.loss.warn {
        eprintln!(
            "warning: {what} (more than {}); the quantization report above says which layers \
             limit it; --max-loss makes this an error",
            job.loss.warn
        );
    }
    Ok(())
}

/// Compiles as `job` says: prints the reports and writes the configuration, the JSON report
/// and the two pictures.
pub fn compile_model(job: &CompileJob<'_>) -> anyhow::Result<CompileOutput> {
    let started = Instant::now();
    let (model, target, out) = (job.model, &job.target.target, &job.out);
    println!(
        "compiling {} ({}, T = {}) for target \"{}\" ({})",
        job.model_path.display(),
        model.description.arch,
        model.description.time_steps,
        target.name,
        job.target.path.display()
    );

    let images: Vec<&[u8]> = job.calibration.map_or_else(Vec::new, |(test, limit)| {
        (0..limit.min(test.data.len()))
            .map(|i| test.data.image(i))
            .collect()
    });
    let weight_bits = target.core.weight_bits;
    let show = |output: PassOutput<'_>| match output {
        PassOutput::Quantized(q) => {
            let rule = match q.scale_rule {
                ScaleRule::LargestWeight => String::new(),
                other => format!(" ({})", other.describe()),
            };
            println!("\nquantization to {weight_bits}-bit weights{rule}:");
            print!("{}", format_report(&q.report));
        }
        PassOutput::Lowerings(l) => print!("\n{}", format_needs(&target.name, &l.used, &l.other)),
        PassOutput::Calibrated(e) => print!("\n{}", format_evaluation(e)),
        PassOutput::Mapped(m) => print!("\n{}", format_mapping(&m.report)),
    };
    let options = CompileOptions {
        pool_lowering: job.pool_lowering,
        calibration: job.calibration.map(|(test, _)| Calibration {
            shape: [1, test.data.rows, test.data.cols],
            images: &images,
            labels: &test.data.labels[..images.len()],
        }),
        observer: Some(&show),
    };
    let mut compiled = compile(model, target, &options).map_err(|e| {
        let context = match &e {
            CompileError::Map(_) => format!(
                "{} does not fit target \"{}\"",
                job.model_path.display(),
                target.name
            ),
            CompileError::ImageShape { .. }
            | CompileError::ImageSize { .. }
            | CompileError::Labels { .. } => job
                .calibration
                .map_or_else(String::new, |(test, _)| test.dir.display().to_string()),
            _ => format!("{} does not compile", job.model_path.display()),
        };
        anyhow::Error::new(e).context(context)
    })?;

    say_losses(job, &compiled)?;

    // Every output is rendered first and written in one step, so a failure leaves the old
    // outputs as they were.
    let start = Instant::now();
    let config_bytes = ttfs_runtime::config::encode(compiled.config())
        .with_context(|| format!("{}: the configuration does not encode", out.display()))?;
    compiled
        .pass_seconds
        .push(("encode", start.elapsed().as_secs_f64()));
    let report_path = sibling(out, "map.json");
    let report = compiled.report();
    let file = ReportFile {
        model: job.model_path.display().to_string(),
        target: report.target,
        config: out.display().to_string(),
        config_bytes: config_bytes.len() as u64,
        pass_seconds: report.pass_seconds,
        quantization: report.quantization,
        pool_lowerings: report.pool_lowerings,
        evaluation: report.evaluation,
        mapping: report.mapping,
    };
    let json = serde_json::to_string_pretty(&file)?;
    let mapping = &compiled.mapping;
    let d = &model.description;
    let core_map = draw_core_map(
        &sibling(out, "cores.svg"),
        &mapping.report,
        &format!(
            "{} ({}) on {}: {} cores",
            d.arch, d.dataset, target.name, mapping.report.cores_used
        ),
    )?;
    let weights: Vec<WeightLayer> = compiled
        .quantized
        .network
        .layers
        .iter()
        .zip(&compiled.quantized.report)
        .map(|(l, r)| WeightLayer {
            name: l.name.clone(),
            weights: l.synapses.weight.clone(),
            clipped: r.clipped_weights,
        })
        .collect();
    let histogram = draw_weight_histogram(
        &sibling(out, "weights.svg"),
        &weights,
        target.core.weight_bits,
        &format!(
            "{} ({}) on {}: quantized weights ({}-bit)",
            d.arch, d.dataset, target.name, target.core.weight_bits
        ),
    )?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: could not create the folder", dir.display()))?;
    }
    ttfs_runtime::atomic::write_all_atomic(&[
        (out, &config_bytes),
        (&report_path, json.as_bytes()),
        (&core_map.path, core_map.svg.as_bytes()),
        (&histogram.path, histogram.svg.as_bytes()),
    ])?;

    let times = compiled
        .pass_seconds
        .iter()
        .map(|(name, s)| format!("{name} {s:.2} s"))
        .collect::<Vec<_>>()
        .join(", ");
    println!("\npasses: {times}");
    println!(
        "wrote {} ({} bytes), {}, {}, {} in {:.1} s",
        out.display(),
        config_bytes.len(),
        report_path.display(),
        core_map.path.display(),
        histogram.path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(CompileOutput {
        compiled,
        config_path: out.clone(),
    })
}
