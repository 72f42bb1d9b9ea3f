//! A hidden linear layer of spiking neurons as one op: sparse product, shift, firing scan.
//!
//! Composed of three ops ([`super::sparse`], [`super::bias`], [`super::neuron`]), a layer of the
//! MLP leaves two `[T * B, n]` tensors in Candle's graph besides its spikes, and Candle's
//! backward gives each a zeroed gradient buffer and an add, and the shift copies the product.
//! When nothing but the spikes is read (no loss term on the layer's currents), this op
//! computes the layer in one pass and keeps its currents inside the op for the backward, which
//! runs the three backward kernels in turn. Both the spikes and every gradient are bit-identical
//! to the composed ops (tested): the same kernels run on the same values in the same order.

use std::sync::{Mutex, PoisonError};

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use crate::ops::bias::{add_in_place, channel_sums};
use crate::ops::cpu::{f32_slice, with_data};
use crate::ops::neuron::{FireConfig, fire_backward, fire_forward};
use crate::ops::sparse::{sparse_forward, sparse_weight_grad};

/// `spikes = fire(x W^T + b)` over `T` steps folded into the rows of `x` (`[T * B, K]`).
#[derive(Debug)]
struct LinearFire {
    /// Time steps `T` in the rows of `x`.
    steps: usize,
    /// Firing scan parameters.
    fire: FireConfig,
    /// Whether `x` needs a gradient (false for the network's input).
    input_grad: bool,
    /// The currents `x W^T + b` of the forward pass, kept for the backward (which recomputes
    /// them if they are gone).
    currents: Mutex<Option<Vec<f32>>>,
}

/// Rows `N`, inputs `K` and neurons `M` of the operands, checked against each other.
fn geometry(x: &Shape, w: &Shape, b: &Shape) -> Result<(usize, usize, usize)> {
    let (n, k) = x.dims2()?;
    let (m, k2) = w.dims2()?;
    if k != k2 {
        candle_core::bail!("linear layer: input has {k} features, weights expect {k2}");
    }
    if b.dims() != [m] {
        candle_core::bail!("linear layer: {m} neurons but a shift of shape {b:?}");
    }
    Ok((n, k, m))
}

/// The layer's currents `x W^T + b` (`[N, M]`).
fn currents(x: &[f32], w: &[f32], b: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut y = sparse_forward(x, w, n, k, m);
    add_in_place(&mut y, b, m, 1);
    y
}

impl CustomOp3 for LinearFire {
    fn name(&self) -> &'static str {
        "ttfs-linear-fire"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, k, m) = geometry(l1.shape(), l2.shape(), l3.shape())?;
        if self.steps == 0 || n % self.steps != 0 {
            candle_core::bail!(
                "linear layer: {n} rows do not split into {} time steps",
                self.steps
            );
        }
        let x = f32_slice(s1, l1, "linear layer", "input")?;
        let w = f32_slice(s2, l2, "linear layer", "weight")?;
        let b = f32_slice(s3, l3, "linear layer", "shift")?;
        let y = currents(x, w, b, n, k, m);
        let spikes = fire_forward(&y, self.steps, &self.fire);
        *self.currents.lock().unwrap_or_else(PoisonError::into_inner) = Some(y);
        Ok((CpuStorage::F32(spikes), Shape::from((n, m))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, k, m) = geometry(x.shape(), w.shape(), b.shape())?;
        let kept = self
            .currents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let y = match kept {
            Some(y) => y,
            None => with_data(x, "linear layer", "input", |xv| {
                with_data(w, "linear layer", "weight", |wv| {
                    with_data(b, "linear layer", "shift", |bv| {
                        currents(xv, wv, bv, n, k, m)
                    })
                })
            })???,
        };
        let grad_currents = with_data(grad, "linear layer", "spike gradient", |g| {
            fire_backward(&y, g, self.steps, &self.fire)
        })?;
        drop(y);
        let gb = channel_sums(&grad_currents, m, 1);
        let gw = with_data(x, "linear layer", "input", |xv| {
            sparse_weight_grad(xv, &grad_currents, n, k, m)
        })?;
        let gx = if self.input_grad {
            let g = Tensor::from_vec(grad_currents, (n, m), x.device())?;
            Some(g.matmul(&w.detach())?)
        } else {
            None
        };
        Ok((
            gx,
            Some(Tensor::from_vec(gw, (m, k), w.device())?),
            Some(Tensor::from_vec(gb, m, b.device())?),
        ))
    }
}

