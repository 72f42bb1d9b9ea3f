//! Architectures: the paper's nets by name and a small spec string for others.
//!
//! Grammar: tokens separated by `-`.
//! - a bare number `N`: the first one is the input size (must equal `C*H*W`), every later one
//!   a fully connected layer of `N` neurons (`784-800-10`);
//! - `fN`: a fully connected layer of `N` neurons (a flatten is inserted before it if needed);
//! - `cNkK[sS][pP]`: a convolution with `N` output channels, a `K x K` kernel, stride `S`
//!   (default 1) and zero padding `P` (default `K / 2`, "same");
//! - `aK`: average pooling, `K x K` window, stride `K`;
//! - `mK`: max pooling (ablation only: it breaks the single-spike property).
//!
//! Named nets: `mlp` = `784-800-10`, `mlp2` = `784-400-400-10`,
//! `cnn` = `c32k3-a2-c64k3-a2-f256-f10` (the ETTFS paper's CNN).

use ttfs_compiler::model::{LayerSpec, WeightNorm};

/// A layer of a parsed architecture, before shapes are resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerPlan {
    /// Fully connected layer with this many neurons.
    Linear(usize),
    /// Convolution.
    Conv {
        /// Output channels.
        out: usize,
        /// Square kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on every side.
        padding: usize,
    },
    /// Average pooling with a square window and equal stride.
    AvgPool(usize),
    /// Max pooling with a square window and equal stride (ablation only).
    MaxPool(usize),
}

/// Errors in an architecture string.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArchError {
    /// A token that does not follow the grammar.
    #[error(
        "architecture '{arch}': token '{token}' is not understood (expected N, fN, cNkK[sS][pP], aK or mK)"
    )]
    BadToken {
        /// The whole string.
        arch: String,
        /// The offending token.
        token: String,
    },
    /// The leading input size disagrees with the dataset.
    #[error(
        "architecture '{arch}': input size {given} does not match the dataset's {expected} ({shape:?})"
    )]
    InputSize {
        /// The whole string.
        arch: String,
        /// Size written in the string.
        given: usize,
        /// Size of the dataset's images.
        expected: usize,
        /// Dataset input shape `[C, H, W]`.
        shape: [usize; 3],
    },
    /// A layer does not fit the shape that reaches it.
    #[error("architecture '{arch}': layer {index} ({what}) does not fit its input shape {shape:?}")]
    Shape {
        /// The whole string.
        arch: String,
        /// Layer index.
        index: usize,
        /// Layer description.
        what: String,
        /// Input shape reaching it.
        shape: Vec<usize>,
    },
    /// No layer with neurons, or the last layer is not weighted.
    #[error("architecture '{arch}': {reason}")]
    Structure {
        /// The whole string.
        arch: String,
        /// What is wrong.
        reason: String,
    },
}

/// Expands a named architecture into its spec string; other strings are returned unchanged.
pub fn expand_name(arch: &str) -> &str {
    match arch {
        "mlp" => "784-800-10",
        "mlp2" => "784-400-400-10",
        "cnn" => "c32k3-a2-c64k3-a2-f256-f10",
        other => other,
    }
}

fn number(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| *n > 0)
}

fn parse_conv(token: &str) -> Option<LayerPlan> {
    // cNkK[sS][pP]
    let rest = token.strip_prefix('c')?;
    let k_at = rest.find('k')?;
    let out = number(&rest[..k_at])?;
    let mut rest = &rest[k_at + 1..];
    let end = rest.find(['s', 'p']).unwrap_or(rest.len());
    let kernel = number(&rest[..end])?;
    rest = &rest[end..];
    let mut stride = 1;
    let mut padding = kernel / 2;
    while let Some(c) = rest.chars().next() {
        let body = &rest[1..];
        let end = body.find(['s', 'p']).unwrap_or(body.len());
        let value: usize = body[..end].parse().ok()?;
        match c {
            's' if value > 0 => stride = value,
            'p' => padding = value,
            _ => return None,
        }
        rest = &body[end..];
    }
    Some(LayerPlan::Conv {
        out,
        kernel,
        stride,
        padding,
    })
}

