//! A NIR graph into the compiler's model: the one home of the node mapping (NIR -> ttfs).
//!
//! | NIR node | becomes |
//! |---|---|
//! | `Input` (`shape` `[C, H, W]`, or `[N]` for `N = s^2`, read as `[1, s, s]` then flattened) | the model's input |
//! | `Affine` (`weight` `[out, in]`, `bias`), `Linear` (no bias) | a linear layer, its weights plain (no weight norm, no scale) |
//! | `Conv2d` (stride and padding equal in both directions, `"same"` or `"valid"`; dilation 1, groups 1) | a convolution |
//! | `Scale` right after a weighted node | multiplied into that layer's rows |
//! | `IF` (`r`, `v_threshold`) right after a weighted node | the layer's neurons: `dt r / v_threshold` multiplied into each neuron's weights and bias, so every neuron fires at the model's threshold (a convolution's neurons share their channel's factor) |
//! | `AvgPool2d` (square, no padding) | an average pool |
//! | `SumPool2d` (square, no padding) | an average pool, its `k^2` multiplied into the next weighted layer |
//! | `Flatten` | a flatten (C, H, W row-major) |
//! | `Output` | the last layer's neurons are the classes |
//!
//! Refused, naming the node and why: `LIF`, `CubaLIF`, `LI`, `CubaLI`, `I` (the float reference
//! and the golden model have no membrane leak and decide by spikes), `Threshold`, `Delay`,
//! `Conv1d`, nested graphs, dilation or groups, a weighted node without an `IF` after it, two
//! weighted nodes in a row, shapes that disagree along an edge, recurrent edges, branches.
//!
//! A file a ttfs export wrote carries its TTFS settings (T, input coding, decoding) in its
//! metadata ([`crate::meta`]) and comes back as the model it was. A file from another tool
//! does not: T, the step `dt`, the input coding and the tie break come from [`ImportOptions`],
//! and the import says that the source's neurons reset and fire again while the chip runs
//! them single-spike.

use std::collections::{BTreeMap, HashSet};

use ttfs_compiler::model::{
    DecisionRule, DecodingSpec, FORMAT_VERSION, InputEncoding, InputSpec, LayerSpec, Model,
    ModelDescription, NeuronSpec, TensorData, TieBreak, TrainingSummary,
};

use crate::error::NirError;
use crate::graph::{Graph, NirFile, Node, Value};
use crate::meta;

/// The TTFS settings a file from another tool does not carry, and what to do where a ttfs
/// export does carry them (a given setting must then agree with the file).
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    /// Time steps T per inference (`-T`); required for a file from another tool.
    pub steps: Option<u32>,
    /// The step `dt` a NIR step stands for (`--dt`); an IF's `r` is multiplied by it.
    pub dt: f64,
    /// The input coding (`--input`) [default: latency].
    pub input: Option<InputEncoding>,
    /// The tie break (`--tie-break`) [default: after the last step].
    pub tie_break: Option<TieBreak>,
    /// The data set the model is for [default: mnist].
    pub dataset: Option<String>,
    /// The model's name (its `arch`) for a file from another tool [default: `nir`]; the CLI
    /// gives the file's stem.
    pub name: Option<String>,
}

/// The input coding of a graph from another tool, as a user names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputChoice {
    /// One spike per lit pixel, brighter earlier.
    Latency,
    /// The grey level as `levels` lines spiking at step 1 (4 unless given).
    Thermometer,
}

impl ImportOptions {
    /// The options a user's settings give, checked: `dt` a positive number, `levels` 1 to 255
    /// and only with the thermometer input. Each message names the setting as the CLI's flag
    /// and the Python keyword share it (`dt`, `levels`, `input`), without dashes.
    ///
    /// # Errors
    /// The first setting out of range, in one line.
    pub fn checked(
        steps: Option<u32>,
        dt: f64,
        input: Option<InputChoice>,
        levels: Option<u32>,
        tie_break: Option<TieBreak>,
        dataset: Option<String>,
    ) -> Result<ImportOptions, String> {
        if !(dt.is_finite() && dt > 0.0) {
            return Err(format!("dt {dt} is not a positive number"));
        }
        if steps == Some(0) {
            return Err("steps must be at least 1".to_string());
        }
        let input = match (input, levels) {
            (Some(InputChoice::Thermometer), levels) => {
                let levels = levels.unwrap_or(4);
                if !(1..=255).contains(&levels) {
                    return Err(format!("levels takes 1 to 255 levels, got {levels}"));
                }
                Some(InputEncoding::Thermometer { levels })
            }
            (_, Some(_)) => return Err("levels applies to the thermometer input only".to_string()),
            (Some(InputChoice::Latency), None) => Some(InputEncoding::Latency),
            (None, None) => None,
        };
        Ok(ImportOptions {
            steps,
            dt,
            input,
            tie_break,
            dataset,
            name: None,
        })
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            steps: None,
            dt: 1.0,
            input: None,
            tie_break: None,
            dataset: None,
            name: None,
        }
    }
}

