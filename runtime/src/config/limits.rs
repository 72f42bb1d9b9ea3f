//! [`ChipConfig::check_target`]: whether a configuration was compiled for a target and fits
//! it, the gate the emulator passes a configuration through before it runs.
//!
//! The checks, in order (the first broken rule is the error): [`ChipConfig::validate`]; the
//! target's name and hash; `neuron.decay_bits`; the core count and every position against the
//! mesh; then per core: neurons, axons and synapses against `core.max_neurons`,
//! `core.max_axons` and `core.max_synapses`; weights within the signed `core.weight_bits`;
//! thresholds within the signed `core.threshold_bits`, and one threshold per core unless
//! `neuron.per_neuron_threshold`; biases only with `neuron.bias`, within the signed
//! `core.current_bits` (the contract in [`CoreConfig::bias`]); the refractory period within
//! `neuron.max_refractory_steps` (`UntilEnd` only where it is `null`); a reset potential within
//! the signed `core.potential_bits`. Errors name the core and the target's field as dotted in
//! its JSON.

use super::{ChipConfig, ConfigError, CoreConfig, Refractory, Reset};
use crate::target::{NeuronUpdateMode, Target};

type Result<T = ()> = std::result::Result<T, ConfigError>;

impl ChipConfig {
    /// Checks that the configuration was compiled for `target` and fits it (see the module
    /// docs); runs [`validate`](Self::validate) first.
    ///
    /// # Errors
    /// [`ConfigError::WrongTarget`] if the name or hash differ; [`ConfigError::TooManyCores`],
    /// [`ConfigError::OffMesh`], [`ConfigError::ExceedsTarget`] or
    /// [`ConfigError::Unsupported`] for the first limit broken, naming the core and the target's
    /// field; any error of `validate`.
    pub fn check_target(&self, target: &Target) -> Result {
        self.validate()?;
        let target_hash = target.hash();
        if self.target_name != target.name || self.target_hash != target_hash {
            return Err(ConfigError::WrongTarget {
                config_target: self.target_name.clone(),
                config_hash: self.target_hash,
                target: target.name.clone(),
                target_hash,
            });
        }
        if self.decay_bits != target.neuron.decay_bits {
            return Err(ConfigError::Unsupported {
                field: "neuron.decay_bits",
                what: format!("the configuration's decay_bits is {}", self.decay_bits),
                setting: target.neuron.decay_bits.to_string(),
            });
        }
        if u64::try_from(self.cores.len()).unwrap_or(u64::MAX) > target.cores() {
            return Err(ConfigError::TooManyCores {
                cores: self.cores.len(),
                available: target.cores(),
                cols: target.mesh.cols,
                rows: target.mesh.rows,
            });
        }
        for (c, core) in self.cores.iter().enumerate() {
            check_core_fits(c, core, target)?;
        }
        Ok(())
    }
}

