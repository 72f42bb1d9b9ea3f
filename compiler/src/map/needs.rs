//! What a quantized network needs of a target's cores, layer by layer, whether or not it fits:
//! the figures the compile report sets side by side for the two pool lowerings
//! ([`PoolLowering`]), so a user sees what shared axons save and what folding would cost.

use serde::Serialize;
use ttfs_runtime::target::Target;

use super::Partition;
use super::partition::{fan_in_axons, partition_layer};
use super::report::name_width;
use crate::ir::{PoolLowering, QuantNetwork};

/// What one layer needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerNeeds {
    /// The layer's name (it says how its pools were lowered).
    pub name: String,
    /// Whether average pools come before the layer.
    pub pooled: bool,
    /// The widest neuron's fan-in: the distinct axons it reads (at most `core.max_axons`).
    pub widest_fan_in: usize,
    /// Axons over the layer's cores (an axon held by two cores counts twice); `None` when one
    /// neuron alone exceeds a core.
    pub axons: Option<usize>,
    /// Synapse-memory entries (synapses with a nonzero weight).
    pub synapses: usize,
    /// Cores the layer fills; `None` when one neuron alone exceeds a core.
    pub cores: Option<usize>,
}

/// What a whole network needs, and whether that fits the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoweringNeeds {
    /// How the pools were lowered (JSON: `axons` or `synapses`).
    #[serde(serialize_with = "lowering_name")]
    pub lowering: PoolLowering,
    /// Per layer, input side first.
    pub layers: Vec<LayerNeeds>,
    /// Cores of all layers; `None` when a layer does not fit a core.
    pub cores: Option<usize>,
    /// Cores on the target's mesh.
    pub available: u64,
}

impl LoweringNeeds {
    /// Whether every layer fits a core and all of them the mesh.
    pub fn fits(&self) -> bool {
        self.cores.is_some_and(|c| c as u64 <= self.available)
    }
}

/// What `net` (lowered as `lowering`) needs of `target`'s cores, by the partitioner's own rules
/// ([`partition_layer`]), without stopping at a layer that does not fit. `partitioned` is the
/// network's [`Partition`] when the compile already made it (every layer fitted), so its cores
/// are counted rather than split again.
pub fn needs(
    net: &QuantNetwork,
    lowering: PoolLowering,
    target: &Target,
    partitioned: Option<&Partition>,
) -> LoweringNeeds {
    let layers: Vec<LayerNeeds> = net
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let (offsets, _) = fan_in_axons(&layer.synapses);
            let widest_fan_in = offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
            let (axons, cores) = match partitioned {
                Some(p) => {
                    let own: Vec<_> = p.cores.iter().filter(|c| c.layer == i).collect();
                    (
                        Some(own.iter().map(|c| c.axons.len()).sum()),
                        Some(own.len()),
                    )
                }
                None => match partition_layer(i, layer, target) {
                    Ok(parts) => (
                        Some(parts.iter().map(|(c, _)| c.axons.len()).sum()),
                        Some(parts.len()),
                    ),
                    Err(_) => (None, None),
                },
            };
            LayerNeeds {
                name: layer.name.clone(),
                pooled: !layer.folded.pools.is_empty(),
                widest_fan_in,
                axons,
                synapses: layer.synapses.len(),
                cores,
            }
        })
        .collect();
    LoweringNeeds {
        lowering,
        cores: layers.iter().map(|l| l.cores).sum(),
        layers,
        available: target.cores(),
    }
}

