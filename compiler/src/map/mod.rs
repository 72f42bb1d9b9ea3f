//! Mapping: the quantized network onto the cores of a target, then the chip configuration.
//!
//! - [`partition`]: each layer's neurons into cores within the three per-core limits;
//! - [`place`]: cores onto mesh positions, keeping traffic x hops low (a documented heuristic);
//! - [`emit`]: synapse tables, routing tables, input and output maps: the [`ChipConfig`].
//!
//! [`map`] runs the three and returns the configuration with a [`MappingReport`]. A model that
//! does not fit gets a [`MapError`] that names the layer, the limit, by how much it is exceeded
//! and what would fit.

pub mod emit;
pub mod partition;
pub mod place;

use serde::Serialize;
use ttfs_runtime::config::{ChipConfig, MeshPosition};
use ttfs_runtime::target::Target;

use crate::ir::{Folded, LayerKind, QuantNetwork};
use partition::{Binding, CoreAssignment};
use place::Traffic;

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
                fan_in_hint(&x.folded)
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

/// The width of a table's layer-name column: the longest name (every name whole, every column
/// aligned), at least that of the header `layer`.
pub fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(|n| n.chars().count()).max().unwrap_or(0).max(5)
}

/// The advice for a layer whose neurons have too many inputs, by what it is and what was
/// folded into it.
fn fan_in_hint(folded: &Folded) -> &'static str {
    let pooled = !folded.pools.is_empty();
    match (folded.lines_per_pixel, folded.kind, pooled) {
        (Some(_), _, _) => {
            "; the thermometer input gives every pixel one input line per level, so fewer \
             levels (`ttfs train --levels`) would shrink them"
        }
        (None, LayerKind::Conv2d { .. }, true) => {
            "; folding the average pool into this convolution multiplies each neuron's inputs \
             by the pool's window, so fewer input channels, a smaller kernel, or a stride in \
             place of the pool would shrink them"
        }
        (None, LayerKind::Linear, true) => {
            "; folding the average pool into this layer gives each neuron one input per neuron \
             before the pool, so fewer channels or a smaller feature map before the pool (a \
             stride or an earlier pool) would shrink them"
        }
        (None, LayerKind::Conv2d { .. }, false) => {
            ", e.g. fewer input channels or a smaller kernel"
        }
        (None, LayerKind::Linear, false) => ", e.g. a narrower layer before it",
    }
}

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

/// The result of [`map`].
#[derive(Clone, Debug)]
pub struct Mapping {
    /// The configuration.
    pub config: ChipConfig,
    /// The report.
    pub report: MappingReport,
}

/// A network's neurons split into cores, before placement.
#[derive(Clone, Debug)]
pub struct Partition {
    cores: Vec<CoreAssignment>,
    bindings: Vec<Binding>,
    /// Per layer: its cores and the limit that closed most of them.
    per_layer: Vec<(usize, Binding)>,
}

impl Partition {
    /// Cores used.
    pub fn cores(&self) -> usize {
        self.cores.len()
    }
}

/// Splits every layer of `net` into cores of `target` and checks that they fit: the first
/// half of [`map`], and the compile driver's fit check before calibration.
///
/// # Errors
/// [`MapError::FanInTooLarge`] naming every layer whose widest neuron exceeds a core, then
/// [`MapError::TooManyCores`] if the layers need more cores than the mesh has.
pub fn partition(net: &QuantNetwork, target: &Target) -> Result<Partition, MapError> {
    let mut cores: Vec<CoreAssignment> = Vec::new();
    let mut bindings: Vec<Binding> = Vec::new();
    let mut per_layer: Vec<(usize, Binding)> = Vec::new();
    let mut excesses = Vec::new();
    for (i, layer) in net.layers.iter().enumerate() {
        match partition::partition_layer(i, layer, target) {
            Ok(parts) => {
                per_layer.push((parts.len(), most_common(parts.iter().map(|p| p.1))));
                for (core, binding) in parts {
                    cores.push(core);
                    bindings.push(binding);
                }
            }
            Err(MapError::FanInTooLarge { layers, .. }) => excesses.extend(layers),
            Err(other) => return Err(other),
        }
    }
    if !excesses.is_empty() {
        return Err(MapError::FanInTooLarge {
            target: target.name.clone(),
            layers: excesses,
        });
    }
    let available = target.cores();
    if cores.len() as u64 > available {
        return Err(too_many_cores(net, target, &per_layer, cores.len()));
    }
    Ok(Partition {
        cores,
        bindings,
        per_layer,
    })
}

