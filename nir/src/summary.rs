//! A NIR graph as a person reads it: one line per node along the edges, with its type and
//! its parameters' shapes (small ones with their values).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::graph::{Array, Graph, NirFile, Value};

/// Values an array may hold and still be printed in full.
const SHOWN_VALUES: usize = 4;

/// The file's version, its graph's nodes (in edge order from the `Input`, then any not on
/// that path) with their parameters, and the edges that leave the chain.
pub fn describe(file: &NirFile) -> String {
    let graph = &file.graph;
    let mut text = format!(
        "NIR graph (nir {}): {} nodes, {} edges\n",
        file.version,
        graph.nodes.len(),
        graph.edges.len()
    );
    let order = node_order(graph);
    let width = order.iter().map(|n| n.len()).max().unwrap_or(0);
    let kind_width = graph
        .nodes
        .values()
        .map(|n| n.kind.len())
        .max()
        .unwrap_or(0);
    for name in &order {
        let node = &graph.nodes[*name];
        let params: Vec<String> = node
            .params
            .iter()
            .map(|(key, value)| format!("{key} {}", value_text(value)))
            .collect();
        let _ = writeln!(
            text,
            "  {name:<width$}  {:<kind_width$}  {}",
            node.kind,
            params.join(", ")
        );
    }
    let branching: Vec<String> = graph
        .edges
        .iter()
        .filter(|(a, b)| !is_chain_edge(&order, a, b))
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    if !branching.is_empty() {
        let _ = writeln!(text, "  edges off the chain: {}", branching.join(", "));
    }
    text
}

/// Node names from the `Input` along the first edge out of each, then every other node by
/// name.
fn node_order(graph: &Graph) -> Vec<&str> {
    let mut next: BTreeMap<&str, &str> = BTreeMap::new();
    for (a, b) in &graph.edges {
        next.entry(a.as_str()).or_insert(b.as_str());
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    let mut at = graph
        .nodes
        .iter()
        .find(|(_, n)| n.kind == "Input")
        .map(|(name, _)| name.as_str());
    while let Some(name) = at {
        if !graph.nodes.contains_key(name) || !seen.insert(name) {
            break;
        }
        order.push(name);
        at = next.get(name).copied();
    }
    for name in graph.nodes.keys() {
        if seen.insert(name.as_str()) {
            order.push(name.as_str());
        }
    }
    order
}

/// Whether `a -> b` joins two neighbours of the printed order.
fn is_chain_edge(order: &[&str], a: &str, b: &str) -> bool {
    order.windows(2).any(|w| w[0] == a && w[1] == b)
}

/// A parameter as `[800, 784]`, or its values when it holds few: `1`, `[2, 2]`, `"text"`.
fn value_text(value: &Value) -> String {
    match value {
        Value::Array(array) => array_text(array),
        Value::Text(text) => format!("{text:?}"),
        Value::Texts { shape, values } if values.len() <= SHOWN_VALUES => {
            format!("{values:?} {shape:?}")
        }
        Value::Texts { shape, .. } => format!("{shape:?} strings"),
    }
}

/// An array's values when it holds few (a scalar bare), else its shape.
fn array_text(array: &Array) -> String {
    if array.len() > SHOWN_VALUES {
        return format!("{:?}", array.shape);
    }
    let values: Vec<String> = array.data.iter().map(|v| format!("{v}")).collect();
    if array.shape.is_empty() {
        values.join("")
    } else {
        format!("[{}]", values.join(", "))
    }
}
