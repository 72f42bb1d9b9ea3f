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
use crate::ops::simd::wide_kernel;

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
    #[inline(always)]
    pub fn value(self, x: f32) -> f32 {
        match self {
            Surrogate::Sigmoid { alpha } => 1.0 / (1.0 + fastmath::exp(-alpha * x)),
            Surrogate::Atan { alpha } => {
                (std::f32::consts::FRAC_PI_2 * alpha * x).atan() / std::f32::consts::PI + 0.5
            }
        }
    }

    /// The derivative of [`Surrogate::value`].
    #[inline(always)]
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
    #[inline(always)]
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
        .for_each(|(b, mut rows)| forward_block(currents, n, b * SCAN_BLOCK, &mut rows, cfg));
    spikes
}

wide_kernel! {
    /// [`fire_forward`] of the block of columns starting at `start`, into its rows of spikes.
    fn forward_block(
        currents: &[f32],
        n: usize,
        start: usize,
        rows: &mut [&mut [f32]],
        cfg: &FireConfig,
    ) {
        let width = rows.first().map_or(0, |r| r.len());
        let mut h = vec![0f32; width];
        let mut mask = vec![1f32; width];
        for (t, s_t) in rows.iter_mut().enumerate() {
            let i_t = &currents[t * n + start..][..width];
            for (((h, m), &i), s_out) in h.iter_mut().zip(&mut mask).zip(i_t).zip(s_t.iter_mut()) {
                *h += i;
                let s = cfg.theta(*h) * *m;
                *s_out = s;
                *m *= 1.0 - s;
            }
        }
    }
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

/// Columns whose surrogate slopes are computed or skipped together in the exact backward scan.
const RUN: usize = 64;

wide_kernel! {
    /// [`fire_backward`] of one block of columns for the exact (0/1) neuron.
    ///
    /// With a 0/1 mask the recurrence has a closed form once the firing step `f` of a column is
    /// known (the first `t` with `H[t] >= theta`, or none): steps after `f` get no gradient,
    /// and the gradient through the mask only carries, from the steps after `f` where `H` is
    /// over the threshold, the sum of the spike gradients down to `f` and from `f` to the
    /// earlier steps. This computes every product and sum of the general loop in the same
    /// order, so the result is bit-identical to it (tested), without its mask buffers. Each
    /// step walks the block's contiguous columns with selects instead of branches, so the
    /// surrogate's `exp` and the updates run as vector code; the slopes of a run of [`RUN`]
    /// columns are skipped once every column of the run has fired (most steps of a trained
    /// network, whose neurons fire early).
    fn backward_block_exact(
        currents: &[f32],
        grad_spikes: &[f32],
        n: usize,
        start: usize,
        rows: &mut [&mut [f32]],
        cfg: &FireConfig,
    ) {
        let steps = rows.len();
        let width = rows.first().map_or(0, |r| r.len());
        let threshold = cfg.threshold;
        // Potentials `[T, width]`, and firing steps as f32 (`steps` if never): every column
        // operation is then an f32 compare or select, which SIMD does on any x86-64.
        let never = steps as f32;
        let mut h = vec![0f32; steps * width];
        let mut fire = vec![never; width];
        for t in 0..steps {
            let c = &currents[t * n + start..][..width];
            let (before, from_t) = h.split_at_mut(t * width);
            let h_t = &mut from_t[..width];
            match t.checked_sub(1) {
                Some(p) => {
                    for ((h, &hp), &c) in h_t.iter_mut().zip(&before[p * width..]).zip(c) {
                        *h = hp + c;
                    }
                }
                None => {
                    for (h, &c) in h_t.iter_mut().zip(c) {
                        *h = 0.0 + c;
                    }
                }
            }
            let step = t as f32;
            for (f, &p) in fire.iter_mut().zip(&*h_t) {
                *f = if *f == never && p >= threshold {
                    step
                } else {
                    *f
                };
            }
        }
        let mut grad_mask = vec![0f32; width];
        let mut acc = vec![0f32; width];
        let mut slope = [0f32; RUN];
        for t in (0..steps).rev() {
            let step = t as f32;
            let gs = &grad_spikes[t * n + start..][..width];
            let h_t = &h[t * width..][..width];
            let out = &mut *rows[t];
            for run in (0..width).step_by(RUN) {
                let len = RUN.min(width - run);
                let columns = run..run + len;
                // The surrogate's slope, needed only up to a column's firing step.
                if fire[columns.clone()].iter().any(|&f| step <= f) {
                    for (s, &hv) in slope.iter_mut().zip(&h_t[columns.clone()]) {
                        *s = cfg.surrogate.derivative(hv - threshold);
                    }
                } else {
                    slope.fill(0.0);
                }
                // Every slice cut to the run's length, so the loop has no bounds checks and
                // vectorises.
                let fire = &fire[columns.clone()];
                let h_t = &h_t[columns.clone()];
                let gs = &gs[columns.clone()];
                let grad_mask = &mut grad_mask[columns.clone()];
                let acc = &mut acc[columns.clone()];
                let out = &mut out[columns];
                let slope = &slope[..len];
                let run = Run {
                    step,
                    threshold,
                    fire,
                    h_t,
                    gs,
                    slope,
                };
                if cfg.mask_grad {
                    run.update::<true>(grad_mask, acc, out);
                } else {
                    run.update::<false>(grad_mask, acc, out);
                }
            }
        }
    }
}

/// One step of the exact backward scan over a run of columns (every slice the run's length).
struct Run<'a> {
    /// The step `t` and the firing threshold.
    step: f32,
    threshold: f32,
    /// Firing steps, potentials `H[t]`, spike gradients of step `t`, surrogate slopes.
    fire: &'a [f32],
    h_t: &'a [f32],
    gs: &'a [f32],
    slope: &'a [f32],
}

impl Run<'_> {
    /// Updates the mask gradients and accumulated current gradients of the run's columns and
    /// writes the latter to `out`; `MASK_GRAD` is [`FireConfig::mask_grad`]. Branch-free, so
    /// it vectorises.
    #[inline(always)]
    fn update<const MASK_GRAD: bool>(
        &self,
        grad_mask: &mut [f32],
        acc: &mut [f32],
        out: &mut [f32],
    ) {
        let len = self.fire.len();
        let (h_t, gs, slope) = (&self.h_t[..len], &self.gs[..len], &self.slope[..len]);
        let (grad_mask, acc, out) = (&mut grad_mask[..len], &mut acc[..len], &mut out[..len]);
        for k in 0..len {
            let fired_before = self.step > self.fire[k];
            // After firing: no gradient; the mask carries the spike gradient of every step
            // over the threshold.
            let carried = if MASK_GRAD && h_t[k] >= self.threshold {
                grad_mask[k] + gs[k]
            } else {
                grad_mask[k]
            };
            // Up to the firing step: the spike gradient less what the mask carried.
            let g = if MASK_GRAD {
                gs[k] - grad_mask[k]
            } else {
                gs[k]
            };
            let mask_here = if MASK_GRAD && self.step == self.fire[k] {
                g
            } else {
                grad_mask[k]
            };
            let summed = acc[k] + g * slope[k];
            grad_mask[k] = if fired_before { carried } else { mask_here };
            acc[k] = if fired_before { acc[k] } else { summed };
            out[k] = acc[k];
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
mod tests;
