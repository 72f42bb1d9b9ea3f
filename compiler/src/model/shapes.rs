//! Shape inference: the output shape of every layer, chained from the input shape, and the
//! checks of each layer's own parameters (sizes, kernel, stride, weight norm).
//!
//! Shapes are `[C, H, W]` for feature maps and `[N]` after a flatten or a linear layer.
//! Convolution output size is `(in + 2 * padding - k) / stride + 1`, pooling output size is
//! `(in - kernel) / stride + 1` (a remainder that does not fill a window is dropped).

use super::Model;
use super::description::{LayerSpec, WeightNorm};
use super::error::{ModelError, Shape};

impl Model {
    /// The output shape of every layer, in order (one entry per layer).
    pub fn layer_shapes(&self) -> Result<Vec<Vec<usize>>, ModelError> {
        infer_shapes(&self.description.input.shape, &self.description.layers)
    }

    /// The number of classes: the number of neurons of the last layer, which must be
    /// weighted.
    pub fn num_classes(&self) -> Result<usize, ModelError> {
        check_last_layer(&self.description.layers)?;
        let shapes = self.layer_shapes()?;
        let last = shapes.last().ok_or(ModelError::NoLayers)?;
        Ok(last.iter().product())
    }
}

/// Checks that there is a last layer and that it has neurons.
pub(crate) fn check_last_layer(layers: &[LayerSpec]) -> Result<(), ModelError> {
    let index = layers.len().checked_sub(1).ok_or(ModelError::NoLayers)?;
    let last = &layers[index];
    if last.is_weighted() {
        Ok(())
    } else {
        Err(ModelError::LastLayerNotWeighted {
            index,
            kind: last.kind_name(),
        })
    }
}

/// Output shape of every layer given the network input shape `[C, H, W]`.
pub fn infer_shapes(input: &[usize], layers: &[LayerSpec]) -> Result<Vec<Vec<usize>>, ModelError> {
    if input.len() != 3 || input.contains(&0) {
        return Err(ModelError::Field {
            field: "input.shape",
            problem: format!(
                "must be [C, H, W] with every dimension at least 1, found {}",
                Shape(input)
            ),
        });
    }
    let mut shapes = Vec::with_capacity(layers.len());
    let mut current = input.to_vec();
    for (index, layer) in layers.iter().enumerate() {
        current = output_shape(index, layer, &current)?;
        shapes.push(current.clone());
    }
    Ok(shapes)
}

/// Output shape of one layer given its input shape, after checking its parameters.
fn output_shape(
    index: usize,
    layer: &LayerSpec,
    input: &[usize],
) -> Result<Vec<usize>, ModelError> {
    let fail = |problem: String| ModelError::Layer {
        index,
        kind: layer.kind_name(),
        problem,
    };
    match layer {
        LayerSpec::Linear {
            in_features,
            out_features,
            weight_norm,
            ..
        } => {
            positive(*in_features, "in_features").map_err(fail)?;
            positive(*out_features, "out_features").map_err(fail)?;
            check_weight_norm(weight_norm.as_ref()).map_err(fail)?;
            match input {
                [n] if n == in_features => Ok(vec![*out_features]),
                [n] => Err(fail(format!(
                    "expects {in_features} input features, found {n}"
                ))),
                _ => Err(fail(format!(
                    "expects a 1-D input of {in_features} features, found shape {} (put a flatten layer before it)",
                    Shape(input)
                ))),
            }
        }
        LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            weight_norm,
            ..
        } => {
            positive(*in_channels, "in_channels").map_err(fail)?;
            positive(*out_channels, "out_channels").map_err(fail)?;
            positive(kernel[0], "kernel height").map_err(fail)?;
            positive(kernel[1], "kernel width").map_err(fail)?;
            positive(*stride, "stride").map_err(fail)?;
            check_weight_norm(weight_norm.as_ref()).map_err(fail)?;
            let [c, h, w] = feature_map(input).map_err(fail)?;
            if c != *in_channels {
                return Err(fail(format!(
                    "expects {in_channels} input channels, found {c} (input shape {})",
                    Shape(input)
                )));
            }
            let padded = |side: usize| {
                padding
                    .checked_mul(2)
                    .and_then(|p| p.checked_add(side))
                    .ok_or_else(|| fail(format!("padding {padding} is too large")))
            };
            let (ph, pw) = (padded(h)?, padded(w)?);
            if kernel[0] > ph || kernel[1] > pw {
                return Err(fail(format!(
                    "kernel {} is larger than the padded input [{ph}, {pw}] (input shape {}, padding {padding})",
                    Shape(kernel),
                    Shape(input)
                )));
            }
            Ok(vec![
                *out_channels,
                (ph - kernel[0]) / stride + 1,
                (pw - kernel[1]) / stride + 1,
            ])
        }
        LayerSpec::AvgPool2d { kernel, stride } | LayerSpec::MaxPool2d { kernel, stride } => {
            positive(*kernel, "kernel").map_err(fail)?;
            positive(*stride, "stride").map_err(fail)?;
            let [c, h, w] = feature_map(input).map_err(fail)?;
            if *kernel > h || *kernel > w {
                return Err(fail(format!(
                    "kernel {kernel} is larger than the input [{h}, {w}] (input shape {})",
                    Shape(input)
                )));
            }
            Ok(vec![
                c,
                (h - kernel) / stride + 1,
                (w - kernel) / stride + 1,
            ])
        }
        LayerSpec::Flatten => {
            let [c, h, w] = feature_map(input).map_err(fail)?;
            let n = c
                .checked_mul(h)
                .and_then(|ch| ch.checked_mul(w))
                .ok_or_else(|| fail(format!("input shape {} is too large", Shape(input))))?;
            Ok(vec![n])
        }
    }
}