/// Places the cores of `partition` on the mesh and emits the configuration: the second half
/// of [`map`]. `firing` optionally gives, per layer and neuron, the measured probability that
/// the neuron fires in an inference, to weight the placement's traffic.
pub fn place(
    net: &QuantNetwork,
    target: &Target,
    partition: Partition,
    firing: Option<&[Vec<f64>]>,
) -> Mapping {
    let Partition {
        cores,
        bindings,
        per_layer,
    } = partition;
    let (cols, rows) = (target.mesh.cols, target.mesh.rows);
    let traffic = traffic(net, &cores, firing);
    let naive = place::row_major(cores.len(), cols);
    let mut positions = place::serpentine(cores.len(), cols, rows);
    let cost_serpentine = place::cost(&traffic, &positions);
    let swaps = place::improve(&traffic, &mut positions, cols, rows, 8);
    let config = emit::emit(net, target, &cores, &positions);
    let report = MappingReport {
        target: target.name.clone(),
        cols,
        rows,
        cores_used: cores.len(),
        layers: net
            .layers
            .iter()
            .zip(&per_layer)
            .map(|(l, &(n, b))| LayerUse {
                name: l.name.clone(),
                neurons: l.neurons(),
                synapses: l.synapses.len(),
                cores: n,
                bound_by: b.field(),
            })
            .collect(),
        cores: cores
            .iter()
            .zip(&bindings)
            .zip(&positions)
            .enumerate()
            .map(|(c, ((core, binding), p))| core_use(c, core, *binding, *p, target))
            .collect(),
        cost_row_major: place::cost(&traffic, &naive),
        cost_serpentine,
        cost_placed: place::cost(&traffic, &positions),
        swaps,
        traffic_from_calibration: firing.is_some(),
    };
    Mapping { config, report }
}

/// Maps `net` onto `target`: [`partition`], then [`place`].
///
/// # Errors
/// As [`partition`].
pub fn map(
    net: &QuantNetwork,
    target: &Target,
    firing: Option<&[Vec<f64>]>,
) -> Result<Mapping, MapError> {
    Ok(place(net, target, partition(net, target)?, firing))
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

fn core_use(
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
        axons: core.sources.len(),
        synapses: core.synapses,
        utilization: frac(core.neurons.len(), limits.max_neurons)
            .max(frac(core.sources.len(), limits.max_axons))
            .max(frac(core.synapses, limits.max_synapses)),
        closed_by: binding.field(),
    }
}

/// The binding that occurs most often (ties: the first in enum order); `LayerEnd` for a layer
/// that fits one core.
fn most_common(bindings: impl Iterator<Item = Binding>) -> Binding {
    let mut counts = [0usize; 3];
    for b in bindings {
        match b {
            Binding::Neurons => counts[0] += 1,
            Binding::Axons => counts[1] += 1,
            Binding::Synapses => counts[2] += 1,
            Binding::LayerEnd => {}
        }
    }
    let all = [Binding::Neurons, Binding::Axons, Binding::Synapses];
    let max = counts.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return Binding::LayerEnd;
    }
    all[counts.iter().position(|&c| c == max).unwrap_or(0)]
}

