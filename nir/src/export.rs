//! A ttfs model out to NIR, the node mapping's other direction: what a chip's own toolchain
//! (Lava-DL, Sinabs, Rockpool, SpiNNaker2, ...) or another simulator reads.
//!
//! The graph is `input`, then per model layer: a linear layer as `Affine` and a convolution as
//! `Conv2d`, with the effective weights (weight norm and affine scale folded, as the compiler
//! folds them) and the bias current, each followed by an `IF` (`r` 1, `v_threshold` the model's
//! threshold, `v_reset` 0); an average pool as `AvgPool2d` (or, with
//! [`ExportOptions::sum_pools`], as `SumPool2d` with `1 / k^2` multiplied into the next
//! weighted layer, which more backends read); a flatten as `Flatten`; then `output`. What NIR
//! cannot say (single spike, T and the step, the input coding's exact integer rule, the
//! decision rule and tie break, the threshold's `>=`, the network's digest) is written into
//! the graph's metadata ([`crate::meta`]); the whole model description goes with it, so an
//! import of the file gives the model back.

use std::collections::BTreeMap;

use ttfs_compiler::ir::QuantNetwork;
use ttfs_compiler::model::{InputEncoding, LayerSpec, Model, TieBreak};

use crate::error::NirError;
use crate::graph::{Array, Graph, NirFile, Node, Value};
use crate::hdf5::{MAX_VALUES, WRITE_VERSION};
use crate::meta;

/// How a model is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Average pools as `SumPool2d`, their `1 / k^2` in the next weighted layer.
    pub sum_pools: bool,
}

/// The NIR file of `model`.
///
/// # Errors
/// [`NirError::Model`] if the model's layers or tensors are not well formed.
pub fn export_model(model: &Model, options: ExportOptions) -> Result<NirFile, NirError> {
    let d = &model.description;
    let shapes = model.layer_shapes()?;
    let mut chain = Chain::new(&d.input.shape);
    let mut next_scale = 1.0f64;
    for (index, (layer, out_shape)) in d.layers.iter().zip(&shapes).enumerate() {
        let name = format!("layer{index}");
        match layer {
            LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. } => {
                let effective = model.effective_layer(index)?;
                let weight: Vec<f32> = effective
                    .weight
                    .data
                    .iter()
                    .map(|&w| (f64::from(w) * next_scale) as f32)
                    .collect();
                next_scale = 1.0;
                let outputs = effective.weight.shape[0];
                let bias = Array::f32(vec![outputs], &effective.bias);
                let weighted = match layer {
                    LayerSpec::Conv2d {
                        stride, padding, ..
                    } => {
                        let in_shape = chain.shape.clone();
                        Node::new(
                            "Conv2d",
                            vec![
                                (
                                    "weight",
                                    Value::Array(Array::f32(
                                        effective.weight.shape.clone(),
                                        &weight,
                                    )),
                                ),
                                ("bias", Value::Array(bias)),
                                ("stride", pair(*stride)),
                                ("padding", pair(*padding)),
                                ("dilation", pair(1)),
                                ("groups", Value::Array(Array::scalar(1))),
                                (
                                    "input_shape",
                                    Value::Array(Array::i64(
                                        vec![2],
                                        &[in_shape[1] as i64, in_shape[2] as i64],
                                    )),
                                ),
                            ],
                        )
                    }
                    _ => Node::new(
                        "Affine",
                        vec![
                            (
                                "weight",
                                Value::Array(Array::f32(effective.weight.shape.clone(), &weight)),
                            ),
                            ("bias", Value::Array(bias)),
                        ],
                    ),
                };
                chain.push(
                    &format!(
                        "{name}_{}",
                        if matches!(layer, LayerSpec::Conv2d { .. }) {
                            "conv"
                        } else {
                            "affine"
                        }
                    ),
                    weighted,
                    out_shape,
                );
                chain.push(
                    &format!("{name}_if"),
                    if_node(
                        out_shape,
                        &vec![f64::from(d.neuron.threshold); out_shape.iter().product()],
                    ),
                    out_shape,
                );
            }
            LayerSpec::AvgPool2d { kernel, stride } => {
                let (kind, params) = (
                    if options.sum_pools {
                        "SumPool2d"
                    } else {
                        "AvgPool2d"
                    },
                    vec![
                        ("kernel_size", pair(*kernel)),
                        ("stride", pair(*stride)),
                        ("padding", pair(0)),
                    ],
                );
                if options.sum_pools {
                    next_scale *= 1.0 / (kernel * kernel) as f64;
                }
                chain.push(&format!("{name}_pool"), Node::new(kind, params), out_shape);
            }
            LayerSpec::Flatten => {
                let node = flatten_node(&chain.shape);
                chain.push(&format!("{name}_flatten"), node, out_shape);
            }
            LayerSpec::MaxPool2d { .. } => {
                return Err(NirError::Export(format!(
                    "layer {index} is a max pool, which breaks the single-spike property; ttfs \
                     exports the networks it compiles"
                )));
            }
        }
    }
    let mut description = d.clone();
    description.layers = Vec::new();
    let description = serde_json::to_string(&description)
        .map_err(|e| NirError::Export(format!("the model description does not encode: {e}")))?;
    let mut graph = chain.finish();
    graph.metadata = ttfs_metadata(model, description);
    Ok(NirFile {
        version: WRITE_VERSION.to_string(),
        graph,
    })
}

