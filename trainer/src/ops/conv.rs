//! A 2-D convolution that skips zero inputs: the convolution of spike maps.
//!
//! Convolutional layers of a spiking network see spikes (or average-pooled spikes), mostly
//! zeros. Candle's CPU convolution is dense and its input gradient (a transposed
//! convolution) is slow. Here the forward scatters every non-zero input `x[n, c, iy, ix]`
//! into the outputs it reaches, `y[n, :, oy, ox] += x * w[:, c, dy, dx]`, and the weight
//! gradient gathers from the same non-zeros, so neither materialises im2col columns (`kh * kw`
//! times the input). The input gradient, needed below the first layer, is dense: per sample a
//! matrix product `W^T g` (the gradient's im2col columns) folded back onto the input (col2im),
//! a few samples at a time. Every output sums its terms in a fixed order, independent of the
//! thread count.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use crate::ops::cpu::{f32_slice, with_data};
use crate::ops::simd::wide_kernel;
use rayon::prelude::*;

/// Sizes of one convolution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    padding: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    /// The geometry of `x` `[N, C, H, W]` convolved with `w` `[O, C, kh, kw]`, or why they do
    /// not fit.
    pub(crate) fn new(x: &Shape, w: &Shape, stride: usize, padding: usize) -> Result<Self> {
        let (_, c, h, wi) = x.dims4()?;
        let (_, c2, kh, kw) = w.dims4()?;
        if c != c2 || stride == 0 || h + 2 * padding < kh || wi + 2 * padding < kw {
            candle_core::bail!("sparse conv2d: input {x:?} and kernel {w:?} do not fit");
        }
        Ok(Self {
            c,
            h,
            w: wi,
            kh,
            kw,
            stride,
            padding,
            ho: (h + 2 * padding - kh) / stride + 1,
            wo: (wi + 2 * padding - kw) / stride + 1,
        })
    }

    /// Input size per sample.
    pub(crate) fn input(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Kernel size per output channel (`C * kh * kw`), the width of an im2col row.
    pub(crate) fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Output height and width.
    pub(crate) fn output(&self) -> (usize, usize) {
        (self.ho, self.wo)
    }

    /// Output positions per sample.
    pub(crate) fn positions(&self) -> usize {
        self.ho * self.wo
    }

    #[inline(always)]
    /// The input coordinate that kernel offset `d` of output coordinate `o` reads, if inside.
    fn input_at(&self, o: usize, d: usize, size: usize) -> Option<usize> {
        (o * self.stride + d)
            .checked_sub(self.padding)
            .filter(|&i| i < size)
    }

    #[inline(always)]
    /// The output coordinate that reads input coordinate `i` at kernel offset `d`, if any.
    fn output_at(&self, i: usize, d: usize, size: usize) -> Option<usize> {
        (i + self.padding)
            .checked_sub(d)
            .filter(|t| t % self.stride == 0)
            .map(|t| t / self.stride)
            .filter(|&o| o < size)
    }

    /// col2im of one sample: adds `cols` `[C * kh * kw, Ho * Wo]` (the im2col columns of
    /// the sample, transposed) into `x` `[C, H, W]`.
    fn fold(&self, cols: &[f32], x: &mut [f32]) {
        let p = self.positions();
        for c in 0..self.c {
            for dy in 0..self.kh {
                for dx in 0..self.kw {
                    let j = (c * self.kh + dy) * self.kw + dx;
                    let lo = (self.padding.saturating_sub(dx)).div_ceil(self.stride);
                    let hi = ((self.w + self.padding).saturating_sub(dx))
                        .div_ceil(self.stride)
                        .min(self.wo);
                    for oy in 0..self.ho {
                        let Some(iy) = self.input_at(oy, dy, self.h) else {
                            continue;
                        };
                        let row = &cols[j * p + oy * self.wo..][..self.wo];
                        let xr = &mut x[(c * self.h + iy) * self.w..][..self.w];
                        for ox in lo..hi {
                            xr[ox * self.stride + dx - self.padding] += row[ox];
                        }
                    }
                }
            }
        }
    }

    /// For each input coordinate `i` along an axis of `size` inputs and `out` outputs, the
    /// kernel offsets `d` and output coordinates `o` that read it (`o * stride + d = i +
    /// padding`), as runs: `(starts, pairs)` with input `i`'s pairs at
    /// `pairs[starts[i]..starts[i + 1]]`, in ascending `d`.
    fn readers(&self, size: usize, out: usize, k: usize) -> (Vec<usize>, Vec<(usize, usize)>) {
        let mut starts = Vec::with_capacity(size + 1);
        let mut pairs = Vec::with_capacity(size * k);
        for i in 0..size {
            starts.push(pairs.len());
            pairs.extend((0..k).filter_map(|d| self.output_at(i, d, out).map(|o| (d, o))));
        }
        starts.push(pairs.len());
        (starts, pairs)
    }

    /// Calls `f(v, j, p)` for every non-zero `v = x[c, iy, ix]` of one sample and every output
    /// position `p = oy * Wo + ox` it reaches through kernel entry `j = (c, dy, dx)`, in the
    /// order `c, iy, ix, dy, dx`. `rows` and `cols` are [`Geometry::readers`] of the height
    /// and the width, computed once per op (no division per value).
    #[inline(always)]
    fn for_each_nonzero(
        &self,
        x: &[f32],
        rows: &Readers,
        cols: &Readers,
        mut f: impl FnMut(f32, usize, usize),
    ) {
        for (c, plane) in x.chunks_exact(self.h * self.w).enumerate() {
            for (iy, row) in plane.chunks_exact(self.w).enumerate() {
                let row_readers = &rows.1[rows.0[iy]..rows.0[iy + 1]];
                for (ix, &v) in row.iter().enumerate() {
                    if v == 0.0 {
                        continue;
                    }
                    let col_readers = &cols.1[cols.0[ix]..cols.0[ix + 1]];
                    for &(dy, oy) in row_readers {
                        let base = (c * self.kh + dy) * self.kw;
                        for &(dx, ox) in col_readers {
                            f(v, base + dx, oy * self.wo + ox);
                        }
                    }
                }
            }
        }
    }

    /// [`Geometry::readers`] of the height and of the width.
    fn all_readers(&self) -> (Readers, Readers) {
        (
            self.readers(self.h, self.ho, self.kh),
            self.readers(self.w, self.wo, self.kw),
        )
    }
}