/// Checks one core against the target's capacities and neuron features.
fn check_core_fits(c: usize, core: &CoreConfig, target: &Target) -> Result {
    let (mesh, caps, neuron) = (&target.mesh, &target.core, &target.neuron);
    if core.position.x >= mesh.cols || core.position.y >= mesh.rows {
        return Err(ConfigError::OffMesh {
            core: c,
            x: core.position.x,
            y: core.position.y,
            cols: mesh.cols,
            rows: mesh.rows,
        });
    }
    let exceeds = |field: &'static str, what: String, value: i64, limit: i64| {
        Err(ConfigError::ExceedsTarget {
            core: c,
            field,
            what,
            value,
            limit,
        })
    };
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    for (field, what, value, limit) in [
        (
            "core.max_neurons",
            "neuron",
            core.neurons(),
            caps.max_neurons,
        ),
        ("core.max_axons", "axon", core.axons(), caps.max_axons),
        (
            "core.max_synapses",
            "synapse",
            core.synapses.entries.len(),
            caps.max_synapses,
        ),
    ] {
        if count(value) > i64::from(limit) {
            return exceeds(
                field,
                format!("the {what} count"),
                count(value),
                limit.into(),
            );
        }
    }
    // The bound of `(lo, hi)` that `value` crosses, if it does.
    let beyond = |value: i64, (lo, hi): (i64, i64)| {
        if value > hi {
            Some(hi)
        } else if value < lo {
            Some(lo)
        } else {
            None
        }
    };

    let weights = signed_range(caps.weight_bits);
    for a in 0..core.axons() {
        for s in core.synapses.row(a) {
            if let Some(limit) = beyond(s.weight.into(), weights) {
                let what = format!("the weight of axon {a} to neuron {}", s.neuron);
                return exceeds("core.weight_bits", what, s.weight.into(), limit);
            }
        }
    }
    let thresholds = signed_range(caps.threshold_bits);
    for (i, &t) in core.threshold.iter().enumerate() {
        if let Some(limit) = beyond(t.into(), thresholds) {
            let what = format!("the threshold of neuron {i}");
            return exceeds("core.threshold_bits", what, t.into(), limit);
        }
    }
    if let (false, Some(&first)) = (neuron.per_neuron_threshold, core.threshold.first()) {
        if let Some((i, t)) = core
            .threshold
            .iter()
            .enumerate()
            .find(|(_, t)| **t != first)
        {
            return Err(ConfigError::Unsupported {
                field: "neuron.per_neuron_threshold",
                what: format!(
                    "core {c}: neurons 0 and {i} have different thresholds ({first} and {t})"
                ),
                setting: "false".into(),
            });
        }
    }
    let currents = signed_range(caps.current_bits);
    for (i, &b) in core.bias.iter().enumerate() {
        if b != 0 && !neuron.bias {
            return Err(ConfigError::Unsupported {
                field: "neuron.bias",
                what: format!("core {c}: neuron {i} has bias {b}"),
                setting: "false".into(),
            });
        }
        if let Some(limit) = beyond(b.into(), currents) {
            return exceeds(
                "core.current_bits",
                format!("the bias of neuron {i}"),
                b.into(),
                limit,
            );
        }
    }
    match (core.params.refractory, neuron.max_refractory_steps) {
        (Refractory::UntilEnd, Some(max)) => {
            return Err(ConfigError::Unsupported {
                field: "neuron.max_refractory_steps",
                what: format!(
                    "core {c}: the refractory period lasts until the end of the inference"
                ),
                setting: max.to_string(),
            });
        }
        (Refractory::Steps(n), Some(max)) if n > max => {
            return exceeds(
                "neuron.max_refractory_steps",
                "the refractory period, in steps,".into(),
                n.into(),
                max.into(),
            );
        }
        _ => {}
    }
    if let Reset::To(r) = core.params.reset {
        if let Some(limit) = beyond(r.into(), signed_range(caps.potential_bits)) {
            return exceeds(
                "core.potential_bits",
                "the reset potential".into(),
                r.into(),
                limit,
            );
        }
    }
    if neuron.update == NeuronUpdateMode::OnInput {
        if let Err(why) =
            core.params
                .still_without_input(neuron.decay_bits, &core.bias, &core.threshold)
        {
            return Err(ConfigError::Unsupported {
                field: "neuron.update",
                what: format!(
                    "core {c} (layer {}) would change without input: {why}",
                    core.layer
                ),
                setting: "on_input".into(),
            });
        }
    }
    Ok(())
}

