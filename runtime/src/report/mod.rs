//! The report of a run of many inferences (what `ttfs run` writes as `<stem>.run.json` and
//! prints): per-inference [`Record`]s in, one serde [`RunReport`] out (accuracy, latency
//! percentiles, the mean energy and its breakdown, counter means, per-layer activity, the ANN
//! comparison, the single-spike verdict and the golden-model comparison); [`format_report`] is
//! its stable text form. Nothing here prints or touches files.

mod golden;
pub mod pareto;
pub mod shard;
mod text;

pub use golden::{DecisionDifference, GoldenCheck, GoldenSummary, SpikeDifference};
pub use text::format_report;

use serde::{Deserialize, Serialize};

use crate::config::ChipConfig;
use crate::decision::Decision;
use crate::emulator::{Counters, Violation};
use crate::energy::{AnnComparison, Energy, cycles_to_us};
use crate::target::Target;

/// How many single-spike violations the report lists.
const VIOLATIONS_LISTED: usize = 5;

/// What one inference left behind (its spikes are not kept).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its counters.
    pub counters: Counters,
    /// Its energy.
    pub energy: Energy,
    /// Its decision.
    pub decision: Decision,
    /// The image's label.
    pub label: u8,
    /// Neurons that fired more than once.
    pub violations: Vec<Violation>,
    /// The comparison with the golden model, if asked for.
    pub golden: Option<GoldenCheck>,
}

/// Mean, median and 99th percentile (nearest rank) of a quantity over the inferences.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

/// Latency per inference.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// The target's clock.
    pub clock_mhz: f64,
    /// In clock cycles.
    pub cycles: Spread,
    /// In microseconds at `clock_mhz`.
    pub microseconds: Spread,
    /// Mean step of the first output spike, T + 1 counted for an inference without one.
    pub decision_step_mean: f64,
    /// Inferences in which no output neuron fired.
    pub no_output_spike: usize,
    /// Mean outputs that fired at the decision step, over the inferences with an output spike.
    pub tied_mean: f64,
    /// Inferences in which several outputs fired first, so the tie break (the potential) chose.
    pub decided_by_tie_break: usize,
    /// Mean steps run (T, or fewer with early exit).
    pub steps_run_mean: f64,
}

/// One part of the energy breakdown.
#[derive(Clone, Debug, Serialize)]
pub struct EnergyPart {
    /// What it pays for.
    pub name: &'static str,
    /// Mean per inference in pJ.
    pub pj: f64,
    /// Share of the total, in percent.
    pub percent: f64,
}

/// Mean energy per inference.
#[derive(Clone, Debug, Serialize)]
pub struct EnergyReport {
    /// Total in pJ (the sum of `breakdown`).
    pub total_pj: f64,
    /// Total in nJ.
    pub total_nj: f64,
    /// By cause, in the order of the runtime's [`Energy`].
    pub breakdown: Vec<EnergyPart>,
}

/// Means of the counters per inference (the peak FIFO depth is the largest seen).
#[derive(Clone, Debug, Serialize)]
pub struct CounterMeans {
    /// Synaptic operations.
    pub synaptic_ops: f64,
    /// Neuron updates.
    pub neuron_updates: f64,
    /// Packets sent by cores.
    pub packets: f64,
    /// Input packets sent by the host.
    pub host_packets: f64,
    /// Link traversals.
    pub hops: f64,
    /// Cycles packets waited for a busy link.
    pub contention_cycles: f64,
    /// Cycles senders waited for room in a queue.
    pub stall_cycles: f64,
    /// Deepest input queue over all inferences and cores.
    pub peak_fifo_depth: u32,
    /// The target's queue depth.
    pub fifo_depth: u32,
}

/// Activity of one layer, per inference.
#[derive(Clone, Debug, Serialize)]
pub struct LayerStats {
    /// The layer's name.
    pub name: String,
    /// Its neurons.
    pub neurons: u32,
    /// Mean spikes per inference.
    pub spikes_per_inference: f64,
    /// Mean spikes per neuron and inference (the fraction that fired, when each fires once).
    pub spikes_per_neuron: f64,
    /// Mean synaptic operations into the layer per inference.
    pub synaptic_ops_per_inference: f64,
    /// Mean neuron updates per inference.
    pub neuron_updates_per_inference: f64,
    /// Multiply-accumulates of the same layer in a conventional network.
    pub ann_macs: u64,
    /// The same, of nonzero weights only (the ANN at the same weight sparsity).
    pub ann_nonzero_macs: u64,
    /// Neurons that fired in none of the inferences.
    pub silent_neurons: u32,
    /// Neurons that fired in every inference: they tell the next layer nothing about the
    /// input (a bias would do), yet cost a spike each time.
    pub always_firing_neurons: u32,
}

/// Per layer, per neuron: in how many inferences the neuron fired.
pub type FiringCounts = Vec<Vec<u32>>;

/// Everything a run of many inferences left behind.
#[derive(Clone, Debug, PartialEq)]
pub struct Inferences {
    /// One record per inference, in image order.
    pub records: Vec<Record>,
    /// Per layer, per neuron: in how many of them the neuron fired.
    pub firing: FiringCounts,
}

