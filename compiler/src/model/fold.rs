//! Effective weights: weight norm and affine scale folded into one weight tensor and a bias,
//! which is what the neurons see and what every later pass (quantize, map, golden model)
//! works on.
//!
//! For output unit `o` with raw fan-in `w_o` of `n` values (`in_features`, or
//! `in_channels * kh * kw`):
//! - with weight norm `{gain g, eps}`: `w_hat = (w_o - mean(w_o)) / sqrt(var(w_o) + eps)`,
//!   `var` the population variance (divide by `n`), then `w_eff_o = sqrt(g / n) * w_hat`;
//! - without: `w_eff_o = w_o`;
//! - then, if `affine_scale`, `w_eff_o *= scale[o]`;
//! - `bias_o = shift[o]` if `bias`, else 0; it is added to the input current at every step.
//!
//! Arithmetic is in `f64`; results are rounded to `f32` once at the end.

use super::description::{LayerSpec, TensorRole, WeightNorm};
use super::error::ModelError;
use super::{Model, TensorData};

/// A weighted layer after folding: what the neurons integrate.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveLayer {
    /// Effective weights, same shape as the raw `weight` tensor.
    pub weight: TensorData,
    /// Bias per output unit (zeros when the layer has no `shift`).
    pub bias: Vec<f32>,
}

impl Model {
    /// The effective weights and bias of layer `index`, which must be linear or conv2d.
    /// Checks that layer's parameters and tensors first.
    pub fn effective_layer(&self, index: usize) -> Result<EffectiveLayer, ModelError> {
        let layers = &self.description.layers;
        let layer = layers.get(index).ok_or(ModelError::NoSuchLayer {
            index,
            count: layers.len(),
        })?;
        if !layer.is_weighted() {
            return Err(ModelError::NotWeighted {
                index,
                kind: layer.kind_name(),
            });
        }
        self.layer_shapes()?;
        self.check_layer_tensors(index, layer)?;

        let tensor = |role: TensorRole| self.tensors.get(&role.tensor_name(index));
        let weight = tensor(TensorRole::Weight).ok_or_else(|| ModelError::MissingTensor {
            index,
            kind: layer.kind_name(),
            name: TensorRole::Weight.tensor_name(index),
        })?;
        let scale = tensor(TensorRole::Scale).filter(|_| has_scale(layer));
        let shift = tensor(TensorRole::Shift).filter(|_| has_bias(layer));

        let outputs = weight.shape.first().copied().unwrap_or(0);
        let fan_in = weight.shape.iter().skip(1).product::<usize>();
        let mut folded = Vec::with_capacity(weight.data.len());
        for (o, row) in weight.data.chunks_exact(fan_in.max(1)).enumerate() {
            let s = scale.map_or(1.0, |t| f64::from(t.data[o]));
            folded.extend(fold_row(row, layer.weight_norm(), s));
        }
        let bias = match shift {
            Some(t) => t.data.clone(),
            None => vec![0.0; outputs],
        };
        Ok(EffectiveLayer {
            weight: TensorData {
                shape: weight.shape.clone(),
                data: folded,
            },
            bias,
        })
    }
}

fn has_scale(layer: &LayerSpec) -> bool {
    matches!(
        layer,
        LayerSpec::Linear {
            affine_scale: true,
            ..
        } | LayerSpec::Conv2d {
            affine_scale: true,
            ..
        }
    )
}

fn has_bias(layer: &LayerSpec) -> bool {
    matches!(
        layer,
        LayerSpec::Linear { bias: true, .. } | LayerSpec::Conv2d { bias: true, .. }
    )
}