/// Where an imported model came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A ttfs export: its TTFS settings came back from the file, and the digest of the network
    /// it was exported from.
    Ttfs {
        /// The exported network's digest.
        digest: Option<String>,
    },
    /// Another tool's file: the TTFS settings came from the options.
    Foreign,
}

/// A model imported from NIR, and what the import has to say about it.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The model.
    pub model: Model,
    /// Where it came from.
    pub origin: Origin,
    /// One line each, what a user must know (the source's neurons reset and fire again, the
    /// threshold's `>=`).
    pub notes: Vec<String>,
}

/// The model `file` describes under `options`.
///
/// # Errors
/// [`NirError::Node`] naming the node, its type and why it cannot be imported;
/// [`NirError::Graph`] for the graph as a whole; [`NirError::Model`] if the result is not a
/// valid model.
pub fn import(file: &NirFile, options: &ImportOptions) -> Result<Imported, NirError> {
    let graph = &file.graph;
    let chain = chain(graph)?;
    let description = ttfs_description(graph)?;
    let mut notes = Vec::new();
    let (input_shape, flatten_input) = input_shape(graph, &chain[0], description.as_ref())?;
    let threshold = description
        .as_ref()
        .map_or(1.0, |d| f64::from(d.neuron.threshold));
    let mut lower = Lowering {
        layers: Vec::new(),
        tensors: BTreeMap::new(),
        shape: input_shape.clone(),
        pending: None,
        next_scale: 1.0,
        dt: options.dt,
        threshold,
    };
    if flatten_input {
        lower.layers.push(LayerSpec::Flatten);
        lower.shape = vec![input_shape.iter().product()];
    }
    for name in &chain[1..chain.len() - 1] {
        lower.node(name, &graph.nodes[name])?;
    }
    if let Some(p) = &lower.pending {
        return Err(NirError::node(
            &p.node,
            &p.kind,
            "the last weighted node has no IF neuron after it: ttfs decides by the first \
             output spike, so the last layer must spike",
        ));
    }
    let output = &chain[chain.len() - 1];
    check_output(graph, output, &lower.shape)?;
    let (origin, description) = match description {
        Some(mut d) => {
            check_agrees(&d, options)?;
            d.layers = lower.layers;
            d.neuron.threshold = threshold as f32;
            (
                Origin::Ttfs {
                    digest: text_of(graph, meta::MODEL_DIGEST),
                },
                d,
            )
        }
        None if graph.metadata.contains_key(meta::TIME_STEPS) => {
            let stated = stated_settings(graph, options)?;
            let steps = stated.steps.unwrap_or(1);
            (
                Origin::Ttfs {
                    digest: text_of(graph, meta::MODEL_DIGEST),
                },
                foreign_description(file, &stated, steps, input_shape, lower.layers),
            )
        }
        None => {
            let steps = options.steps.ok_or_else(|| {
                NirError::Graph(
                    "the file carries no TTFS settings (it was not written by ttfs): give -T \
                     (time steps per inference), and --input, --tie-break and --dt where the \
                     defaults (latency, after the last step, 1) do not hold"
                        .to_string(),
                )
            })?;
            notes.push(format!(
                "the source's neurons reset and may fire again, and fire when v > v_threshold; \
                 the chip runs them single-spike (each fires at most once, when v >= \
                 v_threshold, and the first output spike decides) over T = {steps} steps, so \
                 the accuracy is measured here under ttfs's rules"
            ));
            (
                Origin::Foreign,
                foreign_description(file, options, steps, input_shape, lower.layers),
            )
        }
    };
    let model = Model {
        description,
        tensors: lower.tensors,
    };
    model.validate()?;
    Ok(Imported {
        model,
        origin,
        notes,
    })
}

/// A node that feeds `node` and is reached from it (the source of an edge that closes a
/// loop through `node`), if there is one.
fn recurrent_source<'a>(
    next: &BTreeMap<&'a str, Vec<&'a str>>,
    graph: &'a Graph,
    node: &'a str,
) -> Option<&'a str> {
    let mut reached: HashSet<&str> = HashSet::new();
    let mut stack = vec![node];
    while let Some(at) = stack.pop() {
        for &to in next.get(at).map_or(&[][..], Vec::as_slice) {
            if reached.insert(to) {
                stack.push(to);
            }
        }
    }
    graph
        .edges
        .iter()
        .find(|(a, b)| b == node && reached.contains(a.as_str()))
        .map(|(a, _)| a.as_str())
}

