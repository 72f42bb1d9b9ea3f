//! Calibration and the float vs golden comparison on labelled images.
//!
//! Every image runs through the float reference of the folded network and through the golden
//! model of the quantized one. The result says how often each is right, how often they agree,
//! and per layer how many spikes a neuron emits on average, the largest `|u|` and `|v|` the
//! integer registers reached against their range, and how often they saturated; the per-neuron
//! firing probabilities weight the placement's traffic. Images run in parallel (rayon), each
//! worker with its own simulator state; the sums are exact integers, so the result does not
//! depend on the number of threads.

use std::fmt::Write as _;

use rayon::prelude::*;
use serde::Serialize;

use crate::float::FloatSim;
use crate::golden::GoldenModel;
use crate::ir::{FoldedNetwork, QuantNetwork, register_max};

/// One layer's activity and register use on the calibration images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerCalibration {
    /// The layer's name.
    pub name: String,
    /// Mean spikes per neuron per inference (golden model).
    pub spikes_per_neuron: f64,
    /// Fraction of the layer's neurons that never fired on any image.
    pub silent_fraction: f64,
    /// Largest `|u|` reached.
    pub max_abs_u: i64,
    /// Largest value the current register holds.
    pub current_limit: i64,
    /// Largest `|v|` reached.
    pub max_abs_v: i64,
    /// Largest value the potential register holds.
    pub potential_limit: i64,
    /// Saturation events of `u` and `v`, summed over images.
    pub saturations: u64,
    /// Accuracy of the float model with only this layer quantized (its integer weights,
    /// biases and thresholds, as values: `w_int theta / th`), every other layer in float:
    /// which layer costs the quantization drop, and so which to keep wider.
    pub accuracy_only_this_quantized: f64,
}

/// The comparison of the float model and the golden model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Images evaluated.
    pub images: usize,
    /// Accuracy of the float (folded, unquantized) model.
    pub float_accuracy: f64,
    /// Accuracy of the golden (quantized, integer) model.
    pub golden_accuracy: f64,
    /// Fraction of images on which the two predict the same class.
    pub agreement: f64,
    /// Mean decision step of the float model (T + 1 counted for "no output fired").
    pub float_mean_decision_step: f64,
    /// Mean decision step of the golden model.
    pub golden_mean_decision_step: f64,
    /// Fraction of golden decisions that the tie break decided.
    pub golden_tie_broken: f64,
    /// Per layer.
    pub layers: Vec<LayerCalibration>,
    /// Per layer, per neuron: the fraction of images on which it fired (for placement).
    #[serde(skip)]
    pub firing: Vec<Vec<f64>>,
}

/// Sums of one worker.
#[derive(Clone)]
struct Tally {
    float_correct: u64,
    golden_correct: u64,
    agree: u64,
    float_steps: u64,
    golden_steps: u64,
    tie_broken: u64,
    fired: Vec<Vec<u32>>,
    max_u: Vec<i64>,
    max_v: Vec<i64>,
    saturations: Vec<u64>,
}

impl Tally {
    fn new(net: &QuantNetwork) -> Self {
        let layers = net.layers.len();
        Self {
            float_correct: 0,
            golden_correct: 0,
            agree: 0,
            float_steps: 0,
            golden_steps: 0,
            tie_broken: 0,
            fired: net.layers.iter().map(|l| vec![0; l.neurons()]).collect(),
            max_u: vec![0; layers],
            max_v: vec![0; layers],
            saturations: vec![0; layers],
        }
    }

    fn merge(mut self, other: Tally) -> Tally {
        self.float_correct += other.float_correct;
        self.golden_correct += other.golden_correct;
        self.agree += other.agree;
        self.float_steps += other.float_steps;
        self.golden_steps += other.golden_steps;
        self.tie_broken += other.tie_broken;
        for (a, b) in self.fired.iter_mut().zip(other.fired) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for l in 0..self.max_u.len() {
            self.max_u[l] = self.max_u[l].max(other.max_u[l]);
            self.max_v[l] = self.max_v[l].max(other.max_v[l]);
            self.saturations[l] += other.saturations[l];
        }
        self
    }
}