fn too_many_cores(
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

/// Expected packets between logical cores (see [`place`]).
fn traffic(net: &QuantNetwork, cores: &[CoreAssignment], firing: Option<&[Vec<f64>]>) -> Traffic {
    let home = emit::homes(net, cores);
    let mut traffic: Traffic = vec![Vec::new(); cores.len()];
    for (dst, core) in cores.iter().enumerate() {
        if core.layer == 0 {
            continue;
        }
        let src_layer = core.layer - 1;
        // Sum per source core.
        let mut per_src: std::collections::BTreeMap<usize, f64> = Default::default();
        for &s in &core.sources {
            let (src, _) = home[src_layer][s as usize];
            let rate = firing
                .and_then(|f| f.get(src_layer))
                .and_then(|l| l.get(s as usize))
                .copied()
                .unwrap_or(1.0);
            *per_src.entry(src as usize).or_default() += rate;
        }
        for (src, packets) in per_src {
            traffic[src].push((dst, packets));
        }
    }
    traffic
}

#[cfg(test)]
pub(crate) mod test_support {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    //! Small layers and the tiny target for the mapping tests.

    use ttfs_runtime::config::NeuronParams;
    use ttfs_runtime::target::Target;

    use crate::ir::{QuantLayer, SynapseMatrix};

    /// The tiny target of `fixtures/targets/tiny.json` (32 neurons, 64 axons, 1024 synapses).
    pub fn tiny_target() -> Target {
        ttfs_runtime::target::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/targets/tiny.json"
        )))
        .unwrap()
    }

    /// A dense layer of `neurons` neurons each reading all `sources`, weight 1.
    pub fn dense_layer(name: &str, sources: usize, neurons: usize) -> QuantLayer {
        let fan_in: Vec<Vec<(u32, i32)>> = (0..neurons)
            .map(|_| (0..sources as u32).map(|s| (s, 1)).collect())
            .collect();
        QuantLayer {
            name: name.to_string(),
            model_layer: 0,
            folded: Default::default(),
            shape: vec![neurons],
            synapses: SynapseMatrix::from_fan_in(sources, &fan_in),
            threshold: vec![1; neurons],
            bias: vec![0; neurons],
            scale: vec![1.0; neurons],
            params: NeuronParams::ttfs_hidden(12),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use ttfs_runtime::config::{InputEncoding, NeuronParams, TieBreak};

    use super::test_support::tiny_target;
    use super::*;
    use crate::ir::{InputDesc, QuantLayer, Registers, SynapseMatrix};

    /// A layered network from per-layer fan-in lists (`(source, weight)` per neuron).
    fn network(inputs: usize, layers: &[Vec<Vec<(u32, i32)>>]) -> QuantNetwork {
        let mut sources = inputs;
        let count = layers.len();
        let layers = layers
            .iter()
            .enumerate()
            .map(|(i, fan_in)| {
                let n = fan_in.len();
                let layer = QuantLayer {
                    name: format!("layer {i}"),
                    model_layer: i,
                    folded: Default::default(),
                    shape: vec![n],
                    synapses: SynapseMatrix::from_fan_in(sources, fan_in),
                    threshold: vec![3; n],
                    bias: vec![0; n],
                    scale: vec![1.0; n],
                    params: if i + 1 == count {
                        NeuronParams::ttfs_output(12)
                    } else {
                        NeuronParams::ttfs_hidden(12)
                    },
                };
                sources = n;
                layer
            })
            .collect();
        QuantNetwork {
            input: InputDesc {
                shape: [1, 1, inputs],
                encoding: InputEncoding::Latency,
            },
            time_steps: 4,
            registers: Registers {
                weight_bits: 8,
                current_bits: 24,
                potential_bits: 24,
                threshold_bits: 24,
                decay_bits: 12,
            },
            layers,
            tie_break: TieBreak::PotentialAtEnd,
        }
    }

    /// Every synapse `(layer, source, target) -> weight` that the configuration realises,
    /// reconstructed from the input map, the routing tables and the synapse tables alone.
    fn synapses_of(config: &ChipConfig) -> BTreeMap<(usize, u32, u32), i32> {
        let mut out = BTreeMap::new();
        let mut deliver = |layer: usize, source: u32, axon: ttfs_runtime::config::AxonRef| {
            let core = &config.cores[axon.core as usize];
            assert_eq!(core.layer as usize, layer);
            for s in core.synapses.row(axon.axon as usize) {
                let target = core.layer_index[s.neuron as usize];
                let old = out.insert((layer, source, target), s.weight);
                assert!(old.is_none(), "synapse delivered twice");
            }
        };
        for channel in 0..config.input.targets.rows() {
            for &a in config.input.targets.row(channel) {
                deliver(0, channel as u32, a);
            }
        }
        for core in &config.cores {
            for (k, &n) in core.layer_index.iter().enumerate() {
                for &a in core.routes.row(k) {
                    deliver(core.layer as usize + 1, n, a);
                }
            }
        }
        out
    }

    fn synapses_of_network(net: &QuantNetwork) -> BTreeMap<(usize, u32, u32), i32> {
        let mut out = BTreeMap::new();
        for (l, layer) in net.layers.iter().enumerate() {
            for j in 0..layer.synapses.sources {
                for (t, w) in layer.synapses.row(j) {
                    out.insert((l, j as u32, t), w);
                }
            }
        }
        out
    }

    fn random_layers(
        inputs: usize,
        sizes: &[usize],
        density: f64,
        seed: u64,
    ) -> Vec<Vec<Vec<(u32, i32)>>> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut sources = inputs;
        sizes
            .iter()
            .map(|&n| {
                let layer = (0..n)
                    .map(|_| {
                        let mut fan_in = Vec::new();
                        for s in 0..sources as u32 {
                            let keep = (next() % 1000) as f64 / 1000.0 < density;
                            let w = (next() % 255) as i32 - 127;
                            if keep && w != 0 {
                                fan_in.push((s, w));
                            }
                        }
                        fan_in
                    })
                    .collect();
                sources = n;
                layer
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        /// The configuration realises exactly the network's synapses, on as many cores as the
        /// tiny target needs, and passes the runtime's own checks.
        #[test]
        fn config_realises_every_synapse_exactly(
            inputs in 1usize..60,
            sizes in proptest::collection::vec(1usize..70, 1..4),
            density in 0.05f64..0.9,
            seed in any::<u64>(),
        ) {
            let net = network(inputs, &random_layers(inputs, &sizes, density, seed));
            let target = tiny_target();
            match map(&net, &target, None) {
                Ok(mapping) => {
                    mapping.config.check_target(&target).unwrap();
                    prop_assert_eq!(synapses_of(&mapping.config), synapses_of_network(&net));
                    prop_assert_eq!(mapping.config.cores.len(), mapping.report.cores_used);
                    let needed: usize = sizes.iter().map(|&n| n.div_ceil(32)).sum();
                    prop_assert!(mapping.config.cores.len() >= needed);
                    prop_assert!(mapping.report.cost_placed <= mapping.report.cost_serpentine + 1e-9);
                }
                Err(MapError::TooManyCores { needed, available, .. }) => {
                    prop_assert!(needed > available);
                }
                Err(e @ MapError::FanInTooLarge { .. }) => {
                    prop_assert!(e.to_string().contains("core.max_axons = 64"), "{}", e);
                }
            }
        }
    }

    #[test]
    fn a_layer_split_over_cores_routes_each_spike_to_every_reader() {
        // 10 inputs -> 40 hidden (two cores of 32 + 8) -> 3 outputs reading all 40.
        let layers = random_layers(10, &[40, 3], 1.0, 7);
        let net = network(10, &layers);
        let mapping = map(&net, &tiny_target(), None).unwrap();
        let c = &mapping.config;
        assert_eq!(c.cores.len(), 3);
        assert_eq!(
            c.cores.iter().map(|c| c.neurons()).collect::<Vec<_>>(),
            vec![32, 8, 3]
        );
        // Every input channel feeds both hidden cores: two (core, axon) targets each.
        for ch in 0..10 {
            assert_eq!(c.input.targets.row(ch).len(), 2);
        }
        // Every hidden neuron routes to the output core only, one packet.
        for core in &c.cores[..2] {
            for k in 0..core.neurons() {
                assert_eq!(core.routes.row(k).len(), 1);
                assert_eq!(core.routes.row(k)[0].core, 2);
            }
        }
        assert_eq!(c.output.classes.len(), 3);
        assert!(c.output.classes.iter().all(|n| n.core == 2));
        assert_eq!(synapses_of(c), synapses_of_network(&net));
    }

    #[test]
    fn too_many_cores_names_the_count_the_excess_and_what_fits() {
        // 20 inputs -> 600 neurons: 19 cores of 32, plus 1 output core: 20 > 16.
        let mut layers = random_layers(20, &[600], 1.0, 3);
        layers.push(vec![(0..10).map(|s| (s, 1)).collect(); 2]);
        let err = map(&network(20, &layers), &tiny_target(), None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("needs 20 cores"), "{text}");
        assert!(
            text.contains("has 16 (4 x 4 mesh; exceeded by 4)"),
            "{text}"
        );
        assert!(
            text.contains("layer 0: 19 (bound by core.max_neurons)"),
            "{text}"
        );
        assert!(text.contains("the first 0 of 2 layers fit"), "{text}");
    }

    #[test]
    fn every_layer_that_exceeds_a_core_is_named_with_advice_for_its_kind() {
        // 100 inputs -> 3 (fan-in 100) -> 2 (fan-in 3): only the first exceeds 64 axons; make
        // the second a convolution behind a folded pool with a fan-in of 70 over 70 sources.
        let mut layers = random_layers(100, &[70, 2], 1.0, 9);
        layers[0].truncate(70);
        let mut net = network(100, &layers);
        net.layers[1].folded = Folded {
            kind: LayerKind::Conv2d {
                kernel: [3, 3],
                in_channels: 8,
            },
            pools: vec![crate::ir::PoolFold {
                kernel: 2,
                stride: 2,
            }],
            lines_per_pixel: None,
        };
        let err = map(&net, &tiny_target(), None).unwrap_err();
        let MapError::FanInTooLarge { layers: excess, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(
            excess
                .iter()
                .map(|x| (x.layer.as_str(), x.field))
                .collect::<Vec<_>>(),
            [("layer 0", "core.max_axons"), ("layer 1", "core.max_axons")]
        );
        let text = err.to_string();
        assert!(
            text.starts_with("2 layers exceed a core of target \"tiny\": layer 0: its widest neuron has 100 inputs"),
            "{text}"
        );
        assert!(
            text.contains("; and layer 1: its widest neuron has 70 inputs"),
            "{text}"
        );
        // The convolution behind the pool: more pooling would not help it.
        assert!(
            text.contains("a smaller kernel, or a stride in place of the pool"),
            "{text}"
        );
        assert!(!text.contains("more pooling"), "{text}");
    }

    #[test]
    fn fan_in_beyond_synapse_memory_is_an_error() {
        let mut target = tiny_target();
        target.core.max_synapses = 16;
        let layers = random_layers(20, &[2], 1.0, 5);
        let err = map(&network(20, &layers), &target, None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("core.max_synapses = 16"), "{text}");
        assert!(text.contains("exceeded by 4"), "{text}");
    }

    #[test]
    fn placement_beats_row_major_on_a_pipeline() {
        let layers = random_layers(40, &[60, 60, 60, 10], 0.5, 11);
        let mapping = map(&network(40, &layers), &tiny_target(), None).unwrap();
        let r = &mapping.report;
        assert!(
            r.cost_placed < r.cost_row_major,
            "placed {} row-major {}",
            r.cost_placed,
            r.cost_row_major
        );
        let text = format_mapping(r);
        assert!(text.contains("mapping onto tiny (4 x 4 mesh)"), "{text}");
    }
}
