//! Average pooling as one op with a direct backward pass.
//!
//! Candle's `avg_pool2d` backward goes through an upsampling and several element-wise ops;
//! in the CNN it cost about a quarter of a training step (perf). Here the forward averages
//! each `k x k` window (stride `k`, floor at the edges, as Candle and the model format do)
//! and the backward spreads each output gradient evenly over its window.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::ops::cpu::with_data;
use crate::ops::simd::wide_kernel;

/// Non-overlapping average pooling of `[N, C, H, W]` with a `k x k` window and stride `k`.
#[derive(Clone, Copy, Debug)]
pub struct AvgPool {
    /// Window size and stride.
    pub kernel: usize,
}

impl AvgPool {
    fn out_dims(&self, h: usize, w: usize) -> (usize, usize) {
        (h / self.kernel, w / self.kernel)
    }
}

impl CustomOp1 for AvgPool {
    fn name(&self) -> &'static str {
        "ttfs-avg-pool"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        let k = self.kernel;
        let (ho, wo) = self.out_dims(h, w);
        if ho == 0 || wo == 0 {
            candle_core::bail!("average pooling: window {k} is larger than the {h}x{w} input");
        }
        let src = match (storage, layout.contiguous_offsets()) {
            (CpuStorage::F32(d), Some((a, b))) => &d[a..b],
            _ => candle_core::bail!("average pooling: contiguous f32 input only"),
        };
        let out = pool_forward(src, h, w, k);
        Ok((CpuStorage::F32(out), Shape::from((n, c, ho, wo))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (_, _, h, w) = arg.dims4()?;
        let k = self.kernel;
        // The gradient borrowed, not copied.
        let gx = with_data(grad, "average pooling", "gradient", |g| {
            pool_backward(g, h, w, k)
        })?;
        Ok(Some(Tensor::from_vec(gx, arg.shape(), arg.device())?))
    }
}

/// The average of each `k x k` window of every `h x w` plane of `src`, planes of
/// `(h / k) x (w / k)` out (edge rows and columns no window covers are left out).
pub fn pool_forward(src: &[f32], h: usize, w: usize, k: usize) -> Vec<f32> {
    let (ho, wo) = (h.checked_div(k).unwrap_or(0), w.checked_div(k).unwrap_or(0));
    let scale = 1.0 / (k * k) as f32;
    let planes = src.len().checked_div(h * w).unwrap_or(0);
    let mut out = vec![0f32; planes * ho * wo];
    if ho * wo == 0 {
        return out;
    }
    out.par_chunks_mut(ho * wo)
        .zip(src.par_chunks(h * w))
        .for_each(|(o, plane)| {
            if k == 2 {
                pool_plane_2(plane, o, w, wo);
            } else {
                pool_plane(plane, o, w, wo, k);
            }
            o.iter_mut().for_each(|v| *v *= scale);
        });
    out
}

/// The gradient of [`pool_forward`]: each output gradient `g` (planes of `(h / k) x (w / k)`)
/// spread evenly over its window of an `h x w` plane; uncovered edges get 0.
pub fn pool_backward(g: &[f32], h: usize, w: usize, k: usize) -> Vec<f32> {
    let (ho, wo) = (h.checked_div(k).unwrap_or(0), w.checked_div(k).unwrap_or(0));
    let scale = 1.0 / (k * k) as f32;
    let planes = g.len().checked_div(ho * wo).unwrap_or(0);
    let mut gx = vec![0f32; planes * h * w];
    if ho * wo == 0 {
        return gx;
    }
    gx.par_chunks_mut(h * w)
        .zip(g.par_chunks(ho * wo))
        .for_each(|(plane, g_plane)| {
            if k == 2 {
                unpool_plane_2(plane, g_plane, w, wo, scale);
            } else {
                unpool_plane(plane, g_plane, w, wo, k, scale);
            }
        });
    gx
}

/// The window sums of one plane (`o`: `ho x wo`, zeroed) of an `h x w` plane of width `w`.
/// Each output adds its window's values row by row, left to right: the order of the sums is
/// that of a scan over the input.
fn pool_plane(plane: &[f32], o: &mut [f32], w: usize, wo: usize, k: usize) {
    let ho = o.len() / wo;
    for (y, row) in plane.chunks_exact(w).take(ho * k).enumerate() {
        let o_row = &mut o[(y / k) * wo..(y / k + 1) * wo];
        for (sum, window) in o_row.iter_mut().zip(row.chunks_exact(k)) {
            for v in window {
                *sum += v;
            }
        }
    }
}

wide_kernel! {
    /// [`pool_plane`] for 2 x 2 windows, the CNN's: the same sums in the same order, written
    /// so that they run as vector code.
    fn pool_plane_2(plane: &[f32], o: &mut [f32], w: usize, wo: usize) {
        let ho = o.len() / wo;
        for (y, row) in plane.chunks_exact(w).take(ho * 2).enumerate() {
            let o_row = &mut o[(y / 2) * wo..(y / 2 + 1) * wo];
            for (sum, pair) in o_row.iter_mut().zip(row.chunks_exact(2)) {
                *sum += pair[0];
                *sum += pair[1];
            }
        }
    }
}

/// One plane of [`pool_backward`]: each output gradient times `scale` into its window.
fn unpool_plane(plane: &mut [f32], g_plane: &[f32], w: usize, wo: usize, k: usize, scale: f32) {
    let ho = g_plane.len() / wo;
    for (y, row) in plane.chunks_exact_mut(w).take(ho * k).enumerate() {
        let g_row = &g_plane[(y / k) * wo..(y / k + 1) * wo];
        for (window, g) in row.chunks_exact_mut(k).zip(g_row) {
            window.fill(g * scale);
        }
    }
}

wide_kernel! {
    /// [`unpool_plane`] for 2 x 2 windows, as vector code.
    fn unpool_plane_2(plane: &mut [f32], g_plane: &[f32], w: usize, wo: usize, scale: f32) {
        let ho = g_plane.len() / wo;
        for (y, row) in plane.chunks_exact_mut(w).take(ho * 2).enumerate() {
            let g_row = &g_plane[(y / 2) * wo..(y / 2 + 1) * wo];
            for (pair, g) in row.chunks_exact_mut(2).zip(g_row) {
                let v = g * scale;
                pair[0] = v;
                pair[1] = v;
            }
        }
    }
}

/// Average pooling with window and stride `kernel`; `x` is `[N, C, H, W]`.
pub fn avg_pool(x: &Tensor, kernel: usize) -> Result<Tensor> {
    x.contiguous()?.apply_op1(AvgPool { kernel })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn pooling_and_its_gradient_equal_candles_on_the_covered_part() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (shape, k) in [((2, 3, 6, 6), 2), ((1, 2, 7, 5), 2), ((3, 1, 9, 9), 3)] {
            let count = shape.0 * shape.1 * shape.2 * shape.3;
            let values: Vec<f32> = (0..count).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let x =
                Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap()).unwrap();
            let ours = avg_pool(x.as_tensor(), k).unwrap();
            // Reference: Candle's pooling of the part the windows cover. (Candle's own
            // backward gives uncovered edge rows a gradient when H or W is not a multiple
            // of k; they take no part in the output, so theirs must be zero.)
            let covered = x
                .as_tensor()
                .narrow(2, 0, shape.2 / k * k)
                .unwrap()
                .narrow(3, 0, shape.3 / k * k)
                .unwrap();
            let theirs = covered.avg_pool2d(k).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            let r = ours.rand_like(-1.0, 1.0).unwrap();
            let vec = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-6);
            assert!(close(&vec(&ours), &vec(&theirs)));
            let g1 = (ours * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = (theirs * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let (a, b) = (
                vec(g1.get(x.as_tensor()).unwrap()),
                vec(g2.get(x.as_tensor()).unwrap()),
            );
            assert!(close(&a, &b), "{shape:?} k={k}: {a:?} vs {b:?}");
        }
    }
}
