//! The single-spike integrate-and-fire neuron, time-parallel, with its surrogate gradient.
//!
//! For one neuron with input currents `I[1..T]` (ARCHITECTURE.md, "The training neuron"):
//! ```text
//! H[t] = H[t-1] + I[t]              integrate, no leak, no reset (H[0] = 0)
//! S[t] = step(H[t] - theta) * M[t-1] fire only if it has not fired yet (M[0] = 1)
//! M[t] = M[t-1] * (1 - S[t])         the not-yet-fired mask
//! ```
//! Because there is no reset, `H` is the running sum of `I`, so a layer can apply its linear
//! or convolution to all `T` steps in one call and this module scans the neuron state over `t`.
//! The result is exactly the step-by-step propagation of the paper (layer `l` at step `t` sees
//! layer `l-1`'s spikes of the same step): [`reference_step_by_step`] checks it in tests.
//!
//! The backward pass is BPTT through the recurrence above with `d step(x)/dx` replaced by a
//! surrogate derivative. Forward values stay exact (0/1 spikes, 0/1 mask). With
//! [`FireConfig::mask_grad`], gradients also flow through `M`: the gradient of a decoded
//! output then becomes the finite difference "fire at this step rather than later".
//!
//! [`FireConfig::soft`] replaces the step by the surrogate function itself in the forward
//! pass. The backward code is then the exact gradient of that smooth function, which is how the
//! tests check the backward pass against finite differences.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::ops::cpu::{f32_slice, with_data};
use crate::ops::fastmath;

/// The surrogate derivative used for `d step(x) / dx` in the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surrogate {
    /// `sigmoid(alpha x)` (SpikingJelly's default, alpha = 4).
    Sigmoid {
        /// Steepness.
        alpha: f32,
    },
    /// `atan(pi/2 alpha x) / pi + 1/2` (SpikingJelly's ATan, alpha = 2).
    Atan {
        /// Steepness.
        alpha: f32,
    },
}

impl Surrogate {
    /// The smooth function that stands in for `step(x)`.
    pub fn value(self, x: f32) -> f32 {
        match self {
            Surrogate::Sigmoid { alpha } => 1.0 / (1.0 + fastmath::exp(-alpha * x)),
            Surrogate::Atan { alpha } => {
                (std::f32::consts::FRAC_PI_2 * alpha * x).atan() / std::f32::consts::PI + 0.5
            }
        }
    }

    /// The derivative of [`Surrogate::value`].
    pub fn derivative(self, x: f32) -> f32 {
        match self {
            Surrogate::Sigmoid { alpha } => {
                let s = 1.0 / (1.0 + fastmath::exp(-alpha * x));
                alpha * s * (1.0 - s)
            }
            Surrogate::Atan { alpha } => {
                let u = std::f32::consts::FRAC_PI_2 * alpha * x;
                alpha / 2.0 / (1.0 + u * u)
            }
        }
    }

    /// A short text form for model files and logs, e.g. `sigmoid(alpha=4)`.
    pub fn describe(self) -> String {
        match self {
            Surrogate::Sigmoid { alpha } => format!("sigmoid(alpha={alpha})"),
            Surrogate::Atan { alpha } => format!("atan(alpha={alpha})"),
        }
    }
}

/// Parameters of the firing scan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FireConfig {
    /// Firing threshold `theta`.
    pub threshold: f32,
    /// Surrogate derivative of the step.
    pub surrogate: Surrogate,
    /// Let gradients flow through the not-yet-fired mask `M`.
    pub mask_grad: bool,
    /// Use the surrogate function instead of the step in the forward pass (tests only).
    pub soft: bool,
}

impl Default for FireConfig {
    fn default() -> Self {
        FireConfig {
            threshold: 1.0,
            surrogate: Surrogate::Sigmoid { alpha: 4.0 },
            mask_grad: true,
            soft: false,
        }
    }
}