/// The nodes from the `Input` to the `Output`, in order: the graph must be one chain.
fn chain(graph: &Graph) -> Result<Vec<String>, NirError> {
    let of_kind = |kind: &str| -> Vec<&String> {
        graph
            .nodes
            .iter()
            .filter(|(_, n)| n.kind == kind)
            .map(|(name, _)| name)
            .collect()
    };
    let (inputs, outputs) = (of_kind("Input"), of_kind("Output"));
    if inputs.len() != 1 || outputs.len() != 1 {
        return Err(NirError::Graph(format!(
            "the graph has {} Input and {} Output nodes; ttfs imports a network with one of each",
            inputs.len(),
            outputs.len()
        )));
    }
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut previous: BTreeMap<&str, usize> = BTreeMap::new();
    for (a, b) in &graph.edges {
        for end in [a, b] {
            if !graph.nodes.contains_key(end) {
                return Err(NirError::Graph(format!(
                    "the edge {a} -> {b} names a node the graph does not have: '{end}'"
                )));
            }
        }
        next.entry(a.as_str()).or_default().push(b.as_str());
        *previous.entry(b.as_str()).or_default() += 1;
    }
    let mut order = vec![inputs[0].clone()];
    let mut seen: HashSet<&str> = HashSet::from([inputs[0].as_str()]);
    let mut at = inputs[0].as_str();
    while at != outputs[0].as_str() {
        let kind = &graph.nodes[at].kind;
        let after = next.get(at).map_or(&[][..], Vec::as_slice);
        let to = match after {
            [one] => *one,
            [] => {
                return Err(NirError::node(
                    at,
                    kind,
                    "no edge leaves it, and it is not the Output: the Output cannot be reached",
                ));
            }
            many => {
                return Err(NirError::node(
                    at,
                    kind,
                    format!(
                        "it feeds {} nodes ({}); ttfs imports a chain, each node feeding one",
                        many.len(),
                        many.join(", ")
                    ),
                ));
            }
        };
        if !seen.insert(to) {
            return Err(NirError::node(
                to,
                &graph.nodes[to].kind,
                format!("a recurrent edge {at} -> {to}: ttfs imports feed-forward networks"),
            ));
        }
        if let Some(back) = recurrent_source(&next, graph, to) {
            return Err(NirError::node(
                to,
                &graph.nodes[to].kind,
                format!("a recurrent edge {back} -> {to}: ttfs imports feed-forward networks"),
            ));
        }
        if previous.get(to).copied().unwrap_or(0) > 1 {
            return Err(NirError::node(
                to,
                &graph.nodes[to].kind,
                "more than one node feeds it; ttfs imports a chain",
            ));
        }
        order.push(to.to_string());
        at = to;
    }
    if let Some((name, node)) = graph.nodes.iter().find(|(n, _)| !seen.contains(n.as_str())) {
        return Err(NirError::node(
            name,
            &node.kind,
            "it is not on the path from the Input to the Output",
        ));
    }
    Ok(order)
}

/// The model description a ttfs export carries, if the file is one.
fn ttfs_description(graph: &Graph) -> Result<Option<ModelDescription>, NirError> {
    match graph.metadata.get(meta::DESCRIPTION) {
        None => Ok(None),
        Some(Value::Text(json)) => serde_json::from_str(json).map(Some).map_err(|e| {
            NirError::Graph(format!(
                "the metadata {} is not a ttfs model description: {e}",
                meta::DESCRIPTION
            ))
        }),
        Some(_) => Err(NirError::Graph(format!(
            "the metadata {} is not a string",
            meta::DESCRIPTION
        ))),
    }
}

