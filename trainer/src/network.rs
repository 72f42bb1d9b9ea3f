//! The spiking network in Candle: parameters, effective weights and the time-parallel forward.
//!
//! Every weighted layer (linear or convolution) is followed by single-spike IF neurons
//! ([`crate::ops::neuron`]). A forward pass applies each layer to all `T` steps at once
//! (`[T * B, ...]`) and scans the neurons over time, which equals step-by-step propagation.
//! Parameters are named as in the model format (`layers.{i}.weight|scale|shift`) and kept in
//! a sorted map, so the optimiser and checkpoints see them in one fixed order.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use rand_chacha::ChaCha8Rng;
use ttfs_compiler::model::{LayerSpec, QuantizedFor, WeightNorm};

use crate::init::uniform_weights;
use crate::ops::bias::add_bias;
use crate::ops::conv::conv2d;
use crate::ops::cpu::with_data;
use crate::ops::layer_fire::{WeightGradSlot, conv_fire, linear_fire, linear_fire_direct};
use crate::ops::neuron::{FireConfig, fire_steps};
use crate::ops::pool::avg_pool;
use crate::ops::sparse::sparse_linear;
use crate::ops::weight_norm::{WeightNormOp, weight_norm, weight_norm_transposed};
use crate::qat::Margin;

/// How the input reaches the first layer.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    /// Time-major spikes `[T, B, C*H*W]` (latency coding: at most one spike per pixel).
    Spikes,
    /// Analog pixel values `[B, C*H*W]` applied as input current at every step.
    Direct,
}

/// What reaches a weighted layer, which decides how its product is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerInput {
    /// Dense values (direct input): a dense matrix product.
    Dense,
    /// Spikes or pooled spikes, mostly zero: the sparse product of [`crate::ops::sparse`].
    Sparse {
        /// Whether the input needs a gradient (false for the network's input).
        needs_grad: bool,
    },
}

/// Which layers' input currents a forward pass must hand back as part of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Currents {
    /// Every layer's (a loss term reads the hidden layers' potentials).
    All,
    /// The output layer's only: hidden layers of spiking input may then run as one fused op
    /// ([`crate::ops::layer_fire`]), which keeps its currents to itself, and a convolution
    /// takes the average pooling after it into the op (its `layer_spikes` entry is then
    /// pooled).
    OutputOnly,
}

/// What a forward pass returns.
pub struct Forward {
    /// Output spikes `[T, B, K]`.
    pub out_spikes: Tensor,
    /// Output layer input currents `[T, B, K]` (so `H[t]` is their running sum).
    pub out_currents: Tensor,
    /// Spikes of every layer of neurons, `[T, B, n]` with `n` the layer's neuron count; for a
    /// convolution that ran fused with the average pooling after it (under
    /// [`Currents::OutputOnly`]), its pooled spikes.
    pub layer_spikes: Vec<Tensor>,
    /// Input currents of every layer of neurons, `[T, B, n]` (`H[t]` is their running sum);
    /// `None` for a layer that ran fused under [`Currents::OutputOnly`].
    pub layer_currents: Vec<Option<Tensor>>,
}

/// A layer that ran with its weights outside Candle's graph ([`Network::forward_for_step`]):
/// its index, and where its backward leaves `dW^T`.
pub struct DirectLayer {
    /// The layer's index.
    pub index: usize,
    /// `dW^T`, once the backward pass has run.
    pub slot: WeightGradSlot,
}

