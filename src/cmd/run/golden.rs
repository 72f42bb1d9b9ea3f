//! `ttfs run --golden MODEL`: the model recompiled for the same target and run through the
//! compiler's golden model (chip.md section 6) on the same images; every neuron's spike times
//! and every decision compared with the emulator's.
//!
//! With early exit the chip stops after the decision step, so only the golden spikes of the
//! steps the emulator ran are compared, and the golden decision is re-derived as the chip makes
//! it then: ties broken by the potential after the decision step, whatever the configuration's
//! rule (the potential after step T is never computed).

use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;
use ttfs_compiler::decision::{Decision, decide};
use ttfs_compiler::golden::GoldenRun;
use ttfs_compiler::ir::QuantNetwork;
use ttfs_runtime::config::{ChipConfig, TieBreak};
use ttfs_runtime::emulator::Inference;
use ttfs_runtime::target::Target;

/// A neuron whose spikes differ between the emulator and the golden model.
#[derive(Clone, Debug, Serialize)]
pub struct SpikeDifference {
    /// Index of the image.
    pub image: usize,
    /// Layer index.
    pub layer: usize,
    /// Layer name.
    pub layer_name: String,
    /// Neuron index in the layer.
    pub neuron: u32,
    /// The steps the emulator's neuron fired at.
    pub emulator_steps: Vec<u32>,
    /// The steps the golden model's neuron fired at.
    pub golden_steps: Vec<u32>,
}

/// An image on which the two decided differently.
#[derive(Clone, Debug, Serialize)]
pub struct DecisionDifference {
    /// Index of the image.
    pub image: usize,
    /// The emulator's class.
    pub emulator_class: usize,
    /// The emulator's decision step.
    pub emulator_step: Option<u32>,
    /// The golden model's class.
    pub golden_class: usize,
    /// The golden model's decision step.
    pub golden_step: Option<u32>,
}

/// The comparison of one inference.
#[derive(Clone, Debug)]
pub struct GoldenCheck {
    /// The first neuron whose spikes differ (`None`: every spike time equal).
    pub spikes: Option<SpikeDifference>,
    /// The decisions' difference (`None`: equal class and step).
    pub decision: Option<DecisionDifference>,
}

/// The comparison over all inferences (in the run's report).
#[derive(Clone, Debug, Serialize)]
pub struct GoldenSummary {
    /// The model file.
    pub model: String,
    /// Inferences compared.
    pub compared: usize,
    /// Inferences on which every neuron's spike times were equal.
    pub spikes_equal: usize,
    /// Inferences with equal decisions (class and step).
    pub decisions_equal: usize,
    /// The first spike difference.
    pub first_spike_difference: Option<SpikeDifference>,
    /// The first decision difference.
    pub first_decision_difference: Option<DecisionDifference>,
}

impl GoldenSummary {
    /// Spikes (and decisions, when compared) equal on every inference.
    pub fn all_equal(&self) -> bool {
        self.spikes_equal == self.compared && self.decisions_equal == self.compared
    }
}

/// Reads `model`, folds and quantizes it for `target` (the compiler's passes before mapping)
/// and checks that it is the network `config` holds (T, input, layer sizes).
pub fn prepare(model: &Path, config: &ChipConfig, target: &Target) -> anyhow::Result<QuantNetwork> {
    let parsed = ttfs_compiler::model::read(model)?;
    let (_, quantized, _) = ttfs_compiler::compile::lower_and_quantize(&parsed, target)
        .with_context(|| format!("{}: does not compile for the golden model", model.display()))?;
    let net = quantized.network;
    let net_layers: Vec<usize> = net.layers.iter().map(|l| l.neurons()).collect();
    let config_layers: Vec<usize> = config.layers.iter().map(|l| l.neurons as usize).collect();
    if net.time_steps != config.time_steps
        || net.input.channels() != config.input.targets.rows()
        || net_layers != config_layers
    {
        bail!(
            "{}: this model (T = {}, {} inputs, layers of {:?} neurons) is not the network of the \
             configuration (T = {}, {} inputs, layers of {:?} neurons); pass the model it was \
             compiled from",
            model.display(),
            net.time_steps,
            net.input.channels(),
            net_layers,
            config.time_steps,
            config.input.targets.rows(),
            config_layers
        );
    }
    Ok(net)
}

