//! Temporal weighting decoding (TWD), the training loss and the chip's decision rule.
//!
//! Output neuron `k` gets the score `z_k = sum_t w[t] S_k[t]`; since it fires at most once,
//! `z_k = w[t_k]`, so with decreasing weights the earliest spike scores highest. The loss is
//! the cross-entropy of `softmax(s * z)` plus `potential_weight` times the cross-entropy of
//! `softmax(H[T])`, the output potentials after all input has arrived (trainer/RECIPES.md:
//! without that membrane term most decisions fall on step 1 with several outputs tied).
//! An optional first-spike term ([`Loss::first_spike_term`]) asks the target output to be
//! over the threshold by the step of the earliest output spike: the chip decides among the
//! outputs firing at that step only, so a target that fires one step late loses however large
//! its final potential is. Sparse-firing regularization makes that the main source of error
//! (the MNIST MLP with M-SSR at 0.27 hidden spikes per neuron: argmax `H[T]` 97.95%, the
//! first-spike rule 94.55% on 2,000 test images; with the term 97.45%).
//!
//! The decision rule is the chip's own ([`ttfs_runtime::decision`]), called through [`decide`],
//! so float, golden-model and emulator accuracy compare like with like: the class whose output
//! neuron fires first; ties and the case of no output spike are resolved by the tie break
//! ([`ttfs_compiler::model::TieBreak`]), then by the lower class index.

use candle_core::{Result, Tensor};
use ttfs_runtime::decision::DecisionRule;

/// Shape of the TWD weights.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// `w[t] = exp(-lambda (t - 1))`.
    Exponential {
        /// Decay per step.
        lambda: f32,
    },
    /// `w[t] = (T - t + 1) / T`.
    Linear,
}

impl Weighting {
    /// The weights `w[1..=T]`.
    pub fn weights(self, steps: usize) -> Vec<f32> {
        (1..=steps)
            .map(|t| match self {
                Weighting::Exponential { lambda } => (-lambda * (t as f32 - 1.0)).exp(),
                Weighting::Linear => (steps - t + 1) as f32 / steps as f32,
            })
            .collect()
    }

    /// Text form for the model file, e.g. `exponential(lambda=0.5)`.
    pub fn describe(self) -> String {
        match self {
            Weighting::Exponential { lambda } => format!("exponential(lambda={lambda})"),
            Weighting::Linear => "linear".into(),
        }
    }
}

/// The loss: TWD cross-entropy plus a membrane-potential term.
#[derive(Clone, Debug)]
pub struct Loss {
    /// TWD weights `w[1..=T]`.
    pub weights: Vec<f32>,
    /// Logit scale `s` applied to the TWD scores.
    pub logit_scale: f32,
    /// Weight of the cross-entropy on the output potentials: `H[T]`, or `H[t*]` at the
    /// decision step with [`Loss::potential_at_decision`].
    pub potential_weight: f32,
    /// Whether the membrane term reads the potentials at each sample's decision step `t*` (its
    /// earliest output spike, the last step without one) instead of after step T: the tie
    /// break at the decision step ([`ttfs_compiler::model::TieBreak::PotentialAtDecision`]),
    /// under which the chip's decision is exactly `argmax_k H_k[t*]` and may stop at `t*`.
    pub potential_at_decision: bool,
    /// Weight of the first-spike term (0: none), see [`Loss::first_spike_term`].
    pub first_spike_weight: f32,
    /// Firing threshold `theta` of the output neurons (for the first-spike term).
    pub threshold: f32,
}

/// How far above the threshold the first-spike term wants the target's potential, as a
/// fraction of the threshold (room for the chip's weight rounding).
pub const FIRST_SPIKE_MARGIN: f32 = 0.1;

impl Loss {
    /// Mean loss over the batch. `spikes`, `currents`: `[T, B, K]`; `targets`: `[B]` u32.
    pub fn compute(&self, spikes: &Tensor, currents: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let t = spikes.dim(0)?;
        let w = Tensor::from_slice(&self.weights, (t, 1, 1), spikes.device())?;
        let scores = spikes.broadcast_mul(&w)?.sum(0)?;
        let logits = (scores * self.logit_scale as f64)?;
        let mut loss = candle_nn::loss::cross_entropy(&logits, targets)?;
        if self.potential_weight != 0.0 {
            let potential = if self.potential_at_decision {
                potential_at_decision(spikes, currents)?
            } else {
                currents.sum(0)?
            };
            let membrane = candle_nn::loss::cross_entropy(&potential, targets)?;
            loss = (loss + (membrane * self.potential_weight as f64)?)?;
        }
        if self.first_spike_weight != 0.0 {
            let term = self.first_spike_term(spikes, currents, targets)?;
            loss = (loss + (term * self.first_spike_weight as f64)?)?;
        }
        Ok(loss)
    }