impl DirectLayer {
    /// Takes `dW^T` out of the slot; an error if the backward has not left one (or it was
    /// taken already), never a silent zero.
    pub fn take_gradient(&self) -> Result<Vec<f32>> {
        self.slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                candle_core::Error::Msg(format!("layer {}: no weight gradient left", self.index))
            })
    }

    /// Adds `other`'s `dW^T` (the same layer's, from another part of the batch) into this
    /// one's slot.
    pub fn absorb(&self, other: &DirectLayer) -> Result<()> {
        if other.index != self.index {
            candle_core::bail!(
                "layer {} cannot take layer {}'s gradient",
                self.index,
                other.index
            );
        }
        let mut sum = self.take_gradient()?;
        let more = other.take_gradient()?;
        for (s, v) in sum.iter_mut().zip(&more) {
            *s += v;
        }
        *self
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sum);
        Ok(())
    }
}

/// A TTFS spiking network: a layer list (the model format's) and its Candle parameters.
pub struct Network {
    /// The layer list, as written into the model file.
    pub layers: Vec<LayerSpec>,
    /// Input shape `[C, H, W]`.
    pub input_shape: [usize; 3],
    /// Time steps `T`.
    pub steps: usize,
    /// Neuron and surrogate parameters.
    pub fire: FireConfig,
    /// Parameters by name, sorted.
    pub params: BTreeMap<String, Var>,
    /// Pruning masks by layer index (1 keeps a weight, 0 removes it), multiplied into the
    /// effective weight, so a pruned weight is zero in the forward pass, gets no gradient, and
    /// is exported as zero; empty when nothing is pruned.
    pub masks: BTreeMap<usize, Tensor>,
    /// Quantization-aware training: when set, every weighted layer computes with the integer
    /// weights, biases and thresholds of a target of these widths ([`crate::qat`]).
    pub quantize: Option<QuantizedFor>,
}

/// Fan-in of a weighted layer (`in_features` or `in_channels * kh * kw`).
pub fn fan_in(layer: &LayerSpec) -> Option<usize> {
    match layer {
        LayerSpec::Linear { in_features, .. } => Some(*in_features),
        LayerSpec::Conv2d {
            in_channels,
            kernel,
            ..
        } => Some(in_channels * kernel[0] * kernel[1]),
        _ => None,
    }
}

fn weight_shape(layer: &LayerSpec) -> Option<Vec<usize>> {
    match layer {
        LayerSpec::Linear {
            in_features,
            out_features,
            ..
        } => Some(vec![*out_features, *in_features]),
        LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel,
            ..
        } => Some(vec![*out_channels, *in_channels, kernel[0], kernel[1]]),
        _ => None,
    }
}

fn norm_options(layer: &LayerSpec) -> (Option<WeightNorm>, bool, bool) {
    match layer {
        LayerSpec::Linear {
            weight_norm,
            affine_scale,
            bias,
            ..
        }
        | LayerSpec::Conv2d {
            weight_norm,
            affine_scale,
            bias,
            ..
        } => (weight_norm.clone(), *affine_scale, *bias),
        _ => (None, false, false),
    }
}

impl Network {
    /// Creates a network with freshly initialised parameters: raw weights uniform with
    /// variance `init_gain / n_in`, scales 1, shifts 0.
    pub fn new(
        layers: Vec<LayerSpec>,
        input_shape: [usize; 3],
        steps: usize,
        fire: FireConfig,
        init_gain: f32,
        rng: &mut ChaCha8Rng,
    ) -> Result<Network> {
        let device = Device::Cpu;
        let mut params = BTreeMap::new();
        for (i, layer) in layers.iter().enumerate() {
            let (Some(shape), Some(n_in)) = (weight_shape(layer), fan_in(layer)) else {
                continue;
            };
            let count = shape.iter().product();
            let w = uniform_weights(count, n_in, init_gain, rng);
            let w = Tensor::from_vec(w, shape.as_slice(), &device)?;
            params.insert(format!("layers.{i}.weight"), Var::from_tensor(&w)?);
            let (_, scale, bias) = norm_options(layer);
            let out = shape[0];
            if scale {
                let t = Tensor::ones(out, DType::F32, &device)?;
                params.insert(format!("layers.{i}.scale"), Var::from_tensor(&t)?);
            }
            if bias {
                let t = Tensor::zeros(out, DType::F32, &device)?;
                params.insert(format!("layers.{i}.shift"), Var::from_tensor(&t)?);
            }
        }
        Ok(Network {
            layers,
            input_shape,
            steps,
            fire,
            params,
            masks: BTreeMap::new(),
            quantize: None,
        })
    }