/// `(silent, always firing)` neurons of one layer whose neurons fired in `counts` of `images`
/// inferences each.
pub fn firing_extremes(counts: &[u32], images: usize) -> (u32, u32) {
    let silent = counts.iter().filter(|&&c| c == 0).count();
    let always = counts
        .iter()
        .filter(|&&c| images > 0 && c as usize == images)
        .count();
    (silent as u32, always as u32)
}

/// A neuron that fired more than once, with the image and the layer's name.
#[derive(Clone, Debug, Serialize)]
pub struct ViolationAt {
    /// Index of the image.
    pub image: usize,
    /// Layer index.
    pub layer: u32,
    /// Layer name.
    pub layer_name: String,
    /// Neuron index in the layer.
    pub index: u32,
    /// The steps it fired at.
    pub steps: Vec<u32>,
}

/// The single-spike verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// No neuron fired twice in any inference.
    pub verified: bool,
    /// Inferences checked.
    pub inferences: usize,
    /// Inferences with at least one violation.
    pub violating_inferences: usize,
    /// Violations in all (neuron x inference).
    pub violations: usize,
    /// The first few, in image order.
    pub first: Vec<ViolationAt>,
}

/// Per-inference values, in image order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PerInference {
    /// Cycles.
    pub cycles: Vec<u64>,
    /// Energy, pJ.
    pub energy_pj: Vec<f64>,
    /// Decided class.
    pub decision: Vec<usize>,
    /// Step of the first output spike (`null`: none).
    pub decision_step: Vec<Option<u32>>,
    /// The label.
    pub label: Vec<u8>,
    /// Decision equals label.
    pub correct: Vec<bool>,
}

/// Wall-clock figures: the only part of the report that changes from run to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Worker threads.
    pub threads: usize,
    /// Seconds spent emulating.
    pub wall_seconds: f64,
    /// Inferences per second.
    pub inferences_per_second: f64,
    /// Emulated synaptic operations per second.
    pub synaptic_ops_per_second: f64,
}

/// Where the run came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    /// The configuration file.
    pub config: String,
    /// The target name in the configuration.
    pub config_target: String,
    /// The target's name.
    pub target: String,
    /// The target's file.
    pub target_file: String,
    /// The data folder.
    pub data: String,
}

/// Everything `ttfs run` reports (written as `<stem>.run.json`).
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Where the run came from.
    pub sources: Sources,
    /// Test images run.
    pub images: usize,
    /// Time steps T.
    pub time_steps: u32,
    /// Whether each inference stopped after the first output spike.
    pub early_exit: bool,
    /// Correct decisions.
    pub correct: usize,
    /// `correct / images`.
    pub accuracy: f64,
    /// Latency per inference.
    pub latency: Latency,
    /// Mean energy per inference.
    pub energy: EnergyReport,
    /// Counter means.
    pub counters: CounterMeans,
    /// Per layer.
    pub layers: Vec<LayerStats>,
    /// Against a conventional network.
    pub ann: AnnComparison,
    /// Single spike per neuron.
    pub single_spike: Verdict,
    /// Against the golden model, if asked for.
    pub golden: Option<GoldenSummary>,
    /// Per inference.
    pub per_inference: PerInference,
    /// Wall clock.
    pub timing: Timing,
}

