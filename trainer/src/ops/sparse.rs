//! A linear layer that skips zero inputs: the product of spikes with a weight matrix.
//!
//! Inputs of spiking layers are mostly zero: a latency-coded pixel spikes at one of `T`
//! steps, a neuron at most once. Time-parallel training feeds `[T * B, n_in]` such rows to
//! each linear layer, so a dense product spends almost all of its work on zeros. This op
//! computes `y = x W^T` by adding, for every non-zero `x[r, k]`, the row `x[r, k] * W^T[k]`
//! to `y[r]`, and the weight gradient the same way from the column lists of `x`. It takes the
//! weights transposed, `W^T` (`[K, M]`), the layout both passes walk, so that nothing is
//! transposed per step (the weight normalisation writes `W^T` directly). Both are
//! exact (each output sums its terms in a fixed order, independent of the thread count); the
//! gradient with respect to `x`, needed below the first layer, is a dense product.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use crate::ops::cpu::{f32_slice, with_data};
use crate::ops::simd::wide_kernel;
use rayon::prelude::*;

/// `y = x W^T` for sparse `x` (`[N, K]`) and dense `W`, given as `W^T` (`[K, M]`).
#[derive(Clone, Copy, Debug)]
pub struct SparseLinear {
    /// Whether `x` needs a gradient (false for the network's input).
    pub input_grad: bool,
}

/// Rows per parallel task, so small products stay on one thread.
const ROWS_PER_TASK: usize = 64;

/// `y[N, M] = x[N, K] * wt[K, M]`, skipping zeros of `x`.
pub fn sparse_forward(x: &[f32], wt: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut y = vec![0f32; n * m];
    y.par_chunks_mut(m * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(chunk, out)| {
            let first = chunk * ROWS_PER_TASK;
            forward_rows(&x[first * k..], wt, out, k, m);
        });
    y
}

/// Output columns summed in registers at a time by [`forward_rows`]: eight AVX2 vectors.
const SEGMENT: usize = 64;

wide_kernel! {
    /// The rows `out` (`[rows, M]`) of `y = x W^T` from the rows of `x` starting at its first.
    /// Each row's outputs are summed [`SEGMENT`] at a time in registers over the row's
    /// non-zeros, then stored once; each output still adds its terms in `k` order, from 0.
    fn forward_rows(x: &[f32], wt: &[f32], out: &mut [f32], k: usize, m: usize) {
        let mut nonzeros: Vec<(usize, f32)> = Vec::with_capacity(k);
        for (y_row, x_row) in out.chunks_mut(m).zip(x.chunks(k)) {
            nonzeros.clear();
            nonzeros.extend(x_row.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(i, v)| (i, *v)));
            let mut segments = y_row.chunks_exact_mut(SEGMENT);
            for (s, y_seg) in segments.by_ref().enumerate() {
                let m0 = s * SEGMENT;
                let mut acc = [0f32; SEGMENT];
                for &(kk, v) in &nonzeros {
                    let w_seg = &wt[kk * m + m0..kk * m + m0 + SEGMENT];
                    for (a, wv) in acc.iter_mut().zip(w_seg) {
                        *a += v * wv;
                    }
                }
                y_seg.copy_from_slice(&acc);
            }
            let tail = segments.into_remainder();
            let m0 = m - tail.len();
            for &(kk, v) in &nonzeros {
                let w_seg = &wt[kk * m + m0..(kk + 1) * m];
                for (o, wv) in tail.iter_mut().zip(w_seg) {
                    *o += v * wv;
                }
            }
        }
    }
}

/// Inputs (rows of `dW^T`) per parallel task of [`sparse_weight_grad`]: a task's block of
/// `dW^T` (`8 x M`) stays in cache while it walks the rows of `x`.
const INPUTS_PER_TASK: usize = 8;

/// `dW^T[K, M] = x[N, K]^T * g[N, M]`, visiting only non-zeros of `x`: the weight gradient in
/// the layout of the op's weight operand.
///
/// Each task owns a band of inputs `k` and adds `x[r, k] * g[r]` to row `k` of `dW^T` for the
/// rows `r` in ascending order, so every value sums its terms in one fixed order whatever the
/// thread count.
pub fn sparse_weight_grad(x: &[f32], g: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut gwt = vec![0f32; k * m];
    if m > 0 {
        gwt.par_chunks_mut(m * INPUTS_PER_TASK)
            .enumerate()
            .for_each(|(task, block)| {
                weight_grad_band(
                    &x[..n * k],
                    &g[..n * m],
                    block,
                    task * INPUTS_PER_TASK,
                    k,
                    m,
                );
            });
    }
    gwt
}