/// A metadata entry's text, if it is one.
fn text_of(graph: &Graph, key: &str) -> Option<String> {
    match graph.metadata.get(key) {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

/// The settings a ttfs export without a model description (an export of a compiled integer
/// network) states in its `ttfs.*` entries: T, the input coding, the tie break; a flag given
/// must agree with them.
fn stated_settings(graph: &Graph, o: &ImportOptions) -> Result<ImportOptions, NirError> {
    let bad = |key: &str, why: &str| NirError::Graph(format!("the metadata {key} {why}"));
    let steps = match graph.metadata.get(meta::TIME_STEPS) {
        Some(Value::Array(a)) if a.data.len() == 1 => a.data[0],
        _ => return Err(bad(meta::TIME_STEPS, "is not one number")),
    };
    if !((1.0..=65536.0).contains(&steps) && steps.fract() == 0.0) {
        return Err(bad(
            meta::TIME_STEPS,
            &format!("is {steps}, not 1 to 65536 steps"),
        ));
    }
    let steps = steps as u32;
    let input = match text_of(graph, meta::INPUT_CODING).as_deref() {
        Some("latency") => InputEncoding::Latency,
        Some("thermometer") => {
            return Err(NirError::Graph(
                "a compiled network's thermometer input lines do not import back as pixels; \
                 import the float export (`ttfs export MODEL --nir FILE`) instead"
                    .to_string(),
            ));
        }
        other => {
            return Err(bad(
                meta::INPUT_CODING,
                &format!("is {other:?}, not latency"),
            ));
        }
    };
    let tie_break = match text_of(graph, meta::TIE_BREAK).as_deref() {
        Some("decision_step") => TieBreak::PotentialAtDecision,
        Some("end") => TieBreak::PotentialAtEnd,
        other => {
            return Err(bad(
                meta::TIE_BREAK,
                &format!("is {other:?}, not decision_step or end"),
            ));
        }
    };
    let clash = |flag: &str, file: String, given: String| {
        NirError::Graph(format!(
            "{flag} {given} contradicts the file, a ttfs export with {file}; drop {flag}"
        ))
    };
    if let Some(t) = o.steps.filter(|&t| t != steps) {
        return Err(clash("-T", format!("T = {steps}"), t.to_string()));
    }
    if let Some(e) = o.input.filter(|&e| e != input) {
        return Err(clash(
            "--input",
            format!("{input:?} input"),
            format!("{e:?}"),
        ));
    }
    if let Some(t) = o.tie_break.filter(|&t| t != tie_break) {
        return Err(clash(
            "--tie-break",
            format!("{tie_break:?}"),
            format!("{t:?}"),
        ));
    }
    Ok(ImportOptions {
        steps: Some(steps),
        input: Some(input),
        tie_break: Some(tie_break),
        ..o.clone()
    })
}

/// A given setting must agree with what a ttfs export says.
fn check_agrees(d: &ModelDescription, o: &ImportOptions) -> Result<(), NirError> {
    let clash = |flag: &str, file: String, given: String| {
        NirError::Graph(format!(
            "{flag} {given} contradicts the file, a ttfs export with {file}; drop {flag}"
        ))
    };
    if let Some(t) = o.steps.filter(|&t| t != d.time_steps) {
        return Err(clash("-T", format!("T = {}", d.time_steps), t.to_string()));
    }
    if let Some(e) = o.input.filter(|&e| e != d.input.encoding) {
        return Err(clash(
            "--input",
            format!("{:?} input", d.input.encoding),
            format!("{e:?}"),
        ));
    }
    if let Some(t) = o.tie_break.filter(|&t| t != d.decoding.tie_break) {
        return Err(clash(
            "--tie-break",
            format!("{:?}", d.decoding.tie_break),
            format!("{t:?}"),
        ));
    }
    Ok(())
}

/// The model's input shape (`[C, H, W]`) and whether a flatten follows it (a 1-D input of a
/// square number of values, read as one square image).
fn input_shape(
    graph: &Graph,
    name: &str,
    description: Option<&ModelDescription>,
) -> Result<(Vec<usize>, bool), NirError> {
    let node = &graph.nodes[name];
    let shape = integers(name, node, "shape")?;
    match shape.as_slice() {
        [c, h, w] if *c >= 1 && *h >= 1 && *w >= 1 => Ok((shape.clone(), false)),
        [n] if *n >= 1 => {
            if let Some(d) = description.filter(|d| d.input.shape.iter().product::<usize>() == *n) {
                return Ok((d.input.shape.clone(), true));
            }
            let side = (*n as f64).sqrt().round() as usize;
            if side * side == *n {
                Ok((vec![1, side, side], true))
            } else {
                Err(NirError::node(
                    name,
                    &node.kind,
                    format!(
                        "a 1-D input of {n} values is no square image; ttfs runs images \
                         [C, H, W]"
                    ),
                ))
            }
        }
        _ => Err(NirError::node(
            name,
            &node.kind,
            format!("shape {shape:?}: ttfs runs images [C, H, W]"),
        )),
    }
}

/// The `Output` node's shape, where it has one, must be the classes.
fn check_output(graph: &Graph, name: &str, shape: &[usize]) -> Result<(), NirError> {
    let node = &graph.nodes[name];
    if node.params.contains_key("shape") {
        let given = integers(name, node, "shape")?;
        if given.iter().product::<usize>() != shape.iter().product::<usize>() {
            return Err(NirError::node(
                name,
                &node.kind,
                format!("shape {given:?}, but the network ends with {shape:?}"),
            ));
        }
    }
    Ok(())
}

/// The description of a model from another tool's file.
fn foreign_description(
    file: &NirFile,
    o: &ImportOptions,
    steps: u32,
    input_shape: Vec<usize>,
    layers: Vec<LayerSpec>,
) -> ModelDescription {
    ModelDescription {
        format_version: FORMAT_VERSION,
        arch: o.name.clone().unwrap_or_else(|| "nir".to_string()),
        dataset: o.dataset.clone().unwrap_or_else(|| "mnist".to_string()),
        input: InputSpec {
            shape: input_shape,
            encoding: o.input.unwrap_or(InputEncoding::Latency),
        },
        time_steps: steps,
        neuron: NeuronSpec {
            threshold: 1.0,
            surrogate: "none (imported from NIR)".to_string(),
        },
        layers,
        decoding: DecodingSpec {
            rule: DecisionRule::EarliestSpike,
            tie_break: o.tie_break.unwrap_or(TieBreak::PotentialAtEnd),
            weights: vec![1.0; steps as usize],
            kind: "none (imported from NIR)".to_string(),
            logit_scale: 1.0,
        },
        training: TrainingSummary {
            epochs: 0,
            test_accuracy: None,
            seed: 0,
            recipe: format!(
                "imported from a NIR file (nir {}), dt = {}",
                file.version, o.dt
            ),
            wall_seconds: None,
        },
        quantized_for: None,
    }
}

/// A parameter as whole numbers (a shape, a stride).
fn integers(name: &str, node: &Node, key: &str) -> Result<Vec<usize>, NirError> {
    let values = numbers(name, node, key)?;
    values
        .iter()
        .map(|&v| {
            (v >= 0.0 && v.fract() == 0.0 && v <= 1e9)
                .then_some(v as usize)
                .ok_or_else(|| {
                    NirError::node(
                        name,
                        &node.kind,
                        format!("{key} holds {v}, not a whole number"),
                    )
                })
        })
        .collect()
}

/// A numeric parameter's values.
fn numbers<'a>(name: &str, node: &'a Node, key: &str) -> Result<&'a [f64], NirError> {
    match node.params.get(key) {
        Some(Value::Array(a)) => Ok(&a.data),
        Some(_) => Err(NirError::node(
            name,
            &node.kind,
            format!("{key} is not numbers"),
        )),
        None => Err(NirError::node(name, &node.kind, format!("it has no {key}"))),
    }
}