/// Folds one output unit's fan-in.
fn fold_row(row: &[f32], norm: Option<&WeightNorm>, scale: f64) -> Vec<f32> {
    let values = row.iter().map(|&w| f64::from(w));
    match norm {
        None => values.map(|w| (w * scale) as f32).collect(),
        Some(norm) => {
            let n = row.len() as f64;
            let mean = values.clone().sum::<f64>() / n;
            let var = values.clone().map(|w| (w - mean) * (w - mean)).sum::<f64>() / n;
            let factor = (f64::from(norm.gain) / n).sqrt() / (var + f64::from(norm.eps)).sqrt();
            values
                .map(|w| ((w - mean) * factor * scale) as f32)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::test_models::tiny_linear;

    fn assert_close(found: &[f32], expected: &[f64]) {
        assert_eq!(found.len(), expected.len());
        for (i, (&f, &e)) in found.iter().zip(expected).enumerate() {
            assert!(
                (f64::from(f) - e).abs() <= 1e-6 * e.abs().max(1.0),
                "value {i}: found {f}, expected {e}"
            );
        }
    }

    // Layer 1 of `tiny_linear` (after a flatten) is a 2x3 linear layer with rows
    //   w_0 = [1, 2, 3]   and   w_1 = [0, 0, 6].
    // Row 0: mean 2, deviations [-1, 0, 1], var = (1 + 0 + 1)/3 = 2/3.
    // Row 1: mean 2, deviations [-2, -2, 4], var = (4 + 4 + 16)/3 = 8.

    #[test]
    fn without_weight_norm_or_scale_the_raw_weights_pass_through() {
        let model = tiny_linear(None, None, None);
        let layer = model.effective_layer(1).unwrap();
        assert_eq!(layer.weight.shape, vec![2, 3]);
        assert_eq!(layer.weight.data, vec![1.0, 2.0, 3.0, 0.0, 0.0, 6.0]);
        assert_eq!(layer.bias, vec![0.0, 0.0]);
    }

    #[test]
    fn scale_and_shift_without_weight_norm() {
        let model = tiny_linear(None, Some(vec![2.0, -0.5]), Some(vec![0.25, -1.0]));
        let layer = model.effective_layer(1).unwrap();
        assert_eq!(layer.weight.data, vec![2.0, 4.0, 6.0, -0.0, -0.0, -3.0]);
        assert_eq!(layer.bias, vec![0.25, -1.0]);
    }

    #[test]
    fn weight_norm_with_gain_3_and_eps_one_third() {
        // g = 3, n = 3: sqrt(g/n) = 1. eps = 1/3.
        // Row 0: sqrt(2/3 + 1/3) = 1, so w_eff = [-1, 0, 1].
        // Row 1: sqrt(8 + 1/3) = sqrt(25/3) = 5/sqrt(3), so w_eff = [-2, -2, 4] * sqrt(3)/5.
        let norm = WeightNorm {
            gain: 3.0,
            eps: 1.0 / 3.0,
        };
        let model = tiny_linear(Some(norm), None, None);
        let layer = model.effective_layer(1).unwrap();
        let r = 3f64.sqrt() / 5.0;
        assert_close(
            &layer.weight.data,
            &[-1.0, 0.0, 1.0, -2.0 * r, -2.0 * r, 4.0 * r],
        );
    }

    #[test]
    fn weight_norm_then_scale() {
        // g = 1, eps = 0.001: row 0 factor sqrt(1/3) / sqrt(2/3 + 0.001), times scale 2.
        // Row 1 factor sqrt(1/3) / sqrt(8.001), times scale -0.5.
        let norm = WeightNorm {
            gain: 1.0,
            eps: 0.001,
        };
        let model = tiny_linear(Some(norm), Some(vec![2.0, -0.5]), Some(vec![0.5, 0.0]));
        let layer = model.effective_layer(1).unwrap();
        let f0 = (1.0f64 / 3.0).sqrt() / (2.0f64 / 3.0 + 0.001).sqrt() * 2.0;
        let f1 = (1.0f64 / 3.0).sqrt() / (8.0f64 + 0.001).sqrt() * -0.5;
        assert_close(
            &layer.weight.data,
            &[-f0, 0.0, f0, -2.0 * f1, -2.0 * f1, 4.0 * f1],
        );
        assert_eq!(layer.bias, vec![0.5, 0.0]);
    }

    #[test]
    fn layers_without_weights_and_missing_layers_are_errors() {
        let model = tiny_linear(None, None, None);
        let err = model.effective_layer(2).unwrap_err();
        assert!(
            matches!(err, ModelError::NoSuchLayer { index: 2, count: 2 }),
            "{err}"
        );
        let err = model.effective_layer(0).unwrap_err();
        assert_eq!(err.to_string(), "layer 0 (flatten) has no weights");
    }

    #[test]
    fn a_bad_tensor_is_reported_before_folding() {
        let mut model = tiny_linear(None, None, None);
        model.tensors.get_mut("layers.1.weight").unwrap().data.pop();
        let err = model.effective_layer(1).unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::TensorLength {
                    index: 1,
                    found: 5,
                    expected: 6,
                    ..
                }
            ),
            "{err}"
        );
    }
}
