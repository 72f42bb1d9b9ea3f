//! Sparse-firing regularization (Sakemi et al., "Sparse-firing
//! regularization methods for spiking neural networks with time-to-first spike coding",
//! Sci. Rep. 13:22897, 2023): terms added to the loss that make hidden neurons fire less.
//!
//! # From the paper's neuron to ours
//! The paper's neuron is non-leaky with a step synaptic current, `v_i(t) = sum_j w_ij (t -
//! t_j)+`, fired once when `v_i` reaches `theta`. Its two regularizers use only spike times and
//! weights:
//! - **M-SSR** penalises the membrane potential at the firing time (an extreme form of a
//!   potential penalty), so a neuron that barely crossed its threshold is pushed below it;
//! - **F-SSR** penalises the weight sums that satisfy the firing condition, so the condition
//!   "the potential reaches theta" is pushed towards failing.
//!
//! Our neuron is discrete in time: `H[t] = sum_{s <= t} I[s]` with `I[s] = W x[s] + b`, and it
//! fires at the first `t` with `H[t] >= theta`. Our versions, for hidden layer `l` with `n_l`
//! neurons, averaged over the batch and the layer's neurons ("per neuron"):
//! - **M-SSR**: `R_M = mean_{b,i} sum_t sg(S_i[t]) H_i[t]`, the potential at the firing step
//!   with the spike held fixed (`sg` = stop-gradient). Its gradient with respect to the
//!   weights is `sum_{s <= t_i} x[s]` for a neuron that fired at `t_i`: it lowers the potential
//!   reached at the firing step, most through the inputs that arrived early (they contribute to
//!   every later `H`), which is the paper's intent; a silent neuron contributes nothing.
//! - **F-SSR**: `R_F = mean_{b,i} softplus(max_t H_i[t] - theta + margin)`. A neuron fires
//!   exactly when `max_t H_i[t] >= theta` (the firing condition); the penalty pushes that
//!   maximum below `theta - margin`, smoothly, and fades for neurons already well below it. Its
//!   gradient flows through the step that attains the maximum.
//! - **Spike count** (the baseline): `R_S = mean_{b,i} sum_t S_i[t]`, the number of spikes per
//!   neuron, whose gradient comes from the surrogate derivative.
//!
//! # A target firing rate (our addition)
//! Trained without a regularizer, the MNIST MLP's hidden layer has 197 of 800 neurons that
//! fire for every test image and 88 more above 95%: a third of its spikes say nothing about
//! the image (they act as a bias of the next layer). The terms above push every firing
//! neuron alike, and the push never stops: the gradient on a neuron's scale and shift always
//! has the same sign, so AdamW moves them by about the learning rate per step whatever gamma
//! is, and neurons go silent for good while accuracy falls late in training. With
//! `target_rate = Some(r)`, each neuron's term is weighted by `max(p_i - r, 0)`, where `p_i` is
//! the fraction of the batch it fired on (held fixed): always-firing neurons are pushed
//! hardest and a neuron that fires on at most `r` of the inputs is left to the decoding loss.
//! `Some(0)` weighs each neuron by its rate.
//!
//! The loss becomes `L + gamma * sum_l xi_l R_l` over the hidden layers (the output layer is
//! left alone: its spikes are the decision). `gamma = 0` adds nothing at all, so a run with it
//! is bit-identical to an unregularized one.

use candle_core::{Result, Tensor};

/// Which sparse-firing term to add.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SparsityMethod {
    /// No regularization.
    #[default]
    None,
    /// Spikes per neuron (through the surrogate gradient): the baseline.
    SpikeCount,
    /// Membrane potential at the firing step, spike held fixed.
    MSsr,
    /// Softplus of the firing condition's margin.
    FSsr,
}

impl SparsityMethod {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SparsityMethod::None => "none",
            SparsityMethod::SpikeCount => "count",
            SparsityMethod::MSsr => "m-ssr",
            SparsityMethod::FSsr => "f-ssr",
        }
    }
}

/// A sparse-firing regularizer and its strengths.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sparsity {
    /// The term.
    pub method: SparsityMethod,
    /// Overall strength gamma.
    pub gamma: f32,
    /// Per hidden layer weight xi_l, input side first; missing entries count 1.
    pub layer_weights: Vec<f32>,
    /// F-SSR's margin below the threshold.
    pub margin: f32,
    /// Weigh each neuron's term by how far its firing rate over the batch exceeds this target
    /// (held fixed, `max(rate - target, 0)`): neurons that fire for almost every input, and so
    /// tell the next layer little, are pushed hardest, and a neuron at or below the target is
    /// left alone, so the term cannot silence it for good. `None` weighs every neuron 1
    /// (absent in runs written before it existed).
    #[serde(default)]
    pub target_rate: Option<f32>,
}