/// A numeric parameter's shape and values.
fn array<'a>(name: &str, node: &'a Node, key: &str) -> Result<(&'a [usize], &'a [f64]), NirError> {
    match node.params.get(key) {
        Some(Value::Array(a)) => Ok((&a.shape, &a.data)),
        Some(_) => Err(NirError::node(
            name,
            &node.kind,
            format!("{key} is not numbers"),
        )),
        None => Err(NirError::node(name, &node.kind, format!("it has no {key}"))),
    }
}

/// A pair parameter (`stride`, `padding`, `kernel_size`): one number or two equal ones.
fn square(name: &str, node: &Node, key: &str, default: Option<usize>) -> Result<usize, NirError> {
    if !node.params.contains_key(key) {
        return default.ok_or_else(|| NirError::node(name, &node.kind, format!("it has no {key}")));
    }
    match integers(name, node, key)?.as_slice() {
        [v] => Ok(*v),
        [a, b] if a == b => Ok(*a),
        other => Err(NirError::node(
            name,
            &node.kind,
            format!("{key} {other:?}: ttfs takes the same {key} in both directions"),
        )),
    }
}

/// A weighted node waiting for its neurons.
struct Pending {
    node: String,
    kind: String,
    layer: LayerSpec,
    /// `[out, fan-in]`, row-major (a convolution's `[Cout, Cin * kh * kw]`).
    weight: Vec<f64>,
    weight_shape: Vec<usize>,
    bias: Option<Vec<f64>>,
    /// The layer's output shape.
    out_shape: Vec<usize>,
}

/// The chain being lowered into layers.
struct Lowering {
    layers: Vec<LayerSpec>,
    tensors: BTreeMap<String, TensorData>,
    /// The shape of the values leaving the last node.
    shape: Vec<usize>,
    pending: Option<Pending>,
    /// What the next weighted layer's weights are multiplied by (a sum pool's `k^2`).
    next_scale: f64,
    dt: f64,
    threshold: f64,
}

impl Lowering {
    /// Lowers one node of the chain.
    fn node(&mut self, name: &str, node: &Node) -> Result<(), NirError> {
        let kind = node.kind.as_str();
        let refuse = |why: &str| Err(NirError::node(name, kind, why));
        if self.pending.is_some() && !matches!(kind, "IF" | "Scale") {
            return refuse(
                "it follows a weighted node that has no IF neuron yet; ttfs runs a spiking \
                 neuron after every weighted layer",
            );
        }
        match kind {
            "Affine" | "Linear" => self.linear(name, node),
            "Conv2d" => self.conv(name, node),
            "Scale" => self.scale(name, node),
            "IF" => self.neurons(name, node),
            "AvgPool2d" | "SumPool2d" => self.pool(name, node),
            "Flatten" => self.flatten(name, node),
            "LIF" | "CubaLIF" | "LI" | "CubaLI" | "I" => refuse(
                "a leaky or non-spiking integrator; the chip's float reference and golden model \
                 have no membrane leak and decide by spikes, so ttfs imports IF neurons only",
            ),
            "Threshold" => refuse("a stateless threshold; ttfs imports IF neurons"),
            "Delay" => refuse("a delay; the chip has no synaptic delay"),
            "Conv1d" => refuse("a 1-D convolution; ttfs imports Conv2d on images"),
            "NIRGraph" => refuse("a nested graph; ttfs imports flat graphs"),
            "Input" | "Output" => refuse("a second Input or Output inside the chain"),
            other => refuse(&format!(
                "unknown node type '{other}'; ttfs imports Affine, Linear, Conv2d, Scale, IF, \
                 AvgPool2d, SumPool2d and Flatten"
            )),
        }
    }

