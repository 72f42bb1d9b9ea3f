//! Every merged record held against the configuration and target the shards name: what the
//! chip could have produced, and nothing else. A checksum catches a shard edited after it was
//! written; these checks catch a shard that is internally consistent but not a run of this
//! configuration (another network's records, a hand-made file) and name the image, the value
//! and the limit.

use super::{Merged, ShardError};
use crate::config::ChipConfig;
use crate::energy::Energy;
use crate::report::Record;
use crate::target::Target;

impl Merged {
    /// Checks every record and the firing counts against `config` (its classes, layers, cores
    /// and time steps) and `target` (the energy it gives the record's counters).
    ///
    /// # Errors
    /// [`ShardError::Record`] naming the first image that breaks a rule and how,
    /// [`ShardError::Firing`] for firing counts of another shape or above the record count.
    pub fn check(&self, config: &ChipConfig, target: &Target) -> Result<(), ShardError> {
        let neurons: Vec<u64> = config.layers.iter().map(|l| u64::from(l.neurons)).collect();
        let firing = &self.inferences.firing;
        let shape: Vec<u64> = firing.iter().map(|l| l.len() as u64).collect();
        if shape != neurons {
            return Err(ShardError::Firing(format!(
                "layers of {shape:?} neurons, but the configuration's are {neurons:?}"
            )));
        }
        let records = self.inferences.records.len();
        if let Some(count) = firing.iter().flatten().find(|&&c| c as usize > records) {
            return Err(ShardError::Firing(format!(
                "a neuron fired in {count} inferences of {records}"
            )));
        }
        for (image, record) in self.inferences.records.iter().enumerate() {
            self.check_record(record, config, target)
                .map_err(|problem| ShardError::Record { image, problem })?;
        }
        // A neuron's count is the inferences it fired in: a layer's counts add up to its
        // spikes, less the repeats of the neurons that fired more than once.
        for (l, counts) in firing.iter().enumerate() {
            let counted: u64 = counts.iter().map(|&c| u64::from(c)).sum();
            let spiked = self.inferences.records.iter().fold(0u64, |total, r| {
                let repeats: u64 = r
                    .violations
                    .iter()
                    .filter(|v| v.layer as usize == l)
                    .map(|v| (v.steps.len() as u64).saturating_sub(1))
                    .sum();
                total.saturating_add(r.counters.spikes_per_layer[l].saturating_sub(repeats))
            });
            if counted != spiked {
                return Err(ShardError::Firing(format!(
                    "layer {} counts {counted} neuron firings, but its records {spiked} spikes",
                    l + 1
                )));
            }
        }
        Ok(())
    }

    /// What is wrong with one record, as a sentence naming the value and the limit.
    fn check_record(&self, r: &Record, config: &ChipConfig, target: &Target) -> Result<(), String> {
        let classes = config.output.classes.len();
        let layers = config.layers.len();
        let t = config.time_steps;
        let c = &r.counters;
        let d = &r.decision;
        if usize::from(r.label) >= classes {
            return Err(format!(
                "label {}, but the configuration has {classes} classes",
                r.label
            ));
        }
        if d.class >= classes {
            return Err(format!(
                "class {}, but the configuration has {classes} classes",
                d.class
            ));
        }
        if d.tied > classes || d.step.is_some() != (d.tied > 0) {
            return Err(format!(
                "{} outputs tied at the decision step {:?}, of {classes} outputs",
                d.tied, d.step
            ));
        }
        if !(1..=t).contains(&c.steps_run) {
            return Err(format!("{} steps run, but T = {t}", c.steps_run));
        }
        let stop = if self.early_exit {
            d.step.unwrap_or(t)
        } else {
            t
        };
        if d.step.is_some_and(|s| s == 0 || s > c.steps_run) || c.steps_run != stop {
            return Err(format!(
                "decided at step {:?} after {} steps run, which a run {} early exit of T = {t} \
                 does not give",
                d.step,
                c.steps_run,
                if self.early_exit { "with" } else { "without" }
            ));
        }
        for (what, len, expected) in [
            (
                "synaptic ops per layer",
                c.synaptic_ops_per_layer.len(),
                layers,
            ),
            (
                "neuron updates per layer",
                c.neuron_updates_per_layer.len(),
                layers,
            ),
            ("spikes per layer", c.spikes_per_layer.len(), layers),
            ("phase cycles", c.phase_cycles.len(), layers),
            (
                "core busy cycles",
                c.core_busy_cycles.len(),
                config.cores.len(),
            ),
            ("step cycles", c.step_cycles.len(), c.steps_run as usize),
        ] {
            if len != expected {
                return Err(format!(
                    "{len} {what}, but the configuration gives {expected}"
                ));
            }
        }
        let sum = |v: &[u64]| v.iter().try_fold(0u64, |a, &x| a.checked_add(x));
        for (what, total, parts) in [
            (
                "synaptic ops",
                c.synaptic_ops,
                sum(&c.synaptic_ops_per_layer),
            ),
            (
                "neuron updates",
                c.neuron_updates,
                sum(&c.neuron_updates_per_layer),
            ),
            ("cycles", c.cycles, sum(&c.step_cycles)),
        ] {
            if parts != Some(total) {
                return Err(format!("{total} {what}, but its parts sum to {parts:?}"));
            }
        }
        if c.peak_fifo_depth > target.core.fifo_depth {
            return Err(format!(
                "a queue {} deep, but the target's core.fifo_depth is {}",
                c.peak_fifo_depth, target.core.fifo_depth
            ));
        }
        if let Some(busy) = c.core_busy_cycles.iter().find(|&&b| b > c.cycles) {
            return Err(format!(
                "a core busy for {busy} cycles of the inference's {}",
                c.cycles
            ));
        }
        let steps = u64::from(c.steps_run);
        for (l, info) in config.layers.iter().enumerate() {
            let most = u64::from(info.neurons) * steps;
            let (spikes, updates) = (c.spikes_per_layer[l], c.neuron_updates_per_layer[l]);
            if spikes > most || updates > most {
                return Err(format!(
                    "layer {} ({}) has {spikes} spikes and {updates} neuron updates, more than \
                     its {} neurons x {steps} steps",
                    l + 1,
                    info.name,
                    info.neurons
                ));
            }
        }
        if let Some(v) = r.violations.iter().find(|v| {
            config
                .layers
                .get(v.layer as usize)
                .is_none_or(|l| v.index >= l.neurons)
        }) {
            return Err(format!(
                "a violation names neuron {} of layer {}, which the configuration does not have",
                v.index, v.layer
            ));
        }
        if r.golden.is_some() != self.golden_model.is_some() {
            return Err(match &self.golden_model {
                Some(model) => format!("no golden comparison, but the run compared with {model}"),
                None => "a golden comparison, but the run compared with no golden model".into(),
            });
        }
        let energy = Energy::of(c, target);
        if r.energy != energy {
            return Err(format!(
                "energy {} pJ, but the target gives its counters {} pJ",
                r.energy.total_pj, energy.total_pj
            ));
        }
        Ok(())
    }
}
