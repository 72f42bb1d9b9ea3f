//! `ttfs compile`: a trained model onto a target, written as a binary chip configuration, with
//! the quantization and mapping reports (text, JSON) and the core map (SVG).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use ttfs_compiler::compile::{lower_and_quantize, map_and_verify};
use ttfs_compiler::evaluate::{Evaluation, evaluate};
use ttfs_compiler::map::MappingReport;
use ttfs_compiler::quantize::{LayerQuantReport, format_report};
use ttfs_trainer::data::{Dataset, Split};

use super::paths::{resolve_data, resolve_target, sibling};
use crate::pictures::{draw_core_map, draw_weight_histogram};

/// Flags of `ttfs compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// The trained model file (safetensors, written by `ttfs train`).
    model: PathBuf,
    /// Target description: a JSON file, or the name of a shipped one (loihi, truenorth, xylo,
    /// tiny).
    #[arg(long, short)]
    target: String,
    /// Chip configuration to write; the mapping report (`.map.json`) and the core map
    /// (`.cores.svg`) go beside it [default: the model's name with `.<target>.bin`].
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Folder with the IDX test files, for calibration (register peaks, firing rates for
    /// placement) and the float vs golden comparison [default: fixtures/mnist for an MNIST
    /// model].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Test images to calibrate and compare on; 0 skips both.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

impl CompileArgs {
    /// The arguments of `ttfs compile MODEL --target TARGET -o OUT [--data DIR] --limit LIMIT`.
    pub fn new(
        model: PathBuf,
        target: String,
        out: PathBuf,
        data: Option<PathBuf>,
        limit: usize,
    ) -> Self {
        Self {
            model,
            target,
            out: Some(out),
            data,
            limit,
        }
    }
}

/// The JSON report written next to the configuration.
#[derive(Serialize)]
struct CompileReport<'a> {
    model: String,
    target: String,
    config: String,
    config_bytes: u64,
    pass_seconds: Vec<(&'static str, f64)>,
    quantization: &'a [LayerQuantReport],
    evaluation: Option<&'a Evaluation>,
    mapping: &'a MappingReport,
}

/// Runs `ttfs compile`.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let model = ttfs_compiler::model::read(&args.model).with_context(|| {
        format!(
            "{} is not a model this compiler reads (expected a model file written by `ttfs train`)",
            args.model.display()
        )
    })?;
    let (target_path, target) = resolve_target(&args.target)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string());
        args.model
            .with_file_name(format!("{stem}.{}.bin", target.name))
    });
    println!(
        "compiling {} ({}, T = {}) for target \"{}\" ({})",
        args.model.display(),
        model.description.arch,
        model.description.time_steps,
        target.name,
        target_path.display()
    );

    let (folded, quantized, mut pass_seconds) = lower_and_quantize(&model, &target)
        .with_context(|| format!("{} does not compile", args.model.display()))?;
    println!("\nquantization to {}-bit weights:", target.core.weight_bits);
    print!("{}", format_report(&quantized.report));

    let evaluation = if args.limit > 0 {
        let dir = resolve_data(args.data.as_deref(), &model.description.dataset)?;
        let test = Dataset::load(&dir, Split::Test)?;
        let n = args.limit.min(test.len());
        if test.pixels_per_image() != folded.input.pixels() {
            bail!(
                "{}: images have {} pixels but the model's input has {}",
                dir.display(),
                test.pixels_per_image(),
                folded.input.pixels()
            );
        }
        let images: Vec<&[u8]> = (0..n).map(|i| test.image(i)).collect();
        let labels = &test.labels[..n];
        let start = Instant::now();
        let evaluation = evaluate(&folded, &quantized.network, &images, labels);
        pass_seconds.push(("calibrate", start.elapsed().as_secs_f64()));
        print!(
            "\n{}",
            ttfs_compiler::evaluate::format_evaluation(&evaluation)
        );
        Some(evaluation)
    } else {
        None
    };

    let firing = evaluation.as_ref().map(|e| e.firing.as_slice());
    let macs = ttfs_compiler::compile::ann_macs(&model)?;
    let (mapping, times) =
        map_and_verify(&quantized, &target, firing, &macs).with_context(|| {
            format!(
                "{} does not fit target \"{}\"",
                args.model.display(),
                target.name
            )
        })?;
    pass_seconds.extend(times);
    print!("\n{}", ttfs_compiler::map::format_mapping(&mapping.report));

    let start = Instant::now();
    ttfs_runtime::config::write(&out, &mapping.config)?;
    pass_seconds.push(("write", start.elapsed().as_secs_f64()));
    let config_bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);

    let report_path = sibling(&out, "map.json");
    let report = CompileReport {
        model: args.model.display().to_string(),
        target: target.name.clone(),
        config: out.display().to_string(),
        config_bytes,
        pass_seconds: pass_seconds.clone(),
        quantization: &quantized.report,
        evaluation: evaluation.as_ref(),
        mapping: &mapping.report,
    };
    let json = serde_json::to_string_pretty(&report)?;
    ttfs_runtime::atomic::write_atomic(&report_path, json.as_bytes())
        .with_context(|| format!("{}: could not write the report", report_path.display()))?;
    let map_path = sibling(&out, "cores.svg");
    draw_core_map(
        &map_path,
        &mapping.report,
        &format!(
            "{} on {}: {} cores",
            model.description.arch, target.name, mapping.report.cores_used
        ),
    )?;

    let weights_path = sibling(&out, "weights.svg");
    let weights: Vec<(String, Vec<i32>)> = quantized
        .network
        .layers
        .iter()
        .map(|l| (l.name.clone(), l.synapses.weight.clone()))
        .collect();
    draw_weight_histogram(
        &weights_path,
        &weights,
        target.core.weight_bits,
        &format!(
            "{} on {}: quantized weights ({}-bit)",
            model.description.arch, target.name, target.core.weight_bits
        ),
    )?;

    let times = pass_seconds
        .iter()
        .map(|(name, s)| format!("{name} {s:.2} s"))
        .collect::<Vec<_>>()
        .join(", ");
    println!("\npasses: {times}");
    println!(
        "wrote {} ({config_bytes} bytes), {}, {}, {} in {:.1} s",
        out.display(),
        report_path.display(),
        map_path.display(),
        weights_path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