/// Per input coordinate, the `(kernel offset, output coordinate)` pairs that read it:
/// [`Geometry::readers`].
type Readers = (Vec<usize>, Vec<(usize, usize)>);

/// `[rows, cols]` to `[cols, rows]`, eight source rows at a time so that each destination
/// row is written eight values at once (a vector store instead of eight strided ones).
#[inline(always)]
fn transpose_into(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const GROUP: usize = 8;
    let full = rows - rows % GROUP;
    for r0 in (0..full).step_by(GROUP) {
        let block = &src[r0 * cols..(r0 + GROUP) * cols];
        for c in 0..cols {
            let out = &mut dst[c * rows + r0..c * rows + r0 + GROUP];
            for (i, v) in out.iter_mut().enumerate() {
                *v = block[i * cols + c];
            }
        }
    }
    for r in full..rows {
        for c in 0..cols {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
}

wide_kernel! {
    /// The forward of one sample: `x` `[C, H, W]` scattered through `wt` (`[C * kh * kw, O]`) into
    /// `acc` (`[Ho * Wo, O]`, scratch), then transposed into `y` `[O, Ho, Wo]`.
    fn forward_sample(
        g: &Geometry,
        readers: &(Readers, Readers),
        x: &[f32],
        wt: &[f32],
        acc: &mut [f32],
        y: &mut [f32],
    ) {
        let o = wt.len() / g.patch();
        acc.fill(0.0);
        g.for_each_nonzero(x, &readers.0, &readers.1, |v, j, q| {
            let out = &mut acc[q * o..][..o];
            for (a, wv) in out.iter_mut().zip(&wt[j * o..][..o]) {
                *a += v * wv;
            }
        });
        transpose_into(acc, g.positions(), o, y);
    }
}

wide_kernel! {
    /// Adds the weight gradient of the samples `xs` (`[n, C, H, W]`) with output gradients `gs`
    /// (`[n, O, Ho, Wo]`) to `acc` (`[C * kh * kw, O]`), sample by sample.
    fn weight_grad_samples(
        g: &Geometry,
        readers: &(Readers, Readers),
        xs: &[f32],
        gs: &[f32],
        acc: &mut [f32],
    ) {
        let (o, p) = (acc.len() / g.patch(), g.positions());
        let mut gt = vec![0f32; p * o];
        for (xn, gn) in xs.chunks(g.input()).zip(gs.chunks(o * p)) {
            transpose_into(gn, o, p, &mut gt);
            g.for_each_nonzero(xn, &readers.0, &readers.1, |v, j, q| {
                let row = &mut acc[j * o..][..o];
                for (a, gv) in row.iter_mut().zip(&gt[q * o..][..o]) {
                    *a += v * gv;
                }
            });
        }
    }
}

/// The convolution `y` `[N, O, Ho, Wo]` of `x` `[N, C, H, W]` with `w` `[O, C, kh, kw]`,
/// visiting only the non-zeros of `x`; samples in parallel.
pub(crate) fn forward(g: &Geometry, x: &[f32], w: &[f32]) -> Vec<f32> {
    let (k, p) = (g.patch(), g.positions());
    let o = w.len() / k;
    let n = x.len() / g.input();
    let mut wt = vec![0f32; k * o];
    transpose_into(w, o, k, &mut wt);
    let readers = g.all_readers();
    let mut y = vec![0f32; n * o * p];
    y.par_chunks_mut(o * p)
        .zip(x.par_chunks(g.input()))
        .for_each_init(
            || vec![0f32; p * o],
            |acc, (yn, xn)| forward_sample(g, &readers, xn, &wt, acc, yn),
        );
    y
}

/// The weight gradient `[O, C, kh, kw]` of the convolution of `x` given the gradient `grad`
/// of its output, from the non-zeros of `x`: tasks of [`SAMPLES_PER_TASK`] samples whose
/// partial sums are added in task order (the same result on any thread count).
pub(crate) fn weight_grad(g: &Geometry, x: &[f32], grad: &[f32], o: usize) -> Vec<f32> {
    let (k, p) = (g.patch(), g.positions());
    let readers = g.all_readers();
    let partials: Vec<Vec<f32>> = x
        .par_chunks(g.input() * SAMPLES_PER_TASK)
        .zip(grad.par_chunks(o * p * SAMPLES_PER_TASK))
        .map(|(xs, gs)| {
            let mut acc = vec![0f32; k * o];
            weight_grad_samples(g, &readers, xs, gs, &mut acc);
            acc
        })
        .collect();
    let mut sum = vec![0f32; k * o];
    for part in &partials {
        for (s, v) in sum.iter_mut().zip(part) {
            *s += v;
        }
    }
    let mut gw = vec![0f32; o * k];
    transpose_into(&sum, k, o, &mut gw);
    gw
}

/// The input gradient `[N, C, H, W]` of the convolution with `w` given the gradient `grad`
/// (`[N, O, Ho, Wo]`) of its output: per sample the transposed im2col columns `W^T g_n`, a
/// few samples at a time, folded back onto the input (col2im).
pub(crate) fn input_grad(g: &Geometry, w: &Tensor, grad: &Tensor) -> Result<Tensor> {
    let (k, p) = (g.patch(), g.positions());
    let (n, o) = (grad.dim(0)?, w.dim(0)?);
    let wt = w.detach().reshape((o, k))?.t()?.unsqueeze(0)?;
    let grad = grad.contiguous()?.reshape((n, o, p))?;
    let mut gx = Vec::with_capacity(n * g.input());
    for start in (0..n).step_by(GRAD_CHUNK) {
        let len = GRAD_CHUNK.min(n - start);
        let cols = wt
            .broadcast_as((len, k, o))?
            .matmul(&grad.narrow(0, start, len)?)?;
        with_data(&cols, "sparse conv2d", "columns", |cols| {
            let mut part = vec![0f32; len * g.input()];
            part.par_chunks_mut(g.input())
                .zip(cols.par_chunks(k * p))
                .for_each(|(xn, cn)| g.fold(cn, xn));
            gx.extend_from_slice(&part);
        })?;
    }
    Tensor::from_vec(gx, (n, g.c, g.h, g.w), w.device())
}

/// The direct sparse convolution as an op on `x` `[N, C, H, W]` and `w` `[O, C, kh, kw]`.
#[derive(Clone, Copy, Debug)]
struct SparseConv2d {
    stride: usize,
    padding: usize,
    input_grad: bool,
}

/// Samples per parallel task of the weight gradient (fixed, so the sum order is too).
const SAMPLES_PER_TASK: usize = 16;

/// Samples whose input gradient columns are computed at once (bounds their memory).
const GRAD_CHUNK: usize = 16;

impl CustomOp2 for SparseConv2d {
    fn name(&self) -> &'static str {
        "ttfs-sparse-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(l1.shape(), l2.shape(), self.stride, self.padding)?;
        let (n, o) = (l1.shape().dims()[0], l2.shape().dims()[0]);
        let x = f32_slice(s1, l1, "sparse conv2d", "input")?;
        let w = f32_slice(s2, l2, "sparse conv2d", "weight")?;
        let y = forward(&g, x, w);
        Ok((CpuStorage::F32(y), Shape::from((n, o, g.ho, g.wo))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = Geometry::new(x.shape(), w.shape(), self.stride, self.padding)?;
        let o = w.dim(0)?;
        let gw = with_data(x, "sparse conv2d", "input", |xv| {
            with_data(grad, "sparse conv2d", "gradient", |gv| {
                weight_grad(&g, xv, gv, o)
            })
        })??;
        let gw = Tensor::from_vec(gw, w.shape(), w.device())?;
        let gx = if self.input_grad {
            Some(input_grad(&g, w, grad)?)
        } else {
            None
        };
        Ok((gx, Some(gw)))
    }
}

/// 2-D convolution of `x` `[N, C, H, W]` with `w` `[O, C, kh, kw]`, zero padding, stride;
/// returns `[N, O, Ho, Wo]`. Zeros of `x` cost nothing in the forward and the weight
/// gradient; `input_grad` says whether `x` needs a gradient (false for the network's input).
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    input_grad: bool,
) -> Result<Tensor> {
    x.contiguous()?.apply_op2(
        &w.contiguous()?,
        SparseConv2d {
            stride,
            padding,
            input_grad,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(
        dims: &[usize],
        rng: &mut ChaCha8Rng,
        value: impl Fn(&mut ChaCha8Rng) -> f32,
    ) -> Tensor {
        let len = dims.iter().product();
        let v: Vec<f32> = (0..len).map(|_| value(rng)).collect();
        Tensor::from_vec(v, dims, &Device::Cpu).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        a.iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max)
    }

    fn check(x: [usize; 4], w: [usize; 4], stride: usize, padding: usize, pooled: bool, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let xs = random(&x, &mut rng, |r| {
            if !r.gen_bool(0.15) {
                0.0
            } else if pooled {
                f32::from(r.gen_range(1u8..=4)) * 0.25
            } else {
                r.gen_range(-1.0..1.0)
            }
        });
        let xs = Var::from_tensor(&xs).unwrap();
        let ws = Var::from_tensor(&random(&w, &mut rng, |r| r.gen_range(-1.0..1.0))).unwrap();
        let ours = conv2d(xs.as_tensor(), ws.as_tensor(), stride, padding, true).unwrap();
        // Candle's conv2d backward pads its input gradient by the height's output padding in
        // both dimensions, which fails when height and width leave different remainders (as
        // in the [3, 3, 8, 11] case), so the reference pads explicitly and drops the rows and
        // columns that no output reads.
        let used = |size: usize, k: usize| (size + 2 * padding - k) / stride * stride + k;
        let reference = xs
            .as_tensor()
            .pad_with_zeros(2, padding, padding)
            .unwrap()
            .pad_with_zeros(3, padding, padding)
            .unwrap()
            .narrow(2, 0, used(x[2], w[2]))
            .unwrap()
            .narrow(3, 0, used(x[3], w[3]))
            .unwrap()
            .conv2d(ws.as_tensor(), 0, stride, 1, 1)
            .unwrap();
        let direct = xs
            .as_tensor()
            .detach()
            .conv2d(ws.as_tensor(), padding, stride, 1, 1)
            .unwrap();
        assert!(max_diff(&direct, &reference) < 1e-5);
        assert!(
            max_diff(&ours, &reference) < 1e-4,
            "forward {x:?} {w:?} s{stride} p{padding}"
        );
        let r = random(reference.dims(), &mut rng, |r| r.gen_range(-1.0..1.0));
        let g_ours = (ours * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let g_ref = (reference * &r)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (v, what) in [(&xs, "input"), (&ws, "weight")] {
            let d = max_diff(
                g_ours.get(v.as_tensor()).unwrap(),
                g_ref.get(v.as_tensor()).unwrap(),
            );
            assert!(
                d < 1e-4,
                "{what} gradient {x:?} {w:?} s{stride} p{padding}: {d}"
            );
        }
    }

    #[test]
    fn sparse_conv_and_gradients_equal_candles() {
        let cases = [
            ([2, 1, 9, 7], [4, 1, 3, 3], 1, 1),
            ([3, 3, 8, 11], [5, 3, 3, 3], 2, 1),
            ([2, 3, 10, 9], [4, 3, 5, 5], 1, 0),
            ([2, 1, 12, 10], [3, 1, 5, 5], 2, 0),
            ([2, 3, 7, 10], [6, 3, 3, 3], 1, 0),
            ([2, 1, 11, 9], [3, 1, 5, 5], 2, 1),
            ([17, 2, 6, 5], [3, 2, 3, 3], 1, 1),
        ];
        for (i, &(x, w, stride, padding)) in cases.iter().enumerate() {
            for pooled in [false, true] {
                check(x, w, stride, padding, pooled, i as u64);
            }
        }
    }

    #[test]
    fn without_input_gradient_the_weight_gradient_is_unchanged() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x = random(&[3, 2, 6, 7], &mut rng, |r| {
            f32::from(u8::from(r.gen_bool(0.2)))
        });
        let w =
            Var::from_tensor(&random(&[4, 2, 3, 3], &mut rng, |r| r.gen_range(-1.0..1.0))).unwrap();
        let y = conv2d(&x, w.as_tensor(), 1, 1, false).unwrap();
        let reference = x.conv2d(w.as_tensor(), 1, 1, 1, 1).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        let g_ref = reference.sum_all().unwrap().backward().unwrap();
        assert!(
            max_diff(
                g.get(w.as_tensor()).unwrap(),
                g_ref.get(w.as_tensor()).unwrap()
            ) < 1e-4
        );
    }
}