impl FireConfig {
    fn theta(&self, h: f32) -> f32 {
        if self.soft {
            self.surrogate.value(h - self.threshold)
        } else if h >= self.threshold {
            1.0
        } else {
            0.0
        }
    }
}

/// Columns per parallel task of the scans: each column (one neuron of one sample) is scanned
/// over `t` on its own, so blocks of columns run on separate threads with no copy and give
/// bit-identical results on any number of threads.
const SCAN_BLOCK: usize = 4096;

/// Splits a time-major `[steps, n]` buffer into blocks of `SCAN_BLOCK` columns: per block, its
/// row slices for `t = 0..steps`.
fn column_blocks(buffer: &mut [f32], n: usize) -> Vec<Vec<&mut [f32]>> {
    let mut blocks: Vec<Vec<&mut [f32]>> = Vec::new();
    if n == 0 {
        return blocks;
    }
    blocks.resize_with(n.div_ceil(SCAN_BLOCK), Vec::new);
    for row in buffer.chunks_mut(n) {
        for (block, part) in blocks.iter_mut().zip(row.chunks_mut(SCAN_BLOCK)) {
            block.push(part);
        }
    }
    blocks
}

/// Forward scan on a time-major buffer `[T, n]` of input currents; returns spikes `[T, n]`.
pub fn fire_forward(currents: &[f32], steps: usize, cfg: &FireConfig) -> Vec<f32> {
    let n = currents.len() / steps.max(1);
    let mut spikes = vec![0f32; currents.len()];
    column_blocks(&mut spikes, n)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut rows)| {
            let start = b * SCAN_BLOCK;
            let width = rows.first().map_or(0, |r| r.len());
            let mut h = vec![0f32; width];
            let mut mask = vec![1f32; width];
            for (t, s_t) in rows.iter_mut().enumerate() {
                let i_t = &currents[t * n + start..][..width];
                for (((h, m), &i), s_out) in
                    h.iter_mut().zip(&mut mask).zip(i_t).zip(s_t.iter_mut())
                {
                    *h += i;
                    let s = cfg.theta(*h) * *m;
                    *s_out = s;
                    *m *= 1.0 - s;
                }
            }
        });
    spikes
}

/// Backward scan: the gradient of the currents `[T, n]` given the gradient of the spikes.
pub fn fire_backward(
    currents: &[f32],
    grad_spikes: &[f32],
    steps: usize,
    cfg: &FireConfig,
) -> Vec<f32> {
    let n = currents.len() / steps.max(1);
    let mut grad_currents = vec![0f32; currents.len()];
    column_blocks(&mut grad_currents, n)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut rows)| {
            let start = b * SCAN_BLOCK;
            let width = rows.first().map_or(0, |r| r.len());
            if !cfg.soft {
                backward_block_exact(currents, grad_spikes, n, start, &mut rows, cfg);
                return;
            }
            let row = |t: usize| t * n + start..t * n + start + width;
            // Recompute H and the mask before each step (M[t-1]), block-local `[T, width]`.
            let mut h_all = vec![0f32; steps * width];
            let mut mask_before = vec![0f32; steps * width];
            let mut h = vec![0f32; width];
            let mut mask = vec![1f32; width];
            for t in 0..steps {
                let c_t = &currents[row(t)];
                let h_t = &mut h_all[t * width..(t + 1) * width];
                let m_t = &mut mask_before[t * width..(t + 1) * width];
                m_t.copy_from_slice(&mask);
                for (((h, h_out), m), &c) in h.iter_mut().zip(h_t).zip(&mut mask).zip(c_t) {
                    *h += c;
                    *h_out = *h;
                    *m *= 1.0 - cfg.theta(*h) * *m;
                }
            }
            let mut grad_mask = vec![0f32; width];
            let mut acc = vec![0f32; width];
            for (t, g_t) in rows.iter_mut().enumerate().rev() {
                let gs_t = &grad_spikes[row(t)];
                let h_t = &h_all[t * width..(t + 1) * width];
                let m_t = &mask_before[t * width..(t + 1) * width];
                for k in 0..width {
                    let m_prev = m_t[k];
                    let hv = h_t[k];
                    let mut gs = gs_t[k];
                    if cfg.mask_grad {
                        gs -= grad_mask[k] * m_prev;
                        let theta = cfg.theta(hv);
                        let s = theta * m_prev;
                        grad_mask[k] = grad_mask[k] * (1.0 - s) + gs * theta;
                    }
                    // After a neuron has fired (M = 0) the step gets no gradient: skip the exp.
                    let gh = if m_prev == 0.0 {
                        0.0
                    } else {
                        gs * m_prev * cfg.surrogate.derivative(hv - cfg.threshold)
                    };
                    acc[k] += gh;
                    g_t[k] = acc[k];
                }
            }
        });
    grad_currents
}

