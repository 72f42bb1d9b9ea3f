//! Adding a layer's per-neuron shift (bias) to its currents, as one op with a direct backward.
//!
//! Candle's `broadcast_add` of a `[C]` bias to `[N, C, H, W]` currents sums the gradient back
//! over the broadcast dimensions with a strided single-threaded reduction: in the CNN that was
//! a fifth of a training step (perf, `trainer/PERF.md`). Here the forward adds `b[c]` to each
//! channel's contiguous run of `H * W` values, and the backward passes the gradient through
//! unchanged to the currents and sums it per channel for the bias, rows in fixed blocks whose
//! partial sums are added in block order, so the result does not depend on the thread count.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::ops::cpu::{f32_slice, with_data};

/// Rows (samples) per block of the bias gradient: fixed, so the summation order is too.
const ROWS_PER_BLOCK: usize = 32;

/// `x + b` for `x` `[N, C, ...]` and `b` `[C]`, `b[c]` added to every value of channel `c`.
#[derive(Clone, Copy, Debug)]
struct AddBias;

/// Channels `C` and values per channel `P` (the product of the dimensions after `C`) of
/// `x`, checked against the bias length.
fn geometry(x: &Shape, b: &Shape) -> Result<(usize, usize)> {
    let dims = x.dims();
    let (c, bias_len) = match (dims.get(1), b.dims()) {
        (Some(&c), [len]) => (c, *len),
        _ => candle_core::bail!(
            "add bias: currents {x:?} need [N, C, ...] and a bias [C], got {b:?}"
        ),
    };
    if c != bias_len {
        candle_core::bail!("add bias: {c} channels but {bias_len} biases");
    }
    Ok((c, dims[2..].iter().product()))
}

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "ttfs-add-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (c, p) = geometry(l1.shape(), l2.shape())?;
        let x = f32_slice(s1, l1, "add bias", "currents")?;
        let b = f32_slice(s2, l2, "add bias", "bias")?;
        let mut y = x.to_vec();
        add_in_place(&mut y, b, c, p);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (c, p) = geometry(x.shape(), b.shape())?;
        let grad = grad.contiguous()?;
        let gb = with_data(&grad, "add bias", "the gradient", |g| channel_sums(g, c, p))?;
        let gb = Tensor::from_vec(gb, b.shape(), b.device())?;
        Ok((Some(grad), Some(gb)))
    }
}

/// Adds `b[c]` to every value of channel `c` of `y` (`[N, C, P]` in memory), in place,
/// samples in parallel.
pub fn add_in_place(y: &mut [f32], b: &[f32], c: usize, p: usize) {
    y.par_chunks_mut((c * p).max(1)).for_each(|row| {
        if p == 1 {
            // A linear layer's row: one value per neuron, added as a vector.
            row.iter_mut().zip(b).for_each(|(v, &bias)| *v += bias);
            return;
        }
        for (run, &bias) in row.chunks_mut(p.max(1)).zip(b) {
            run.iter_mut().for_each(|v| *v += bias);
        }
    });
}

/// The bias gradient: the sum of `g` (`[N, C, P]` in memory) over `N` and `P` for each of
/// the `C` channels, in blocks of rows whose partial sums are added in block order, so the
/// result does not depend on the thread count.
pub fn channel_sums(g: &[f32], c: usize, p: usize) -> Vec<f32> {
    let row = (c * p).max(1);
    let partials: Vec<Vec<f32>> = g
        .par_chunks(row * ROWS_PER_BLOCK)
        .map(|rows| {
            let mut sum = vec![0f32; c];
            for r in rows.chunks(row) {
                if p == 1 {
                    sum.iter_mut().zip(r).for_each(|(s, &g)| *s += g);
                    continue;
                }
                for (s, run) in sum.iter_mut().zip(r.chunks(p.max(1))) {
                    *s += run.iter().sum::<f32>();
                }
            }
            sum
        })
        .collect();
    let mut total = vec![0f32; c];
    for part in &partials {
        for (t, v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    total
}

/// `x + b` with `b[c]` added to every value of channel `c` of `x` `[N, C, ...]` (`[N, C]` for
/// a linear layer); differentiable in both.
pub fn add_bias(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&b.contiguous()?, AddBias)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use candle_core::{Device, Var};

    fn ramp(shape: &[usize], scale: f32) -> Vec<f32> {
        let n: usize = shape.iter().product();
        (0..n)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) * scale)
            .collect()
    }

    /// The op equals Candle's broadcast add, values and both gradients, on a conv-shaped
    /// (`[N, C, H, W]`, more rows than one block) and a linear-shaped (`[N, C]`) input.
    #[test]
    fn matches_candle_broadcast_add_and_its_gradients() {
        let dev = Device::Cpu;
        for shape in [vec![70, 3, 4, 5], vec![9, 6]] {
            let c = shape[1];
            let x = Var::from_tensor(
                &Tensor::from_vec(ramp(&shape, 0.5), shape.as_slice(), &dev).unwrap(),
            )
            .unwrap();
            let b =
                Var::from_tensor(&Tensor::from_vec(ramp(&[c], 0.25), c, &dev).unwrap()).unwrap();
            let weights = Tensor::from_vec(ramp(&shape, 0.125), shape.as_slice(), &dev).unwrap();
            let mut bshape = vec![1usize; shape.len()];
            bshape[1] = c;
            let reference = x
                .as_tensor()
                .broadcast_add(&b.as_tensor().reshape(bshape).unwrap())
                .unwrap();
            let ours = add_bias(x.as_tensor(), b.as_tensor()).unwrap();
            assert_eq!(
                ours.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                reference.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            );
            let g_ref = (reference * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g_ours = (ours * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gx = |g: &candle_core::backprop::GradStore| {
                g.get(x.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            };
            assert_eq!(gx(&g_ours), gx(&g_ref), "{shape:?}");
            let gb_ref = g_ref.get(b.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
            let gb_ours = g_ours.get(b.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
            for (a, r) in gb_ours.iter().zip(&gb_ref) {
                assert!(
                    (a - r).abs() <= 1e-4 * r.abs().max(1.0),
                    "{shape:?}: {a} against {r}"
                );
            }
        }
    }

    #[test]
    fn a_bias_of_the_wrong_length_is_an_error() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3, 4), candle_core::DType::F32, &dev).unwrap();
        let b = Tensor::zeros(4, candle_core::DType::F32, &dev).unwrap();
        let err = add_bias(&x, &b).unwrap_err().to_string();
        assert!(err.contains("3 channels but 4 biases"), "{err}");
    }
}