/// The compiled integer network `network` (lowered with its pools folded into the synapses):
/// per layer an `Affine` of the integer weights (source by neuron) and integer bias, and an
/// `IF` whose `v_threshold` is the integer threshold: exactly what the golden model runs. The
/// model's description and `target`'s name and widths go into the metadata.
///
/// # Errors
/// [`NirError::Export`] for a layer whose dense weight matrix would exceed the bound of one
/// array (a large convolution: export the float model, or compile the chip configuration).
pub fn export_quantized(
    model: &Model,
    network: &QuantNetwork,
    target: &str,
) -> Result<NirFile, NirError> {
    let input_values: usize = network.input.shape.iter().product();
    let channels = network.input.channels();
    // Thermometer input reaches the first layer as `levels` lines per pixel: the input is
    // then those lines, one value each.
    let mut chain = if channels == input_values {
        Chain::new(&network.input.shape)
    } else {
        Chain::new(&[channels])
    };
    if channels == input_values && network.input.shape.len() > 1 {
        let node = flatten_node(&network.input.shape);
        chain.push("flatten", node, &[input_values]);
    }
    let mut sources = channels;
    for (index, layer) in network.layers.iter().enumerate() {
        let neurons = layer.neurons();
        let dense = neurons.checked_mul(sources).filter(|&n| n <= MAX_VALUES).ok_or_else(|| {
            NirError::Export(format!(
                "{}: {neurons} neurons x {sources} sources is more than the {MAX_VALUES} values one array holds; export the float model instead",
                layer.name
            ))
        })?;
        let mut weight = vec![0.0f64; dense];
        for source in 0..sources {
            for row in layer.routing.axons_of(source) {
                for (neuron, w) in layer.synapses.row(row) {
                    weight[neuron as usize * sources + source] += f64::from(w);
                }
            }
        }
        let bias: Vec<f64> = layer.bias.iter().map(|&b| f64::from(b)).collect();
        let threshold: Vec<f64> = layer.threshold.iter().map(|&t| f64::from(t)).collect();
        chain.push(
            &format!("layer{index}_affine"),
            Node::new(
                "Affine",
                vec![
                    (
                        "weight",
                        Value::Array(Array::f64(vec![neurons, sources], weight)),
                    ),
                    ("bias", Value::Array(Array::f64(vec![neurons], bias))),
                ],
            ),
            &[neurons],
        );
        chain.push(
            &format!("layer{index}_if"),
            if_node(&[neurons], &threshold),
            &[neurons],
        );
        sources = neurons;
    }
    let mut description = model.description.clone();
    description.layers = Vec::new();
    let description = serde_json::to_string(&description)
        .map_err(|e| NirError::Export(format!("the model description does not encode: {e}")))?;
    let mut graph = chain.finish();
    graph.metadata = ttfs_metadata(model, description);
    // The integers run at threshold as they are: an import must not read them as the float
    // model's description would (its threshold folds into the weights).
    graph.metadata.remove(meta::DESCRIPTION);
    graph.metadata.insert(
        meta::QUANTIZED_FOR.to_string(),
        Value::Text(format!(
            "target {target}: {}-bit weights, {}-bit thresholds, {}-bit currents, {}-bit \
             potentials; weights, biases and thresholds are the integers the golden model and \
             the chip run",
            network.registers.weight_bits,
            network.registers.threshold_bits,
            network.registers.current_bits,
            network.registers.potential_bits
        )),
    );
    Ok(NirFile {
        version: WRITE_VERSION.to_string(),
        graph,
    })
}

/// A pair parameter with both values `v`.
fn pair(v: usize) -> Value {
    Value::Array(Array::i64(vec![2], &[v as i64, v as i64]))
}