/// Columns the exact backward scan handles together, as SIMD lanes.
const LANES: usize = 8;

/// [`fire_backward`] of one block of columns for the exact (0/1) neuron.
///
/// With a 0/1 mask the recurrence has a closed form once the firing step `f` of a column is
/// known (the first `t` with `H[t] >= theta`, or none): steps after `f` get no gradient, and
/// the gradient through the mask only carries, from the steps after `f` where `H` is over the
/// threshold, the sum of the spike gradients down to `f` and from `f` to the earlier steps. This
/// computes every product and sum of the general loop in the same order, so the result is
/// bit-identical to it (tested), without its `[T, width]` buffers of potentials and masks.
/// Columns go [`LANES`] at a time with selects instead of branches, so the surrogate's `exp`
/// and the updates run as vector code.
fn backward_block_exact(
    currents: &[f32],
    grad_spikes: &[f32],
    n: usize,
    start: usize,
    rows: &mut [&mut [f32]],
    cfg: &FireConfig,
) {
    let width = rows.first().map_or(0, |r| r.len());
    let mut potentials = vec![[0f32; LANES]; rows.len()];
    let mut k = 0;
    while k + LANES <= width {
        backward_lanes::<LANES>(
            currents,
            grad_spikes,
            n,
            start + k,
            rows,
            k,
            cfg,
            &mut potentials,
        );
        k += LANES;
    }
    let mut single = vec![[0f32; 1]; rows.len()];
    for k in k..width {
        backward_lanes::<1>(
            currents,
            grad_spikes,
            n,
            start + k,
            rows,
            k,
            cfg,
            &mut single,
        );
    }
}

/// The exact backward scan of the `L` columns starting at `column` of the `[T, n]` buffers,
/// written to `rows[t][offset..offset + L]`; `h` holds the potentials `[T][L]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_lanes<const L: usize>(
    currents: &[f32],
    grad_spikes: &[f32],
    n: usize,
    column: usize,
    rows: &mut [&mut [f32]],
    offset: usize,
    cfg: &FireConfig,
    h: &mut [[f32; L]],
) {
    let steps = rows.len();
    let threshold = cfg.threshold;
    let mut potential = [0f32; L];
    // Firing steps as f32 (`steps` if never): every lane operation is then an f32 compare or
    // select, which SIMD does on any x86-64.
    let never = steps as f32;
    let mut fire = [never; L];
    for (t, h_t) in h.iter_mut().enumerate() {
        let c = &currents[t * n + column..][..L];
        for l in 0..L {
            potential[l] += c[l];
            h_t[l] = potential[l];
            if fire[l] == never && potential[l] >= threshold {
                fire[l] = t as f32;
            }
        }
    }
    let mut grad_mask = [0f32; L];
    let mut acc = [0f32; L];
    for t in (0..steps).rev() {
        let step = t as f32;
        let gs = &grad_spikes[t * n + column..][..L];
        let h_t = &h[t];
        // The surrogate's slope, needed only up to a lane's firing step: skipped once every
        // lane has fired (most steps of a trained network, whose neurons fire early).
        let mut slope = [0f32; L];
        if fire.iter().any(|&f| step <= f) {
            for l in 0..L {
                slope[l] = cfg.surrogate.derivative(h_t[l] - threshold);
            }
        }
        let out = &mut rows[t][offset..offset + L];
        for l in 0..L {
            let fired_before = step > fire[l];
            // After firing: no gradient; the mask carries the spike gradient of every step
            // over the threshold.
            let carried = if cfg.mask_grad && h_t[l] >= threshold {
                grad_mask[l] + gs[l]
            } else {
                grad_mask[l]
            };
            // Up to the firing step: the spike gradient less what the mask carried.
            let g = if cfg.mask_grad {
                gs[l] - grad_mask[l]
            } else {
                gs[l]
            };
            let mask_here = if cfg.mask_grad && step == fire[l] {
                g
            } else {
                grad_mask[l]
            };
            let summed = acc[l] + g * slope[l];
            grad_mask[l] = if fired_before { carried } else { mask_here };
            acc[l] = if fired_before { acc[l] } else { summed };
            out[l] = acc[l];
        }
    }
}