impl Default for Sparsity {
    fn default() -> Self {
        Self {
            method: SparsityMethod::None,
            gamma: 0.0,
            layer_weights: Vec::new(),
            margin: 0.0,
            target_rate: None,
        }
    }
}

impl Sparsity {
    /// Whether the term changes anything (a method other than none, and gamma not 0).
    pub fn is_active(&self) -> bool {
        self.method != SparsityMethod::None && self.gamma != 0.0
    }

    /// `gamma * sum_l xi_l R_l` over the hidden layers, from each layer's spikes and input
    /// currents (both `[T, B, n]`, the output layer last, which is skipped); `None` when
    /// inactive.
    pub fn term(
        &self,
        spikes: &[Tensor],
        currents: &[Tensor],
        threshold: f32,
    ) -> Result<Option<Tensor>> {
        if !self.is_active() || spikes.len() < 2 {
            return Ok(None);
        }
        let hidden = spikes.len() - 1;
        let mut total: Option<Tensor> = None;
        for l in 0..hidden {
            let xi = self.layer_weights.get(l).copied().unwrap_or(1.0);
            if xi == 0.0 {
                continue;
            }
            let r = self.layer_term(&spikes[l], &currents[l], threshold)?;
            let r = (r * f64::from(xi))?;
            total = Some(match total {
                Some(t) => (t + r)?,
                None => r,
            });
        }
        total.map(|t| t * f64::from(self.gamma)).transpose()
    }

    /// `R_l` of one layer: a scalar, averaged over batch and neurons.
    pub fn layer_term(&self, spikes: &Tensor, currents: &Tensor, threshold: f32) -> Result<Tensor> {
        // Per sample and neuron, [B, n].
        let per_neuron = match self.method {
            SparsityMethod::None => return Tensor::zeros((), spikes.dtype(), spikes.device()),
            SparsityMethod::SpikeCount => spikes.sum(0)?,
            SparsityMethod::MSsr => {
                let potential = currents.cumsum(0)?;
                (spikes.detach() * potential)?.sum(0)?
            }
            SparsityMethod::FSsr => {
                let potential = currents.cumsum(0)?;
                let peak = potential.max(0)?;
                let x = (peak - f64::from(threshold - self.margin))?;
                softplus(&x)?
            }
        };
        match self.target_rate {
            Some(target) => {
                let rate = spikes.detach().sum(0)?.mean_keepdim(0)?;
                let excess = (rate - f64::from(target))?.relu()?;
                per_neuron.broadcast_mul(&excess)?.mean_all()
            }
            None => per_neuron.mean_all(),
        }
    }
}

