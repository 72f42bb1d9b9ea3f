//! A NIR graph in memory, as the file holds it: named nodes of a type with their parameters
//! (arrays, strings, nested graphs), the edges between them, and metadata. Nothing here knows
//! what a node means; [`crate::import`] and [`crate::export`] do.

use std::collections::BTreeMap;

/// A numeric array as a dataset holds it: its shape (empty for a scalar), its values in
/// row-major order, and whether it was stored as integers or as 32-bit floats (so a writer
/// gives it back the same type).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// The values, row-major (integers and `f32` values are exact in `f64`).
    pub data: Vec<f64>,
    /// How the values are stored.
    pub dtype: Dtype,
}

/// How an array's values are stored in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// 64-bit signed integers.
    I64,
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl Array {
    /// A float array of `shape` holding `data` as `f32` values.
    pub fn f32(shape: Vec<usize>, data: &[f32]) -> Array {
        Array {
            shape,
            data: data.iter().map(|&v| f64::from(v)).collect(),
            dtype: Dtype::F32,
        }
    }

    /// A float array of `shape` holding `data` as `f64` values.
    pub fn f64(shape: Vec<usize>, data: Vec<f64>) -> Array {
        Array {
            shape,
            data,
            dtype: Dtype::F64,
        }
    }

    /// An integer array of `shape`.
    pub fn i64(shape: Vec<usize>, data: &[i64]) -> Array {
        Array {
            shape,
            data: data.iter().map(|&v| v as f64).collect(),
            dtype: Dtype::I64,
        }
    }

    /// A scalar integer.
    pub fn scalar(value: i64) -> Array {
        Array::i64(Vec::new(), &[value])
    }

    /// The number of values its shape says it holds.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// One parameter of a node, or one metadata entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A numeric array or scalar.
    Array(Array),
    /// A string.
    Text(String),
    /// An array of strings (a graph's edges are an N x 2 one).
    Texts {
        /// Dimensions.
        shape: Vec<usize>,
        /// The strings, row-major.
        values: Vec<String>,
    },
}

/// A node: its type (`"Affine"`, `"IF"`, ...), its parameters by name, its metadata, and for
/// a `"NIRGraph"` node the graph it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's type as the file names it.
    pub kind: String,
    /// Every parameter but `type`, `metadata` and a nested graph's `nodes` and `edges`.
    pub params: BTreeMap<String, Value>,
    /// The node's `metadata` group.
    pub metadata: BTreeMap<String, Value>,
    /// The graph a `"NIRGraph"` node holds.
    pub graph: Option<Box<Graph>>,
}

impl Node {
    /// A node of `kind` with `params` and no metadata.
    pub fn new(kind: &str, params: Vec<(&str, Value)>) -> Node {
        Node {
            kind: kind.to_string(),
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            metadata: BTreeMap::new(),
            graph: None,
        }
    }
}

/// A graph: nodes by name, edges `(source, destination)` in the file's order, metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// The nodes, by name.
    pub nodes: BTreeMap<String, Node>,
    /// The edges, as (source, destination) names.
    pub edges: Vec<(String, String)>,
    /// The graph's `metadata` group.
    pub metadata: BTreeMap<String, Value>,
}

/// A NIR file: the version of the `nir` format it was written with and its top graph.
#[derive(Clone, Debug, PartialEq)]
pub struct NirFile {
    /// `/version`, e.g. `"1.0.8"`.
    pub version: String,
    /// `/node`, the top graph.
    pub graph: Graph,
}