/// The `Flatten` node of everything after the batch axis of an input of `shape`.
fn flatten_node(shape: &[usize]) -> Node {
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Node::new(
        "Flatten",
        vec![
            ("start_dim", Value::Array(Array::scalar(0))),
            ("end_dim", Value::Array(Array::scalar(-1))),
            (
                "input_type",
                Value::Array(Array::i64(vec![dims.len()], &dims)),
            ),
        ],
    )
}

/// An `IF` over neurons of `shape` with the thresholds `threshold`, `r` 1, `v_reset` 0.
fn if_node(shape: &[usize], threshold: &[f64]) -> Node {
    let n = threshold.len();
    Node::new(
        "IF",
        vec![
            ("r", Value::Array(Array::f64(shape.to_vec(), vec![1.0; n]))),
            (
                "v_threshold",
                Value::Array(Array::f64(shape.to_vec(), threshold.to_vec())),
            ),
            (
                "v_reset",
                Value::Array(Array::f64(shape.to_vec(), vec![0.0; n])),
            ),
        ],
    )
}

/// The graph-level metadata of an export of `model`.
fn ttfs_metadata(model: &Model, description: String) -> BTreeMap<String, Value> {
    let d = &model.description;
    let text = |s: &str| Value::Text(s.to_string());
    let mut m = BTreeMap::from([
        (meta::FORMAT.to_string(), Value::Array(Array::scalar(1))),
        (meta::DESCRIPTION.to_string(), Value::Text(description)),
        (
            meta::MODEL_DIGEST.to_string(),
            Value::Text(format!("{:016x}", model.digest())),
        ),
        (
            meta::TIME_STEPS.to_string(),
            Value::Array(Array::scalar(i64::from(d.time_steps))),
        ),
        (meta::STEP.to_string(), text(meta::rules::STEP)),
        (
            meta::SINGLE_SPIKE.to_string(),
            text(meta::rules::SINGLE_SPIKE),
        ),
        (
            meta::THRESHOLD_RULE.to_string(),
            text(meta::rules::THRESHOLD_RULE),
        ),
    ]);
    match d.input.encoding {
        InputEncoding::Latency => {
            m.insert(meta::INPUT_CODING.to_string(), text("latency"));
            m.insert(meta::INPUT_RULE.to_string(), text(meta::rules::LATENCY));
        }
        InputEncoding::Thermometer { levels } => {
            m.insert(meta::INPUT_CODING.to_string(), text("thermometer"));
            m.insert(meta::INPUT_RULE.to_string(), text(meta::rules::THERMOMETER));
            m.insert(
                meta::INPUT_LEVELS.to_string(),
                Value::Array(Array::scalar(i64::from(levels))),
            );
        }
        InputEncoding::Direct => {
            m.insert(meta::INPUT_CODING.to_string(), text("direct"));
        }
    }
    let (tie, decision) = match d.decoding.tie_break {
        TieBreak::PotentialAtDecision => ("decision_step", meta::rules::DECISION_AT_DECISION),
        TieBreak::PotentialAtEnd => ("end", meta::rules::DECISION_AT_END),
    };
    m.insert(meta::TIE_BREAK.to_string(), text(tie));
    m.insert(meta::DECISION.to_string(), text(decision));
    m
}

/// A chain of nodes being built, each fed by the one before.
struct Chain {
    nodes: BTreeMap<String, Node>,
    edges: Vec<(String, String)>,
    last: String,
    /// The shape of the values leaving the last node.
    shape: Vec<usize>,
}

impl Chain {
    /// A chain holding the `input` node of `shape`.
    fn new(shape: &[usize]) -> Chain {
        let shape_values: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        Chain {
            nodes: BTreeMap::from([(
                "input".to_string(),
                Node::new(
                    "Input",
                    vec![(
                        "shape",
                        Value::Array(Array::i64(vec![shape.len()], &shape_values)),
                    )],
                ),
            )]),
            edges: Vec::new(),
            last: "input".to_string(),
            shape: shape.to_vec(),
        }
    }

    /// Appends `node` named `name`, whose values have `shape`.
    fn push(&mut self, name: &str, node: Node, shape: &[usize]) {
        self.nodes.insert(name.to_string(), node);
        self.edges.push((self.last.clone(), name.to_string()));
        self.last = name.to_string();
        self.shape = shape.to_vec();
    }

    /// The graph, ended by its `output` node.
    fn finish(mut self) -> Graph {
        let classes: usize = self.shape.iter().product();
        self.push(
            "output",
            Node::new(
                "Output",
                vec![(
                    "shape",
                    Value::Array(Array::i64(vec![1], &[classes as i64])),
                )],
            ),
            &[classes],
        );
        Graph {
            nodes: self.nodes,
            edges: self.edges,
            metadata: BTreeMap::new(),
        }
    }
}
