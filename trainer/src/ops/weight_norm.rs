//! Weight normalisation with the learnable scale, fused into one op (ARCHITECTURE.md,
//! "Effective weights").
//!
//! For every output unit `o` with raw fan-in `w_o` (`n` values):
//! ```text
//! w_hat_o = (w_o - mean(w_o)) / sqrt(var(w_o) + eps)     var: population variance
//! W_eff_o = sqrt(g / n) * gamma_o * w_hat_o
//! ```
//! Written with Candle's element-wise ops this is a dozen passes over the weight matrix
//! forward and more backward, each allocating a full copy; fused, it is two passes each way.
//! The backward pass is the usual normalisation gradient: with `a = sqrt(g / n) * gamma_o`
//! and `d = dL/dW_eff_o`,
//! ```text
//! dL/dgamma_o = sqrt(g / n) * sum_k d_k w_hat_k
//! dL/dw_k     = a / sigma * (d_k - mean(d) - w_hat_k * mean(d * w_hat))
//! ```
//! The tests compare both with Candle's automatic differentiation of the unfused formula.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use crate::ops::cpu::{f32_slice, with_data};
use crate::ops::simd::wide_kernel;
use rayon::prelude::*;

/// The fused op: `(w [M, n], gamma [M]) -> W_eff [M, n]`.
#[derive(Clone, Copy, Debug)]
pub struct WeightNormOp {
    /// Gain `g` (the init gain).
    pub gain: f32,
    /// Variance guard.
    pub eps: f32,
    /// Whether the output is the transpose `W_eff^T` (`[n, M]`), the layout the sparse
    /// product reads, written straight from `w` instead of transposed after.
    pub transposed: bool,
}

/// Output rows (fan-in values) per task of the transposed forward, and weight rows per task of
/// the transposed backward: 16 floats, one cache line of each row read across.
const BAND: usize = 16;

/// Partial sums of [`lane_sum`]: enough independent chains for the loop to vectorise.
const SUM_LANES: usize = 8;

/// The sum of `term(a[k], b[k])` in f64, as [`SUM_LANES`] interleaved partial sums added at
/// the end: a fixed order (the same result on every run), without one long chain of
/// dependent additions.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f64) -> f64 {
    let mut acc = [0f64; SUM_LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(SUM_LANES), b.chunks_exact(SUM_LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for l in 0..SUM_LANES {
            acc[l] += term(ca[l], cb[l]);
        }
    }
    let mut total = acc.iter().sum::<f64>();
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        total += term(x, y);
    }
    total
}

/// Mean and `1 / sqrt(var + eps)` of one row, in f64 for stability.
#[inline(always)]
fn row_stats_inline(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f64;
    let mean = lane_sum(row, row, |v, _| f64::from(v)) / n;
    let var = lane_sum(row, row, |v, _| (f64::from(v) - mean).powi(2)) / n;
    (mean as f32, (1.0 / (var + eps as f64).sqrt()) as f32)
}

wide_kernel! {
    /// [`row_stats_inline`], with AVX2 where the CPU has it.
    fn row_stats(row: &[f32], eps: f32) -> (f32, f32) {
        row_stats_inline(row, eps)
    }
}

/// Weight rows per group of [`transposed_band`]: one vector of eight lanes per output row.
const GROUP: usize = 8;

