//! A linear layer that skips zero inputs: the product of spikes with a weight matrix.
//!
//! Inputs of spiking layers are mostly zero: a latency-coded pixel spikes at one of `T`
//! steps, a neuron at most once. Time-parallel training feeds `[T * B, n_in]` such rows to
//! each linear layer, so a dense product spends almost all of its work on zeros. This op
//! computes `y = x W^T` by adding, for every non-zero `x[r, k]`, the row `x[r, k] * W^T[k]`
//! to `y[r]`, and the weight gradient the same way from the column lists of `x`. Both are
//! exact (each output sums its terms in a fixed order, independent of the thread count); the
//! gradient with respect to `x`, needed below the first layer, is a dense product.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use crate::cpu::f32_slice;
use rayon::prelude::*;

/// `y = x W^T` for sparse `x` (`[N, K]`) and dense `W` (`[M, K]`).
#[derive(Clone, Copy, Debug)]
pub struct SparseLinear {
    /// Whether `x` needs a gradient (false for the network's input).
    pub input_grad: bool,
}

fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut dst = vec![0f32; src.len()];
    for r in 0..rows {
        for c in 0..cols {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
    dst
}

/// Rows per parallel task, so small products stay on one thread.
const ROWS_PER_TASK: usize = 64;

/// `y[N, M] = x[N, K] * w[M, K]^T`, skipping zeros of `x`.
pub fn sparse_forward(x: &[f32], w: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let wt = transpose(w, m, k);
    let mut y = vec![0f32; n * m];
    y.par_chunks_mut(m * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(chunk, out)| {
            for (i, y_row) in out.chunks_mut(m).enumerate() {
                let r = chunk * ROWS_PER_TASK + i;
                for (kk, &v) in x[r * k..(r + 1) * k].iter().enumerate() {
                    if v != 0.0 {
                        let w_row = &wt[kk * m..(kk + 1) * m];
                        for (o, wv) in y_row.iter_mut().zip(w_row) {
                            *o += v * wv;
                        }
                    }
                }
            }
        });
    y
}

/// `dW[M, K] = g[N, M]^T * x[N, K]`, visiting only non-zeros of `x`.
pub fn sparse_weight_grad(x: &[f32], g: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    // Column lists of x: for every input k, the rows r (ascending) where x[r, k] != 0.
    let mut counts = vec![0usize; k + 1];
    for r in 0..n {
        for (kk, &v) in x[r * k..(r + 1) * k].iter().enumerate() {
            if v != 0.0 {
                counts[kk + 1] += 1;
            }
        }
    }
    for kk in 0..k {
        counts[kk + 1] += counts[kk];
    }
    let mut fill = counts.clone();
    let mut entries = vec![(0u32, 0f32); counts[k]];
    for r in 0..n {
        for (kk, &v) in x[r * k..(r + 1) * k].iter().enumerate() {
            if v != 0.0 {
                entries[fill[kk]] = (r as u32, v);
                fill[kk] += 1;
            }
        }
    }
    let mut gwt = vec![0f32; k * m];
    gwt.par_chunks_mut(m).enumerate().for_each(|(kk, row)| {
        for &(r, v) in &entries[counts[kk]..counts[kk + 1]] {
            let g_row = &g[r as usize * m..(r as usize + 1) * m];
            for (o, gv) in row.iter_mut().zip(g_row) {
                *o += v * gv;
            }
        }
    });
    transpose(&gwt, k, m)
}

impl CustomOp2 for SparseLinear {
    fn name(&self) -> &'static str {
        "ttfs-sparse-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, k) = l1.shape().dims2()?;
        let (m, k2) = l2.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("sparse linear: input has {k} features, weights expect {k2}");
        }
        let x = f32_slice(s1, l1, "sparse linear", "input")?;
        let w = f32_slice(s2, l2, "sparse linear", "weight")?;
        let y = sparse_forward(x, w, n, k, m);
        Ok((CpuStorage::F32(y), Shape::from((n, m))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, k) = x.dims2()?;
        let m = w.dim(0)?;
        let xv = x.flatten_all()?.to_vec1::<f32>()?;
        let gv = grad.flatten_all()?.to_vec1::<f32>()?;
        let gw = sparse_weight_grad(&xv, &gv, n, k, m);
        let gw = Tensor::from_vec(gw, (m, k), w.device())?;
        let gx = if self.input_grad {
            Some(grad.matmul(&w.detach())?)
        } else {
            None
        };
        Ok((gx, Some(gw)))
    }
}

/// `x W^T` with the sparse product; `x`: `[N, K]`, `w`: `[M, K]`.
pub fn sparse_linear(x: &Tensor, w: &Tensor, input_grad: bool) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&w.contiguous()?, SparseLinear { input_grad })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn sparse_product_and_gradients_equal_the_dense_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, k, m) = (70, 13, 9);
        let x: Vec<f32> = (0..n * k)
            .map(|_| {
                if rng.gen_bool(0.2) {
                    rng.gen_range(-1.0..1.0)
                } else {
                    0.0
                }
            })
            .collect();
        let w: Vec<f32> = (0..m * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let dev = Device::Cpu;
        let xs = Var::from_tensor(&Tensor::from_vec(x, (n, k), &dev).unwrap()).unwrap();
        let ws = Var::from_tensor(&Tensor::from_vec(w, (m, k), &dev).unwrap()).unwrap();
        let weights_out = Tensor::from_vec(
            (0..n * m).map(|i| (i % 7) as f32 - 3.0).collect::<Vec<_>>(),
            (n, m),
            &dev,
        )
        .unwrap();
        let sparse = sparse_linear(xs.as_tensor(), ws.as_tensor(), true).unwrap();
        let dense = xs.as_tensor().matmul(&ws.as_tensor().t().unwrap()).unwrap();
        let close = |a: &Tensor, b: &Tensor| {
            let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5)
        };
        assert!(close(&sparse, &dense));
        let gs = (sparse * &weights_out)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gd = (dense * &weights_out)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for v in [&xs, &ws] {
            assert!(close(
                gs.get(v.as_tensor()).unwrap(),
                gd.get(v.as_tensor()).unwrap()
            ));
        }
    }
}