/// Parses an architecture string (or name) into layer plans; the leading input size, if any,
/// is returned separately.
pub fn parse(arch: &str) -> Result<(Option<usize>, Vec<LayerPlan>), ArchError> {
    let spec = expand_name(arch);
    let mut input = None;
    let mut layers = Vec::new();
    for (i, token) in spec.split('-').enumerate() {
        let bad = || ArchError::BadToken {
            arch: arch.to_string(),
            token: token.to_string(),
        };
        let plan = if let Some(n) = number(token) {
            if i == 0 {
                input = Some(n);
                continue;
            }
            LayerPlan::Linear(n)
        } else if let Some(n) = token.strip_prefix('f') {
            LayerPlan::Linear(number(n).ok_or_else(bad)?)
        } else if let Some(k) = token.strip_prefix('a') {
            LayerPlan::AvgPool(number(k).ok_or_else(bad)?)
        } else if let Some(k) = token.strip_prefix('m') {
            LayerPlan::MaxPool(number(k).ok_or_else(bad)?)
        } else {
            parse_conv(token).ok_or_else(bad)?
        };
        layers.push(plan);
    }
    Ok((input, layers))
}

/// How weighted layers are parameterised (the paper's ablation switches).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerOptions {
    /// Weight normalisation with this gain (the init gain `g`), or plain weights.
    pub weight_norm: Option<WeightNorm>,
    /// Learnable per-neuron scale (the affine transform's gamma).
    pub affine_scale: bool,
    /// Learnable per-neuron shift (the affine transform's beta, a bias current per step).
    pub bias: bool,
}

/// Resolves an architecture against the dataset's input shape `[C, H, W]` into the model
/// format's layer list, checking every shape.
pub fn resolve(
    arch: &str,
    input_shape: [usize; 3],
    options: &LayerOptions,
) -> Result<Vec<LayerSpec>, ArchError> {
    let (input, plans) = parse(arch)?;
    let flat = input_shape.iter().product::<usize>();
    if let Some(given) = input
        && given != flat
    {
        return Err(ArchError::InputSize {
            arch: arch.to_string(),
            given,
            expected: flat,
            shape: input_shape,
        });
    }
    let mut shape: Vec<usize> = input_shape.to_vec();
    let mut layers = Vec::new();
    let shape_err = |index: usize, what: String, shape: &[usize]| ArchError::Shape {
        arch: arch.to_string(),
        index,
        what,
        shape: shape.to_vec(),
    };
    for (index, plan) in plans.iter().enumerate() {
        match *plan {
            LayerPlan::Linear(out) => {
                if shape.len() != 1 {
                    layers.push(LayerSpec::Flatten);
                    shape = vec![shape.iter().product()];
                }
                layers.push(LayerSpec::Linear {
                    in_features: shape[0],
                    out_features: out,
                    weight_norm: options.weight_norm.clone(),
                    affine_scale: options.affine_scale,
                    bias: options.bias,
                });
                shape = vec![out];
            }
            LayerPlan::Conv {
                out,
                kernel,
                stride,
                padding,
            } => {
                let what = format!("conv {out} channels, kernel {kernel}");
                if shape.len() != 3 {
                    return Err(shape_err(index, what, &shape));
                }
                let size = |n: usize| {
                    (n + 2 * padding)
                        .checked_sub(kernel)
                        .map(|d| d / stride + 1)
                };
                let (Some(h), Some(w)) = (size(shape[1]), size(shape[2])) else {
                    return Err(shape_err(index, what, &shape));
                };
                layers.push(LayerSpec::Conv2d {
                    in_channels: shape[0],
                    out_channels: out,
                    kernel: [kernel, kernel],
                    stride,
                    padding,
                    weight_norm: options.weight_norm.clone(),
                    affine_scale: options.affine_scale,
                    bias: options.bias,
                });
                shape = vec![out, h, w];
            }
            LayerPlan::AvgPool(k) | LayerPlan::MaxPool(k) => {
                let avg = matches!(plan, LayerPlan::AvgPool(_));
                let what = format!("{} pool {k}", if avg { "average" } else { "max" });
                if shape.len() != 3 || shape[1] < k || shape[2] < k {
                    return Err(shape_err(index, what, &shape));
                }
                layers.push(if avg {
                    LayerSpec::AvgPool2d {
                        kernel: k,
                        stride: k,
                    }
                } else {
                    LayerSpec::MaxPool2d {
                        kernel: k,
                        stride: k,
                    }
                });
                shape = vec![shape[0], (shape[1] - k) / k + 1, (shape[2] - k) / k + 1];
            }
        }
    }
    match layers.last() {
        Some(LayerSpec::Linear { .. }) | Some(LayerSpec::Conv2d { .. }) => Ok(layers),
        _ => Err(ArchError::Structure {
            arch: arch.to_string(),
            reason: "the last layer must be a layer of neurons (a number, fN or cNkK)".into(),
        }),
    }
}

