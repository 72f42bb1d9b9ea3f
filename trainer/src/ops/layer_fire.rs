//! A hidden layer of spiking neurons as one op: product (sparse linear or convolution),
//! shift, firing scan, and for a convolution the average pooling after it.
//!
//! Composed of three ops ([`super::sparse`] or [`super::conv`], [`super::bias`],
//! [`super::neuron`]), a layer leaves two `[T * B, ...]` tensors in Candle's graph besides its
//! spikes, and Candle's backward gives each a zeroed gradient buffer and an add, and the shift
//! copies the product. When nothing but the spikes is read (no loss term on the layer's
//! currents), this op computes the layer in one pass and keeps its currents inside the op for
//! the backward, which runs the three backward kernels in turn. Both the spikes and every
//! gradient are bit-identical to the composed ops (tested): the same kernels run on the same
//! values in the same order. A convolution followed by an average pooling can take the pooling
//! in too ([`conv_fire`] with a pool): its full-size spikes then live only inside the op, and neither
//! they nor their gradient become Candle tensors (a zeroed buffer and an add each).

use std::sync::{Arc, Mutex, PoisonError};

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use crate::ops::bias::{add_in_place, channel_sums};
use crate::ops::conv::{self, Geometry};
use crate::ops::cpu::{f32_slice, with_data};
use crate::ops::neuron::{FireConfig, fire_backward, fire_forward};
use crate::ops::pool::{pool_backward, pool_forward};
use crate::ops::sparse::{sparse_forward, sparse_weight_grad};

/// The layer's product of its input with its weights.
#[derive(Clone, Copy, Debug)]
enum Product {
    /// `x W^T` for `x` `[N, K]` and `W` given as `W^T` (`[K, M]`, see [`super::sparse`]).
    Linear,
    /// The 2-D convolution of `x` `[N, C, H, W]` with `W` `[O, C, kh, kw]`.
    Conv { stride: usize, padding: usize },
}

/// `spikes = fire(x * W + b)` over `T` steps folded into the rows of `x`.
#[derive(Debug)]
struct LayerFire {
    /// The product.
    product: Product,
    /// Time steps `T` in the rows of `x`.
    steps: usize,
    /// Firing scan parameters.
    fire: FireConfig,
    /// Whether `x` needs a gradient (false for the network's input).
    input_grad: bool,
    /// Window and stride of the average pooling applied to the spikes; 1 for none.
    pool: usize,
    /// Where the backward puts the weight gradient instead of handing it to Candle (whose
    /// gradient store would zero a buffer and add it in), for a weight operand outside the
    /// graph; see [`linear_fire_direct`].
    weight_grad: Option<WeightGradSlot>,
    /// The currents `x * W + b` of the forward pass, kept for the backward (which recomputes
    /// them if they are gone).
    currents: Mutex<Option<Vec<f32>>>,
}

/// The shapes of one layer's operands, checked against each other.
#[derive(Clone, Copy, Debug)]
enum Operands {
    /// Rows `N`, inputs `K` and neurons `M`.
    Linear { n: usize, k: usize, m: usize },
    /// Rows `N`, output channels `O`, and the convolution's sizes.
    Conv { n: usize, o: usize, g: Geometry },
}

impl Operands {
    /// Rows `N` (time steps times samples).
    fn rows(&self) -> usize {
        match *self {
            Operands::Linear { n, .. } | Operands::Conv { n, .. } => n,
        }
    }

    /// Channels (neurons of a linear layer) and values per channel and row of the currents.
    fn channels(&self) -> (usize, usize) {
        match *self {
            Operands::Linear { m, .. } => (m, 1),
            Operands::Conv { o, g, .. } => (o, g.positions()),
        }
    }

    /// The shape of the currents and spikes (before any pooling).
    fn output(&self) -> Shape {
        match *self {
            Operands::Linear { n, m, .. } => Shape::from((n, m)),
            Operands::Conv { n, o, g } => {
                let (ho, wo) = g.output();
                Shape::from((n, o, ho, wo))
            }
        }
    }
}