wide_kernel! {
    /// Rows `k0..` of `W_eff^T` into `o` (`[width, m]`) from the raw weights `w` (`[m, n]`)
    /// and every row's `(scale, mean)`: `o[j][r] = scale_r * (w[r][k0 + j] - mean_r)`, eight
    /// rows `r` at a time so that each output row is written eight values at once.
    fn transposed_band(w: &[f32], n: usize, k0: usize, scales: &[(f32, f32)], o: &mut [f32]) {
        let m = scales.len();
        let width = o.len() / m;
        let full = m - m % GROUP;
        for r0 in (0..full).step_by(GROUP) {
            let a: [f32; GROUP] = std::array::from_fn(|i| scales[r0 + i].0);
            let mean: [f32; GROUP] = std::array::from_fn(|i| scales[r0 + i].1);
            let rows: [&[f32]; GROUP] =
                std::array::from_fn(|i| &w[(r0 + i) * n + k0..(r0 + i) * n + k0 + width]);
            for (j, out_row) in o.chunks_exact_mut(m).enumerate() {
                let dst = &mut out_row[r0..r0 + GROUP];
                for i in 0..GROUP {
                    dst[i] = a[i] * (rows[i][j] - mean[i]);
                }
            }
        }
        for (r, &(a, mean)) in scales.iter().enumerate().skip(full) {
            let row = &w[r * n + k0..r * n + k0 + width];
            for (j, &v) in row.iter().enumerate() {
                o[j * m + r] = a * (v - mean);
            }
        }
    }
}

wide_kernel! {
    /// The gradients of one row `w_o` (into `gw_row`) and of `gamma_o` (returned) given
    /// `d = dL/dW_eff_o`; `base` is `sqrt(g / n)`.
    fn backward_row(row: &[f32], gamma_o: f32, d_row: &[f32], gw_row: &mut [f32], base: f32, eps: f32) -> f32 {
        let n = row.len();
        let (mean, inv_std) = row_stats_inline(row, eps);
        let sum_d = lane_sum(d_row, d_row, |dv, _| f64::from(dv));
        let sum_dw = lane_sum(row, d_row, |v, dv| f64::from(dv * ((v - mean) * inv_std)));
        let a = base * gamma_o * inv_std;
        let (mean_d, mean_dw) = ((sum_d / n as f64) as f32, (sum_dw / n as f64) as f32);
        for ((dst, &v), &dv) in gw_row.iter_mut().zip(row).zip(d_row) {
            let w_hat = (v - mean) * inv_std;
            *dst = a * (dv - mean_d - w_hat * mean_dw);
        }
        base * sum_dw as f32
    }
}

impl WeightNormOp {
    /// `sqrt(g / n) * gamma_o * inv_std_o` and the mean of every row of `w` (`[m, n]`).
    fn row_scales(&self, w: &[f32], gamma: &[f32], n: usize) -> Vec<(f32, f32)> {
        let base = (self.gain / n as f32).sqrt();
        w.par_chunks(n)
            .zip(gamma.par_iter())
            .map(|(row, &g)| {
                let (mean, inv_std) = row_stats(row, self.eps);
                (base * g * inv_std, mean)
            })
            .collect()
    }

    /// Forward on plain slices: `w` is `[m, n]`, `gamma` is `[m]`.
    pub fn forward(&self, w: &[f32], gamma: &[f32], n: usize) -> Vec<f32> {
        let scales = self.row_scales(w, gamma, n);
        let mut out = vec![0f32; w.len()];
        out.par_chunks_mut(n)
            .zip(w.par_chunks(n))
            .zip(scales.par_iter())
            .for_each(|((o, row), &(a, mean))| {
                for (dst, &v) in o.iter_mut().zip(row) {
                    *dst = a * (v - mean);
                }
            });
        out
    }

    /// [`WeightNormOp::forward`] written transposed: `W_eff^T` (`[n, m]`), the same values.
    /// Each task writes a band of output rows, reading one cache line of every weight row.
    pub fn forward_transposed(&self, w: &[f32], gamma: &[f32], n: usize) -> Vec<f32> {
        let m = gamma.len();
        let scales = self.row_scales(w, gamma, n);
        let mut out = vec![0f32; w.len()];
        if m == 0 {
            return out;
        }
        out.par_chunks_mut(m * BAND)
            .enumerate()
            .for_each(|(band, o)| transposed_band(w, n, band * BAND, &scales, o));
        out
    }