/// The Candle op: input currents in, spikes of the same shape out. The buffer is time-major,
/// `[T, n]` in memory: shape `[T, ...]`, or `[T * B, ...]` with the time steps folded into the
/// batch as the layers compute them.
#[derive(Clone, Copy, Debug)]
pub struct FireOp {
    /// Scan parameters.
    pub cfg: FireConfig,
    /// Time steps `T`: the buffer's rows are split into `T` equal steps.
    pub steps: usize,
}

impl CustomOp1 for FireOp {
    fn name(&self) -> &'static str {
        "ttfs-fire"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let currents = f32_slice(storage, layout, "spiking neuron", "input current")?;
        if self.steps == 0 || currents.len() % self.steps != 0 {
            candle_core::bail!(
                "spiking neuron: {} currents do not split into {} time steps",
                currents.len(),
                self.steps
            );
        }
        let spikes = fire_forward(currents, self.steps, &self.cfg);
        Ok((CpuStorage::F32(spikes), layout.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        // Borrow both buffers (the conv layers' are about 100 MB): no copies.
        let grad_currents = with_data(arg, "spiking neuron", "input current", |currents| {
            with_data(grad_res, "spiking neuron", "spike gradient", |grad| {
                fire_backward(currents, grad, self.steps, &self.cfg)
            })
        })??;
        Ok(Some(Tensor::from_vec(
            grad_currents,
            arg.shape(),
            arg.device(),
        )?))
    }
}

/// Applies the firing scan to currents of shape `[T, ...]`, returning spikes of the same shape.
#[cfg(test)]
pub(crate) fn fire(currents: &Tensor, cfg: &FireConfig) -> candle_core::Result<Tensor> {
    fire_steps(currents, currents.dim(0)?, cfg)
}

/// Applies the firing scan to a time-major buffer of `steps` steps in any shape, e.g. a
/// layer's currents `[T * B, C, H, W]` with time folded into the batch, returning spikes of the
/// same shape (no reshape around the op, so no extra gradient buffers in Candle's backward).
pub fn fire_steps(
    currents: &Tensor,
    steps: usize,
    cfg: &FireConfig,
) -> candle_core::Result<Tensor> {
    currents
        .contiguous()?
        .apply_op1(FireOp { cfg: *cfg, steps })
}

/// One layer of [`reference_step_by_step`]: previous spikes of a step to this layer's current.
#[cfg(test)]
pub(crate) type StepFn<'a> = &'a dyn Fn(&Tensor) -> candle_core::Result<Tensor>;

/// Step-by-step reference (t-major): advances every layer one step at a time, as a chip does.
///
/// `layers` maps the previous layer's spikes of one step `[B, ...]` to this layer's input
/// current of the same step. Returns each layer's spikes as `[T, B, ...]`. Used by the tests
/// to check the time-parallel path; slow, never used for training.
#[cfg(test)]
pub(crate) fn reference_step_by_step(
    input: &Tensor,
    layers: &[StepFn<'_>],
    threshold: f32,
) -> candle_core::Result<Vec<Tensor>> {
    let steps = input.dim(0)?;
    let mut potentials: Vec<Option<Tensor>> = vec![None; layers.len()];
    let mut masks: Vec<Option<Tensor>> = vec![None; layers.len()];
    let mut outputs: Vec<Vec<Tensor>> = vec![Vec::new(); layers.len()];
    for t in 0..steps {
        let mut x = input.get(t)?;
        for (l, layer) in layers.iter().enumerate() {
            let current = layer(&x)?;
            let h = match &potentials[l] {
                Some(h) => (h + &current)?,
                None => current,
            };
            let mask = match &masks[l] {
                Some(m) => m.clone(),
                None => h.ones_like()?,
            };
            let above = h.ge(threshold as f64)?.to_dtype(candle_core::DType::F32)?;
            let s = (above * &mask)?;
            masks[l] = Some((&mask * (1.0 - &s)?)?);
            potentials[l] = Some(h);
            outputs[l].push(s.clone());
            x = s;
        }
    }
    outputs
        .into_iter()
        .map(|steps| Tensor::stack(&steps, 0))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn blocked_parallel_scans_equal_each_column_scanned_alone() {
        // Three blocks, the last one ragged; currents from a fixed LCG, some columns firing.
        let (steps, n) = (5, 2 * SCAN_BLOCK + 37);
        let mut state = 12345u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.3
        };
        let currents: Vec<f32> = (0..steps * n).map(|_| next()).collect();
        let grads: Vec<f32> = (0..steps * n).map(|_| next()).collect();
        let cfg = FireConfig::default();
        let spikes = fire_forward(&currents, steps, &cfg);
        let grad_currents = fire_backward(&currents, &grads, steps, &cfg);
        let fired = (0..n).filter(|&k| (0..steps).any(|t| spikes[t * n + k] > 0.0));
        assert!(fired.count() > n / 10, "the test has teeth: columns fire");
        for k in [
            0,
            1,
            SCAN_BLOCK - 1,
            SCAN_BLOCK,
            2 * SCAN_BLOCK + 36,
            777,
            5000,
        ] {
            let column: Vec<f32> = (0..steps).map(|t| currents[t * n + k]).collect();
            let column_grad: Vec<f32> = (0..steps).map(|t| grads[t * n + k]).collect();
            let alone = fire_forward(&column, steps, &cfg);
            let alone_grad = fire_backward(&column, &column_grad, steps, &cfg);
            for t in 0..steps {
                assert_eq!(
                    spikes[t * n + k].to_bits(),
                    alone[t].to_bits(),
                    "s[{t}][{k}]"
                );
                assert_eq!(
                    grad_currents[t * n + k].to_bits(),
                    alone_grad[t].to_bits(),
                    "dI[{t}][{k}]"
                );
            }
        }
    }

    #[test]
    fn the_op_on_time_folded_currents_equals_the_op_on_time_major_ones() {
        // [T * B, C, W] and [T, B * C * W] are the same buffer: the same spikes and the same
        // current gradients, whatever the shape; and steps that do not divide it are an error.
        use candle_core::{Device, Var};
        let (t, b, c, w) = (4, 3, 2, 5);
        let values: Vec<f32> = (0..t * b * c * w)
            .map(|i| ((i * 37 % 23) as f32 - 7.0) * 0.1)
            .collect();
        let dev = Device::Cpu;
        let folded =
            Var::from_tensor(&Tensor::from_vec(values.clone(), (t * b, c, w), &dev).unwrap())
                .unwrap();
        let major =
            Var::from_tensor(&Tensor::from_vec(values, (t, b * c * w), &dev).unwrap()).unwrap();
        let cfg = FireConfig::default();
        let s_folded = fire_steps(folded.as_tensor(), t, &cfg).unwrap();
        let s_major = fire(major.as_tensor(), &cfg).unwrap();
        let flat = |x: &Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(flat(&s_folded), flat(&s_major));
        assert!(flat(&s_major).contains(&1.0), "some neurons fire");
        let weights: Vec<f32> = (0..t * b * c * w).map(|i| (i % 7) as f32 - 3.0).collect();
        let wf = Tensor::from_vec(weights.clone(), (t * b, c, w), &dev).unwrap();
        let wm = Tensor::from_vec(weights, (t, b * c * w), &dev).unwrap();
        let gf = (s_folded * wf)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gm = (s_major * wm)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(
            flat(gf.get(folded.as_tensor()).unwrap()),
            flat(gm.get(major.as_tensor()).unwrap())
        );
        let err = fire_steps(folded.as_tensor(), 7, &cfg)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("120 currents do not split into 7 time steps"),
            "{err}"
        );
    }