impl LayerFire {
    /// The shape of the op's output: the spikes, pooled if the op pools.
    fn output(&self, operands: Operands) -> Result<Shape> {
        let k = self.pool;
        match operands {
            _ if k == 1 => Ok(operands.output()),
            Operands::Conv { n, o, g } => {
                let (ho, wo) = g.output();
                if k == 0 || ho < k || wo < k {
                    candle_core::bail!(
                        "layer: pooling window {k} does not fit the {ho}x{wo} spike maps"
                    );
                }
                Ok(Shape::from((n, o, ho / k, wo / k)))
            }
            Operands::Linear { .. } => candle_core::bail!("layer: only a convolution pools"),
        }
    }

    /// The operands' shapes for `x`, `w` and `b`, or why they do not fit.
    fn operands(&self, x: &Shape, w: &Shape, b: &Shape) -> Result<Operands> {
        let operands = match self.product {
            Product::Linear => {
                let (n, k) = x.dims2()?;
                let (k2, m) = w.dims2()?;
                if k != k2 {
                    candle_core::bail!("linear layer: input has {k} features, weights expect {k2}");
                }
                Operands::Linear { n, k, m }
            }
            Product::Conv { stride, padding } => Operands::Conv {
                n: x.dims4()?.0,
                o: w.dims4()?.0,
                g: Geometry::new(x, w, stride, padding)?,
            },
        };
        let (c, _) = operands.channels();
        if b.dims() != [c] {
            candle_core::bail!("layer: {c} neurons but a shift of shape {b:?}");
        }
        if self.steps == 0 || operands.rows() % self.steps != 0 {
            candle_core::bail!(
                "layer: {} rows do not split into {} time steps",
                operands.rows(),
                self.steps
            );
        }
        Ok(operands)
    }
}

/// The layer's currents `x * W + b`.
fn currents(x: &[f32], w: &[f32], b: &[f32], operands: Operands) -> Vec<f32> {
    let mut y = match operands {
        Operands::Linear { n, k, m } => sparse_forward(x, w, n, k, m),
        Operands::Conv { g, .. } => conv::forward(&g, x, w),
    };
    let (c, p) = operands.channels();
    add_in_place(&mut y, b, c, p);
    y
}

impl CustomOp3 for LayerFire {
    fn name(&self) -> &'static str {
        "ttfs-layer-fire"
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
        let operands = self.operands(l1.shape(), l2.shape(), l3.shape())?;
        let x = f32_slice(s1, l1, "layer", "input")?;
        let w = f32_slice(s2, l2, "layer", "weight")?;
        let b = f32_slice(s3, l3, "layer", "shift")?;
        let shape = self.output(operands)?;
        let y = currents(x, w, b, operands);
        let mut spikes = fire_forward(&y, self.steps, &self.fire);
        if let (Operands::Conv { g, .. }, true) = (operands, self.pool > 1) {
            let (ho, wo) = g.output();
            spikes = pool_forward(&spikes, ho, wo, self.pool);
        }
        *self.currents.lock().unwrap_or_else(PoisonError::into_inner) = Some(y);
        Ok((CpuStorage::F32(spikes), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let operands = self.operands(x.shape(), w.shape(), b.shape())?;
        let kept = self
            .currents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let y = match kept {
            Some(y) => y,
            None => with_data(x, "layer", "input", |xv| {
                with_data(w, "layer", "weight", |wv| {
                    with_data(b, "layer", "shift", |bv| currents(xv, wv, bv, operands))
                })
            })???,
        };
        let grad_currents = with_data(grad, "layer", "spike gradient", |g| {
            match (operands, self.pool > 1) {
                (Operands::Conv { g: geometry, .. }, true) => {
                    let (ho, wo) = geometry.output();
                    let g = pool_backward(g, ho, wo, self.pool);
                    fire_backward(&y, &g, self.steps, &self.fire)
                }
                _ => fire_backward(&y, g, self.steps, &self.fire),
            }
        })?;
        drop(y);
        let (c, p) = operands.channels();
        let gb = channel_sums(&grad_currents, c, p);
        let gw = with_data(x, "layer", "input", |xv| match operands {
            Operands::Linear { n, k, m } => sparse_weight_grad(xv, &grad_currents, n, k, m),
            Operands::Conv { o, g, .. } => conv::weight_grad(&g, xv, &grad_currents, o),
        })?;
        let gx = if self.input_grad {
            let g = Tensor::from_vec(grad_currents, operands.output(), x.device())?;
            Some(match operands {
                Operands::Linear { .. } => g.matmul(&w.detach().t()?)?,
                Operands::Conv { g: geometry, .. } => conv::input_grad(&geometry, w, &g)?,
            })
        } else {
            None
        };
        let gw = match &self.weight_grad {
            Some(slot) => {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(gw);
                None
            }
            None => Some(Tensor::from_vec(gw, w.shape(), w.device())?),
        };
        Ok((gx, gw, Some(Tensor::from_vec(gb, c, b.device())?)))
    }
}

/// Applies `op` to the contiguous operands.
fn apply(x: &Tensor, w: &Tensor, b: &Tensor, op: LayerFire) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, op)
}