fn positive(value: usize, name: &str) -> Result<(), String> {
    if value == 0 {
        Err(format!("{name} must be at least 1, found 0"))
    } else {
        Ok(())
    }
}

fn feature_map(input: &[usize]) -> Result<[usize; 3], String> {
    match input {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => Err(format!(
            "expects a [C, H, W] input, found shape {}",
            Shape(input)
        )),
    }
}

fn check_weight_norm(weight_norm: Option<&WeightNorm>) -> Result<(), String> {
    let Some(norm) = weight_norm else {
        return Ok(());
    };
    for (name, value) in [("gain", norm.gain), ("eps", norm.eps)] {
        if !(value.is_finite() && value > 0.0) {
            return Err(format!(
                "weight_norm.{name} must be positive and finite, found {value}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn linear(i: usize, o: usize) -> LayerSpec {
        LayerSpec::Linear {
            in_features: i,
            out_features: o,
            weight_norm: None,
            affine_scale: false,
            bias: false,
        }
    }

    fn conv(i: usize, o: usize, k: usize, stride: usize, padding: usize) -> LayerSpec {
        LayerSpec::Conv2d {
            in_channels: i,
            out_channels: o,
            kernel: [k, k],
            stride,
            padding,
            weight_norm: None,
            affine_scale: false,
            bias: false,
        }
    }

    #[test]
    fn mnist_mlp_shapes() {
        let layers = [LayerSpec::Flatten, linear(784, 800), linear(800, 10)];
        let shapes = infer_shapes(&[1, 28, 28], &layers).unwrap();
        assert_eq!(shapes, vec![vec![784], vec![800], vec![10]]);
    }

    #[test]
    fn conv_and_pool_sizes_follow_the_formulas() {
        // 28 + 2*1 - 3 = 27, /1 + 1 = 28; pool (28 - 2)/2 + 1 = 14;
        // conv k5 s2 p0: (14 - 5)/2 + 1 = 5; pool k3 s1: (5 - 3)/1 + 1 = 3; 64*3*3 = 576.
        let layers = [
            conv(1, 32, 3, 1, 1),
            LayerSpec::AvgPool2d {
                kernel: 2,
                stride: 2,
            },
            conv(32, 64, 5, 2, 0),
            LayerSpec::MaxPool2d {
                kernel: 3,
                stride: 1,
            },
            LayerSpec::Flatten,
            linear(576, 10),
        ];
        let shapes = infer_shapes(&[1, 28, 28], &layers).unwrap();
        assert_eq!(
            shapes,
            vec![
                vec![32, 28, 28],
                vec![32, 14, 14],
                vec![64, 5, 5],
                vec![64, 3, 3],
                vec![576],
                vec![10],
            ]
        );
    }

    #[test]
    fn conv_channel_mismatch_names_layer() {
        let err = infer_shapes(&[3, 8, 8], &[conv(1, 4, 3, 1, 0)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer 0 (conv2d): expects 1 input channels, found 3 (input shape [3, 8, 8])"
        );
    }

    #[test]
    fn flatten_of_a_vector_is_rejected() {
        let err = infer_shapes(&[1, 2, 2], &[LayerSpec::Flatten, LayerSpec::Flatten]).unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::Layer {
                    index: 1,
                    kind: "flatten",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn zero_stride_and_bad_gain_are_rejected() {
        let err = infer_shapes(&[1, 4, 4], &[conv(1, 1, 2, 0, 0)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer 0 (conv2d): stride must be at least 1, found 0"
        );
        let layer = LayerSpec::Linear {
            in_features: 16,
            out_features: 2,
            weight_norm: Some(WeightNorm {
                gain: 0.0,
                eps: 1e-5,
            }),
            affine_scale: false,
            bias: false,
        };
        let err = infer_shapes(&[1, 4, 4], &[LayerSpec::Flatten, layer]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer 1 (linear): weight_norm.gain must be positive and finite, found 0"
        );
    }

    #[test]
    fn input_must_be_three_dimensional() {
        let err = infer_shapes(&[784], &[linear(784, 10)]).unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::Field {
                    field: "input.shape",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn last_layer_must_be_weighted() {
        assert!(matches!(check_last_layer(&[]), Err(ModelError::NoLayers)));
        let err = check_last_layer(&[linear(4, 2), LayerSpec::Flatten]).unwrap_err();
        assert!(matches!(
            err,
            ModelError::LastLayerNotWeighted {
                index: 1,
                kind: "flatten"
            }
        ));
    }
}
