//! The comparison of an emulated run with a reference simulation of the same network (the
//! compiler's golden model), as a run's report carries it: per inference a [`GoldenCheck`],
//! over the run a [`GoldenSummary`]. The comparison itself is the compiler's
//! (`ttfs_compiler::crosscheck`), which sees both the emulator and the golden model; this
//! module only holds and sums its verdicts.

use serde::{Deserialize, Serialize};

/// A neuron whose spikes differ between the emulator and the golden model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldenCheck {
    /// The first neuron whose spikes differ (`None`: every spike time equal).
    pub spikes: Option<SpikeDifference>,
    /// The decisions' difference (`None`: equal class and step).
    pub decision: Option<DecisionDifference>,
}

/// The comparison over all inferences (in the run's report).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// Sums up the checks of all inferences, in image order, against the golden model of
    /// `model` (the file's name, as the report shows it).
    pub fn of<'a>(model: String, checks: impl IntoIterator<Item = &'a GoldenCheck>) -> Self {
        let mut s = GoldenSummary {
            model,
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

    /// Spikes (and decisions, when compared) equal on every inference.
    pub fn all_equal(&self) -> bool {
        self.spikes_equal == self.compared && self.decisions_equal == self.compared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_equal_inferences_and_keeps_the_first_differences() {
        let spikes = |image| SpikeDifference {
            image,
            layer: 1,
            layer_name: "out".into(),
            neuron: 0,
            emulator_steps: vec![2],
            golden_steps: vec![],
        };
        let decision = |image| DecisionDifference {
            image,
            emulator_class: 0,
            emulator_step: Some(1),
            golden_class: 1,
            golden_step: None,
        };
        let checks = [
            GoldenCheck {
                spikes: None,
                decision: None,
            },
            GoldenCheck {
                spikes: Some(spikes(1)),
                decision: None,
            },
            GoldenCheck {
                spikes: Some(spikes(2)),
                decision: Some(decision(2)),
            },
            GoldenCheck {
                spikes: None,
                decision: Some(decision(3)),
            },
        ];
        let s = GoldenSummary::of("m".into(), &checks);
        assert_eq!((s.compared, s.spikes_equal, s.decisions_equal), (4, 2, 2));
        assert_eq!(s.first_spike_difference, Some(spikes(1)));
        assert_eq!(s.first_decision_difference, Some(decision(2)));
        assert!(!s.all_equal());
        assert!(GoldenSummary::of("m".into(), &checks[..1]).all_equal());
    }
}
