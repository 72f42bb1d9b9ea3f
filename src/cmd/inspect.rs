//! `ttfs inspect`: a human summary of a chip configuration, or of a NIR file: its graph and
//! the model it imports as (or why it cannot run on the chip).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ttfs_compiler::model::{InputEncoding, LayerSpec, Model, TieBreak};
use ttfs_nir::{Imported, Origin};

use super::nir::NirArgs;
use ttfs_nir::read::{is_nir, named};

/// Flags of `ttfs inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The chip configuration (written by `ttfs compile`), or a NIR file.
    config: PathBuf,
    /// Also check it against this target (a JSON file or a shipped target's name).
    #[arg(long, short)]
    target: Option<String>,
    /// How a NIR file is imported.
    #[command(flatten)]
    nir: NirArgs,
}

/// Runs `ttfs inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    if args.config.is_file() && is_nir(&args.config) {
        return inspect_nir(&args);
    }
    let config = ttfs_runtime::config::read(&args.config)?;
    let bytes = std::fs::metadata(&args.config).map(|m| m.len()).ok();
    print!("{}", ttfs_runtime::config::summary(&config, bytes));
    if let Some(name) = args.target {
        let crate::stage::TargetFile { path, target, .. } = crate::paths::resolve_target(&name)?;
        config
            .check_target(&target)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
        println!(
            "\nfits target \"{}\" ({}): every core within its limits",
            target.name,
            path.display()
        );
    }
    Ok(())
}

/// The NIR file's graph, then the model it imports as; a graph that does not import ends
/// in the error naming the node and why.
fn inspect_nir(args: &InspectArgs) -> anyhow::Result<()> {
    if args.target.is_some() {
        anyhow::bail!(
            "--target checks a chip configuration; compile the NIR file for it with `ttfs \
             compile {} --target NAME`",
            args.config.display()
        );
    }
    let file = ttfs_nir::hdf5::read(&args.config)?;
    print!("{}", ttfs_nir::summary::describe(&file));
    let options = named(&args.config, &args.nir.options()?);
    let imported = ttfs_nir::import(&file, &options).with_context(|| {
        format!(
            "{}: cannot run this NIR graph on the chip",
            args.config.display()
        )
    })?;
    print!("\n{}", imported_text(&imported)?);
    Ok(())
}

/// What the graph imports as: its origin, TTFS settings and layers with their shapes.
fn imported_text(imported: &Imported) -> anyhow::Result<String> {
    let Model { description, .. } = &imported.model;
    let d = description;
    let origin = match &imported.origin {
        Origin::Ttfs { .. } => "a ttfs export: its settings as exported",
        Origin::Foreign => "another tool's graph: its settings from the flags",
    };
    let input = match d.input.encoding {
        InputEncoding::Latency => "latency input".to_string(),
        InputEncoding::Direct => "direct input".to_string(),
        InputEncoding::Thermometer { levels } => format!("thermometer input ({levels} levels)"),
    };
    let tie = match d.decoding.tie_break {
        TieBreak::PotentialAtEnd => "ties to the larger potential after the last step",
        TieBreak::PotentialAtDecision => "ties to the larger potential at the decision step",
    };
    let mut text = format!(
        "imports as ({origin}): {} on {}, T = {}, {input}, threshold {}, {tie}\n",
        d.arch, d.dataset, d.time_steps, d.neuron.threshold
    );
    let shapes = imported.model.layer_shapes()?;
    let mut from = d.input.shape.clone();
    for (i, (layer, to)) in d.layers.iter().zip(&shapes).enumerate() {
        let what = match layer {
            LayerSpec::Conv2d {
                kernel,
                stride,
                padding,
                ..
            } => format!(
                "conv2d {}x{} stride {stride} padding {padding}",
                kernel[0], kernel[1]
            ),
            LayerSpec::AvgPool2d { kernel, stride } => {
                format!("avg_pool2d {kernel}x{kernel} stride {stride}")
            }
            other => other.kind_name().to_string(),
        };
        let neurons = if layer.is_weighted() { ", IF" } else { "" };
        let _ = writeln!(text, "  layer {i}: {what:<30} {from:?} -> {to:?}{neurons}");
        from.clone_from(to);
    }
    for note in &imported.notes {
        let _ = writeln!(text, "note: {note}");
    }
    Ok(text)
}