/// Spikes `[T * B, M]` of a layer of `M` neurons fed `x` (`[T * B, K]`, mostly zero) through
/// weights given transposed, `wt` (`W^T`, `[K, M]`), and shift `b` (`[M]`); differentiable in
/// all three (in `x` only when `input_grad`).
pub fn linear_fire(
    x: &Tensor,
    wt: &Tensor,
    b: &Tensor,
    steps: usize,
    fire: &FireConfig,
    input_grad: bool,
) -> Result<Tensor> {
    let op = LayerFire {
        product: Product::Linear,
        steps,
        fire: *fire,
        input_grad,
        pool: 1,
        weight_grad: None,
        currents: Mutex::new(None),
    };
    apply(x, wt, b, op)
}

/// Where [`linear_fire_direct`]'s backward leaves the weight gradient `dW^T` (`[K, M]`, the
/// weight operand's layout).
pub type WeightGradSlot = Arc<Mutex<Option<Vec<f32>>>>;

/// [`linear_fire`] with the weights outside Candle's graph: `wt` must not track a gradient
/// (detach it), and the backward leaves `dW^T` in the returned slot instead, for the caller to
/// take on to the parameters the weights came from (the weight norm's backward, then the
/// optimiser), without a gradient tensor of their size in Candle's store.
pub fn linear_fire_direct(
    x: &Tensor,
    wt: &Tensor,
    b: &Tensor,
    steps: usize,
    fire: &FireConfig,
    input_grad: bool,
) -> Result<(Tensor, WeightGradSlot)> {
    if wt.track_op() {
        candle_core::bail!("layer: direct weights must be outside the graph (detached)");
    }
    let slot = WeightGradSlot::default();
    let op = LayerFire {
        product: Product::Linear,
        steps,
        fire: *fire,
        input_grad,
        pool: 1,
        weight_grad: Some(slot.clone()),
        currents: Mutex::new(None),
    };
    Ok((apply(x, wt, b, op)?, slot))
}