/// The architecture `arch` (a name or a spec string) with every average pool (`a<k>`) replaced
/// by a max pool (`m<k>`): the ablation of `--pool max`, which the compiler refuses.
pub fn with_max_pool(arch: &str) -> String {
    let spec = expand_name(arch);
    spec.split('-')
        .map(|t| match t.strip_prefix('a') {
            Some(k) if k.bytes().all(|b| b.is_ascii_digit()) => format!("m{k}"),
            _ => t.to_string(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const OPTS: LayerOptions = LayerOptions {
        weight_norm: None,
        affine_scale: false,
        bias: true,
    };

    #[test]
    fn paper_cnn_resolves_to_the_expected_shapes() {
        let layers = resolve("cnn", [1, 28, 28], &OPTS).unwrap();
        assert_eq!(layers.len(), 7);
        match &layers[5] {
            LayerSpec::Linear {
                in_features,
                out_features,
                ..
            } => assert_eq!((*in_features, *out_features), (64 * 7 * 7, 256)),
            other => panic!("layer 5 is {other:?}"),
        }
        assert_eq!(layers[4], LayerSpec::Flatten);
    }

    #[test]
    fn mlp_and_conv_options_parse() {
        let layers = resolve("784-400-400-10", [1, 28, 28], &OPTS).unwrap();
        assert_eq!(layers.len(), 4); // flatten + 3 linear
        let (_, plans) = parse("c8k5s2p0-m2-f10").unwrap();
        assert_eq!(
            plans[0],
            LayerPlan::Conv {
                out: 8,
                kernel: 5,
                stride: 2,
                padding: 0
            }
        );
        assert_eq!(plans[1], LayerPlan::MaxPool(2));
    }

    #[test]
    fn bad_strings_are_refused_with_the_token() {
        let err = resolve("784-x-10", [1, 28, 28], &OPTS).unwrap_err();
        assert!(err.to_string().contains("'x'"), "{err}");
        let err = resolve("100-10", [1, 28, 28], &OPTS).unwrap_err();
        assert!(matches!(err, ArchError::InputSize { given: 100, .. }));
        let err = resolve("c8k31p0-f10", [1, 28, 28], &OPTS).unwrap_err();
        assert!(matches!(err, ArchError::Shape { index: 0, .. }), "{err}");
        let err = resolve("f10-a2", [1, 28, 28], &OPTS).unwrap_err();
        assert!(matches!(err, ArchError::Shape { index: 1, .. }), "{err}");
        let err = resolve("c8k3-a2", [1, 28, 28], &OPTS).unwrap_err();
        assert!(matches!(err, ArchError::Structure { .. }), "{err}");
    }
}
