//! Mapping: the quantized network onto the cores of a target, then the chip configuration.
//!
//! - [`partition`](mod@partition): each layer's neurons into cores within the three per-core limits;
//! - [`place`](mod@place): cores onto mesh positions, keeping traffic x hops low (a documented heuristic);
//! - [`emit`]: synapse tables, routing tables, input and output maps: the [`ChipConfig`];
//! - [`needs`]: what a network needs of the cores, fitting or not (the two pool lowerings side by
//!   side in the compile report).
//!
//! [`map`] runs the three and returns the configuration with a [`MappingReport`]. A model that
//! does not fit gets a [`MapError`] that names the layer, the limit, by how much it is exceeded
//! and what would fit.

pub mod emit;
mod error;
pub mod needs;
pub mod partition;
pub mod place;
mod report;

use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::target::Target;

use crate::ir::{QuantNetwork, Routing};
use crate::model::Provenance;
use error::too_many_cores;
pub use error::{FanInExcess, MapError};
use partition::{Binding, CoreAssignment};
use place::Traffic;
use report::core_use;
pub use report::{CoreUse, LayerUse, MappingReport, format_mapping, name_width};

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
    provenance: &Provenance,
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
    let config = emit::emit(net, target, &cores, &positions, provenance);
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

/// Maps `net` onto `target`: [`partition`](fn@partition), then [`place`](fn@place).
///
/// # Errors
/// As [`partition`](fn@partition).
pub fn map(
    net: &QuantNetwork,
    target: &Target,
    firing: Option<&[Vec<f64>]>,
    provenance: &Provenance,
) -> Result<Mapping, MapError> {
    Ok(place(
        net,
        target,
        partition(net, target)?,
        firing,
        provenance,
    ))
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

/// Expected packets between logical cores (see [`place`]): for each core, the sources of each of
/// its axons (the axon's own source, or every neuron routed to a shared axon, once per
/// delivery), weighted by their firing rate.
fn traffic(net: &QuantNetwork, cores: &[CoreAssignment], firing: Option<&[Vec<f64>]>) -> Traffic {
    let home = emit::homes(net, cores);
    let mut traffic: Traffic = vec![Vec::new(); cores.len()];
    // Per layer with shared axons, the sources of each axon.
    let senders: Vec<Option<(Vec<usize>, Vec<u32>)>> = net
        .layers
        .iter()
        .map(|l| match &l.routing {
            Routing::Direct => None,
            Routing::Shared(shared) => Some(shared.sources_of_axons(l.synapses.axons)),
        })
        .collect();
    for (dst, core) in cores.iter().enumerate() {
        if core.layer == 0 {
            continue;
        }
        let src_layer = core.layer - 1;
        let rate = |s: u32| {
            firing
                .and_then(|f| f.get(src_layer))
                .and_then(|l| l.get(s as usize))
                .copied()
                .unwrap_or(1.0)
        };
        // Sum per source core.
        let mut per_src: std::collections::BTreeMap<usize, f64> = Default::default();
        for &row in &core.axons {
            let sources = match &senders[core.layer] {
                None => std::slice::from_ref(&row),
                Some((offsets, sources)) => {
                    &sources[offsets[row as usize]..offsets[row as usize + 1]]
                }
            };
            for &s in sources {
                let (src, _) = home[src_layer][s as usize];
                *per_src.entry(src as usize).or_default() += rate(s);
            }
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
            routing: Default::default(),
            synapses: SynapseMatrix::from_fan_in(sources, &fan_in),
            threshold: vec![1; neurons],
            bias: vec![0; neurons],
            scale: vec![1.0; neurons],
            params: NeuronParams::ttfs_hidden(12),
        }
    }
}

#[cfg(test)]
mod tests;