wide_kernel! {
    /// The rows `k0..` of `dW^T` in `block`: `x[r, k] * g[r]` added for every row `r` in order.
    fn weight_grad_band(x: &[f32], g: &[f32], block: &mut [f32], k0: usize, k: usize, m: usize) {
        let width = block.len() / m;
        for (x_row, g_row) in x.chunks(k).zip(g.chunks(m)) {
            let inputs = &x_row[k0..k0 + width];
            for (j, &v) in inputs.iter().enumerate() {
                if v != 0.0 {
                    let row = &mut block[j * m..(j + 1) * m];
                    for (o, gv) in row.iter_mut().zip(g_row) {
                        *o += v * gv;
                    }
                }
            }
        }
    }
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
        let (k2, m) = l2.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("sparse linear: input has {k} features, weights expect {k2}");
        }
        let x = f32_slice(s1, l1, "sparse linear", "input")?;
        let wt = f32_slice(s2, l2, "sparse linear", "weight")?;
        let y = sparse_forward(x, wt, n, k, m);
        Ok((CpuStorage::F32(y), Shape::from((n, m))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        wt: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, k) = x.dims2()?;
        let m = wt.dim(1)?;
        let gwt = with_data(x, "sparse linear", "input", |xv| {
            with_data(grad, "sparse linear", "output gradient", |gv| {
                sparse_weight_grad(xv, gv, n, k, m)
            })
        })??;
        let gw = Tensor::from_vec(gwt, (k, m), wt.device())?;
        let gx = if self.input_grad {
            Some(grad.matmul(&wt.detach().t()?)?)
        } else {
            None
        };
        Ok((gx, Some(gw)))
    }
}

/// `x W^T` with the sparse product; `x`: `[N, K]`, `wt`: `W^T`, `[K, M]`.
pub fn sparse_linear(x: &Tensor, wt: &Tensor, input_grad: bool) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&wt.contiguous()?, SparseLinear { input_grad })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `len` values, each non-zero (uniform in -1..1) with probability `density`.
    fn sparse_values(len: usize, density: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len)
            .map(|_| {
                if rng.gen_bool(density) {
                    rng.gen_range(-1.0..1.0)
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The banded weight gradient against a plain loop that sums in the same order (rows
    /// ascending), bit for bit, on a shape that leaves a partial band.
    #[test]
    fn weight_gradient_over_bands_equals_the_plain_loop_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (n, k, m) = (45, 37, 41);
        let x = sparse_values(n * k, 0.3, &mut rng);
        let g: Vec<f32> = (0..n * m).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut plain = vec![0f32; k * m];
        for mm in 0..m {
            for kk in 0..k {
                for r in 0..n {
                    let v = x[r * k + kk];
                    if v != 0.0 {
                        plain[kk * m + mm] += v * g[r * m + mm];
                    }
                }
            }
        }
        let banded = sparse_weight_grad(&x, &g, n, k, m);
        assert_eq!(banded, plain);
    }

    /// The forward over register segments against a plain loop that adds each output's terms
    /// in `k` order, bit for bit, with full segments and a partial one.
    #[test]
    fn forward_over_segments_equals_the_plain_loop_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (n, k, m) = (70, 31, 2 * SEGMENT + 22);
        let x = sparse_values(n * k, 0.3, &mut rng);
        let wt: Vec<f32> = (0..k * m).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut plain = vec![0f32; n * m];
        for r in 0..n {
            for kk in 0..k {
                let v = x[r * k + kk];
                if v != 0.0 {
                    for mm in 0..m {
                        plain[r * m + mm] += v * wt[kk * m + mm];
                    }
                }
            }
        }
        assert_eq!(sparse_forward(&x, &wt, n, k, m), plain);
    }

    #[test]
    fn sparse_product_and_gradients_equal_the_dense_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, k, m) = (70, 13, 9);
        let x = sparse_values(n * k, 0.2, &mut rng);
        let w: Vec<f32> = (0..m * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let dev = Device::Cpu;
        let xs = Var::from_tensor(&Tensor::from_vec(x, (n, k), &dev).unwrap()).unwrap();
        let ws = Var::from_tensor(&Tensor::from_vec(w, (k, m), &dev).unwrap()).unwrap();
        let weights_out = Tensor::from_vec(
            (0..n * m).map(|i| (i % 7) as f32 - 3.0).collect::<Vec<_>>(),
            (n, m),
            &dev,
        )
        .unwrap();
        let sparse = sparse_linear(xs.as_tensor(), ws.as_tensor(), true).unwrap();
        let dense = xs.as_tensor().matmul(ws.as_tensor()).unwrap();
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