/// The two lowerings side by side as stable text: one line per lowering for each pooled
/// layer, then the totals, and whether each fits. `used` is the one compiled.
pub fn format_needs(target: &str, used: &LoweringNeeds, other: &LoweringNeeds) -> String {
    use std::fmt::Write as _;
    let width = name_width(used.layers.iter().map(|l| l.name.as_str()));
    let count = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "average pools on {target}: {} (compiled) against {}:",
        used.lowering.describe(),
        other.lowering.describe()
    );
    let _ = writeln!(
        s,
        "{:<width$}  {:<8} {:>13} {:>8} {:>10} {:>6}",
        "layer", "lowering", "widest fan-in", "axons", "synapses", "cores"
    );
    for (u, o) in used.layers.iter().zip(&other.layers) {
        if !u.pooled {
            continue;
        }
        for (name, l, lowering) in [
            (u.name.as_str(), u, used.lowering.name()),
            ("", o, other.lowering.name()),
        ] {
            let _ = writeln!(
                s,
                "{name:<width$}  {lowering:<8} {:>13} {:>8} {:>10} {:>6}",
                l.widest_fan_in,
                count(l.axons),
                l.synapses,
                count(l.cores)
            );
        }
    }
    for needs in [used, other] {
        let synapses: usize = needs.layers.iter().map(|l| l.synapses).sum();
        let verdict = match needs.cores {
            Some(c) if c as u64 <= needs.available => {
                format!(" on {c} of {} cores", needs.available)
            }
            Some(c) => format!(
                " on {c} cores, more than the {} there are: does not fit",
                needs.available
            ),
            None => {
                let over: Vec<&str> = needs
                    .layers
                    .iter()
                    .filter(|l| l.cores.is_none())
                    .map(|l| l.name.as_str())
                    .collect();
                format!(
                    "; does not fit: {} has a neuron wider than a core",
                    over.join(" and ")
                )
            }
        };
        let _ = writeln!(
            s,
            "total ({}): {synapses} synapses{verdict}",
            needs.lowering.describe()
        );
    }
    s
}

/// A lowering by its CLI name.
fn lowering_name<S: serde::Serializer>(lowering: &PoolLowering, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(lowering.name())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::compile::quantized;
    use crate::map::test_support::tiny_target;
    use crate::model::LayerSpec;
    use crate::model::test_models::with_tensors;

    #[test]
    fn a_pool_before_a_linear_layer_fits_tiny_as_shared_axons_and_not_folded() {
        // [1, 16, 16] -> pool 2 -> [1, 8, 8] -> linear 64 -> 2, all weights 1: as shared axons
        // each neuron reads the 64 windows (tiny's core.max_axons is 64), folded the 256
        // pixels; 2 x 64 synapses against 2 x 256.
        let model = with_tensors(
            vec![1, 16, 16],
            vec![
                LayerSpec::AvgPool2d {
                    kernel: 2,
                    stride: 2,
                },
                LayerSpec::Flatten,
                LayerSpec::Linear {
                    in_features: 64,
                    out_features: 2,
                    weight_norm: None,
                    affine_scale: false,
                    bias: false,
                },
            ],
            vec![("layers.2.weight", vec![2, 64], vec![1.0; 128])],
        );
        let target = tiny_target();
        let [shared, folded] = [PoolLowering::SharedAxons, PoolLowering::Synapses].map(|l| {
            needs(
                &quantized(&model, &target, l).unwrap().1.network,
                l,
                &target,
                None,
            )
        });
        // Counted from the compile's own partition, the fitting network needs the same.
        let net = quantized(&model, &target, PoolLowering::SharedAxons)
            .unwrap()
            .1
            .network;
        let partitioned = crate::map::partition(&net, &target).unwrap();
        assert_eq!(
            needs(&net, PoolLowering::SharedAxons, &target, Some(&partitioned)),
            shared
        );
        assert!(shared.fits());
        assert!(!folded.fits());
        assert_eq!(
            shared.layers[0],
            LayerNeeds {
                name: "layer 2 (linear 64->2, avg_pool2d 2 as shared axons)".into(),
                pooled: true,
                widest_fan_in: 64,
                axons: Some(64),
                synapses: 128,
                cores: Some(1),
            }
        );
        assert_eq!(
            (folded.layers[0].widest_fan_in, folded.layers[0].synapses),
            (256, 512)
        );
        assert_eq!((folded.layers[0].axons, folded.cores), (None, None));
        let text = format_needs("tiny", &shared, &folded);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "average pools on tiny: shared axons (compiled) against folded into synapses:"
        );
        assert_eq!(
            lines[2],
            "layer 2 (linear 64->2, avg_pool2d 2 as shared axons)  axons               64       \
             64        128      1"
        );
        assert_eq!(
            lines[3].trim_start(),
            "synapses           256        -        512      -"
        );
        assert_eq!(
            lines[4],
            "total (shared axons): 128 synapses on 1 of 16 cores"
        );
        assert_eq!(
            lines[5],
            "total (folded into synapses): 512 synapses; does not fit: layer 2 (linear 64->2, \
             avg_pool2d 2 folded in) has a neuron wider than a core"
        );
    }
}
