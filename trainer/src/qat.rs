//! Quantization-aware training: each weighted layer's effective weight and bias replaced, in
//! the forward pass, by the values the compiler's integers stand for, with the gradient passed
//! straight through to the float parameters.
//!
//! The rules are the compiler's quantize pass (`ttfs_compiler::quantize`) at the widths of a
//! [`QuantizedFor`]: with `c` the product of the average pools' coefficients in front of the
//! layer (the compiler folds them into the layer's synapses, so its weights are `c W`) and
//! `m` the largest `|W|` of the layer (of each row for a hidden layer with per-neuron
//! thresholds):
//! ```text
//! s     = qmax / (c m)              (qmax = 2^(weight_bits - 1) - 1; qmax / theta if m = 0)
//! th    = round(theta s), at most thmax (s lowered to thmax / theta first), at least 1
//! w_int = round(c W s), b_int = round(b s)
//! W_q   = w_int theta / (th c),  b_q = b_int theta / th
//! ```
//! A neuron then fires in training when `sum W_q x + b_q >= theta`, which for spikes `x` is
//! `sum w_int spikes + b_int >= th`: the chip's comparison. Written as plain weights
//! (`W_q`, `b_q`), the model compiles back to the same `w_int`, `b_int` and `th`, since its
//! largest weight is then `qmax theta / (th c)` and the compiler's scale `th / theta`.
//!
//! The forward pass divides by `th - 1/2` instead of `th` ([`Margin::Half`]): an integer sum
//! that reaches `th` exactly would otherwise land a rounding error below `theta` in `f32`
//! (ten weights of `0.1` do not sum to `1`), while half an integer unit of margin leaves the
//! comparison with integers unchanged and beyond any rounding. The export uses `th` itself
//! ([`Margin::None`]), the ratio the compiler reads back exactly.

use candle_core::{Device, Result, Tensor};
use ttfs_compiler::model::QuantizedFor;
use ttfs_compiler::quantize::scale_and_threshold;

/// `qmax` of a signed width (the compiler's, on a width kept in its range).
fn register_max(bits: u32) -> f64 {
    ttfs_compiler::ir::register_max(bits.clamp(2, 32)) as f64
}

/// The integers of one layer, as the compiler computes them (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerIntegers {
    /// `w_int`, row-major `[out, n_in]`.
    pub weights: Vec<i64>,
    /// `b_int`, one per neuron (zeros without a bias).
    pub biases: Vec<i64>,
    /// `th`, one per neuron.
    pub thresholds: Vec<i64>,
}

/// The integers of a layer with float weights `w` (`[out, n_in]` row-major), biases `b`,
/// threshold `theta` and pool coefficient `c`, quantized as `spec` says (`per_neuron`: one
/// scale per row).
pub fn integers(
    w: &[f32],
    out: usize,
    b: Option<&[f32]>,
    theta: f32,
    c: f64,
    spec: QuantizedFor,
    per_neuron: bool,
) -> LayerIntegers {
    let n_in = w.len() / out.max(1);
    let qmax = register_max(spec.weight_bits);
    let th_max = register_max(spec.threshold_bits);
    let theta = f64::from(theta);
    let row_max: Vec<f64> = (0..out)
        .map(|o| {
            w[o * n_in..(o + 1) * n_in]
                .iter()
                .map(|&x| c * f64::from(x).abs())
                .fold(0.0, f64::max)
        })
        .collect();
    let layer_max = row_max.iter().copied().fold(0.0, f64::max);
    let mut weights = Vec::with_capacity(w.len());
    let mut biases = Vec::with_capacity(out);
    let mut thresholds = Vec::with_capacity(out);
    for o in 0..out {
        let m = if per_neuron { row_max[o] } else { layer_max };
        let (s, th, _) = scale_and_threshold(m, theta, qmax, th_max);
        thresholds.push(th as i64);
        for &x in &w[o * n_in..(o + 1) * n_in] {
            weights.push((c * f64::from(x) * s).round().clamp(-qmax, qmax) as i64);
        }
        biases.push(b.map_or(0, |b| (f64::from(b[o]) * s).round() as i64));
    }
    LayerIntegers {
        weights,
        biases,
        thresholds,
    }
}

/// What the integers are divided by: `th` (the export) or `th - 1/2` (the forward pass).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Margin {
    /// `W_q = w_int theta / (th c)`: the values the compiler reads back as the same integers.
    None,
    /// `W_q = w_int theta / ((th - 1/2) c)`: the same comparisons with integers, safe from
    /// `f32` rounding at an exact `th`.
    Half,
}

