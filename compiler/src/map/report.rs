//! The mapping report: per layer and per core utilization and the placement's cost, as typed
//! values and as stable text.

use serde::Serialize;
use ttfs_runtime::config::MeshPosition;
use ttfs_runtime::target::Target;

use super::partition::{Binding, CoreAssignment};

/// How one core is used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoreUse {
    /// Index of the core in the configuration.
    pub core: usize,
    /// Its mesh position.
    pub x: u32,
    /// Its mesh position.
    pub y: u32,
    /// Its layer.
    pub layer: usize,
    /// Neurons used, and the fraction of `core.max_neurons`.
    pub neurons: usize,
    /// Axons used.
    pub axons: usize,
    /// Synapse-memory entries used.
    pub synapses: usize,
    /// Largest of the three fractions of the core's limits.
    pub utilization: f64,
    /// The limit that closed the core (`end of layer` for a layer's last core).
    pub closed_by: &'static str,
}

/// One layer's share of the chip.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerUse {
    /// The layer's name.
    pub name: String,
    /// Neurons in the layer.
    pub neurons: usize,
    /// Synapses after quantization.
    pub synapses: usize,
    /// Cores it occupies.
    pub cores: usize,
    /// The limit that closed most of its cores.
    pub bound_by: &'static str,
}

/// The mapping report: per layer and per core utilization, and the placement's cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MappingReport {
    /// The target's name.
    pub target: String,
    /// Mesh columns.
    pub cols: u32,
    /// Mesh rows.
    pub rows: u32,
    /// Cores used.
    pub cores_used: usize,
    /// Per layer.
    pub layers: Vec<LayerUse>,
    /// Per core, in configuration order.
    pub cores: Vec<CoreUse>,
    /// Expected packets x hops per inference with a row-major placement (the baseline).
    pub cost_row_major: f64,
    /// The same after the compact serpentine.
    pub cost_serpentine: f64,
    /// The same after the pairwise swaps (the placement used).
    pub cost_placed: f64,
    /// Swaps made.
    pub swaps: usize,
    /// Whether the traffic was weighted by measured firing rates (else every route counts 1).
    pub traffic_from_calibration: bool,
}

/// The mapping report as stable text: one line per layer with its cores and their utilization,
/// then the placement's cost against the baselines.
pub fn format_mapping(report: &MappingReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "mapping onto {} ({} x {} mesh): {} of {} cores",
        report.target,
        report.cols,
        report.rows,
        report.cores_used,
        u64::from(report.cols) * u64::from(report.rows)
    );
    let _ = writeln!(
        s,
        "{:<w$} {:>8} {:>10} {:>6}  {:<18} {:>22}",
        "layer",
        "neurons",
        "synapses",
        "cores",
        "bound by",
        "utilization min/mean/max",
        w = name_width(report.layers.iter().map(|l| l.name.as_str()))
    );
    for (i, layer) in report.layers.iter().enumerate() {
        let util: Vec<f64> = report
            .cores
            .iter()
            .filter(|c| c.layer == i)
            .map(|c| c.utilization)
            .collect();
        let (lo, hi) = util
            .iter()
            .fold((f64::INFINITY, 0f64), |(a, b), &u| (a.min(u), b.max(u)));
        let mean = util.iter().sum::<f64>() / util.len().max(1) as f64;
        let _ = writeln!(
            s,
            "{:<w$} {:>8} {:>10} {:>6}  {:<18} {:>6.0}% {:>6.0}% {:>6.0}%",
            layer.name,
            layer.neurons,
            layer.synapses,
            layer.cores,
            layer.bound_by,
            100.0 * lo.min(hi),
            100.0 * mean,
            100.0 * hi,
            w = name_width(report.layers.iter().map(|l| l.name.as_str()))
        );
    }
    let unit = if report.traffic_from_calibration {
        "expected packets x hops per inference (measured firing)"
    } else {
        "routes x hops (every route counted once)"
    };
    let _ = writeln!(
        s,
        "placement: {unit}: row-major {:.0}, serpentine {:.0}, after {} swaps {:.0}",
        report.cost_row_major, report.cost_serpentine, report.swaps, report.cost_placed
    );
    s
}

pub(super) fn core_use(
    c: usize,
    core: &CoreAssignment,
    binding: Binding,
    p: MeshPosition,
    target: &Target,
) -> CoreUse {
    let limits = &target.core;
    let frac = |used: usize, max: u32| used as f64 / f64::from(max);
    CoreUse {
        core: c,
        x: p.x,
        y: p.y,
        layer: core.layer,
        neurons: core.neurons.len(),
        axons: core.axons.len(),
        synapses: core.synapses,
        utilization: frac(core.neurons.len(), limits.max_neurons)
            .max(frac(core.axons.len(), limits.max_axons))
            .max(frac(core.synapses, limits.max_synapses)),
        closed_by: binding.field(),
    }
}

/// The width of a table's layer-name column: the longest name (every name whole, every column
/// aligned), at least that of the header `layer`.
pub fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(|n| n.chars().count()).max().unwrap_or(0).max(5)
}
