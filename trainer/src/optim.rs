//! AdamW with a cosine learning-rate schedule, with state that checkpoints can save.
//!
//! Candle's own AdamW keeps its moments private, so a resumed run could not continue exactly;
//! this one exposes them. The update is PyTorch's AdamW: decoupled weight decay, bias
//! correction, `eps` added to the square root of the corrected second moment.

use std::collections::BTreeMap;

use candle_core::{Result, Tensor, Var, backprop::GradStore};
use rayon::prelude::*;

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

    /// One update at learning rate `lr` with the gradients in `grads`.
    pub fn step(
        &mut self,
        params: &BTreeMap<String, Var>,
        grads: &GradStore,
        lr: f64,
    ) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.step as i32);
        let bias2 = 1.0 - c.beta2.powi(self.step as i32);
        for (name, var) in params {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let (Some(m), Some(v)) = (self.m.get_mut(name), self.v.get_mut(name)) else {
                candle_core::bail!("optimiser has no state for parameter {name}");
            };
            // One fused pass over plain vectors instead of a dozen tensor ops, each of which
            // would allocate a parameter-sized buffer.
            let mut mv = m.flatten_all()?.to_vec1::<f32>()?;
            let mut vv = v.flatten_all()?.to_vec1::<f32>()?;
            let mut wv = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let gv = g.flatten_all()?.to_vec1::<f32>()?;
            let (b1, b2) = (c.beta1 as f32, c.beta2 as f32);
            let (inv_bias1, inv_bias2) = ((1.0 / bias1) as f32, (1.0 / bias2) as f32);
            let (lr32, eps, decay) = (lr as f32, c.eps as f32, (1.0 - lr * c.weight_decay) as f32);
            if gv.len() != wv.len() {
                candle_core::bail!(
                    "gradient of {name} has {} values, not {}",
                    gv.len(),
                    wv.len()
                );
            }
            // Each value on its own, so chunks in parallel give the same bits on any thread
            // count; zipped slices let the loop run as vector code.
            const CHUNK: usize = 1 << 14;
            mv.par_chunks_mut(CHUNK)
                .zip(vv.par_chunks_mut(CHUNK))
                .zip(wv.par_chunks_mut(CHUNK))
                .zip(gv.par_chunks(CHUNK))
                .for_each(|(((m, v), w), g)| {
                    for (((m, v), w), &g) in m.iter_mut().zip(v.iter_mut()).zip(w).zip(g) {
                        *m = b1 * *m + (1.0 - b1) * g;
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        let update = (*m * inv_bias1) / ((*v * inv_bias2).sqrt() + eps);
                        *w = *w * decay - lr32 * update;
                    }
                });
            let shape = var.as_tensor().shape().clone();
            let device = var.as_tensor().device().clone();
            *m = Tensor::from_vec(mv, shape.clone(), &device)?;
            *v = Tensor::from_vec(vv, shape.clone(), &device)?;
            var.set(&Tensor::from_vec(wv, shape, &device)?)?;
        }
        Ok(())
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
        opt.step(&params, &grads, 0.1).unwrap();
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
