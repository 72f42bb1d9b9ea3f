//! Why a network does not fit a target: the error, with every layer and limit exceeded and
//! advice that depends on what the layer is and what was folded into it.

use ttfs_runtime::target::Target;

use super::partition::Binding;
use crate::ir::{Folded, LayerKind, QuantNetwork};

/// Why a network does not fit a target.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// In one or more layers, one neuron alone needs more than a core has: every such layer
    /// and limit, in layer order.
    #[error("{}", describe_excesses(target, layers))]
    FanInTooLarge {
        /// The target's name.
        target: String,
        /// Each layer and limit exceeded.
        layers: Vec<FanInExcess>,
    },
    /// The layers need more cores than the mesh has.
    #[error(
        "the network needs {needed} cores but target \"{target}\" has {available} \
         ({cols} x {rows} mesh; exceeded by {excess}); cores per layer: {per_layer}; what would \
         fit: {fits}",
        excess = needed - available
    )]
    TooManyCores {
        /// The target's name.
        target: String,
        /// Cores needed.
        needed: usize,
        /// Cores on the mesh.
        available: usize,
        /// Mesh columns.
        cols: u32,
        /// Mesh rows.
        rows: u32,
        /// Cores per layer with the limit that bound them.
        per_layer: String,
        /// What would fit.
        fits: String,
    },
}

/// A layer whose widest neuron has more inputs than a core of the target holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanInExcess {
    /// The layer's name.
    pub layer: String,
    /// What the layer is and what was folded into it (the advice depends on it).
    pub folded: Folded,
    /// Whether the layer reads its pools through shared axons (else they are folded into its
    /// synapses).
    pub shared_axons: bool,
    /// The target field, e.g. `core.max_axons`.
    pub field: &'static str,
    /// The widest neuron's fan-in.
    pub fan_in: usize,
    /// The limit.
    pub limit: u32,
}

/// One sentence per excess, joined into one line.
fn describe_excesses(target: &str, layers: &[FanInExcess]) -> String {
    let sentences: Vec<String> = layers
        .iter()
        .map(|x| {
            format!(
                "{}: its widest neuron has {} inputs (synapses with a nonzero weight) but a core of \
                 target \"{target}\" has {} = {} (exceeded by {}); what would fit: at most {} \
                 distinct inputs per neuron{}",
                x.layer,
                x.fan_in,
                x.field,
                x.limit,
                x.fan_in - x.limit as usize,
                x.limit,
                fan_in_hint(&x.folded, x.shared_axons)
            )
        })
        .collect();
    match sentences.len() {
        1 => sentences.concat(),
        n => format!(
            "{n} layers exceed a core of target \"{target}\": {}",
            sentences.join("; and ")
        ),
    }
}

/// The advice for a layer whose neurons have too many inputs, by what it is, what was folded
/// into it and how its pools were lowered.
fn fan_in_hint(folded: &Folded, shared_axons: bool) -> &'static str {
    let pooled = !folded.pools.is_empty();
    match (folded.lines_per_pixel, folded.kind, pooled, shared_axons) {
        (Some(_), _, _, _) => {
            "; the thermometer input gives every pixel one input line per level, so fewer \
             levels (`ttfs train --levels`) would shrink them"
        }
        (None, LayerKind::Conv2d { .. }, true, false) => {
            "; folding the average pool into this convolution multiplies each neuron's inputs \
             by the pool's window, which the pool as shared axons (`--pool-lowering axons`, \
             the default) would not; fewer input channels, a smaller kernel, or a stride in \
             place of the pool would also shrink them"
        }
        (None, LayerKind::Linear, true, false) => {
            "; folding the average pool into this layer gives each neuron one input per neuron \
             before the pool, and the pool as shared axons (`--pool-lowering axons`, the \
             default) one per pooling window; fewer channels or a smaller feature map before \
             the pool (a stride or an earlier pool) would also shrink them"
        }
        (None, LayerKind::Linear, true, true) => {
            "; each neuron reads one shared axon per value of the pooled feature map, so fewer \
             channels or a smaller feature map before it (a stride, or a larger pool) would \
             shrink them"
        }
        (None, LayerKind::Conv2d { .. }, _, _) => ", e.g. fewer input channels or a smaller kernel",
        (None, LayerKind::Linear, false, _) => ", e.g. a narrower layer before it",
    }
}

pub(super) fn too_many_cores(
    net: &QuantNetwork,
    target: &Target,
    per_layer: &[(usize, Binding)],
    needed: usize,
) -> MapError {
    let available = usize::try_from(target.cores()).unwrap_or(usize::MAX);
    let per_layer_text = net
        .layers
        .iter()
        .zip(per_layer)
        .map(|(l, &(n, b))| format!("{}: {n} (bound by {})", l.name, b.field()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut used = 0;
    let mut prefix = 0;
    for &(n, _) in per_layer {
        if used + n > available {
            break;
        }
        used += n;
        prefix += 1;
    }
    let fits = format!(
        "a target with at least {needed} such cores; on this one the first {prefix} of {} layers \
         fit ({used} cores)",
        net.layers.len()
    );
    MapError::TooManyCores {
        target: target.name.clone(),
        needed,
        available,
        cols: target.mesh.cols,
        rows: target.mesh.rows,
        per_layer: per_layer_text,
        fits,
    }
}