    /// `Flatten`: dimensions `start_dim..=end_dim` of one sample (NIR shapes have no batch
    /// axis; negative indices count from the end) merged into one. ttfs flattens to a vector,
    /// so the result must be one dimension once leading 1s are dropped.
    fn flatten(&mut self, name: &str, node: &Node) -> Result<(), NirError> {
        let dims = self.shape.len() as i64;
        let dim = |key: &str, default: i64| -> Result<usize, NirError> {
            let value = match numbers(name, node, key) {
                Ok([v]) if v.fract() == 0.0 => *v as i64,
                Ok(_) => {
                    return Err(NirError::node(
                        name,
                        &node.kind,
                        format!("{key} is not one whole number"),
                    ));
                }
                Err(_) if !node.params.contains_key(key) => default,
                Err(e) => return Err(e),
            };
            let index = if value < 0 { value + dims } else { value };
            usize::try_from(index)
                .ok()
                .filter(|&i| i < self.shape.len())
                .ok_or_else(|| {
                    NirError::node(
                        name,
                        &node.kind,
                        format!(
                            "{key} {value} is outside the {dims} dimensions of its input {:?}",
                            self.shape
                        ),
                    )
                })
        };
        let (start, end) = (dim("start_dim", 0)?, dim("end_dim", -1)?);
        if start > end {
            return Err(NirError::node(
                name,
                &node.kind,
                format!("start_dim {start} comes after end_dim {end}"),
            ));
        }
        let mut result: Vec<usize> = self.shape[..start].to_vec();
        result.push(self.shape[start..=end].iter().product());
        result.extend_from_slice(&self.shape[end + 1..]);
        let kept: Vec<usize> = result.iter().copied().skip_while(|&d| d == 1).collect();
        if kept.len() > 1 {
            return Err(NirError::node(
                name,
                &node.kind,
                format!(
                    "it flattens {:?} to {result:?}, not to a vector; ttfs flattens a sample \
                     to one dimension (start_dim 0, end_dim -1)",
                    self.shape
                ),
            ));
        }
        self.layers.push(LayerSpec::Flatten);
        self.shape = vec![self.shape.iter().product()];
        Ok(())
    }

    /// `Affine` or `Linear`: a linear layer (a flatten before it if the values are not 1-D).
    fn linear(&mut self, name: &str, node: &Node) -> Result<(), NirError> {
        let (shape, weight) = array(name, node, "weight")?;
        let [out, fan_in] = shape else {
            return Err(NirError::node(
                name,
                &node.kind,
                format!("weight of shape {shape:?}, not [out, in]"),
            ));
        };
        if self.shape.len() > 1 {
            self.layers.push(LayerSpec::Flatten);
            self.shape = vec![self.shape.iter().product()];
        }
        if self.shape != [*fan_in] {
            return Err(NirError::node(
                name,
                &node.kind,
                format!(
                    "it takes {fan_in} inputs, but the node before it gives {:?}",
                    self.shape
                ),
            ));
        }
        let bias = if node.kind == "Affine" {
            let (bias_shape, bias) = array(name, node, "bias")?;
            if bias.len() != *out {
                return Err(NirError::node(
                    name,
                    &node.kind,
                    format!("bias of shape {bias_shape:?} for {out} outputs"),
                ));
            }
            Some(bias.to_vec())
        } else {
            None
        };
        self.weighted(
            name,
            node,
            LayerSpec::Linear {
                in_features: *fan_in,
                out_features: *out,
                weight_norm: None,
                affine_scale: false,
                bias: bias.is_some(),
            },
            weight.to_vec(),
            vec![*out, *fan_in],
            bias,
            vec![*out],
        )
    }

