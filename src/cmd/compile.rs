//! `ttfs compile`: a trained model onto a target, written as a binary chip configuration, with
//! the quantization and mapping reports (text, JSON) and the core map (SVG).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
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
use ttfs_runtime::target::Target;
use ttfs_trainer::data::{Dataset, Split};

use super::paths::{resolve_data, resolve_target, sibling};
use crate::pictures::{WeightLayer, draw_core_map, draw_weight_histogram};

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
    /// How an average pool becomes part of the layer after it.
    #[arg(long, value_enum, default_value_t = PoolLoweringArg::Axons)]
    pool_lowering: PoolLoweringArg,
}

/// `--pool-lowering` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum PoolLoweringArg {
    /// Each pooling window is one shared axon, which every neuron of the window sends its
    /// spike to: the fan-in and synapse memory of the pooled map.
    Axons,
    /// The pool is folded into the synapses, one per neuron before the pool: the pool's
    /// window times the fan-in and synapse memory.
    Synapses,
}

impl From<PoolLoweringArg> for PoolLowering {
    fn from(arg: PoolLoweringArg) -> Self {
        match arg {
            PoolLoweringArg::Axons => PoolLowering::SharedAxons,
            PoolLoweringArg::Synapses => PoolLowering::Synapses,
        }
    }
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
            pool_lowering: PoolLoweringArg::Axons,
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

/// What `ttfs compile` produced, for the stages after it.
pub struct CompileOutput {
    /// The passes' results: configuration, networks, evaluation, reports.
    pub compiled: Compiled,
    /// The target it was compiled for.
    pub target: Target,
    /// The target's file.
    pub target_path: PathBuf,
    /// The configuration file written.
    pub config_path: PathBuf,
}

/// Runs `ttfs compile`.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    let model = ttfs_compiler::model::read(&args.model).with_context(|| {
        format!(
            "{} is not a model this compiler reads (expected a model file written by `ttfs train`)",
            args.model.display()
        )
    })?;
    compile_model(&args, &model).map(|_| ())
}

/// Compiles `model` (read from, or written to, `args.model`) as `args` say: prints the reports
/// and writes the configuration, the JSON report and the two pictures.
pub fn compile_model(args: &CompileArgs, model: &Model) -> anyhow::Result<CompileOutput> {
    let started = Instant::now();
    let (target_path, target) = resolve_target(&args.target)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = super::paths::file_stem(&args.model, "model");
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

    let data = if args.limit > 0 {
        let dir = resolve_data(args.data.as_deref(), &model.description.dataset)?;
        let test = Dataset::load(&dir, Split::Test)?;
        Some((dir, test))
    } else {
        None
    };
    let images: Vec<&[u8]> = data.as_ref().map_or_else(Vec::new, |(_, test)| {
        (0..args.limit.min(test.len()))
            .map(|i| test.image(i))
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
        pool_lowering: args.pool_lowering.into(),
        calibration: data.as_ref().map(|(_, test)| Calibration {
            shape: [1, test.rows, test.cols],
            images: &images,
            labels: &test.labels[..images.len()],
        }),
        observer: Some(&show),
    };
    let mut compiled = compile(model, &target, &options).map_err(|e| {
        let context = match &e {
            CompileError::Map(_) => format!(
                "{} does not fit target \"{}\"",
                args.model.display(),
                target.name
            ),
            CompileError::ImageShape { .. }
            | CompileError::ImageSize { .. }
            | CompileError::Labels { .. } => data
                .as_ref()
                .map_or_else(String::new, |(dir, _)| dir.display().to_string()),
            _ => format!("{} does not compile", args.model.display()),
        };
        anyhow::Error::new(e).context(context)
    })?;

    // Every output is rendered first and written in one step, so a failure leaves the old
    // outputs as they were.
    let start = Instant::now();
    let config_bytes = ttfs_runtime::config::encode(compiled.config())
        .with_context(|| format!("{}: the configuration does not encode", out.display()))?;
    compiled
        .pass_seconds
        .push(("encode", start.elapsed().as_secs_f64()));
    let report_path = sibling(&out, "map.json");
    let report = compiled.report();
    let file = ReportFile {
        model: args.model.display().to_string(),
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
        &sibling(&out, "cores.svg"),
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
        &sibling(&out, "weights.svg"),
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
        (&out, &config_bytes),
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
        target,
        target_path,
        config_path: out,
    })
}