/// The golden model's decision as the chip makes it: with early exit the ties are broken at the
/// decision step.
fn golden_decision(golden: &GoldenRun, config: &ChipConfig, early_exit: bool) -> Decision {
    let last = golden.spikes.len().saturating_sub(1);
    let first = golden.first_spike_steps(last);
    if !early_exit || first.is_empty() {
        return golden.decision;
    }
    decide(
        &first,
        config.time_steps,
        TieBreak::PotentialAtDecision,
        |k, t| {
            golden
                .output_potential
                .get(k)
                .and_then(|v| v.get(t as usize - 1))
                .copied()
                .unwrap_or(i64::MIN)
        },
    )
}

/// Compares the emulator's inference of image `image` with the golden model's run.
pub fn check(
    image: usize,
    emulated: &Inference,
    golden: &GoldenRun,
    config: &ChipConfig,
    early_exit: bool,
) -> GoldenCheck {
    let steps_run = emulated.counters.steps_run;
    let mut spikes = None;
    for (layer, (e, g)) in emulated.spikes.iter().zip(&golden.spikes).enumerate() {
        // Spikes are ordered by step, so the golden ones within the steps run form a prefix.
        let ran = g.partition_point(|&(_, t)| t <= steps_run);
        if e[..] != g[..ran] {
            spikes = Some(first_difference(image, layer, e, &g[..ran], config));
            break;
        }
    }
    if spikes.is_none() && emulated.spikes.len() != golden.spikes.len() {
        let layer = emulated.spikes.len().min(golden.spikes.len());
        spikes = Some(SpikeDifference {
            image,
            layer,
            layer_name: format!(
                "the emulator has {} layers, the golden model {}",
                emulated.spikes.len(),
                golden.spikes.len()
            ),
            neuron: 0,
            emulator_steps: Vec::new(),
            golden_steps: Vec::new(),
        });
    }
    let (e, g) = (
        &emulated.decision,
        golden_decision(golden, config, early_exit),
    );
    let decision = (e.class != g.class || e.step != g.step).then_some(DecisionDifference {
        image,
        emulator_class: e.class,
        emulator_step: e.step,
        golden_class: g.class,
        golden_step: g.step,
    });
    GoldenCheck { spikes, decision }
}

/// The lowest-numbered neuron of `layer` whose spike steps differ between `e` and `g`.
fn first_difference(
    image: usize,
    layer: usize,
    e: &[(u32, u32)],
    g: &[(u32, u32)],
    config: &ChipConfig,
) -> SpikeDifference {
    let steps_of = |spikes: &[(u32, u32)], n: u32| -> Vec<u32> {
        spikes
            .iter()
            .filter(|&&(i, _)| i == n)
            .map(|&(_, t)| t)
            .collect()
    };
    let mut neurons: Vec<u32> = e.iter().chain(g).map(|&(i, _)| i).collect();
    neurons.sort_unstable();
    neurons.dedup();
    let neuron = neurons
        .into_iter()
        .find(|&n| steps_of(e, n) != steps_of(g, n))
        .unwrap_or(0);
    SpikeDifference {
        image,
        layer,
        layer_name: config
            .layers
            .get(layer)
            .map_or_else(|| format!("layer {}", layer + 1), |l| l.name.clone()),
        neuron,
        emulator_steps: steps_of(e, neuron),
        golden_steps: steps_of(g, neuron),
    }
}