    /// Backward on plain slices: gradients of `w` and `gamma` given `d = dL/dW_eff`.
    pub fn backward(&self, w: &[f32], gamma: &[f32], d: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        let base = (self.gain / n as f32).sqrt();
        let mut gw = vec![0f32; w.len()];
        let mut gg = vec![0f32; gamma.len()];
        gw.par_chunks_mut(n)
            .zip(gg.par_iter_mut())
            .enumerate()
            .for_each(|(o, (gw_row, gg_o))| {
                let row = &w[o * n..(o + 1) * n];
                let d_row = &d[o * n..(o + 1) * n];
                *gg_o = backward_row(row, gamma[o], d_row, gw_row, base, self.eps);
            });
        (gw, gg)
    }

    /// [`WeightNormOp::backward`] given the transposed gradient `d^T` (`[n, m]`): the same
    /// values. Each task gathers its band of gradient rows into a small buffer that stays in
    /// cache, then runs the row code of the untransposed backward on it.
    pub fn backward_transposed(
        &self,
        w: &[f32],
        gamma: &[f32],
        dt: &[f32],
        n: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let m = gamma.len();
        let base = (self.gain / n as f32).sqrt();
        let mut gw = vec![0f32; w.len()];
        let mut gg = vec![0f32; m];
        if n == 0 {
            return (gw, gg);
        }
        gw.par_chunks_mut(n * BAND)
            .zip(gg.par_chunks_mut(BAND))
            .enumerate()
            .for_each(|(band, (gw_band, gg_band))| {
                let m0 = band * BAND;
                let rows = gg_band.len();
                let mut d = vec![0f32; rows * n];
                for (k, dt_row) in dt.chunks_exact(m).enumerate() {
                    for (r, &v) in dt_row[m0..m0 + rows].iter().enumerate() {
                        d[r * n + k] = v;
                    }
                }
                for (r, ((gw_row, gg_o), d_row)) in gw_band
                    .chunks_mut(n)
                    .zip(gg_band.iter_mut())
                    .zip(d.chunks(n))
                    .enumerate()
                {
                    let o = m0 + r;
                    let row = &w[o * n..(o + 1) * n];
                    *gg_o = backward_row(row, gamma[o], d_row, gw_row, base, self.eps);
                }
            });
        (gw, gg)
    }
}

impl CustomOp2 for WeightNormOp {
    fn name(&self) -> &'static str {
        "ttfs-weight-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, n) = l1.shape().dims2()?;
        if l2.shape().dims() != [m] {
            candle_core::bail!("weight norm: gamma must have {m} values");
        }
        let (w, gamma) = (
            f32_slice(s1, l1, "weight norm", "weight")?,
            f32_slice(s2, l2, "weight norm", "gamma")?,
        );
        Ok(if self.transposed {
            let out = self.forward_transposed(w, gamma, n);
            (CpuStorage::F32(out), Shape::from((n, m)))
        } else {
            (
                CpuStorage::F32(self.forward(w, gamma, n)),
                Shape::from((m, n)),
            )
        })
    }

    fn bwd(
        &self,
        w: &Tensor,
        gamma: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let n = w.dim(1)?;
        let (gw, gg) = with_data(w, "weight norm", "weight", |wv| {
            with_data(gamma, "weight norm", "gamma", |gv| {
                with_data(grad, "weight norm", "gradient", |dv| {
                    if self.transposed {
                        self.backward_transposed(wv, gv, dv, n)
                    } else {
                        self.backward(wv, gv, dv, n)
                    }
                })
            })
        })???;
        Ok((
            Some(Tensor::from_vec(gw, w.shape(), w.device())?),
            Some(Tensor::from_vec(gg, gamma.shape(), gamma.device())?),
        ))
    }
}

/// `sqrt(g / n) * gamma_o * standardise(w_o)` for `w` of shape `[M, n]` and `gamma` `[M]`.
pub fn weight_norm(w: &Tensor, gamma: &Tensor, gain: f32, eps: f32) -> Result<Tensor> {
    apply(w, gamma, gain, eps, false)
}