/// Spikes `[T * B, O, Ho, Wo]` of a convolutional layer fed `x` (`[T * B, C, H, W]`, mostly
/// zero) through kernels `w` (`[O, C, kh, kw]`, zero padding, stride) and shift `b` (`[O]`),
/// then average-pooled with window and stride `pool` (1: none) to `[T * B, O, Ho / pool,
/// Wo / pool]`; differentiable in all three (in `x` only when `input_grad`).
#[allow(clippy::too_many_arguments)]
pub fn conv_fire(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    stride: usize,
    padding: usize,
    pool: usize,
    steps: usize,
    fire: &FireConfig,
    input_grad: bool,
) -> Result<Tensor> {
    let op = LayerFire {
        product: Product::Conv { stride, padding },
        steps,
        fire: *fire,
        input_grad,
        pool,
        weight_grad: None,
        currents: Mutex::new(None),
    };
    apply(x, w, b, op)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ops::bias::add_bias;
    use crate::ops::conv::conv2d;
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
        let w: Vec<f32> = (0..k * m).map(|_| rng.gen_range(-0.2..0.5)).collect();
        let b: Vec<f32> = (0..m).map(|_| rng.gen_range(-0.1..0.1)).collect();
        let weights_out: Vec<f32> = (0..n * m).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let x = Var::from_tensor(&Tensor::from_vec(x, (n, k), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::from_vec(w, (k, m), &dev).unwrap()).unwrap();
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
            let op = LayerFire {
                product: Product::Linear,
                steps,
                fire,
                input_grad: true,
                pool: 1,
                weight_grad: None,
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

    /// A convolutional layer's operands to differentiate: input `[n, c, h, w]`, 30% of it
    /// `value(rng)` and the rest zero, 3 x 3 kernels of `o` channels, and `o` shifts.
    fn conv_operands(
        seed: u64,
        [n, c, h, wd]: [usize; 4],
        o: usize,
        value: impl Fn(&mut ChaCha8Rng) -> f32,
    ) -> (Var, Var, Var) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dev = Device::Cpu;
        let x: Vec<f32> = (0..n * c * h * wd)
            .map(|_| {
                if rng.gen_bool(0.3) {
                    value(&mut rng)
                } else {
                    0.0
                }
            })
            .collect();
        let w: Vec<f32> = (0..o * c * 9).map(|_| rng.gen_range(-0.2..0.6)).collect();
        let b: Vec<f32> = (0..o).map(|_| rng.gen_range(-0.1..0.1)).collect();
        (
            Var::from_tensor(&Tensor::from_vec(x, (n, c, h, wd), &dev).unwrap()).unwrap(),
            Var::from_tensor(&Tensor::from_vec(w, (o, c, 3, 3), &dev).unwrap()).unwrap(),
            Var::from_tensor(&Tensor::from_vec(b, o, &dev).unwrap()).unwrap(),
        )
    }

    /// The fused convolutional layer against sparse convolution, shift op and firing op
    /// composed: the same spikes and gradients, bit for bit, kept currents or recomputed.
    #[test]
    fn conv_equals_the_composed_ops_bit_for_bit() {
        let (steps, batch) = (2, 5);
        // Pooled spikes: quarters.
        let (x, w, b) = conv_operands(12, [steps * batch, 3, 9, 8], 6, |rng| {
            f32::from(rng.gen_range(1u8..=4)) * 0.25
        });
        for (stride, padding) in [(1, 1), (2, 0)] {
            for mask_grad in [true, false] {
                let fire = FireConfig {
                    mask_grad,
                    ..FireConfig::default()
                };
                let composed = {
                    let y = conv2d(x.as_tensor(), w.as_tensor(), stride, padding, true).unwrap();
                    let y = add_bias(&y, b.as_tensor()).unwrap();
                    fire_steps(&y, steps, &fire).unwrap()
                };
                let fused = conv_fire(
                    x.as_tensor(),
                    w.as_tensor(),
                    b.as_tensor(),
                    stride,
                    padding,
                    1,
                    steps,
                    &fire,
                    true,
                )
                .unwrap();
                let fired: f32 = composed.sum_all().unwrap().to_scalar().unwrap();
                assert!(fired > 0.0 && fired < composed.elem_count() as f32);
                assert_eq!(bits(&fused), bits(&composed));
                let weights_out = composed.rand_like(-1.0, 1.0).unwrap();
                let grads = |s: &Tensor| (s * &weights_out).unwrap().sum_all().unwrap().backward();
                let gc = grads(&composed).unwrap();
                let gf = grads(&fused).unwrap();
                for v in [&x, &w, &b] {
                    assert_eq!(
                        bits(gf.get(v.as_tensor()).unwrap()),
                        bits(gc.get(v.as_tensor()).unwrap())
                    );
                }
                let op = LayerFire {
                    product: Product::Conv { stride, padding },
                    steps,
                    fire,
                    input_grad: true,
                    pool: 1,
                    weight_grad: None,
                    currents: Mutex::new(None),
                };
                let (gx, gw, gb) = op
                    .bwd(
                        x.as_tensor(),
                        w.as_tensor(),
                        b.as_tensor(),
                        &fused,
                        &weights_out,
                    )
                    .unwrap();
                assert_eq!(bits(&gx.unwrap()), bits(gc.get(x.as_tensor()).unwrap()));
                assert_eq!(bits(&gw.unwrap()), bits(gc.get(w.as_tensor()).unwrap()));
                assert_eq!(bits(&gb.unwrap()), bits(gc.get(b.as_tensor()).unwrap()));
            }
        }
    }

    /// The convolution fused with the average pooling after it against the fused convolution
    /// and the pooling op composed: the same pooled spikes and the same gradients of input,
    /// weights and shift (equal values: only a zero's sign could differ, where Candle's
    /// gradient sum turns `-0` into `0` between the two composed ops).
    #[test]
    fn conv_with_pooling_equals_conv_then_pooling() {
        let (steps, batch, h, wd, o) = (2, 4, 10, 9, 5);
        let n = steps * batch;
        let (x, w, b) = conv_operands(13, [n, 2, h, wd], o, |_| 1.0);
        let fire = FireConfig::default();
        let layer = |pool| {
            conv_fire(
                x.as_tensor(),
                w.as_tensor(),
                b.as_tensor(),
                1,
                1,
                pool,
                steps,
                &fire,
                true,
            )
            .unwrap()
        };
        for k in [2, 3] {
            let composed = crate::ops::pool::avg_pool(&layer(1), k).unwrap();
            let fused = layer(k);
            assert_eq!(fused.dims(), [n, o, h / k, wd / k]);
            let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(values(&fused), values(&composed));
            assert!(values(&fused).iter().any(|&v| v > 0.0), "nothing fired");
            let weights_out = composed.rand_like(-1.0, 1.0).unwrap();
            let grads = |s: &Tensor| (s * &weights_out).unwrap().sum_all().unwrap().backward();
            let (gc, gf) = (grads(&composed).unwrap(), grads(&fused).unwrap());
            for v in [&x, &w, &b] {
                let (c, f) = (
                    values(gc.get(v.as_tensor()).unwrap()),
                    values(gf.get(v.as_tensor()).unwrap()),
                );
                assert_eq!(f, c);
                assert!(
                    c.iter().any(|&g| g != 0.0),
                    "a zero gradient proves nothing"
                );
            }
        }
        // A window larger than the spike maps is refused.
        let err = conv_fire(
            x.as_tensor(),
            w.as_tensor(),
            b.as_tensor(),
            1,
            1,
            11,
            steps,
            &fire,
            true,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("pooling window 11 does not fit the 10x9"),
            "{err}"
        );
    }

    #[test]
    fn refuses_mismatched_operands() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((8, 5), candle_core::DType::F32, &dev).unwrap();
        let w = Tensor::zeros((4, 3), candle_core::DType::F32, &dev).unwrap();
        let b = Tensor::zeros(3, candle_core::DType::F32, &dev).unwrap();
        let fire = FireConfig::default();
        let err = linear_fire(&x, &w, &b, 4, &fire, false).unwrap_err();
        assert!(
            err.to_string().contains("5 features, weights expect 4"),
            "{err}"
        );
        let w = Tensor::zeros((5, 3), candle_core::DType::F32, &dev).unwrap();
        let err = linear_fire(&x, &w, &b, 3, &fire, false).unwrap_err();
        assert!(
            err.to_string().contains("8 rows do not split into 3"),
            "{err}"
        );
        let b = Tensor::zeros(2, candle_core::DType::F32, &dev).unwrap();
        let err = linear_fire(&x, &w, &b, 4, &fire, false).unwrap_err();
        assert!(err.to_string().contains("3 neurons but a shift"), "{err}");
        // Weights that track a gradient cannot leave it in a slot instead.
        let tracked = Var::from_tensor(&w).unwrap();
        let b = Tensor::zeros(3, candle_core::DType::F32, &dev).unwrap();
        let err = linear_fire_direct(&x, tracked.as_tensor(), &b, 4, &fire, false).unwrap_err();
        assert!(
            err.to_string().contains("must be outside the graph"),
            "{err}"
        );
    }
}
