//! NIR files on the command line: the flags that say how another tool's graph runs as a TTFS
//! network ([`NirArgs`]), and `ttfs export`, a model (or its compiled integer network) out to a
//! NIR file for another toolchain.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use ttfs_compiler::compile::quantized;
use ttfs_compiler::ir::PoolLowering;
use ttfs_compiler::model::TieBreak;
use ttfs_nir::import::InputChoice;
use ttfs_nir::{ExportOptions, ImportOptions};

use super::read_model;
use crate::paths::resolve_target;

/// How a NIR file from another tool runs as a TTFS network (a ttfs export carries these
/// itself, and a flag given then must agree with it).
#[derive(Args, Debug, Clone)]
pub struct NirArgs {
    /// For a NIR model: time steps T per inference (required for a file not written by ttfs).
    #[arg(long = "steps", short = 'T', value_name = "T", value_parser = clap::value_parser!(u32).range(1..=65536))]
    steps: Option<u32>,
    /// For a NIR model: the step dt one NIR step stands for; an IF's r is multiplied by it.
    #[arg(long, default_value_t = 1.0, value_name = "DT")]
    dt: f64,
    /// For a NIR model: the input coding [default: latency].
    #[arg(long = "input", value_enum)]
    input: Option<NirInput>,
    /// For a NIR model with thermometer input: its levels (1 to 255) [default: 4].
    #[arg(long, value_name = "K")]
    levels: Option<u32>,
    /// For a NIR model: the tie break between outputs firing at the same first step [default:
    /// end].
    #[arg(long, value_enum)]
    tie_break: Option<NirTieBreak>,
    /// For a NIR model: the data set it is for (mnist, fashion-mnist) [default: mnist].
    #[arg(long = "nir-dataset", value_name = "NAME")]
    dataset: Option<String>,
}

/// `--input` values of a NIR model.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum NirInput {
    /// One spike per lit pixel, brighter earlier.
    Latency,
    /// The grey level as K lines spiking at step 1 into a first layer whose current persists.
    Thermometer,
}

/// `--tie-break` values of a NIR model.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum NirTieBreak {
    /// The larger potential after the last step.
    End,
    /// The larger potential at the decision step.
    Decision,
}

impl NirArgs {
    /// The import options these flags give.
    ///
    /// # Errors
    /// `--dt` not a positive number, `--levels` without thermometer input or out of range.
    pub fn options(&self) -> anyhow::Result<ImportOptions> {
        ImportOptions::checked(
            self.steps,
            self.dt,
            self.input.map(|i| match i {
                NirInput::Latency => InputChoice::Latency,
                NirInput::Thermometer => InputChoice::Thermometer,
            }),
            self.levels,
            self.tie_break.map(|t| match t {
                NirTieBreak::End => TieBreak::PotentialAtEnd,
                NirTieBreak::Decision => TieBreak::PotentialAtDecision,
            }),
            self.dataset.clone(),
        )
        .map_err(|e| anyhow::anyhow!("--{e}"))
    }
}

/// Flags of `ttfs export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model to export (written by `ttfs train`, or a NIR file).
    model: PathBuf,
    /// The NIR file to write.
    #[arg(long, value_name = "FILE")]
    nir: PathBuf,
    /// Write average pools as SumPool2d, their 1/k^2 multiplied into the next layer's weights
    /// (more backends read SumPool2d).
    #[arg(long)]
    sum_pools: bool,
    /// Export the integer network compiled for this target (a JSON file or a shipped target's
    /// name): the integer weights, biases and thresholds the golden model runs, its pools
    /// folded into the synapses.
    #[arg(long, value_name = "TARGET")]
    quantized_for: Option<String>,
    /// Write arrays uncompressed (as nir before 1.0.8 did).
    #[arg(long)]
    no_compression: bool,
    /// How a NIR model is imported.
    #[command(flatten)]
    nir_args: NirArgs,
}

/// Runs `ttfs export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let model = read_model(&args.model, &args.nir_args.options()?)?;
    let file = match &args.quantized_for {
        None => ttfs_nir::export_model(
            &model,
            ExportOptions {
                sum_pools: args.sum_pools,
            },
        ),
        Some(target) => {
            let target = resolve_target(target)?;
            let (_, quantized, _) = quantized(&model, &target.target, PoolLowering::Synapses)
                .with_context(|| {
                    format!(
                        "{} does not compile for target \"{}\"",
                        args.model.display(),
                        target.target.name
                    )
                })?;
            ttfs_nir::export_quantized(&model, &quantized.network, &target.target.name)
        }
    }
    .with_context(|| format!("{}: cannot export", args.model.display()))?;
    ttfs_nir::hdf5::write(&args.nir, &file, !args.no_compression)?;
    let nodes = file.graph.nodes.len();
    println!(
        "wrote {} (nir {}, {nodes} nodes{}{}): {}",
        args.nir.display(),
        file.version,
        match &args.quantized_for {
            Some(t) => format!(", the integer network compiled for {t}"),
            None => String::new(),
        },
        if file.graph.nodes.values().any(|n| n.kind == "SumPool2d") {
            ", pools as SumPool2d"
        } else {
            ""
        },
        chain_text(&file.graph)
    );
    Ok(())
}

/// The graph's nodes along its edges, as `input -> layer0_affine (Affine) -> ...`.
pub fn chain_text(graph: &ttfs_nir::Graph) -> String {
    let mut next = std::collections::BTreeMap::new();
    for (a, b) in &graph.edges {
        next.insert(a.as_str(), b.as_str());
    }
    let Some(mut at) = graph
        .nodes
        .iter()
        .find(|(_, n)| n.kind == "Input")
        .map(|(name, _)| name.as_str())
    else {
        return "no Input node".to_string();
    };
    let mut parts = vec![format!("{at} (Input)")];
    while let Some(&to) = next.get(at) {
        if parts.len() > graph.nodes.len() {
            break;
        }
        let kind = graph.nodes.get(to).map_or("?", |n| n.kind.as_str());
        parts.push(format!("{to} ({kind})"));
        at = to;
    }
    parts.join(" -> ")
}