/// `[-2^(bits-1), 2^(bits-1) - 1]`, the range of a signed register of `bits` bits (1..=32).
fn signed_range(bits: u32) -> (i64, i64) {
    let half = 1i64 << (bits.clamp(1, 63) - 1);
    (-half, half - 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::Path;

    use super::super::test_configs::{sample, tiny};
    use super::*;

    /// The tiny target changed by `f` (its hash changes with it).
    fn tiny_with(f: impl FnOnce(&mut Target)) -> Target {
        let mut target = tiny();
        f(&mut target);
        target
    }

    /// `sample()` compiled for `target` and changed by `f`, checked against `target`.
    fn check_on(target: &Target, f: impl FnOnce(&mut ChipConfig)) -> Result {
        let mut config = sample();
        config.target_name.clone_from(&target.name);
        config.target_hash = target.hash();
        f(&mut config);
        config.check_target(target)
    }

    /// The message of the error `check_on` gives.
    fn refused(target: &Target, f: impl FnOnce(&mut ChipConfig)) -> String {
        check_on(target, f).unwrap_err().to_string()
    }

    #[test]
    fn the_sample_fits_tiny() {
        sample().check_target(&tiny()).unwrap();
    }

    #[test]
    fn another_target_is_refused_by_name() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/targets/loihi.json"
        );
        let loihi = crate::target::load(Path::new(path)).unwrap();
        let e = sample().check_target(&loihi).unwrap_err();
        let ConfigError::WrongTarget {
            config_target,
            target,
            target_hash,
            ..
        } = &e
        else {
            panic!("expected WrongTarget, got {e:?}");
        };
        assert_eq!((config_target.as_str(), target.as_str()), ("tiny", "loihi"));
        assert_eq!(*target_hash, loihi.hash());
        assert!(
            e.to_string().starts_with("compiled for target \"tiny\""),
            "{e}"
        );
    }

    #[test]
    fn a_changed_target_of_the_same_name_is_refused_by_hash() {
        let changed = tiny_with(|t| t.timing_cycles.hop = 2);
        let e = sample().check_target(&changed).unwrap_err();
        assert!(
            matches!(&e, ConfigError::WrongTarget { config_hash, target_hash, .. }
                if *config_hash == tiny().hash() && *target_hash == changed.hash()),
            "{e:?}"
        );
    }

    #[test]
    fn an_invalid_configuration_is_refused_before_the_limits() {
        let e = check_on(&tiny(), |c| c.time_steps = 0).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { .. }), "{e:?}");
    }

    #[test]
    fn other_decay_bits() {
        let target = tiny_with(|t| t.neuron.decay_bits = 10);
        assert_eq!(
            refused(&target, |_| {}),
            "the configuration's decay_bits is 12, but the target has neuron.decay_bits = 10"
        );
    }

    #[test]
    fn too_many_cores() {
        let target = tiny_with(|t| {
            t.mesh.cols = 1;
            t.mesh.rows = 2;
        });
        let e = check_on(&target, |_| {}).unwrap_err();
        assert!(matches!(
            e,
            ConfigError::TooManyCores {
                cores: 3,
                available: 2,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "the configuration uses 3 cores, but the target's 1 x 2 mesh has only 2"
        );
    }

    #[test]
    fn a_core_off_the_mesh() {
        assert_eq!(
            refused(&tiny(), |c| c.cores[2].position.y = 4),
            "core 2 sits at column 0, row 4, outside the target's mesh of 4 columns (mesh.cols) \
             and 4 rows (mesh.rows)"
        );
    }

    #[test]
    fn too_many_neurons_axons_or_synapses() {
        let limited = |f: fn(&mut Target)| refused(&tiny_with(f), |_| {});
        assert_eq!(
            limited(|t| t.core.max_neurons = 1),
            "core 0: the neuron count is 2, beyond the target's limit of 1 (core.max_neurons)"
        );
        assert_eq!(
            limited(|t| t.core.max_axons = 3),
            "core 0: the axon count is 4, beyond the target's limit of 3 (core.max_axons)"
        );
        assert_eq!(
            limited(|t| t.core.max_synapses = 7),
            "core 0: the synapse count is 8, beyond the target's limit of 7 (core.max_synapses)"
        );
    }

    #[test]
    fn a_weight_outside_weight_bits() {
        let e = check_on(&tiny(), |c| c.cores[2].synapses.entries[5].weight = 128).unwrap_err();
        assert!(matches!(
            e,
            ConfigError::ExceedsTarget {
                core: 2,
                field: "core.weight_bits",
                value: 128,
                limit: 127,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "core 2: the weight of axon 2 to neuron 1 is 128, beyond the target's limit of 127 \
             (core.weight_bits)"
        );
        assert_eq!(
            refused(&tiny(), |c| c.cores[2].synapses.entries[5].weight = -129),
            "core 2: the weight of axon 2 to neuron 1 is -129, beyond the target's limit of -128 \
             (core.weight_bits)"
        );
        check_on(&tiny(), |c| c.cores[2].synapses.entries[5].weight = -128).unwrap();
    }

    #[test]
    fn a_threshold_outside_threshold_bits() {
        assert_eq!(
            refused(&tiny(), |c| c.cores[1].threshold[0] = 1 << 23),
            "core 1: the threshold of neuron 0 is 8388608, beyond the target's limit of 8388607 \
             (core.threshold_bits)"
        );
    }

    #[test]
    fn thresholds_per_neuron_on_a_target_with_one_per_core() {
        let target = tiny_with(|t| t.neuron.per_neuron_threshold = false);
        assert_eq!(
            refused(&target, |_| {}),
            "core 0: neurons 0 and 1 have different thresholds (20 and 24), but the target has \
             neuron.per_neuron_threshold = false"
        );
        check_on(&target, |c| {
            for core in &mut c.cores {
                core.threshold.fill(20);
            }
        })
        .unwrap();
    }

    #[test]
    fn a_bias_on_a_target_without_bias() {
        let target = tiny_with(|t| t.neuron.bias = false);
        check_on(&target, |_| {}).unwrap();
        let e = check_on(&target, |c| c.cores[1].bias[1] = 3).unwrap_err();
        assert!(matches!(
            e,
            ConfigError::Unsupported {
                field: "neuron.bias",
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "core 1: neuron 1 has bias 3, but the target has neuron.bias = false"
        );
    }

    #[test]
    fn a_bias_outside_current_bits() {
        assert_eq!(
            refused(&tiny(), |c| c.cores[0].bias[0] = 1 << 23),
            "core 0: the bias of neuron 0 is 8388608, beyond the target's limit of 8388607 \
             (core.current_bits)"
        );
    }

    #[test]
    fn refractory_until_the_end_on_a_target_with_a_maximum() {
        let target = tiny_with(|t| t.neuron.max_refractory_steps = Some(4));
        assert_eq!(
            refused(&target, |_| {}),
            "core 0: the refractory period lasts until the end of the inference, but the target \
             has neuron.max_refractory_steps = 4"
        );
    }

    #[test]
    fn a_refractory_period_above_the_maximum() {
        let target = tiny_with(|t| t.neuron.max_refractory_steps = Some(4));
        let with_steps = |n: u32| {
            move |c: &mut ChipConfig| {
                for core in &mut c.cores {
                    core.params.refractory = Refractory::Steps(n);
                }
            }
        };
        assert_eq!(
            refused(&target, with_steps(9)),
            "core 0: the refractory period, in steps, is 9, beyond the target's limit of 4 \
             (neuron.max_refractory_steps)"
        );
        check_on(&target, with_steps(4)).unwrap();
        // Without a maximum, any period is fine.
        check_on(&tiny(), with_steps(1000)).unwrap();
    }

    #[test]
    fn a_reset_potential_outside_potential_bits() {
        assert_eq!(
            refused(&tiny(), |c| c.cores[0].params.reset =
                Reset::To(-(1 << 23) - 1)),
            "core 0: the reset potential is -8388609, beyond the target's limit of -8388608 \
             (core.potential_bits)"
        );
    }

    #[test]
    fn signed_ranges() {
        assert_eq!(signed_range(1), (-1, 0));
        assert_eq!(signed_range(8), (-128, 127));
        assert_eq!(signed_range(32), (i64::from(i32::MIN), i64::from(i32::MAX)));
    }
}