/// The transpose (`[n, M]`) of [`weight_norm`], computed in that layout: the operand the
/// sparse product takes.
pub fn weight_norm_transposed(w: &Tensor, gamma: &Tensor, gain: f32, eps: f32) -> Result<Tensor> {
    apply(w, gamma, gain, eps, true)
}

fn apply(w: &Tensor, gamma: &Tensor, gain: f32, eps: f32, transposed: bool) -> Result<Tensor> {
    let op = WeightNormOp {
        gain,
        eps,
        transposed,
    };
    w.contiguous()?.apply_op2(&gamma.contiguous()?, op)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn unfused(w: &Tensor, gamma: &Tensor, gain: f32, eps: f32) -> Tensor {
        let n = w.dim(1).unwrap();
        let c = w.broadcast_sub(&w.mean_keepdim(1).unwrap()).unwrap();
        let var = c.sqr().unwrap().mean_keepdim(1).unwrap();
        let w_hat = c
            .broadcast_div(&(var + eps as f64).unwrap().sqrt().unwrap())
            .unwrap();
        (w_hat.broadcast_mul(&gamma.unsqueeze(1).unwrap()).unwrap()
            * (gain as f64 / n as f64).sqrt())
        .unwrap()
    }

    /// Random raw weights `[m, n]` and gammas `[m]` to differentiate, and an upstream
    /// gradient `[m, n]`.
    fn operands(seed: u64, m: usize, n: usize) -> (Var, Var, Tensor) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dev = Device::Cpu;
        let w: Vec<f32> = (0..m * n).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let g: Vec<f32> = (0..m).map(|_| rng.gen_range(0.5..1.5)).collect();
        let up: Vec<f32> = (0..m * n).map(|_| rng.gen_range(-1.0..1.0)).collect();
        (
            Var::from_tensor(&Tensor::from_vec(w, (m, n), &dev).unwrap()).unwrap(),
            Var::from_tensor(&Tensor::from_vec(g, m, &dev).unwrap()).unwrap(),
            Tensor::from_vec(up, (m, n), &dev).unwrap(),
        )
    }

    #[test]
    fn fused_forward_and_gradients_equal_autodiff_of_the_formula() {
        let (w, g, up) = operands(5, 6, 11);
        let fused = weight_norm(w.as_tensor(), g.as_tensor(), 8.0, 1e-5).unwrap();
        let reference = unfused(w.as_tensor(), g.as_tensor(), 8.0, 1e-5);
        let vec = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-4);
        assert!(close(&vec(&fused), &vec(&reference)));
        let gf = (fused * &up)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gr = (reference * &up)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for v in [&w, &g] {
            let a = vec(gf.get(v.as_tensor()).unwrap());
            let b = vec(gr.get(v.as_tensor()).unwrap());
            assert!(close(&a, &b), "{a:?} vs {b:?}");
        }
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The transposed op against the transpose of the plain one: the same values and the same
    /// gradients, bit for bit, on shapes that leave a partial band both ways.
    #[test]
    fn transposed_op_equals_the_transpose_of_the_plain_one_bit_for_bit() {
        let (m, n) = (37, 21);
        let (w, g, up) = operands(9, m, n);
        let plain = weight_norm(w.as_tensor(), g.as_tensor(), 2.0, 1e-5).unwrap();
        let transposed = weight_norm_transposed(w.as_tensor(), g.as_tensor(), 2.0, 1e-5).unwrap();
        assert_eq!(transposed.dims(), [n, m]);
        assert_eq!(bits(&transposed.t().unwrap()), bits(&plain));
        let gp = (plain * &up)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let up_t = up.t().unwrap().contiguous().unwrap();
        let gt = (transposed * &up_t)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for v in [&w, &g] {
            assert_eq!(
                bits(gt.get(v.as_tensor()).unwrap()),
                bits(gp.get(v.as_tensor()).unwrap())
            );
        }
    }
}