/// Runs both models on `images` (row-major `u8` pixels, as many as the input has channels)
/// against `labels`.
///
/// # Panics
/// If an image's length differs from the network's input channels (the caller checks).
pub fn evaluate(
    folded: &FoldedNetwork,
    quant: &QuantNetwork,
    images: &[&[u8]],
    labels: &[u8],
) -> Evaluation {
    let t_end = u64::from(quant.time_steps) + 1;
    let tally = images
        .par_iter()
        .zip(labels.par_iter())
        .fold(
            || {
                (
                    Tally::new(quant),
                    FloatSim::new(folded),
                    GoldenModel::new(quant),
                )
            },
            |(mut tally, mut float, mut golden), (image, &label)| {
                let f = float.run(image);
                // Lengths are checked by the caller; a mismatch is a bug, not user input.
                #[allow(clippy::expect_used)]
                let g = golden
                    .run(image)
                    .expect("image length checked by the caller");
                let (fc, gc) = (f.decision.class, g.decision.class);
                tally.float_correct += u64::from(fc == usize::from(label));
                tally.golden_correct += u64::from(gc == usize::from(label));
                tally.agree += u64::from(fc == gc);
                tally.float_steps += f.decision.step.map_or(t_end, u64::from);
                tally.golden_steps += g.decision.step.map_or(t_end, u64::from);
                tally.tie_broken += u64::from(g.decision.tied > 1);
                for (l, spikes) in g.spikes.iter().enumerate() {
                    for &(n, _) in spikes {
                        tally.fired[l][n as usize] += 1;
                    }
                }
                for (l, p) in g.peaks.iter().enumerate() {
                    tally.max_u[l] = tally.max_u[l].max(p.max_abs_u);
                    tally.max_v[l] = tally.max_v[l].max(p.max_abs_v);
                    tally.saturations[l] += p.u_saturations + p.v_saturations;
                }
                (tally, float, golden)
            },
        )
        .map(|(tally, _, _)| tally)
        .reduce(|| Tally::new(quant), Tally::merge);

    let n = images.len().max(1) as f64;
    let regs = quant.registers;
    let alone: Vec<f64> = (0..quant.layers.len())
        .map(|l| {
            let mixed = with_one_layer_quantized(folded, quant, l);
            let correct: u64 = images
                .par_iter()
                .zip(labels.par_iter())
                .fold(
                    || (0u64, FloatSim::new(&mixed)),
                    |(c, mut sim), (image, &label)| {
                        let right = sim.run(image).decision.class == usize::from(label);
                        (c + u64::from(right), sim)
                    },
                )
                .map(|(c, _)| c)
                .sum();
            correct as f64 / n
        })
        .collect();
    Evaluation {
        images: images.len(),
        float_accuracy: tally.float_correct as f64 / n,
        golden_accuracy: tally.golden_correct as f64 / n,
        agreement: tally.agree as f64 / n,
        float_mean_decision_step: tally.float_steps as f64 / n,
        golden_mean_decision_step: tally.golden_steps as f64 / n,
        golden_tie_broken: tally.tie_broken as f64 / n,
        layers: quant
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let fired = &tally.fired[l];
                LayerCalibration {
                    name: layer.name.clone(),
                    spikes_per_neuron: fired.iter().map(|&c| f64::from(c)).sum::<f64>()
                        / (n * fired.len().max(1) as f64),
                    silent_fraction: fired.iter().filter(|&&c| c == 0).count() as f64
                        / fired.len().max(1) as f64,
                    max_abs_u: tally.max_u[l],
                    current_limit: register_max(regs.current_bits),
                    max_abs_v: tally.max_v[l],
                    potential_limit: register_max(regs.potential_bits),
                    saturations: tally.saturations[l],
                    accuracy_only_this_quantized: alone[l],
                }
            })
            .collect(),
        firing: tally
            .fired
            .iter()
            .map(|layer| layer.iter().map(|&c| f64::from(c) / n).collect())
            .collect(),
    }
}

/// `folded` with layer `l` replaced by the values of its integers in `quant`: synapse weights
/// `w_int theta / th`, biases `b_int theta / th`, with `th` the neuron's threshold (so a neuron
/// fires exactly when its integer sum reaches `th`, up to float rounding); the zero weights
/// the quantizer dropped are gone.
pub fn with_one_layer_quantized(
    folded: &FoldedNetwork,
    quant: &QuantNetwork,
    l: usize,
) -> FoldedNetwork {
    let mut mixed = folded.clone();
    let (q, theta) = (&quant.layers[l], f64::from(folded.threshold));
    let per = |i: usize, x: i32| (f64::from(x) * theta / f64::from(q.threshold[i].max(1))) as f32;
    let syn = &q.synapses;
    mixed.layers[l].synapses = crate::ir::SynapseMatrix {
        axons: syn.axons,
        targets: syn.targets,
        offsets: syn.offsets.clone(),
        target: syn.target.clone(),
        weight: syn
            .target
            .iter()
            .zip(&syn.weight)
            .map(|(&t, &w)| per(t as usize, w))
            .collect(),
    };
    mixed.layers[l].bias = q.bias.iter().enumerate().map(|(i, &b)| per(i, b)).collect();
    mixed
}

/// The evaluation as stable text for the CLI.
pub fn format_evaluation(e: &Evaluation) -> String {
    let width = crate::map::name_width(e.layers.iter().map(|l| l.name.as_str()));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "float vs golden on {} test images: float {:.2}%, golden {:.2}% ({:+.2} points), \
         agreement {:.2}%",
        e.images,
        100.0 * e.float_accuracy,
        100.0 * e.golden_accuracy,
        100.0 * (e.golden_accuracy - e.float_accuracy),
        100.0 * e.agreement
    );
    let _ = writeln!(
        s,
        "mean decision step: float {:.2}, golden {:.2}; tie break decided {:.1}% of golden decisions",
        e.float_mean_decision_step,
        e.golden_mean_decision_step,
        100.0 * e.golden_tie_broken
    );
    let _ = writeln!(
        s,
        "{:<w$} {:>13} {:>8} {:>22} {:>22} {:>11}  only this layer quantized",
        "layer",
        "spikes/neuron",
        "silent",
        "max |u| / range",
        "max |v| / range",
        "saturations",
        w = width
    );
    for l in &e.layers {
        let _ = writeln!(
            s,
            "{:<w$} {:>13.3} {:>7.1}% {:>22} {:>22} {:>11}  {:.2}% ({:+.2} points)",
            l.name,
            l.spikes_per_neuron,
            100.0 * l.silent_fraction,
            format!("{} / {}", l.max_abs_u, l.current_limit),
            format!("{} / {}", l.max_abs_v, l.potential_limit),
            l.saturations,
            100.0 * l.accuracy_only_this_quantized,
            100.0 * (l.accuracy_only_this_quantized - e.float_accuracy),
            w = width
        );
    }
    s
}
