//! The golden cross-check: an emulated run compared, neuron by neuron and decision by decision,
//! with the compiler's golden model of the same quantized network. It sits
//! in the compiler because it sees both sides: the runtime's emulator output and the golden
//! model. The verdicts it produces are the runtime's report types ([`GoldenCheck`]), summed by
//! [`ttfs_runtime::report::GoldenSummary::of`].
//!
//! With early exit the chip stops after the decision step, so only the golden spikes of the
//! steps the emulator ran are compared, and the golden decision is re-derived as the chip makes
//! it then: ties broken by the potential after the decision step, whatever the configuration's
//! rule (the potential after step T is never computed).

use ttfs_runtime::batch::Reference;
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::decision::{Decision, DecisionRule, decide};
use ttfs_runtime::emulator::Inference;
use ttfs_runtime::report::{DecisionDifference, GoldenCheck, SpikeDifference};
use ttfs_runtime::target::Target;

use crate::compile::{CompileError, quantized};
use crate::golden::{GoldenError, GoldenModel, GoldenRun};
use crate::ir::QuantNetwork;
use crate::model::Model;

/// Why a model cannot serve as the golden model of a configuration.
#[derive(Debug, thiserror::Error)]
pub enum CrosscheckError {
    /// The model does not fold or quantize for the target.
    #[error("does not compile for the golden model: {0}")]
    Compile(#[from] CompileError),
    /// The model is not the one the configuration was compiled from.
    #[error(
        "this model (digest {model:016x}) is not the one the configuration was compiled from \
         (digest {config:016x}); pass the model it was compiled from"
    )]
    OtherModel {
        /// The model's digest.
        model: u64,
        /// The digest the configuration records.
        config: u64,
    },
    /// The model is another network than the configuration's.
    #[error(
        "this model (T = {model_steps}, {model_inputs} inputs, layers of {model_layers:?} \
         neurons) is not the network of the configuration (T = {config_steps}, {config_inputs} \
         inputs, layers of {config_layers:?} neurons); pass the model it was compiled from"
    )]
    OtherNetwork {
        /// The model's time steps.
        model_steps: u32,
        /// The model's input channels.
        model_inputs: usize,
        /// The model's neurons per layer.
        model_layers: Vec<usize>,
        /// The configuration's time steps.
        config_steps: u32,
        /// The configuration's input channels.
        config_inputs: usize,
        /// The configuration's neurons per layer.
        config_layers: Vec<usize>,
    },
}

/// Checks that `model` is the one `config` was compiled from (its digest; a configuration
/// built by hand records none), folds and quantizes it for `target` with the configuration's
/// pool lowering (the compile driver's passes before mapping) and checks that it is the network `config` holds (T, input channels,
/// layer sizes).
///
/// # Errors
/// [`CrosscheckError`] if it is another model, does not compile, or is another network.
pub fn prepare(
    model: &Model,
    config: &ChipConfig,
    target: &Target,
) -> Result<QuantNetwork, CrosscheckError> {
    let digest = model.digest();
    if config.model_digest != 0 && digest != config.model_digest {
        return Err(CrosscheckError::OtherModel {
            model: digest,
            config: config.model_digest,
        });
    }
    let (_, quantized, _) = quantized(model, target, config.pool_lowering)?;
    let net = quantized.network;
    let model_layers: Vec<usize> = net.layers.iter().map(|l| l.neurons()).collect();
    let config_layers: Vec<usize> = config.layers.iter().map(|l| l.neurons as usize).collect();
    if net.time_steps != config.time_steps
        || net.input.channels() != config.input.targets.rows()
        || model_layers != config_layers
    {
        return Err(CrosscheckError::OtherNetwork {
            model_steps: net.time_steps,
            model_inputs: net.input.channels(),
            model_layers,
            config_steps: config.time_steps,
            config_inputs: config.input.targets.rows(),
            config_layers,
        });
    }
    Ok(net)
}

/// The golden model of a configuration as the [`Reference`] of an emulated batch
/// ([`ttfs_runtime::batch::run_report`]).
pub struct GoldenReference<'a> {
    /// The quantized network (from [`prepare`]).
    pub network: &'a QuantNetwork,
    /// The configuration the emulator runs.
    pub config: &'a ChipConfig,
    /// Whether the emulator exits early.
    pub early_exit: bool,
}

impl<'a> Reference for GoldenReference<'a> {
    type Worker = GoldenModel<'a>;
    type Error = GoldenError;

    fn worker(&self) -> GoldenModel<'a> {
        GoldenModel::new(self.network)
    }

    fn check(
        &self,
        worker: &mut GoldenModel<'a>,
        image: usize,
        pixels: &[u8],
        emulated: &Inference,
    ) -> Result<GoldenCheck, GoldenError> {
        let run = worker.run(pixels)?;
        Ok(check(image, emulated, &run, self.config, self.early_exit))
    }
}

/// The golden model's decision as the chip makes it: with early exit the ties are broken at the
/// decision step.
fn golden_decision(golden: &GoldenRun, config: &ChipConfig, early_exit: bool) -> Decision {
    let last = golden.spikes.len().saturating_sub(1);
    let first = golden.first_spike_steps(last);
    if !early_exit || first.is_empty() {
        return golden.decision;
    }
    let rule = DecisionRule {
        tie_break: config.decoding.tie_break,
        early_exit,
    };
    decide(&first, config.time_steps, rule, |k, t| {
        golden
            .output_potential
            .get(k)
            .and_then(|v| v.get(t as usize - 1))
            .copied()
            .unwrap_or(i64::MIN)
    })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ttfs_runtime::config::{
        Csr, Decoding, InputEncoding, InputMap, LayerInfo, OutputMap, TieBreak,
    };
    use ttfs_runtime::emulator::Counters;
    use ttfs_runtime::report::GoldenSummary;

    use super::*;

    fn config() -> ChipConfig {
        let layer = |name: &str, neurons| LayerInfo {
            name: name.to_string(),
            neurons,
            shape: vec![neurons],
            ann_macs: 0,
            ann_nonzero_macs: 0,
        };
        ChipConfig {
            target_name: "t".to_string(),
            target_hash: 0,
            model_digest: 0,
            pool_lowering: Default::default(),
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
            decision: Decision {
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
        let summary = GoldenSummary::of("m".into(), [&c]);
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
        e.decision = Decision {
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