    /// `mean_b relu((1 + FIRST_SPIKE_MARGIN) theta - H_y[t*])`: the target output's potential
    /// at the step `t*` of the sample's earliest output spike (the last step if no output
    /// fired), held fixed. The chip decides among the outputs that fire at `t*` only, so a
    /// target that fires later loses however large its final potential is; the term pushes it
    /// over the threshold by then, and is 0 once it is safely there.
    pub fn first_spike_term(
        &self,
        spikes: &Tensor,
        currents: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor> {
        let (steps, batch, classes) = spikes.dims3()?;
        let labels = targets.to_vec1::<u32>()?;
        let mut pick = vec![0f32; steps * batch * classes];
        for (b, (&y, first)) in labels.iter().zip(decision_steps(spikes)?).enumerate() {
            let k = (y as usize).min(classes - 1);
            pick[(first * batch + b) * classes + k] = 1.0;
        }
        let pick = Tensor::from_vec(pick, (steps, batch, classes), spikes.device())?;
        let at_first = (currents.cumsum(0)? * pick)?.sum(0)?.sum(1)?;
        let want = f64::from(self.threshold * (1.0 + FIRST_SPIKE_MARGIN));
        at_first.neg()?.affine(1.0, want)?.relu()?.mean_all()
    }
}

pub use ttfs_runtime::decision::Decision;

/// The 0-based decision step of every sample of time-major output spikes `[T, B, K]` (read
/// detached): its earliest output spike, the last step if no output fired.
fn decision_steps(spikes: &Tensor) -> Result<Vec<usize>> {
    let (steps, batch, classes) = spikes.dims3()?;
    let fired = spikes.detach().flatten_all()?.to_vec1::<f32>()?;
    Ok((0..batch)
        .map(|b| earliest_output_step(&fired, steps, batch, classes, b).unwrap_or(steps - 1))
        .collect())
}

/// The output potentials `[B, K]` at each sample's decision step `t*`: `H_k[t*] = sum_{t <= t*}
/// I_k[t]`, with `t*` the step of its earliest output spike (the last step if none fired), held
/// fixed. Every output that fires at `t*` is over the threshold there and every other one under
/// it, so `argmax_k H_k[t*]` is the chip's decision under the tie break at the decision step.
pub fn potential_at_decision(spikes: &Tensor, currents: &Tensor) -> Result<Tensor> {
    let (steps, batch, _) = spikes.dims3()?;
    let mut pick = vec![0f32; steps * batch];
    for (b, first) in decision_steps(spikes)?.into_iter().enumerate() {
        pick[first * batch + b] = 1.0;
    }
    let pick = Tensor::from_vec(pick, (steps, batch, 1), spikes.device())?;
    currents.cumsum(0)?.broadcast_mul(&pick)?.sum(0)
}

/// The 0-based step of sample `b`'s earliest output spike in time-major spikes `[T, B, K]`
/// (flattened), `None` if no output fired: where the chip decides.
pub fn earliest_output_step(
    spikes: &[f32],
    steps: usize,
    batch: usize,
    classes: usize,
    b: usize,
) -> Option<usize> {
    (0..steps).find(|&t| (0..classes).any(|k| spikes[(t * batch + b) * classes + k] > 0.5))
}

/// The chip's decision rule ([`ttfs_runtime::decision::decide`]) on time-major output spikes
/// and currents `[T, B, K]` (flattened): a thin adapter that reads each sample's first spike
/// steps and its potentials `H[t]` (the running sum of the currents) out of the tensors. With
/// `rule.early_exit` it decides as a chip that stops at the first output spike: ties by the
/// potential at that step.
pub fn decide(
    spikes: &[f32],
    currents: &[f32],
    steps: usize,
    batch: usize,
    classes: usize,
    rule: DecisionRule,
) -> Vec<Decision> {
    let at = |t: usize, b: usize, k: usize| (t * batch + b) * classes + k;
    (0..batch)
        .map(|b| {
            let first: Vec<Option<u32>> = (0..classes)
                .map(|k| {
                    (0..steps)
                        .find(|&t| spikes[at(t, b, k)] > 0.5)
                        .map(|t| t as u32 + 1)
                })
                .collect();
            // Potential H[t] after step t (1-based) = sum of the currents of steps 1..=t.
            let potential =
                |k: usize, t: u32| -> f32 { (0..t as usize).map(|s| currents[at(s, b, k)]).sum() };
            ttfs_runtime::decision::decide(&first, steps as u32, rule, potential)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ttfs_compiler::model::TieBreak;

    #[test]
    fn weights_decrease_and_match_the_formulas() {
        let w = Weighting::Exponential { lambda: 0.5 }.weights(3);
        assert_eq!(w[0], 1.0);
        assert!((w[2] - (-1.0f32).exp()).abs() < 1e-7);
        assert_eq!(Weighting::Linear.weights(4), vec![1.0, 0.75, 0.5, 0.25]);
    }

    #[test]
    fn earliest_spike_wins_and_ties_follow_the_rule() {
        // T = 3, B = 3, K = 3. Layout [t][b][k].
        let (t, b, k) = (3, 3, 3);
        let mut s = vec![0f32; t * b * k];
        let mut c = vec![0f32; t * b * k];
        let at = |t: usize, bb: usize, kk: usize| (t * b + bb) * k + kk;
        // Sample 0: class 2 fires at step 2, class 0 at step 3 -> class 2, step 2.
        s[at(1, 0, 2)] = 1.0;
        s[at(2, 0, 0)] = 1.0;
        // Sample 1: classes 0 and 1 tie at step 1. At the decision step class 0 has the larger
        // potential (2.0 vs 1.5); at the end class 1 does (1.5 + 1.0 vs 2.0 - 0.8).
        s[at(0, 1, 0)] = 1.0;
        s[at(0, 1, 1)] = 1.0;
        c[at(0, 1, 0)] = 2.0;
        c[at(0, 1, 1)] = 1.5;
        c[at(2, 1, 0)] = -0.8;
        c[at(2, 1, 1)] = 1.0;
        // Sample 2: no spike; class 1 has the largest H[T]; classes 0 and 2 equal.
        c[at(1, 2, 1)] = 0.9;
        c[at(0, 2, 0)] = 0.2;
        c[at(0, 2, 2)] = 0.2;
        let full = |tie: TieBreak| DecisionRule::full_run(tie.into());
        let end = decide(&s, &c, t, b, k, full(TieBreak::PotentialAtEnd));
        assert_eq!(
            end[0],
            Decision {
                class: 2,
                step: Some(2),
                tied: 1
            }
        );
        assert_eq!(end[1].class, 1);
        assert_eq!(end[1].step, Some(1));
        assert_eq!(end[1].tied, 2);
        assert_eq!(
            end[2],
            Decision {
                class: 1,
                step: None,
                tied: 0
            }
        );
        let at_decision = decide(&s, &c, t, b, k, full(TieBreak::PotentialAtDecision));
        assert_eq!(at_decision[1].class, 0);
        // Early exit reads the decision step whatever the tie break says; without a spike the
        // end, as a chip that ran all T steps.
        let early = DecisionRule {
            tie_break: TieBreak::PotentialAtEnd.into(),
            early_exit: true,
        };
        let exit = decide(&s, &c, t, b, k, early);
        assert_eq!(exit[1].class, 0);
        assert_eq!((exit[0], exit[2]), (end[0], end[2]));
        // Exact potential tie -> lower index.
        let c2 = vec![0f32; t * b * k];
        let tie = decide(
            &vec![0f32; t * b * k],
            &c2,
            t,
            b,
            k,
            full(TieBreak::PotentialAtEnd),
        );
        assert!(tie.iter().all(|d| d.class == 0));
    }

    #[test]
    fn loss_prefers_the_earlier_correct_spike() {
        let dev = candle_core::Device::Cpu;
        let loss = Loss {
            weights: Weighting::Exponential { lambda: 0.5 }.weights(2),
            logit_scale: 10.0,
            potential_weight: 0.0,
            potential_at_decision: false,
            first_spike_weight: 0.0,
            threshold: 1.0,
        };
        // B = 1, K = 2: target 0 fires at step 1 (good) vs at step 2 (worse).
        let good = Tensor::from_vec(vec![1f32, 0., 0., 1.], (2, 1, 2), &dev).unwrap();
        let bad = Tensor::from_vec(vec![0f32, 1., 1., 0.], (2, 1, 2), &dev).unwrap();
        let zeros = Tensor::zeros((2, 1, 2), candle_core::DType::F32, &dev).unwrap();
        let target = Tensor::from_vec(vec![0u32], 1, &dev).unwrap();
        let l_good = loss.compute(&good, &zeros, &target).unwrap();
        let l_bad = loss.compute(&bad, &zeros, &target).unwrap();
        let (g, b) = (
            l_good.to_scalar::<f32>().unwrap(),
            l_bad.to_scalar::<f32>().unwrap(),
        );
        // z = (1, e^-0.5) -> CE = ln(1 + exp(10 (e^-0.5 - 1))).
        let expected = (1.0 + (10.0 * ((-0.5f32).exp() - 1.0)).exp()).ln();
        assert!((g - expected).abs() < 1e-5, "{g} vs {expected}");
        assert!(b > g);
    }

    #[test]
    fn the_first_spike_term_reads_the_target_at_the_earliest_output_spike() {
        let dev = candle_core::Device::Cpu;
        let loss = Loss {
            weights: Weighting::Exponential { lambda: 0.5 }.weights(3),
            logit_scale: 10.0,
            potential_weight: 0.0,
            potential_at_decision: false,
            first_spike_weight: 1.0,
            threshold: 1.0,
        };
        // T = 3, B = 2, K = 2; [t][b][k].
        // Sample 0 (target 1): output 0 fires at step 1, target at step 2; H_1[1] = 0.4, so the
        //   term is 1.1 - 0.4 = 0.7.
        // Sample 1 (target 0): the target fires first at step 2 with H_0[2] = 1.5: term 0.
        let spikes = Tensor::from_vec(
            vec![1f32, 0., 0., 0., 0., 1., 1., 0., 0., 0., 0., 0.],
            (3, 2, 2),
            &dev,
        )
        .unwrap();
        let currents = Tensor::from_vec(
            vec![
                1.2f32, 0.4, 0.5, 0.2, 0.0, 0.9, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
            (3, 2, 2),
            &dev,
        )
        .unwrap();
        let targets = Tensor::from_vec(vec![1u32, 0], 2, &dev).unwrap();
        let term = loss
            .first_spike_term(&spikes, &currents, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((term - 0.35).abs() < 1e-6, "mean of 0.7 and 0: {term}");
        // No output spike at all: the last step counts; H_1[3] = 0.4 + 0.9 + 0 = 1.3 >= 1.1.
        let silent = Tensor::zeros((3, 2, 2), candle_core::DType::F32, &dev).unwrap();
        let term = loss
            .first_spike_term(&silent, &currents, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // Sample 1: H_0[3] = 0.5 + 1.0 + 0 = 1.5: 0. Sample 0: 0.
        assert_eq!(term, 0.0);
    }

    #[test]
    fn the_membrane_term_reads_the_decision_step_under_that_tie_break() {
        let dev = candle_core::Device::Cpu;
        // T = 3, B = 2, K = 2; [t][b][k]. Sample 0 decides at step 1 (output 0 fires), where
        // H = (1.2, 0.4); sample 1 never fires, so its step is the last: H = (1.5, 1.1).
        let spikes = Tensor::from_vec(
            vec![1f32, 0., 0., 0., 0., 1., 0., 0., 0., 0., 0., 0.],
            (3, 2, 2),
            &dev,
        )
        .unwrap();
        let currents = Tensor::from_vec(
            vec![
                1.2f32, 0.4, 0.5, 0.2, 0.0, 0.9, 1.0, 0.0, 0.0, 0.0, 0.0, 0.9,
            ],
            (3, 2, 2),
            &dev,
        )
        .unwrap();
        let at = potential_at_decision(&spikes, &currents).unwrap();
        assert_eq!(at.to_vec2::<f32>().unwrap(), [[1.2, 0.4], [1.5, 1.1]]);
        // The loss is the cross-entropy of those potentials: targets (1, 0).
        let targets = Tensor::from_vec(vec![1u32, 0], 2, &dev).unwrap();
        let loss = Loss {
            weights: vec![0.0; 3],
            logit_scale: 1.0,
            potential_weight: 1.0,
            potential_at_decision: true,
            first_spike_weight: 0.0,
            threshold: 1.0,
        };
        let got = loss
            .compute(&spikes, &currents, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // TWD scores are all 0 (weights 0): ln 2 per sample; then CE of (1.2, 0.4) for class 1
        // and of (1.5, 1.1) for class 0.
        let ce = |a: f32, b: f32| (1.0 + (b - a).exp()).ln();
        let expected = 2f32.ln() + (ce(0.4, 1.2) + ce(1.5, 1.1)) / 2.0;
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }
}