/// `log(1 + exp(x))`, computed as `relu(x) + log(1 + exp(-|x|))` so it never overflows.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    x.relu()? + tail
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_range_loop)]
    use candle_core::{DType, Device, Var};

    use super::*;

    /// A tiny layer: T = 3 steps, B = 2 samples, 3 inputs, 2 neurons; currents = x W^T + b.
    fn currents(w: &Tensor, x: &Tensor, b: &Tensor) -> Tensor {
        x.matmul(&w.t().unwrap()).unwrap().broadcast_add(b).unwrap()
    }

    fn inputs() -> Tensor {
        // [T * B, 3] input spikes (0/1), t-major.
        let x = [
            1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, // t = 1
            0.0, 1.0, 0.0, 1.0, 0.0, 1.0, // t = 2
            0.0, 0.0, 1.0, 0.0, 0.0, 0.0, // t = 3
        ];
        Tensor::from_slice(&x, (6, 3), &Device::Cpu).unwrap()
    }

    /// The regularizer of the layer as a function of its weights, with the spikes the layer's
    /// own currents produce (threshold 1, single spike): what the trainer computes for a first
    /// hidden layer.
    fn regularizer(s: &Sparsity, w: &Tensor, b: &Tensor) -> Tensor {
        let x = inputs();
        let i = currents(w, &x, b).reshape((3, 2, 2)).unwrap();
        let h = i.cumsum(0).unwrap().to_vec3::<f32>().unwrap();
        // Exact single-spike firing, no gradient (the surrogate is not under test here).
        let mut spikes = vec![0f32; 12];
        for b in 0..2 {
            for n in 0..2 {
                if let Some(t) = (0..3).find(|&t| h[t][b][n] >= 1.0) {
                    spikes[(t * 2 + b) * 2 + n] = 1.0;
                }
            }
        }
        let spikes = Tensor::from_slice(&spikes, (3, 2, 2), &Device::Cpu).unwrap();
        s.layer_term(&spikes, &i, 1.0).unwrap()
    }

    fn check_gradient(method: SparsityMethod, margin: f32, target_rate: Option<f32>) {
        let s = Sparsity {
            method,
            gamma: 1.0,
            layer_weights: Vec::new(),
            margin,
            target_rate,
        };
        let w0 = [0.9f32, 0.35, -0.2, 0.4, 0.7, 0.45];
        let b0 = [0.05f32, -0.1];
        let w = Var::from_slice(&w0, (2, 3), &Device::Cpu).unwrap();
        let b = Var::from_slice(&b0, 2, &Device::Cpu).unwrap();
        let r = regularizer(&s, w.as_tensor(), b.as_tensor());
        let grads = r.backward().unwrap();
        let gw = grads.get(&w).unwrap().to_vec2::<f32>().unwrap();
        let gb = grads.get(&b).unwrap().to_vec1::<f32>().unwrap();
        let eval = |w: &[f32], b: &[f32]| -> f64 {
            let w = Tensor::from_slice(w, (2, 3), &Device::Cpu).unwrap();
            let b = Tensor::from_slice(b, 2, &Device::Cpu).unwrap();
            let w = w.to_dtype(DType::F64).unwrap();
            let b = b.to_dtype(DType::F64).unwrap();
            let x = inputs().to_dtype(DType::F64).unwrap();
            let i = currents(&w, &x, &b).reshape((3, 2, 2)).unwrap();
            let h = i.cumsum(0).unwrap().to_vec3::<f64>().unwrap();
            let fire_of = |b: usize, n: usize| (0..3).find(|&t| h[t][b][n] >= 1.0);
            let mut total = 0.0;
            for b in 0..2 {
                for n in 0..2 {
                    let fire = fire_of(b, n);
                    // The neuron's firing rate over the batch, a constant for the gradient.
                    let rate = match target_rate {
                        Some(target) => {
                            let fired = (0..2).filter(|&c| fire_of(c, n).is_some()).count();
                            (fired as f64 / 2.0 - f64::from(target)).max(0.0)
                        }
                        None => 1.0,
                    };
                    total += rate
                        * match method {
                            SparsityMethod::MSsr => fire.map_or(0.0, |t| h[t][b][n]),
                            SparsityMethod::FSsr => {
                                let peak = (0..3).map(|t| h[t][b][n]).fold(f64::MIN, f64::max);
                                let x = peak - 1.0 + f64::from(margin);
                                x.max(0.0) + (1.0 + (-x.abs()).exp()).ln()
                            }
                            _ => unreachable!(),
                        };
                }
            }
            total / 4.0
        };
        let eps = 1e-4f32;
        for k in 0..6 {
            let (mut up, mut down) = (w0, w0);
            up[k] += eps;
            down[k] -= eps;
            let fd = (eval(&up, &b0) - eval(&down, &b0)) / (2.0 * f64::from(eps));
            let g = f64::from(gw[k / 3][k % 3]);
            assert!(
                (fd - g).abs() < 2e-3,
                "{method:?} dR/dw[{k}]: autograd {g}, FD {fd}"
            );
        }
        for k in 0..2 {
            let (mut up, mut down) = (b0, b0);
            up[k] += eps;
            down[k] -= eps;
            let fd = (eval(&w0, &up) - eval(&w0, &down)) / (2.0 * f64::from(eps));
            let g = f64::from(gb[k]);
            assert!(
                (fd - g).abs() < 2e-3,
                "{method:?} dR/db[{k}]: autograd {g}, FD {fd}"
            );
        }
        // The test has teeth: the gradient is not zero.
        assert!(gw.iter().flatten().any(|g| g.abs() > 1e-3), "{gw:?}");
    }

    #[test]
    fn m_ssr_gradient_matches_finite_differences() {
        check_gradient(SparsityMethod::MSsr, 0.0, None);
    }

    #[test]
    fn f_ssr_gradient_matches_finite_differences() {
        check_gradient(SparsityMethod::FSsr, 0.3, None);
    }

    #[test]
    fn rate_weighted_gradients_match_finite_differences() {
        check_gradient(SparsityMethod::MSsr, 0.0, Some(0.0));
        check_gradient(SparsityMethod::FSsr, 0.3, Some(0.0));
        check_gradient(SparsityMethod::MSsr, 0.0, Some(0.25));
    }

    #[test]
    fn a_target_rate_weighs_each_neuron_by_its_excess_batch_firing_rate() {
        // B = 2, one neuron firing on both samples (H at firing 1.2 and 1.5), one on one (1.0):
        // plain M-SSR = (1.2 + 1.5 + 1.0 + 0) / 4; target 0: (1 * 2.7 + 0.5 * 1.0) / 4;
        // target 0.5: (0.5 * 2.7 + 0 * 1.0) / 4.
        let i = Tensor::from_slice(&[1.2f32, 1.0, 1.5, 0.2], (1, 2, 2), &Device::Cpu).unwrap();
        let s = Tensor::from_slice(&[1f32, 1., 1., 0.], (1, 2, 2), &Device::Cpu).unwrap();
        let mut m = Sparsity {
            method: SparsityMethod::MSsr,
            gamma: 1.0,
            ..Sparsity::default()
        };
        let plain = m
            .layer_term(&s, &i, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        m.target_rate = Some(0.0);
        let weighted = m
            .layer_term(&s, &i, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        m.target_rate = Some(0.5);
        let above = m
            .layer_term(&s, &i, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((plain - 3.7 / 4.0).abs() < 1e-6, "{plain}");
        assert!((weighted - 3.2 / 4.0).abs() < 1e-6, "{weighted}");
        assert!((above - 1.35 / 4.0).abs() < 1e-6, "{above}");
    }

    #[test]
    fn m_ssr_is_the_potential_at_the_firing_step() {
        // One sample, one neuron, T = 3: currents 0.6, 0.6, 0.6 -> H = 0.6, 1.2, 1.8; fires at
        // t = 2, so R = 1.2. A silent neuron (currents 0.1) adds 0.
        let i = Tensor::from_slice(&[0.6f32, 0.1, 0.6, 0.1, 0.6, 0.1], (3, 1, 2), &Device::Cpu)
            .unwrap();
        let s = Tensor::from_slice(&[0f32, 0., 1., 0., 0., 0.], (3, 1, 2), &Device::Cpu).unwrap();
        let m = Sparsity {
            method: SparsityMethod::MSsr,
            gamma: 1.0,
            ..Sparsity::default()
        };
        let r = m
            .layer_term(&s, &i, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            (r - 0.6).abs() < 1e-6,
            "mean over 2 neurons of 1.2 and 0: {r}"
        );
        let count = Sparsity {
            method: SparsityMethod::SpikeCount,
            ..m.clone()
        };
        let r = count
            .layer_term(&s, &i, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(r, 0.5);
    }

    #[test]
    fn inactive_terms_add_nothing_and_the_output_layer_is_skipped() {
        let t = Tensor::ones((2, 1, 3), DType::F32, &Device::Cpu).unwrap();
        let off = Sparsity::default();
        assert!(
            off.term(&[t.clone(), t.clone()], &[t.clone(), t.clone()], 1.0)
                .unwrap()
                .is_none()
        );
        let zero = Sparsity {
            method: SparsityMethod::MSsr,
            gamma: 0.0,
            ..Sparsity::default()
        };
        assert!(
            zero.term(&[t.clone(), t.clone()], &[t.clone(), t.clone()], 1.0)
                .unwrap()
                .is_none()
        );
        // Only the output layer: nothing to regularize.
        let on = Sparsity {
            method: SparsityMethod::SpikeCount,
            gamma: 2.0,
            ..Sparsity::default()
        };
        let one = std::slice::from_ref(&t);
        assert!(on.term(one, one, 1.0).unwrap().is_none());
        // Two hidden layers with xi = [1, 0.5]: 2 * (2 + 0.5 * 2) = 6 (each R_S = 2 spikes).
        let weighted = Sparsity {
            layer_weights: vec![1.0, 0.5],
            ..on
        };
        let r = weighted
            .term(
                &[t.clone(), t.clone(), t.clone()],
                &[t.clone(), t.clone(), t.clone()],
                1.0,
            )
            .unwrap()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(r, 6.0);
    }
}