/// Spikes `[T * B, M]` of a layer of `M` neurons fed `x` (`[T * B, K]`, mostly zero) through
/// weights `w` (`[M, K]`) and shift `b` (`[M]`); differentiable in all three (in `x` only when
/// `input_grad`).
pub fn linear_fire(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    steps: usize,
    fire: &FireConfig,
    input_grad: bool,
) -> Result<Tensor> {
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &b.contiguous()?,
        LinearFire {
            steps,
            fire: *fire,
            input_grad,
            currents: Mutex::new(None),
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ops::bias::add_bias;
    use crate::ops::neuron::fire_steps;
    use crate::ops::sparse::sparse_linear;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    /// The fused layer against sparse product, shift op and firing op composed: the same
    /// spikes and the same gradients of input, weights and shift, bit for bit, with and without
    /// the gradient through the mask, and with the kept currents or recomputed ones.
    #[test]
    fn equals_the_composed_ops_bit_for_bit() {
        let (steps, batch, k, m) = (4, 9, 23, 70);
        let n = steps * batch;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let dev = Device::Cpu;
        let x: Vec<f32> = (0..n * k)
            .map(|_| if rng.gen_bool(0.3) { 1.0 } else { 0.0 })
            .collect();
        let w: Vec<f32> = (0..m * k).map(|_| rng.gen_range(-0.2..0.5)).collect();
        let b: Vec<f32> = (0..m).map(|_| rng.gen_range(-0.1..0.1)).collect();
        let weights_out: Vec<f32> = (0..n * m).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let x = Var::from_tensor(&Tensor::from_vec(x, (n, k), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::from_vec(w, (m, k), &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::from_vec(b, m, &dev).unwrap()).unwrap();
        let weights_out = Tensor::from_vec(weights_out, (n, m), &dev).unwrap();
        for mask_grad in [true, false] {
            let fire = FireConfig {
                mask_grad,
                ..FireConfig::default()
            };
            let composed = {
                let y = sparse_linear(x.as_tensor(), w.as_tensor(), true).unwrap();
                let y = add_bias(&y, b.as_tensor()).unwrap();
                fire_steps(&y, steps, &fire).unwrap()
            };
            let fused = linear_fire(
                x.as_tensor(),
                w.as_tensor(),
                b.as_tensor(),
                steps,
                &fire,
                true,
            )
            .unwrap();
            let fired: f32 = composed.sum_all().unwrap().to_scalar().unwrap();
            assert!(
                fired > 0.0 && fired < (n * m) as f32,
                "some neurons fire, some not"
            );
            assert_eq!(bits(&fused), bits(&composed));
            let grads = |s: &Tensor| (s * &weights_out).unwrap().sum_all().unwrap().backward();
            let gc = grads(&composed).unwrap();
            let gf = grads(&fused).unwrap();
            for v in [&x, &w, &b] {
                let (c, f) = (
                    gc.get(v.as_tensor()).unwrap(),
                    gf.get(v.as_tensor()).unwrap(),
                );
                assert_eq!(bits(f), bits(c));
            }
            // Without the kept currents the backward recomputes them: the same gradients.
            let op = LinearFire {
                steps,
                fire,
                input_grad: true,
                currents: Mutex::new(None),
            };
            let g = (Tensor::ones((n, m), candle_core::DType::F32, &dev).unwrap() * &weights_out)
                .unwrap();
            let (gx, gw, gb) = op
                .bwd(x.as_tensor(), w.as_tensor(), b.as_tensor(), &fused, &g)
                .unwrap();
            assert_eq!(bits(&gx.unwrap()), bits(gc.get(x.as_tensor()).unwrap()));
            assert_eq!(bits(&gw.unwrap()), bits(gc.get(w.as_tensor()).unwrap()));
            assert_eq!(bits(&gb.unwrap()), bits(gc.get(b.as_tensor()).unwrap()));
        }
    }

    #[test]
    fn refuses_mismatched_operands() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((8, 5), candle_core::DType::F32, &dev).unwrap();
        let w = Tensor::zeros((3, 4), candle_core::DType::F32, &dev).unwrap();
        let b = Tensor::zeros(3, candle_core::DType::F32, &dev).unwrap();
        let fire = FireConfig::default();
        let err = linear_fire(&x, &w, &b, 4, &fire, false).unwrap_err();
        assert!(
            err.to_string().contains("5 features, weights expect 4"),
            "{err}"
        );
        let w = Tensor::zeros((3, 5), candle_core::DType::F32, &dev).unwrap();
        let err = linear_fire(&x, &w, &b, 3, &fire, false).unwrap_err();
        assert!(
            err.to_string().contains("8 rows do not split into 3"),
            "{err}"
        );
        let b = Tensor::zeros(2, candle_core::DType::F32, &dev).unwrap();
        let err = linear_fire(&x, &w, &b, 4, &fire, false).unwrap_err();
        assert!(err.to_string().contains("3 neurons but a shift"), "{err}");
    }
}