/// Sums up the checks of all inferences, in image order.
pub fn summarize<'a>(model: &Path, checks: impl Iterator<Item = &'a GoldenCheck>) -> GoldenSummary {
    let mut s = GoldenSummary {
        model: model.display().to_string(),
        compared: 0,
        spikes_equal: 0,
        decisions_equal: 0,
        first_spike_difference: None,
        first_decision_difference: None,
    };
    for c in checks {
        s.compared += 1;
        match &c.spikes {
            None => s.spikes_equal += 1,
            Some(d) => {
                s.first_spike_difference.get_or_insert_with(|| d.clone());
            }
        }
        match &c.decision {
            None => s.decisions_equal += 1,
            Some(d) => {
                s.first_decision_difference.get_or_insert_with(|| d.clone());
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ttfs_runtime::config::{Csr, Decoding, InputEncoding, InputMap, LayerInfo, OutputMap};
    use ttfs_runtime::emulator::Counters;

    use super::*;

    fn config() -> ChipConfig {
        let layer = |name: &str, neurons| LayerInfo {
            name: name.to_string(),
            neurons,
            shape: vec![neurons],
            ann_macs: 0,
        };
        ChipConfig {
            target_name: "t".to_string(),
            target_hash: 0,
            time_steps: 4,
            decay_bits: 12,
            layers: vec![layer("hidden", 3), layer("out", 2)],
            cores: Vec::new(),
            input: InputMap {
                shape: vec![1],
                encoding: InputEncoding::Latency,
                targets: Csr::default(),
            },
            output: OutputMap {
                classes: Vec::new(),
            },
            decoding: Decoding {
                tie_break: TieBreak::PotentialAtEnd,
            },
        }
    }

    fn runs(e: Vec<Vec<(u32, u32)>>, g: Vec<Vec<(u32, u32)>>) -> (Inference, GoldenRun) {
        let emulated = Inference {
            spikes: e,
            output_potential: vec![vec![0; 4]; 2],
            decision: ttfs_runtime::emulator::Decision {
                class: 1,
                step: Some(2),
                tied: 1,
            },
            counters: Counters {
                steps_run: 4,
                ..Counters::default()
            },
            violations: Vec::new(),
        };
        let golden = GoldenRun {
            spikes: g,
            output_potential: vec![vec![0; 4]; 2],
            decision: Decision {
                class: 1,
                step: Some(2),
                tied: 1,
            },
            peaks: Vec::new(),
            neuron_updates: Vec::new(),
            synaptic_ops: Vec::new(),
            neurons: vec![3, 2],
        };
        (emulated, golden)
    }

    #[test]
    fn equal_runs_have_no_difference() {
        let spikes = vec![vec![(0, 1), (2, 1)], vec![(1, 2)]];
        let (e, g) = runs(spikes.clone(), spikes);
        let c = check(7, &e, &g, &config(), false);
        assert!(c.spikes.is_none() && c.decision.is_none());
    }

    #[test]
    fn the_first_differing_neuron_is_named() {
        let (e, g) = runs(
            vec![vec![(0, 1), (2, 1)], vec![(0, 2), (1, 3)]],
            vec![vec![(0, 1), (2, 1)], vec![(1, 2)]],
        );
        let c = check(7, &e, &g, &config(), false);
        let d = c.spikes.clone().unwrap();
        assert_eq!((d.image, d.layer, d.neuron), (7, 1, 0));
        assert_eq!(d.layer_name, "out");
        assert_eq!((d.emulator_steps, d.golden_steps), (vec![2], vec![]));
        let summary = summarize(Path::new("m"), [c].iter());
        assert_eq!((summary.compared, summary.spikes_equal), (1, 0));
        assert!(!summary.all_equal());
    }

    #[test]
    fn early_exit_compares_only_the_steps_run_and_decides_at_the_decision_step() {
        let (mut e, mut g) = runs(
            vec![vec![(0, 1)], vec![(1, 2)]],
            vec![vec![(0, 1), (2, 3)], vec![(1, 2), (0, 2)]],
        );
        e.counters.steps_run = 2;
        // Both outputs fire at step 2; output 0 has the larger potential then, output 1 at T.
        g.spikes[1].sort_by_key(|&(i, t)| (t, i));
        g.output_potential = vec![vec![0, 9, 9, 9], vec![0, 5, 5, 20]];
        e.spikes[1] = vec![(0, 2), (1, 2)];
        e.decision = ttfs_runtime::emulator::Decision {
            class: 0,
            step: Some(2),
            tied: 2,
        };
        let c = check(0, &e, &g, &config(), true);
        assert!(c.spikes.is_none(), "{:?}", c.spikes);
        assert!(c.decision.is_none(), "{:?}", c.decision);
        // Without early exit the golden decision (class 1 at T) stands, and differs.
        let c = check(0, &e, &g, &config(), false);
        assert_eq!(c.decision.unwrap().golden_class, 1);
    }
}