    fn param(&self, name: &str) -> Result<&Var> {
        self.params
            .get(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("missing parameter {name}")))
    }

    /// Number of output classes (neurons of the last layer).
    pub fn num_classes(&self) -> usize {
        match self.layers.last() {
            Some(LayerSpec::Linear { out_features, .. }) => *out_features,
            Some(LayerSpec::Conv2d { out_channels, .. }) => *out_channels,
            _ => 0,
        }
    }

    /// The raw weight of layer `index` flattened to `[out, fan-in]`, its shape, and its scale
    /// (`None` without the affine scale).
    fn raw_weight(&self, index: usize) -> Result<(Tensor, Shape, Option<Tensor>)> {
        let (_, scale, _) = norm_options(&self.layers[index]);
        let w = self.param(&format!("layers.{index}.weight"))?.as_tensor();
        let shape = w.shape().clone();
        let out = shape.dims()[0];
        let flat = w.reshape((out, shape.elem_count() / out))?;
        let scale = if scale {
            Some(
                self.param(&format!("layers.{index}.scale"))?
                    .as_tensor()
                    .clone(),
            )
        } else {
            None
        };
        Ok((flat, shape, scale))
    }

    /// The weight norm's `gamma` of a layer with `out` neurons: its scale, or ones without
    /// the affine scale.
    fn gamma(scale: Option<Tensor>, out: usize) -> Result<Tensor> {
        match scale {
            Some(s) => Ok(s),
            None => Tensor::ones(out, DType::F32, &Device::Cpu),
        }
    }

    /// Layer `index`'s shift, if it has one.
    fn shift(&self, index: usize) -> Option<Tensor> {
        self.params
            .get(&format!("layers.{index}.shift"))
            .map(|v| v.as_tensor().clone())
    }

    /// The effective weight of layer `index`: weight normalisation and affine scale applied.
    pub fn effective_weight(&self, index: usize) -> Result<Tensor> {
        let (wn, _, _) = norm_options(&self.layers[index]);
        let (flat, shape, scale) = self.raw_weight(index)?;
        let out = shape.dims()[0];
        let flat = match (wn, scale) {
            (Some(WeightNorm { gain, eps }), scale) => {
                weight_norm(&flat, &Self::gamma(scale, out)?, gain, eps)?
            }
            (None, Some(s)) => flat.broadcast_mul(&s.unsqueeze(1)?)?,
            (None, None) => flat,
        };
        let w = flat.reshape(shape)?;
        match self.masks.get(&index) {
            Some(mask) => w.mul(mask),
            None => Ok(w),
        }
    }

    /// Layer `index`'s weight norm when its effective weight is that norm of its raw weight and
    /// nothing else (no pruning mask, no quantization-aware training): the case whose `W^T`
    /// the weight norm writes directly, and whose gradient can bypass Candle's graph.
    fn plain_weight_norm(&self, index: usize) -> Option<WeightNorm> {
        let (wn, _, _) = norm_options(&self.layers[index]);
        wn.filter(|_| self.quantize.is_none() && !self.masks.contains_key(&index))
    }

    /// The gradients of the raw weight and scale of each layer that ran with its weights
    /// outside the graph ([`Network::forward_for_step`]), from the `dW^T` its op left: the
    /// weight norm's backward, keyed by parameter name. Call once, after the backward pass.
    ///
    /// # Errors
    /// A layer whose backward did not run, or a tensor error.
    pub fn direct_gradients(&self, layers: &[DirectLayer]) -> Result<BTreeMap<String, Vec<f32>>> {
        let mut out = BTreeMap::new();
        for layer in layers {
            let index = layer.index;
            let Some(WeightNorm { gain, eps }) = self.plain_weight_norm(index) else {
                candle_core::bail!("layer {index} has no plain weight norm");
            };
            let dwt = layer.take_gradient()?;
            let (flat, shape, scale) = self.raw_weight(index)?;
            let out_features = shape.dims()[0];
            let n = shape.elem_count() / out_features.max(1);
            let scale = Self::gamma(scale, out_features)?;
            let op = WeightNormOp {
                gain,
                eps,
                transposed: true,
            };
            let (gw, gg) = with_data(&flat, "weight norm", "weight", |w| {
                with_data(&scale, "weight norm", "scale", |s| {
                    op.backward_transposed(w, s, &dwt, n)
                })
            })??;
            out.insert(format!("layers.{index}.weight"), gw);
            if norm_options(&self.layers[index]).1 {
                out.insert(format!("layers.{index}.scale"), gg);
            }
        }
        Ok(out)
    }

    /// [`Network::weight_and_shift`] for a linear layer with the weight transposed (`[K, M]`),
    /// the operand of the sparse product. With weight normalisation and neither a pruning mask
    /// nor quantization-aware training (the usual case) the normalisation writes the
    /// transpose itself; otherwise the effective weight is transposed after.
    pub fn weight_transposed_and_shift(&self, index: usize) -> Result<(Tensor, Option<Tensor>)> {
        let Some(WeightNorm { gain, eps }) = self.plain_weight_norm(index) else {
            let (w, shift) = self.weight_and_shift(index)?;
            return Ok((w.t()?.contiguous()?, shift));
        };
        let (flat, shape, scale) = self.raw_weight(index)?;
        let gamma = Self::gamma(scale, shape.dims()[0])?;
        Ok((
            weight_norm_transposed(&flat, &gamma, gain, eps)?,
            self.shift(index),
        ))
    }

    /// The indices of the hidden-input layers: every weighted layer but the output one, the
    /// layers pruning applies to, in order.
    pub fn hidden_input_layers(&self) -> Vec<usize> {
        let weighted: Vec<usize> = (0..self.layers.len())
            .filter(|&i| fan_in(&self.layers[i]).is_some())
            .collect();
        let hidden = weighted.len().saturating_sub(1);
        weighted.into_iter().take(hidden).collect()
    }

    /// The weight and bias layer `index` computes with: the effective weight (and the shift),
    /// or under quantization-aware training the values of their integers ([`crate::qat`]),
    /// the gradient passed straight through.
    pub fn weight_and_shift(&self, index: usize) -> Result<(Tensor, Option<Tensor>)> {
        self.weight_and_shift_with(index, Margin::Half)
    }

    /// [`Network::weight_and_shift`] with the integers divided as `margin` says: the forward
    /// pass uses [`Margin::Half`], the export [`Margin::None`].
    pub fn weight_and_shift_with(
        &self,
        index: usize,
        margin: Margin,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let w = self.effective_weight(index)?;
        let shift = self.shift(index);
        let Some(spec) = self.quantize else {
            return Ok((w, shift));
        };
        let hidden = self.hidden_input_layers().contains(&index);
        crate::qat::fake_quantize(
            &w,
            shift.as_ref(),
            self.fire.threshold,
            self.pool_coefficient(index),
            spec,
            spec.per_neuron_threshold && hidden,
            margin,
        )
    }

    /// The product of the average pools' coefficients (`1 / k^2` each) between the weighted
    /// layer before `index` and `index`: the factor the compiler folds into the layer's
    /// synapses.
    pub fn pool_coefficient(&self, index: usize) -> f64 {
        let mut c = 1.0;
        for layer in self.layers[..index].iter().rev() {
            match layer {
                LayerSpec::AvgPool2d { kernel, .. } => c /= (kernel * kernel) as f64,
                LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. } => break,
                _ => {}
            }
        }
        c
    }

    /// Masks that prune the weights of the hidden-input layers by magnitude, `fractions[i]` of
    /// the `i`-th ([`Network::hidden_input_layers`]): in each layer the `floor(fraction * n)`
    /// effective weights of smallest `|w|` (the lower index first among equals) get 0, the
    /// others 1. A layer with fraction 0 gets no mask; missing fractions count as 0.
    pub fn magnitude_masks(&self, fractions: &[f32]) -> Result<BTreeMap<usize, Tensor>> {
        let mut masks = BTreeMap::new();
        for (&index, &fraction) in self.hidden_input_layers().iter().zip(fractions) {
            if fraction <= 0.0 {
                continue;
            }
            let w = self.effective_weight(index)?;
            let values = w.flatten_all()?.to_vec1::<f32>()?;
            let pruned = (f64::from(fraction) * values.len() as f64).floor() as usize;
            let mut order: Vec<usize> = (0..values.len()).collect();
            order.sort_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()).then(a.cmp(&b)));
            let mut keep = vec![1f32; values.len()];
            for &i in order.iter().take(pruned) {
                keep[i] = 0.0;
            }
            masks.insert(index, Tensor::from_vec(keep, w.shape(), &Device::Cpu)?);
        }
        Ok(masks)
    }

    /// Runs the network on a batch, every layer's currents kept; see [`Network::forward_with`].
    pub fn forward(&self, input: &Tensor, mode: InputMode) -> Result<Forward> {
        self.forward_with(input, mode, Currents::All)
    }

    /// Runs the network on a batch. `input` is `[T, B, C*H*W]` for [`InputMode::Spikes`] or
    /// `[B, C*H*W]` for [`InputMode::Direct`]; `currents` says which layers' currents the
    /// caller reads. Spikes and gradients are the same either way.
    pub fn forward_with(
        &self,
        input: &Tensor,
        mode: InputMode,
        currents: Currents,
    ) -> Result<Forward> {
        Ok(self.forward_impl(input, mode, currents, None)?.0)
    }

    /// [`Network::forward_with`] for a training step: a fused hidden linear layer with a plain
    /// weight norm computes `W^T` outside Candle's graph, and its backward leaves `dW^T` in a
    /// slot ([`DirectLayer`]) instead of Candle's gradient store; [`Network::direct_gradients`]
    /// turns those into the gradients of the raw weights and scales, which Candle's store then
    /// lacks. Spikes and the other gradients are the same.
    ///
    /// `shared` holds such layers' `W^T` by layer index ([`Network::step_weights`]), computed
    /// once for the parts of a batch that run on their own; a layer not in it computes its own.
    pub fn forward_for_step(
        &self,
        input: &Tensor,
        mode: InputMode,
        currents: Currents,
        shared: &BTreeMap<usize, Tensor>,
    ) -> Result<(Forward, Vec<DirectLayer>)> {
        self.forward_impl(input, mode, currents, Some(shared))
    }

    /// The `W^T` (outside the graph) of every layer [`Network::forward_for_step`] runs with its
    /// weights outside the graph, by layer index, for `mode` and `currents`.
    pub fn step_weights(
        &self,
        mode: InputMode,
        currents: Currents,
    ) -> Result<BTreeMap<usize, Tensor>> {
        let mut out = BTreeMap::new();
        for i in 0..self.layers.len() {
            if self.runs_fused(i, self.layer_input(i, mode), currents) && self.runs_direct(i) {
                out.insert(i, self.weight_transposed_and_shift(i)?.0.detach());
            }
        }
        Ok(out)
    }

    /// What weighted layer `index` is fed under `mode`: the first layer's dense pixels for
    /// direct input, spikes (or pooled spikes) otherwise, with a gradient below the first.
    fn layer_input(&self, index: usize, mode: InputMode) -> LayerInput {
        let first = self.layers.iter().position(|l| fan_in(l).is_some()) == Some(index);
        if first && mode == InputMode::Direct {
            LayerInput::Dense
        } else {
            LayerInput::Sparse { needs_grad: !first }
        }
    }

    /// Whether weighted layer `index`, fed `input`, runs as one fused op
    /// ([`crate::ops::layer_fire`]): a hidden layer of spiking input with a shift, when no loss
    /// term reads its currents.
    fn runs_fused(&self, index: usize, input: LayerInput, currents: Currents) -> bool {
        matches!(input, LayerInput::Sparse { .. })
            && currents == Currents::OutputOnly
            && self.params.contains_key(&format!("layers.{index}.shift"))
            && self.layers.iter().rposition(|l| fan_in(l).is_some()) != Some(index)
    }

    /// Whether a fused layer `index` keeps its weights outside the graph in a training step
    /// ([`Network::forward_for_step`]): a linear layer with a plain weight norm.
    fn runs_direct(&self, index: usize) -> bool {
        matches!(self.layers[index], LayerSpec::Linear { .. })
            && self.plain_weight_norm(index).is_some()
    }

    fn forward_impl(
        &self,
        input: &Tensor,
        mode: InputMode,
        currents: Currents,
        shared: Option<&BTreeMap<usize, Tensor>>,
    ) -> Result<(Forward, Vec<DirectLayer>)> {
        let direct = shared.is_some();
        let mut direct_layers = Vec::new();
        let t = self.steps;
        let [c, h, w] = self.input_shape;
        // `x` holds the current layer's input with time folded into the batch, except for
        // direct input, which is the same at every step and is expanded after the first layer.
        let (batch, mut x, mut time_folded) = match mode {
            InputMode::Spikes => {
                let b = input.dim(1)?;
                (b, input.reshape((t * b, c, h, w))?, true)
            }
            InputMode::Direct => {
                let b = input.dim(0)?;
                (b, input.reshape((b, c, h, w))?, false)
            }
        };
        let mut layer_spikes = Vec::new();
        let mut layer_currents = Vec::new();
        let mut last_currents = None;
        // Set when a convolution ran fused with the average pooling that follows it.
        let mut pooled_already = false;
        for (i, layer) in self.layers.iter().enumerate() {
            if std::mem::take(&mut pooled_already) {
                continue;
            }
            match layer {
                LayerSpec::Flatten => {
                    let n = x.dim(0)?;
                    x = x.reshape((n, ()))?;
                }
                LayerSpec::AvgPool2d { kernel, stride } => {
                    x = if kernel == stride {
                        avg_pool(&x, *kernel)?
                    } else {
                        x.avg_pool2d_with_stride(*kernel, *stride)?
                    };
                }
                LayerSpec::MaxPool2d { kernel, stride } => {
                    x = x.max_pool2d_with_stride(*kernel, *stride)?;
                }
                LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. } => {
                    // Spikes (and pooled spikes) are sparse; direct input is dense.
                    let input = self.layer_input(i, mode);
                    if let LayerInput::Sparse { needs_grad } = input
                        && self.runs_fused(i, input, currents)
                    {
                        let no_shift =
                            || candle_core::Error::Msg(format!("layer {i} has no shift"));
                        let spikes = match layer {
                            LayerSpec::Conv2d {
                                stride, padding, ..
                            } => {
                                let (w, shift) = self.weight_and_shift(i)?;
                                let shift = shift.ok_or_else(no_shift)?;
                                // An average pooling right after runs inside the op too.
                                let pool = match self.layers.get(i + 1) {
                                    Some(LayerSpec::AvgPool2d { kernel, stride })
                                        if kernel == stride =>
                                    {
                                        pooled_already = true;
                                        *kernel
                                    }
                                    _ => 1,
                                };
                                conv_fire(
                                    &x, &w, &shift, *stride, *padding, pool, t, &self.fire,
                                    needs_grad,
                                )?
                            }
                            _ => {
                                let x = x.flatten_from(1)?;
                                let (wt, shift) = match shared.and_then(|s| s.get(&i)) {
                                    Some(wt) => (wt.clone(), self.shift(i)),
                                    None => self.weight_transposed_and_shift(i)?,
                                };
                                let shift = shift.ok_or_else(no_shift)?;
                                if direct && self.runs_direct(i) {
                                    let (spikes, slot) = linear_fire_direct(
                                        &x,
                                        &wt.detach(),
                                        &shift,
                                        t,
                                        &self.fire,
                                        needs_grad,
                                    )?;
                                    direct_layers.push(DirectLayer { index: i, slot });
                                    spikes
                                } else {
                                    linear_fire(&x, &wt, &shift, t, &self.fire, needs_grad)?
                                }
                            }
                        };
                        layer_spikes.push(spikes.reshape((t, batch, ()))?);
                        layer_currents.push(None);
                        x = spikes;
                        continue;
                    }
                    let mut current = self.layer_current(i, &x, input)?;
                    if !time_folded {
                        let dims = current.dims().to_vec();
                        let mut expanded = vec![t];
                        expanded.extend_from_slice(&dims);
                        current = current.unsqueeze(0)?.broadcast_as(expanded)?;
                        let mut folded = vec![t * batch];
                        folded.extend_from_slice(&dims[1..]);
                        current = current.contiguous()?.reshape(folded)?;
                        time_folded = true;
                    }
                    // The scan runs on the time-folded currents; the `[T, B, n]` views below
                    // join the backward pass only where a loss term reads them.
                    let spikes = fire_steps(&current, t, &self.fire)?;
                    let per_step = current.reshape((t, batch, ()))?;
                    layer_spikes.push(spikes.reshape((t, batch, ()))?);
                    layer_currents.push(Some(per_step.clone()));
                    last_currents = Some(per_step);
                    x = spikes;
                }
            }
        }
        let out_currents = last_currents
            .ok_or_else(|| candle_core::Error::Msg("network has no layer of neurons".into()))?;
        let out_spikes = layer_spikes
            .last()
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("network has no layer of neurons".into()))?;
        let forward = Forward {
            out_spikes,
            out_currents,
            layer_spikes,
            layer_currents,
        };
        Ok((forward, direct_layers))
    }

    /// Input current of weighted layer `index` for input `x` (`[N, ...]`): `W_eff x + shift`.
    pub fn layer_current(&self, index: usize, x: &Tensor, input: LayerInput) -> Result<Tensor> {
        match &self.layers[index] {
            LayerSpec::Linear { .. } => {
                let x = x.flatten_from(1)?;
                let (y, shift) = match input {
                    LayerInput::Dense => {
                        let (w, shift) = self.weight_and_shift(index)?;
                        (x.matmul(&w.t()?)?, shift)
                    }
                    LayerInput::Sparse { needs_grad } => {
                        let (wt, shift) = self.weight_transposed_and_shift(index)?;
                        (sparse_linear(&x, &wt, needs_grad)?, shift)
                    }
                };
                match &shift {
                    Some(b) => add_bias(&y, b),
                    None => Ok(y),
                }
            }
            LayerSpec::Conv2d {
                stride, padding, ..
            } => {
                let (w, shift) = self.weight_and_shift(index)?;
                let y = match input {
                    LayerInput::Dense => x.conv2d(&w, *padding, *stride, 1, 1)?,
                    LayerInput::Sparse { needs_grad } => {
                        conv2d(x, &w, *stride, *padding, needs_grad)?
                    }
                };
                match &shift {
                    Some(b) => add_bias(&y, b),
                    None => Ok(y),
                }
            }
            _ => candle_core::bail!("layer {index} has no weights"),
        }
    }
}

#[cfg(test)]
mod tests;