    /// `Conv2d`: a convolution over `[C, H, W]`.
    fn conv(&mut self, name: &str, node: &Node) -> Result<(), NirError> {
        let kind = node.kind.as_str();
        let (shape, weight) = array(name, node, "weight")?;
        let [cout, cin, kh, kw] = shape else {
            return Err(NirError::node(
                name,
                kind,
                format!("weight of shape {shape:?}, not [Cout, Cin, kH, kW]"),
            ));
        };
        let [c, h, w] = self.shape.as_slice() else {
            return Err(NirError::node(
                name,
                kind,
                format!("its input is {:?}, not [C, H, W]", self.shape),
            ));
        };
        let (c, h, w) = (*c, *h, *w);
        if *cin != c {
            return Err(NirError::node(
                name,
                kind,
                format!("it takes {cin} channels, but the node before it gives {c}"),
            ));
        }
        if let Ok(given) = integers(name, node, "input_shape") {
            if given != [h, w] {
                return Err(NirError::node(
                    name,
                    kind,
                    format!("input_shape {given:?}, but the node before it gives [{h}, {w}]"),
                ));
            }
        }
        let groups = if node.params.contains_key("groups") {
            integers(name, node, "groups")?
        } else {
            vec![1]
        };
        if groups != [1] {
            return Err(NirError::node(
                name,
                kind,
                format!("groups {groups:?}; ttfs imports groups = 1"),
            ));
        }
        if square(name, node, "dilation", Some(1))? != 1 {
            return Err(NirError::node(
                name,
                kind,
                "a dilation; ttfs imports dilation 1",
            ));
        }
        if kh != kw {
            return Err(NirError::node(
                name,
                kind,
                format!("a {kh} x {kw} kernel; ttfs imports square kernels"),
            ));
        }
        let stride = square(name, node, "stride", Some(1))?;
        let padding = match node.params.get("padding") {
            Some(Value::Text(t)) if t == "valid" => 0,
            Some(Value::Text(t)) if t == "same" && stride == 1 && kh % 2 == 1 => kh / 2,
            Some(Value::Text(t)) => {
                return Err(NirError::node(
                    name,
                    kind,
                    format!(
                        "padding \"{t}\"; ttfs imports a number, \"valid\", or \"same\" with stride 1 and an odd kernel"
                    ),
                ));
            }
            _ => square(name, node, "padding", Some(0))?,
        };
        if stride == 0 || h + 2 * padding < *kh || w + 2 * padding < *kw {
            return Err(NirError::node(
                name,
                kind,
                format!(
                    "a {kh} x {kw} kernel with stride {stride} and padding {padding} does not fit its {h} x {w} input"
                ),
            ));
        }
        let out_shape = vec![
            *cout,
            (h + 2 * padding - kh) / stride + 1,
            (w + 2 * padding - kw) / stride + 1,
        ];
        let bias = match node.params.get("bias") {
            Some(Value::Array(b)) if b.len() == *cout => Some(b.data.clone()),
            Some(Value::Array(b)) if b.is_empty() || b.shape.is_empty() => None,
            Some(_) => {
                return Err(NirError::node(
                    name,
                    kind,
                    format!("bias is not {cout} numbers"),
                ));
            }
            None => None,
        };
        self.weighted(
            name,
            node,
            LayerSpec::Conv2d {
                in_channels: c,
                out_channels: *cout,
                kernel: [*kh, *kw],
                stride,
                padding,
                weight_norm: None,
                affine_scale: false,
                bias: bias.is_some(),
            },
            weight.to_vec(),
            vec![*cout, *cin, *kh, *kw],
            bias,
            out_shape,
        )
    }

    /// A weighted node, its sum-pool factor applied, now waiting for its neurons.
    #[allow(clippy::too_many_arguments)]
    fn weighted(
        &mut self,
        name: &str,
        node: &Node,
        layer: LayerSpec,
        mut weight: Vec<f64>,
        weight_shape: Vec<usize>,
        bias: Option<Vec<f64>>,
        out_shape: Vec<usize>,
    ) -> Result<(), NirError> {
        if let Some(v) = weight
            .iter()
            .chain(bias.iter().flatten())
            .find(|v| !v.is_finite())
        {
            return Err(NirError::node(
                name,
                &node.kind,
                format!("a weight or bias of {v}"),
            ));
        }
        if self.next_scale != 1.0 {
            for w in &mut weight {
                *w *= self.next_scale;
            }
            self.next_scale = 1.0;
        }
        self.pending = Some(Pending {
            node: name.to_string(),
            kind: node.kind.clone(),
            layer,
            weight,
            weight_shape,
            bias,
            out_shape,
        });
        Ok(())
    }

    /// `Scale` after a weighted node: each output's weights and bias multiplied.
    fn scale(&mut self, name: &str, node: &Node) -> Result<(), NirError> {
        let Some(p) = self.pending.as_mut() else {
            return Err(NirError::node(
                name,
                &node.kind,
                "a scale on spikes; ttfs imports a Scale right after a weighted node",
            ));
        };
        let scale = numbers(name, node, "scale")?;
        let outputs = p.weight_shape[0];
        let per_output = match scale.len() {
            1 => vec![scale[0]; outputs],
            n if n == outputs => scale.to_vec(),
            n if n == p.out_shape.iter().product::<usize>() && p.out_shape.len() == 3 => {
                per_channel(name, &node.kind, scale, &p.out_shape, "scale")?
            }
            n => {
                return Err(NirError::node(
                    name,
                    &node.kind,
                    format!("{n} scales for {outputs} outputs"),
                ));
            }
        };
        multiply_rows(p, &per_output);
        Ok(())
    }