/// The weight `W_q` and bias `b_q` the integers stand for (see the module doc), as tensors of
/// the shapes of `w` and `b`, with the gradient passed straight through to `w` and `b`.
pub fn fake_quantize(
    w: &Tensor,
    b: Option<&Tensor>,
    theta: f32,
    c: f64,
    spec: QuantizedFor,
    per_neuron: bool,
    margin: Margin,
) -> Result<(Tensor, Option<Tensor>)> {
    let shape = w.shape().clone();
    let out = shape.dims()[0];
    let values = w.flatten_all()?.to_vec1::<f32>()?;
    let bias = b.map(|b| b.to_vec1::<f32>()).transpose()?;
    let ints = integers(&values, out, bias.as_deref(), theta, c, spec, per_neuron);
    let n_in = values.len() / out.max(1);
    let theta = f64::from(theta);
    let less = match margin {
        Margin::None => 0.0,
        Margin::Half => 0.5,
    };
    let divisor: Vec<f64> = ints.thresholds.iter().map(|&th| th as f64 - less).collect();
    let wq: Vec<f32> = ints
        .weights
        .iter()
        .enumerate()
        .map(|(k, &q)| (q as f64 * theta / (divisor[k / n_in.max(1)] * c)) as f32)
        .collect();
    let wq = Tensor::from_vec(wq, shape, &Device::Cpu)?;
    let w_out = (w + (wq - w)?.detach())?;
    let b_out = match b {
        Some(b) => {
            let bq: Vec<f32> = ints
                .biases
                .iter()
                .zip(&divisor)
                .map(|(&q, &d)| (q as f64 * theta / d) as f32)
                .collect();
            let bq = Tensor::from_vec(bq, out, &Device::Cpu)?;
            Some((b + (bq - b)?.detach())?)
        }
        None => None,
    };
    Ok((w_out, b_out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const FOUR_BITS: QuantizedFor = QuantizedFor {
        weight_bits: 4,
        threshold_bits: 16,
        per_neuron_threshold: false,
    };

    #[test]
    fn a_hand_worked_layer() {
        // Two neurons, three inputs, 4-bit weights (qmax = 7), theta = 1, one scale per layer:
        // m = 0.7, s = 10, th = 10; w_int = round(10 w); b_int = round(10 b).
        let w = [0.7, -0.26, 0.04, 0.36, 0.0, -0.7];
        let b = [0.12, -0.06];
        let ints = integers(&w, 2, Some(&b), 1.0, 1.0, FOUR_BITS, false);
        assert_eq!(ints.weights, vec![7, -3, 0, 4, 0, -7]);
        assert_eq!(ints.biases, vec![1, -1]);
        assert_eq!(ints.thresholds, vec![10, 10]);
        // Per neuron: the second row has m = 0.7 too, so the same; halve it and its scale
        // doubles (s = 20, th = 20).
        let w2 = [0.7, -0.26, 0.04, 0.18, 0.0, -0.35];
        let per = integers(&w2, 2, None, 1.0, 1.0, FOUR_BITS, true);
        assert_eq!(per.weights, vec![7, -3, 0, 4, 0, -7]);
        assert_eq!(per.thresholds, vec![10, 20]);
        // Behind a 2x2 average pool (c = 1/4) the folded weights are w / 4: s = 40, th = 40,
        // the same integer weights.
        let pooled = integers(&w, 2, None, 1.0, 0.25, FOUR_BITS, false);
        assert_eq!(pooled.weights, vec![7, -3, 0, 4, 0, -7]);
        assert_eq!(pooled.thresholds, vec![40, 40]);
        // A threshold register of 4 bits (thmax = 7) lowers the scale to 7: th = 7,
        // w_int = round(7 w) = 5, -2, 0, 3, 0, -5.
        let narrow = QuantizedFor {
            threshold_bits: 4,
            ..FOUR_BITS
        };
        let limited = integers(&w, 2, None, 1.0, 1.0, narrow, false);
        assert_eq!(limited.thresholds, vec![7, 7]);
        assert_eq!(limited.weights, vec![5, -2, 0, 3, 0, -5]);
    }

    #[test]
    fn the_fake_quantized_weight_is_what_the_integers_stand_for_and_passes_the_gradient() {
        let w = candle_core::Var::from_vec(
            vec![0.7f32, -0.26, 0.04, 0.36, 0.0, -0.7],
            (2, 3),
            &Device::Cpu,
        )
        .unwrap();
        let (wq, _) = fake_quantize(
            w.as_tensor(),
            None,
            1.0,
            1.0,
            FOUR_BITS,
            false,
            Margin::None,
        )
        .unwrap();
        let got = wq.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let want = [0.7f32, -0.3, 0.0, 0.4, 0.0, -0.7];
        for (g, e) in got.iter().zip(want) {
            assert!((g - e).abs() < 1e-6, "{got:?}");
        }
        // Straight through: d(sum W_q)/dW = 1 everywhere.
        let grads = wq.sum_all().unwrap().backward().unwrap();
        let g = grads
            .get(w.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(g, vec![1.0; 6]);
    }
}