/// Summarises `records` (in image order, at least one) of a run of `config` on `target`.
pub fn summarize(
    inferences: &Inferences,
    config: &ChipConfig,
    target: &Target,
    early_exit: bool,
    sources: Sources,
    golden: Option<GoldenSummary>,
    timing: Timing,
) -> RunReport {
    let Inferences { records, firing } = inferences;
    let n = records.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Record) -> f64| records.iter().map(f).sum::<f64>() / n;
    let t = config.time_steps;

    let cycles: Vec<u64> = records.iter().map(|r| r.counters.cycles).collect();
    let cycle_spread = spread(&cycles.iter().map(|&c| c as f64).collect::<Vec<_>>());
    let us = |v: f64| cycles_to_us(v, target);
    let latency = Latency {
        clock_mhz: target.timing_cycles.clock_mhz,
        cycles: cycle_spread,
        microseconds: Spread {
            mean: us(cycle_spread.mean),
            p50: us(cycle_spread.p50),
            p99: us(cycle_spread.p99),
            min: us(cycle_spread.min),
            max: us(cycle_spread.max),
        },
        decision_step_mean: mean(&|r| f64::from(r.decision.step.unwrap_or(t + 1))),
        no_output_spike: records.iter().filter(|r| r.decision.step.is_none()).count(),
        tied_mean: {
            let fired: Vec<f64> = records
                .iter()
                .filter(|r| r.decision.step.is_some())
                .map(|r| r.decision.tied as f64)
                .collect();
            fired.iter().sum::<f64>() / (fired.len().max(1) as f64)
        },
        decided_by_tie_break: records.iter().filter(|r| r.decision.tied > 1).count(),
        steps_run_mean: mean(&|r| f64::from(r.counters.steps_run)),
    };

    let means: Vec<(&'static str, f64)> = Energy::default()
        .parts()
        .iter()
        .enumerate()
        .map(|(i, &(name, _))| (name, mean(&|r| r.energy.parts()[i].1)))
        .collect();
    let total_pj: f64 = means.iter().map(|(_, pj)| pj).sum();
    let energy = EnergyReport {
        total_pj,
        total_nj: total_pj / 1000.0,
        breakdown: means
            .into_iter()
            .map(|(name, pj)| EnergyPart {
                name,
                pj,
                percent: if total_pj > 0.0 {
                    100.0 * pj / total_pj
                } else {
                    0.0
                },
            })
            .collect(),
    };

    let counters = CounterMeans {
        synaptic_ops: mean(&|r| r.counters.synaptic_ops as f64),
        neuron_updates: mean(&|r| r.counters.neuron_updates as f64),
        packets: mean(&|r| r.counters.packets as f64),
        host_packets: mean(&|r| r.counters.host_packets as f64),
        hops: mean(&|r| r.counters.hops as f64),
        contention_cycles: mean(&|r| r.counters.contention_cycles as f64),
        stall_cycles: mean(&|r| r.counters.stall_cycles as f64),
        peak_fifo_depth: records
            .iter()
            .map(|r| r.counters.peak_fifo_depth)
            .max()
            .unwrap_or(0),
        fifo_depth: target.core.fifo_depth,
    };

    let at = |v: &[u64], l: usize| v.get(l).copied().unwrap_or(0) as f64;
    let layers = config
        .layers
        .iter()
        .enumerate()
        .map(|(l, info)| {
            let spikes = mean(&|r| at(&r.counters.spikes_per_layer, l));
            let (silent_neurons, always_firing_neurons) = firing
                .get(l)
                .map_or((0, 0), |c| firing_extremes(c, records.len()));
            LayerStats {
                name: info.name.clone(),
                neurons: info.neurons,
                spikes_per_inference: spikes,
                spikes_per_neuron: spikes / f64::from(info.neurons.max(1)),
                synaptic_ops_per_inference: mean(&|r| at(&r.counters.synaptic_ops_per_layer, l)),
                neuron_updates_per_inference: mean(&|r| {
                    at(&r.counters.neuron_updates_per_layer, l)
                }),
                ann_macs: info.ann_macs,
                ann_nonzero_macs: info.ann_nonzero_macs,
                silent_neurons,
                always_firing_neurons,
            }
        })
        .collect();

    let macs = config
        .layers
        .iter()
        .fold(0u64, |a, l| a.saturating_add(l.ann_macs));
    let nonzero = config
        .layers
        .iter()
        .fold(0u64, |a, l| a.saturating_add(l.ann_nonzero_macs));
    let ann = AnnComparison::new(macs, nonzero, total_pj, counters.synaptic_ops);

    let correct = records
        .iter()
        .filter(|r| r.decision.class == usize::from(r.label))
        .count();
    RunReport {
        sources,
        images: records.len(),
        time_steps: t,
        early_exit,
        correct,
        accuracy: correct as f64 / n,
        latency,
        energy,
        counters,
        layers,
        ann,
        single_spike: verdict(records, config),
        golden,
        per_inference: per_inference(records),
        timing,
    }
}

/// The single-spike verdict of `records`.
fn verdict(records: &[Record], config: &ChipConfig) -> Verdict {
    let mut first = Vec::new();
    for (image, r) in records.iter().enumerate() {
        for v in &r.violations {
            if first.len() == VIOLATIONS_LISTED {
                break;
            }
            first.push(ViolationAt {
                image,
                layer: v.layer,
                layer_name: config
                    .layers
                    .get(v.layer as usize)
                    .map_or_else(|| format!("layer {}", v.layer + 1), |l| l.name.clone()),
                index: v.index,
                steps: v.steps.clone(),
            });
        }
    }
    let violating_inferences = records.iter().filter(|r| !r.violations.is_empty()).count();
    Verdict {
        verified: violating_inferences == 0,
        inferences: records.len(),
        violating_inferences,
        violations: records.iter().map(|r| r.violations.len()).sum(),
        first,
    }
}

fn per_inference(records: &[Record]) -> PerInference {
    let mut p = PerInference::default();
    for r in records {
        p.cycles.push(r.counters.cycles);
        p.energy_pj.push(r.energy.total_pj);
        p.decision.push(r.decision.class);
        p.decision_step.push(r.decision.step);
        p.label.push(r.label);
        p.correct.push(r.decision.class == usize::from(r.label));
    }
    p
}

/// Mean, nearest-rank p50 and p99, min and max of `values` (zeros when empty).
pub fn spread(values: &[f64]) -> Spread {
    if values.is_empty() {
        return Spread {
            mean: 0.0,
            p50: 0.0,
            p99: 0.0,
            min: 0.0,
            max: 0.0,
        };
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    let rank = |p: usize| sorted[(p * n).div_ceil(100).clamp(1, n) - 1];
    Spread {
        mean: values.iter().sum::<f64>() / n as f64,
        p50: rank(50),
        p99: rank(99),
        min: sorted[0],
        max: sorted[n - 1],
    }
}

#[cfg(test)]
mod tests;