    /// The general recurrence of the backward scan (BPTT through `H`, `S` and `M`), one column
    /// at a time, written out as ARCHITECTURE.md states it.
    fn general_backward(currents: &[f32], grads: &[f32], cfg: &FireConfig) -> Vec<f32> {
        let steps = currents.len();
        let (mut h, mut mask) = (0f32, 1f32);
        let (mut hs, mut masks) = (Vec::new(), Vec::new());
        for &c in currents {
            h += c;
            hs.push(h);
            masks.push(mask);
            mask *= 1.0 - cfg.theta(h) * mask;
        }
        let (mut grad_mask, mut acc) = (0f32, 0f32);
        let mut out = vec![0f32; steps];
        for t in (0..steps).rev() {
            let (m_prev, hv) = (masks[t], hs[t]);
            let mut gs = grads[t];
            if cfg.mask_grad {
                gs -= grad_mask * m_prev;
                let theta = cfg.theta(hv);
                grad_mask = grad_mask * (1.0 - theta * m_prev) + gs * theta;
            }
            let gh = if m_prev == 0.0 {
                0.0
            } else {
                gs * m_prev * cfg.surrogate.derivative(hv - cfg.threshold)
            };
            acc += gh;
            out[t] = acc;
        }
        out
    }

    #[test]
    fn exact_backward_equals_the_general_recurrence_bit_for_bit() {
        let mut state = 99u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.35
        };
        let steps = 8;
        for mask_grad in [true, false] {
            let cfg = FireConfig {
                mask_grad,
                ..FireConfig::default()
            };
            let (mut fired, mut silent) = (0, 0);
            for column in 0..500 {
                let mut currents: Vec<f32> = (0..steps).map(|_| next()).collect();
                if column % 50 == 0 {
                    // Exactly at the threshold at step 3, then above and below it.
                    currents = vec![0.25, 0.25, 0.5, 0.5, -0.75, 0.75, -2.0, 1.0];
                }
                let grads: Vec<f32> = (0..steps).map(|_| next() * 3.0).collect();
                let ours = fire_backward(&currents, &grads, steps, &cfg);
                let general = general_backward(&currents, &grads, &cfg);
                for t in 0..steps {
                    assert_eq!(
                        ours[t].to_bits(),
                        general[t].to_bits(),
                        "mask_grad {mask_grad} column {column} step {t}: {ours:?} against {general:?}"
                    );
                }
                if fire_forward(&currents, steps, &cfg).contains(&1.0) {
                    fired += 1;
                } else {
                    silent += 1;
                }
            }
            assert!(fired > 100 && silent > 50, "{fired} fired, {silent} silent");
        }
    }

    #[test]
    fn hand_worked_neuron_fires_once_at_the_crossing() {
        // One neuron, T = 5, threshold 1: H = 0.4, 0.8, 1.3, 2.0, 0.5 -> fires at step 3 only.
        let currents = [0.4, 0.4, 0.5, 0.7, -1.5];
        let s = fire_forward(&currents, 5, &FireConfig::default());
        assert_eq!(s, vec![0.0, 0.0, 1.0, 0.0, 0.0]);
        // Exactly at threshold counts as a crossing.
        let s = fire_forward(&[1.0, 1.0], 2, &FireConfig::default());
        assert_eq!(s, vec![1.0, 0.0]);
    }

    #[test]
    fn backward_without_mask_grad_is_reverse_cumsum_of_surrogate() {
        let cfg = FireConfig {
            mask_grad: false,
            ..FireConfig::default()
        };
        // Never fires: every step is live.
        let currents = [0.2f32, 0.3];
        let g = fire_backward(&currents, &[1.0, 2.0], 2, &cfg);
        let d1 = cfg.surrogate.derivative(0.2 - 1.0);
        let d2 = cfg.surrogate.derivative(0.5 - 1.0);
        assert!((g[1] - 2.0 * d2).abs() < 1e-6);
        assert!((g[0] - (d1 + 2.0 * d2)).abs() < 1e-6);
    }

    /// Loss of the soft neuron; with `fixed_mask`, the mask `M[t-1]` is taken from that
    /// buffer instead of the recurrence (the function whose gradient `mask_grad = false` is).
    fn soft_loss(
        currents: &[f32],
        weights: &[f32],
        steps: usize,
        cfg: &FireConfig,
        fixed_mask: Option<&[f32]>,
    ) -> f64 {
        let n = currents.len() / steps;
        let mut h = vec![0f32; n];
        let mut mask = vec![1f32; n];
        let mut loss = 0f64;
        for t in 0..steps {
            for k in 0..n {
                let idx = t * n + k;
                h[k] += currents[idx];
                let m_prev = fixed_mask.map_or(mask[k], |m| m[idx]);
                let s = cfg.theta(h[k]) * m_prev;
                mask[k] = m_prev * (1.0 - s);
                loss += (s * weights[idx]) as f64;
            }
        }
        loss
    }

    fn masks_before(currents: &[f32], steps: usize, cfg: &FireConfig) -> Vec<f32> {
        let n = currents.len() / steps;
        let mut h = vec![0f32; n];
        let mut mask = vec![1f32; n];
        let mut out = vec![0f32; currents.len()];
        for t in 0..steps {
            for k in 0..n {
                h[k] += currents[t * n + k];
                out[t * n + k] = mask[k];
                mask[k] *= 1.0 - cfg.theta(h[k]) * mask[k];
            }
        }
        out
    }

    #[test]
    fn surrogate_gradient_matches_finite_differences_of_the_soft_neuron() {
        for mask_grad in [false, true] {
            for surrogate in [
                Surrogate::Sigmoid { alpha: 4.0 },
                Surrogate::Atan { alpha: 2.0 },
            ] {
                let cfg = FireConfig {
                    threshold: 1.0,
                    surrogate,
                    mask_grad,
                    soft: true,
                };
                let steps = 4;
                let currents = [0.3f32, -0.2, 0.5, 0.1, 0.9, 0.4, 0.2, -0.3];
                let weights = [1.0f32, 0.5, 0.8, -0.4, 0.25, 0.6, 0.125, 0.9];
                let analytic = fire_backward(&currents, &weights, steps, &cfg);
                let fixed = masks_before(&currents, steps, &cfg);
                let fixed = (!mask_grad).then_some(fixed.as_slice());
                let eps = 1e-3f32;
                for i in 0..currents.len() {
                    let mut plus = currents;
                    plus[i] += eps;
                    let mut minus = currents;
                    minus[i] -= eps;
                    let numeric = (soft_loss(&plus, &weights, steps, &cfg, fixed)
                        - soft_loss(&minus, &weights, steps, &cfg, fixed))
                        / (2.0 * eps as f64);
                    let a = analytic[i] as f64;
                    assert!(
                        (numeric - a).abs() < 2e-3 * (1.0 + a.abs()),
                        "mask_grad={mask_grad} {surrogate:?} input {i}: numeric {numeric} analytic {a}"
                    );
                }
            }
        }
    }
}
