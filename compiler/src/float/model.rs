//! [`run_model`]: the model's own layers, simulated densely step by step.

use ttfs_runtime::config::InputEncoding;

use super::{FloatRun, finish};
use crate::lower::{LowerError, check_supported, runtime_encoding};
use crate::model::{EffectiveLayer, LayerSpec, Model};

/// One layer, ready to run: its kind, its input and output shapes, and for a weighted layer
/// its effective weights and the state of its neurons.
struct Stage<'a> {
    spec: &'a LayerSpec,
    input: Vec<usize>,
    output: Vec<usize>,
    effective: Option<EffectiveLayer>,
    potential: Vec<f64>,
    fired: Vec<Option<u32>>,
}

/// Simulates the model's own layers on one image (`pixels` row-major `[C, H, W]`), with the
/// effective weights of [`Model::effective_layer`], in `f64`.
///
/// The model is validated first; max pooling and direct input are refused as by
/// [`lower`](crate::lower::lower), and an image of the wrong size is an error.
pub fn run_model(model: &Model, pixels: &[u8]) -> Result<FloatRun, LowerError> {
    let input = check_supported(model)?;
    let expected = input.iter().product::<usize>();
    if pixels.len() != expected {
        return Err(LowerError::InputSize {
            found: pixels.len(),
            expected,
            shape: input,
        });
    }
    let d = &model.description;
    let time_steps = d.time_steps;
    let threshold = f64::from(d.neuron.threshold);
    let shapes = model.layer_shapes()?;
    let mut stages = Vec::with_capacity(d.layers.len());
    let mut in_shape = input.to_vec();
    for (index, (spec, out_shape)) in d.layers.iter().zip(&shapes).enumerate() {
        let neurons = if spec.is_weighted() {
            out_shape.iter().product()
        } else {
            0
        };
        stages.push(Stage {
            spec,
            input: in_shape,
            output: out_shape.clone(),
            effective: if spec.is_weighted() {
                Some(model.effective_layer(index)?)
            } else {
                None
            },
            potential: vec![0.0; neurons],
            fired: vec![None; neurons],
        });
        in_shape = out_shape.clone();
    }
    let encoding = runtime_encoding(d.input.encoding);
    let pixel_steps: Vec<Option<u32>> = pixels
        .iter()
        .map(|&p| encoding.spike_step(p, time_steps))
        .collect();
    // The thermometer code stands for the quantized grey level as a current at every step.
    let levels = f64::from(encoding.lines_per_pixel());
    let quantized: Vec<f64> = pixels
        .iter()
        .map(|&p| f64::from(encoding.active_lines(p)) / levels)
        .collect();
    let classes = shapes.last().map_or(0, |s| s.iter().product());
    let mut output_potential = vec![Vec::with_capacity(time_steps as usize); classes];

    for t in 1..=time_steps {
        let mut values: Vec<f64> = match encoding {
            InputEncoding::Thermometer { .. } => quantized.clone(),
            InputEncoding::Latency => pixel_steps
                .iter()
                .map(|&s| if s == Some(t) { 1.0 } else { 0.0 })
                .collect(),
        };
        for stage in &mut stages {
            let current = match (stage.spec, &stage.effective) {
                (LayerSpec::Flatten, _) => continue,
                (LayerSpec::AvgPool2d { kernel, stride }, _) => {
                    values = avg_pool(&values, &stage.input, *kernel, *stride);
                    continue;
                }
                (
                    LayerSpec::Conv2d {
                        stride, padding, ..
                    },
                    Some(effective),
                ) => convolve(
                    &values,
                    &stage.input,
                    &stage.output,
                    effective,
                    *stride,
                    *padding,
                ),
                (LayerSpec::Linear { .. }, Some(effective)) => dense(&values, effective),
                // Max pooling was refused; weighted layers always have their weights.
                _ => continue,
            };
            for (i, input) in current.into_iter().enumerate() {
                stage.potential[i] += input;
                if stage.fired[i].is_none() && stage.potential[i] >= threshold {
                    stage.fired[i] = Some(t);
                }
            }
            values = stage
                .fired
                .iter()
                .map(|&f| if f == Some(t) { 1.0 } else { 0.0 })
                .collect();
        }
        if let Some(last) = stages.last() {
            for (k, &h) in last.potential.iter().enumerate() {
                output_potential[k].push(h);
            }
        }
    }
    let spike_steps = stages
        .into_iter()
        .filter(|s| s.spec.is_weighted())
        .map(|s| s.fired)
        .collect();
    Ok(finish(
        spike_steps,
        output_potential,
        time_steps,
        d.decoding.tie_break.into(),
    ))
}

/// Average pooling of a `[C, H, W]` map (square kernel, no padding, partial windows
/// dropped).
fn avg_pool(values: &[f64], shape: &[usize], kernel: usize, stride: usize) -> Vec<f64> {
    let [c, h, w] = [shape[0], shape[1], shape[2]];
    let (out_h, out_w) = ((h - kernel) / stride + 1, (w - kernel) / stride + 1);
    let mut out = Vec::with_capacity(c * out_h * out_w);
    for ch in 0..c {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let mut sum = 0.0;
                for dy in 0..kernel {
                    for dx in 0..kernel {
                        sum += values[(ch * h + oy * stride + dy) * w + ox * stride + dx];
                    }
                }
                out.push(sum / (kernel * kernel) as f64);
            }
        }
    }
    out
}

/// Input current of a convolution layer: weights `[C_out, C_in, kh, kw]`, zero padding,
/// plus the bias of each output channel.
fn convolve(
    values: &[f64],
    input: &[usize],
    output: &[usize],
    effective: &EffectiveLayer,
    stride: usize,
    padding: usize,
) -> Vec<f64> {
    let [c_in, h, w] = [input[0], input[1], input[2]];
    let [c_out, out_h, out_w] = [output[0], output[1], output[2]];
    let [kh, kw] = [effective.weight.shape[2], effective.weight.shape[3]];
    let weight = &effective.weight.data;
    let mut out = Vec::with_capacity(c_out * out_h * out_w);
    for co in 0..c_out {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let mut sum = 0.0;
                for ci in 0..c_in {
                    for ky in 0..kh {
                        // Padded coordinates are `padding` more than input coordinates.
                        let Some(iy) = (oy * stride + ky).checked_sub(padding) else {
                            continue;
                        };
                        if iy >= h {
                            continue;
                        }
                        for kx in 0..kw {
                            let Some(ix) = (ox * stride + kx).checked_sub(padding) else {
                                continue;
                            };
                            if ix >= w {
                                continue;
                            }
                            let wt = weight[((co * c_in + ci) * kh + ky) * kw + kx];
                            sum += f64::from(wt) * values[(ci * h + iy) * w + ix];
                        }
                    }
                }
                out.push(sum + f64::from(effective.bias[co]));
            }
        }
    }
    out
}

/// Input current of a linear layer: weights `[out, in]` times the values, plus the bias.
fn dense(values: &[f64], effective: &EffectiveLayer) -> Vec<f64> {
    let inputs = values.len().max(1);
    effective
        .weight
        .data
        .chunks_exact(inputs)
        .zip(&effective.bias)
        .map(|(row, &b)| {
            let sum: f64 = row
                .iter()
                .zip(values)
                .map(|(&w, &x)| f64::from(w) * x)
                .sum();
            sum + f64::from(b)
        })
        .collect()
}