    /// `IF` after a weighted node: `dt r / v_threshold` (times the model's threshold) folded
    /// into each neuron's weights and bias; the layer is done.
    fn neurons(&mut self, name: &str, node: &Node) -> Result<(), NirError> {
        let kind = node.kind.as_str();
        let Some(mut p) = self.pending.take() else {
            return Err(NirError::node(
                name,
                kind,
                "an IF without a weighted node before it; ttfs runs neurons after a weighted layer",
            ));
        };
        let neurons: usize = p.out_shape.iter().product();
        let per_neuron = |key: &str| -> Result<Vec<f64>, NirError> {
            let values = numbers(name, node, key)?;
            match values.len() {
                1 => Ok(vec![values[0]; neurons]),
                n if n == neurons => Ok(values.to_vec()),
                n => Err(NirError::node(
                    name,
                    kind,
                    format!("{key} holds {n} values for {neurons} neurons"),
                )),
            }
        };
        let r = per_neuron("r")?;
        let v_threshold = per_neuron("v_threshold")?;
        // Both per-neuron values must be positive numbers; `why` completes the message.
        let positive = |key: &str, values: &[f64], why: &str| match values
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            Some((i, v)) => Err(NirError::node(
                name,
                kind,
                format!("neuron {i} has {key} {v}; {why}"),
            )),
            None => Ok(()),
        };
        positive(
            "v_threshold",
            &v_threshold,
            "the chip needs a positive threshold",
        )?;
        positive("r", &r, "ttfs imports a positive r")?;
        let factor: Vec<f64> = r
            .iter()
            .zip(&v_threshold)
            .map(|(r, v)| self.dt * r * self.threshold / v)
            .collect();
        let per_output = if p.out_shape.len() == 3 {
            per_channel(name, kind, &factor, &p.out_shape, "dt r / v_threshold")?
        } else {
            factor
        };
        multiply_rows(&mut p, &per_output);
        let index = self.layers.len();
        let to_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        self.tensors.insert(
            format!("layers.{index}.weight"),
            TensorData {
                shape: p.weight_shape.clone(),
                data: to_f32(&p.weight),
            },
        );
        if let Some(bias) = &p.bias {
            self.tensors.insert(
                format!("layers.{index}.shift"),
                TensorData {
                    shape: vec![bias.len()],
                    data: to_f32(bias),
                },
            );
        }
        self.layers.push(p.layer);
        self.shape = p.out_shape;
        Ok(())
    }

    /// `AvgPool2d` or `SumPool2d`: an average pool (a sum pool's `k^2` goes into the next
    /// weighted layer).
    fn pool(&mut self, name: &str, node: &Node) -> Result<(), NirError> {
        let kind = node.kind.as_str();
        let k = square(name, node, "kernel_size", None)?;
        let stride = square(name, node, "stride", Some(k))?;
        let padding = square(name, node, "padding", Some(0))?;
        if padding != 0 {
            return Err(NirError::node(
                name,
                kind,
                "padding; ttfs imports pools without padding",
            ));
        }
        let [c, h, w] = self.shape.as_slice() else {
            return Err(NirError::node(
                name,
                kind,
                format!("its input is {:?}, not [C, H, W]", self.shape),
            ));
        };
        if k == 0 || stride == 0 || *h < k || *w < k {
            return Err(NirError::node(
                name,
                kind,
                format!("a {k} x {k} window with stride {stride} does not fit its {h} x {w} input"),
            ));
        }
        self.shape = vec![*c, (h - k) / stride + 1, (w - k) / stride + 1];
        self.layers.push(LayerSpec::AvgPool2d { kernel: k, stride });
        if kind == "SumPool2d" {
            self.next_scale *= (k * k) as f64;
        }
        Ok(())
    }
}

/// Multiplies each output's weights (row) and bias by `factor[output]`.
fn multiply_rows(p: &mut Pending, factor: &[f64]) {
    let fan_in = p.weight.len() / p.weight_shape[0].max(1);
    for (row, f) in p.weight.chunks_mut(fan_in.max(1)).zip(factor) {
        for w in row {
            *w *= f;
        }
    }
    if let Some(bias) = p.bias.as_mut() {
        for (b, f) in bias.iter_mut().zip(factor) {
            *b *= f;
        }
    }
}

/// One value per channel of per-neuron values over `[C, H, W]`: they must be equal within a
/// channel (a convolution's neurons share their weights).
fn per_channel(
    name: &str,
    kind: &str,
    values: &[f64],
    shape: &[usize],
    what: &str,
) -> Result<Vec<f64>, NirError> {
    let positions = shape[1] * shape[2];
    values
        .chunks(positions.max(1))
        .enumerate()
        .map(|(c, channel)| {
            let first = channel[0];
            if channel.iter().all(|&v| v == first) {
                Ok(first)
            } else {
                Err(NirError::node(name, kind, format!("{what} differs between positions of channel {c}; a convolution's neurons share their channel's weights")))
            }
        })
        .collect()
}
