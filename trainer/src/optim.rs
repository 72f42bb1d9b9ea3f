//! AdamW with a cosine learning-rate schedule, with state that checkpoints can save.
//!
//! Candle's own AdamW keeps its moments private, so a resumed run could not continue exactly;
//! this one exposes them. The update is PyTorch's AdamW: decoupled weight decay, bias
//! correction, `eps` added to the square root of the corrected second moment.

use std::collections::BTreeMap;

use candle_core::{Result, Tensor, Var, backprop::GradStore};
use rayon::prelude::*;

use crate::ops::cpu::{with_data, with_data_mut};
use crate::ops::simd::wide_kernel;

/// AdamW hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Cosine decay from `lr` to 0 over `total_steps` optimiser steps.
pub fn cosine_lr(lr: f64, step: u64, total_steps: u64) -> f64 {
    let progress = (step as f64 / total_steps.max(1) as f64).min(1.0);
    0.5 * lr * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// The optimiser state: step count and both moments of every parameter, by name.
pub struct AdamW {
    /// Hyper-parameters.
    pub config: AdamWConfig,
    /// Steps taken so far.
    pub step: u64,
    /// First moments.
    pub m: BTreeMap<String, Tensor>,
    /// Second moments.
    pub v: BTreeMap<String, Tensor>,
}

impl AdamW {
    /// A fresh optimiser with zero moments for every parameter.
    pub fn new(config: AdamWConfig, params: &BTreeMap<String, Var>) -> Result<AdamW> {
        let mut m = BTreeMap::new();
        let mut v = BTreeMap::new();
        for (name, var) in params {
            m.insert(name.clone(), var.as_tensor().zeros_like()?);
            v.insert(name.clone(), var.as_tensor().zeros_like()?);
        }
        Ok(AdamW {
            config,
            step: 0,
            m,
            v,
        })
    }

    /// One update at learning rate `lr` with the gradients in `grads`, except that the
    /// parameters named in `direct` take theirs from there (computed outside Candle's graph,
    /// [`crate::network::Network::direct_gradients`]); `grads` must not have one for them.
    pub fn step(
        &mut self,
        params: &BTreeMap<String, Var>,
        grads: &GradStore,
        direct: &BTreeMap<String, Vec<f32>>,
        lr: f64,
    ) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.step as i32);
        let bias2 = 1.0 - c.beta2.powi(self.step as i32);
        for (name, var) in params {
            let (gradient, g_len) = match (grads.get(var.as_tensor()), direct.get(name)) {
                (Some(_), Some(_)) => candle_core::bail!(
                    "parameter {name} has a gradient both in and outside the graph"
                ),
                (None, None) => continue,
                (Some(g), None) => (Gradient::Graph(g), g.elem_count()),
                (None, Some(g)) => (Gradient::Direct(g), g.len()),
            };
            let (Some(m), Some(v)) = (self.m.get(name), self.v.get(name)) else {
                candle_core::bail!("optimiser has no state for parameter {name}");
            };
            let count = var.as_tensor().elem_count();
            for (what, len) in [
                ("gradient", g_len),
                ("first moment", m.elem_count()),
                ("second moment", v.elem_count()),
            ] {
                if len != count {
                    candle_core::bail!("{what} of {name} has {len} values, not {count}");
                }
            }
            let update = Update {
                b1: c.beta1 as f32,
                b2: c.beta2 as f32,
                inv_bias1: (1.0 / bias1) as f32,
                inv_bias2: (1.0 / bias2) as f32,
                lr: lr as f32,
                eps: c.eps as f32,
                decay: (1.0 - lr * c.weight_decay) as f32,
            };
            // The moments and the weights changed in place, in one pass (no copies in or
            // out, no parameter-sized buffer per tensor op).
            let apply = |g: &[f32]| {
                with_data_mut(m, "adamw", name, |m| {
                    with_data_mut(v, "adamw", name, |v| {
                        with_data_mut(var.as_tensor(), "adamw", name, |w| update.apply(m, v, w, g))
                    })
                })
            };
            match gradient {
                Gradient::Graph(g) => with_data(g, "adamw", name, apply)????,
                Gradient::Direct(g) => apply(g)???,
            }
        }
        Ok(())
    }
}

/// Where a parameter's gradient comes from.
enum Gradient<'a> {
    /// Candle's backward, borrowed from its tensor.
    Graph(&'a Tensor),
    /// Computed outside Candle's graph.
    Direct(&'a [f32]),
}

/// The scalars of one AdamW update, bias corrections folded in.
#[derive(Clone, Copy, Debug)]
struct Update {
    b1: f32,
    b2: f32,
    inv_bias1: f32,
    inv_bias2: f32,
    lr: f32,
    eps: f32,
    decay: f32,
}

impl Update {
    /// Updates the moments `m`, `v` and the weights `w` with the gradient `g`. Each value on its
    /// own, so chunks in parallel give the same bits on any thread count; zipped slices let the
    /// loop run as vector code.
    fn apply(&self, m: &mut [f32], v: &mut [f32], w: &mut [f32], g: &[f32]) {
        const CHUNK: usize = 1 << 14;
        let u = *self;
        m.par_chunks_mut(CHUNK)
            .zip(v.par_chunks_mut(CHUNK))
            .zip(w.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((m, v), w), g)| update_chunk(u, m, v, w, g));
    }
}

wide_kernel! {
    /// [`Update::apply`] on one chunk.
    fn update_chunk(u: Update, m: &mut [f32], v: &mut [f32], w: &mut [f32], g: &[f32]) {
        for (((m, v), w), &g) in m.iter_mut().zip(v.iter_mut()).zip(w).zip(g) {
            *m = u.b1 * *m + (1.0 - u.b1) * g;
            *v = u.b2 * *v + (1.0 - u.b2) * g * g;
            let step = (*m * u.inv_bias1) / ((*v * u.inv_bias2).sqrt() + u.eps);
            *w = *w * u.decay - u.lr * step;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use candle_core::Device;

    #[test]
    fn first_step_moves_each_weight_by_lr_against_the_gradient_sign() {
        // With bias correction, Adam's first step is lr * g / (|g| + eps) = lr * sign(g).
        let w = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let loss = (w.as_tensor() * 3.0).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let mut params = BTreeMap::new();
        params.insert("w".to_string(), w.clone());
        let cfg = AdamWConfig {
            weight_decay: 0.0,
            ..AdamWConfig::default()
        };
        let mut opt = AdamW::new(cfg, &params).unwrap();
        opt.step(&params, &grads, &BTreeMap::new(), 0.1).unwrap();
        let after = w.as_tensor().to_vec1::<f32>().unwrap();
        assert!((after[0] - 0.9).abs() < 1e-6 && (after[1] + 2.1).abs() < 1e-6);
    }

    #[test]
    fn cosine_schedule_ends_at_zero() {
        assert_eq!(cosine_lr(1.0, 0, 10), 1.0);
        assert!((cosine_lr(1.0, 5, 10) - 0.5).abs() < 1e-12);
        assert!(cosine_lr(1.0, 10, 10).abs() < 1e-12);
    }
}
