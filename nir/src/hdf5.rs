//! NIR files as HDF5, the way the `nir` package (1.0.x) lays them out: `/version` (a string),
//! `/node` the top graph: `type` = `"NIRGraph"`, `nodes/<name>/` one group per node with its
//! `type` and one dataset per parameter, `edges` an N x 2 array of (source, destination)
//! names, an optional `metadata` group; a parameter that is a dictionary (`Flatten`'s
//! `input_type`) is a group. Strings are variable-length; arrays are gzip-chunked since 1.0.8
//! and contiguous before.
//!
//! Read with `hdf5-pure`, a pure-Rust HDF5 implementation (no C library). Every size comes
//! from the file, so each is bounded before anything is read: at most [`MAX_NODES`] nodes,
//! [`MAX_DEPTH`] levels of nesting and [`MAX_VALUES`] values in one array.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_pure::{DType, Dataset, File, FileBuilder, Group};

use crate::error::NirError;
use crate::graph::{Array, Dtype, Graph, NirFile, Node, Value};

/// The most nodes a file may hold, nested graphs included.
pub const MAX_NODES: usize = 100_000;
/// The most values one array may hold (a 16-million-synapse layer is 2^24).
pub const MAX_VALUES: usize = 1 << 27;
/// The most levels graphs may nest.
pub const MAX_DEPTH: usize = 16;

/// The version of the `nir` format this crate writes.
pub const WRITE_VERSION: &str = "1.0.8";

/// Reads the NIR file at `path`.
///
/// # Errors
/// [`NirError::Io`], [`NirError::NotHdf5`], or [`NirError::Format`] naming the object that is
/// missing, of the wrong kind or too large.
pub fn read(path: &Path) -> Result<NirFile, NirError> {
    let bytes = std::fs::read(path).map_err(|source| NirError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes).map_err(|e| match e {
        NirError::Format { what, .. } => NirError::Format {
            path: path.to_path_buf(),
            what,
        },
        NirError::NotHdf5 { .. } => NirError::NotHdf5 {
            path: path.to_path_buf(),
        },
        other => other,
    })
}

/// Reads a NIR file from its bytes (errors name the file as `<bytes>`).
///
/// # Errors
/// As [`read`].
pub fn decode(bytes: &[u8]) -> Result<NirFile, NirError> {
    if !hdf5_pure::is_hdf5_bytes(bytes) {
        return Err(NirError::NotHdf5 {
            path: "<bytes>".into(),
        });
    }
    let file = File::from_bytes(bytes.to_vec())
        .map_err(|e| format_error(format!("not readable as HDF5: {e}")))?;
    let version = file
        .dataset("version")
        .map_err(|_| format_error("no /version: not a file the nir package wrote"))?;
    let version = string_of(&version, "/version")?;
    if !(version.starts_with("0.") || version.starts_with("1.")) {
        return Err(format_error(format!(
            "/version is \"{version}\": this reader knows the nir format 0.x and 1.x"
        )));
    }
    let node = file
        .group("node")
        .map_err(|_| format_error("no /node group: not a file the nir package wrote"))?;
    let mut budget = MAX_NODES;
    let graph = read_graph(&node, "/node", 0, &mut budget)?;
    Ok(NirFile { version, graph })
}

/// A [`NirError::Format`] about the file being read.
fn format_error(what: impl Into<String>) -> NirError {
    NirError::Format {
        path: "<bytes>".into(),
        what: what.into(),
    }
}

/// The one string of a string dataset.
fn string_of(dataset: &Dataset, at: &str) -> Result<String, NirError> {
    let values = dataset
        .read_string()
        .map_err(|e| format_error(format!("{at} is not a string: {e}")))?;
    match values.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format_error(format!(
            "{at} holds {} strings, not one",
            values.len()
        ))),
    }
}

/// Reads the graph stored in `group` (its `nodes`, `edges` and `metadata`).
fn read_graph(
    group: &Group,
    at: &str,
    depth: usize,
    budget: &mut usize,
) -> Result<Graph, NirError> {
    if depth > MAX_DEPTH {
        return Err(format_error(format!(
            "{at}: graphs nest deeper than {MAX_DEPTH} levels"
        )));
    }
    let mut graph = Graph::default();
    let members = |g: &Group, what: &str| -> Result<Vec<String>, NirError> {
        let names = if what == "groups" {
            g.groups()
        } else {
            g.datasets()
        };
        names.map_err(|e| format_error(format!("{at}: cannot list its {what}: {e}")))
    };
    if members(group, "groups")?.iter().any(|n| n == "nodes") {
        let nodes = group
            .group("nodes")
            .map_err(|e| format_error(format!("{at}/nodes: {e}")))?;
        for name in members(&nodes, "groups")? {
            if *budget == 0 {
                return Err(format_error(format!("more than {MAX_NODES} nodes")));
            }
            *budget -= 1;
            let node_at = format!("{at}/nodes/{name}");
            let node = nodes
                .group(&name)
                .map_err(|e| format_error(format!("{node_at}: {e}")))?;
            graph
                .nodes
                .insert(name, read_node(&node, &node_at, depth, budget)?);
        }
    }
    if members(group, "datasets")?.iter().any(|n| n == "edges") {
        let edges = group
            .dataset("edges")
            .map_err(|e| format_error(format!("{at}/edges: {e}")))?;
        match read_value(&edges, &format!("{at}/edges"))? {
            Value::Texts { shape, values } if shape.len() == 2 && shape[1] == 2 => {
                graph.edges = values
                    .chunks_exact(2)
                    .map(|pair| (pair[0].clone(), pair[1].clone()))
                    .collect();
            }
            Value::Texts { values, .. } if values.is_empty() => {}
            _ => {
                return Err(format_error(format!(
                    "{at}/edges is not an N x 2 array of node names"
                )));
            }
        }
    }
    if members(group, "groups")?.iter().any(|n| n == "metadata") {
        let metadata = group
            .group("metadata")
            .map_err(|e| format_error(format!("{at}/metadata: {e}")))?;
        graph.metadata = read_dict(&metadata, &format!("{at}/metadata"), depth + 1)?;
    }
    Ok(graph)
}

/// Reads one node group.
fn read_node(group: &Group, at: &str, depth: usize, budget: &mut usize) -> Result<Node, NirError> {
    let datasets = group
        .datasets()
        .map_err(|e| format_error(format!("{at}: cannot list its datasets: {e}")))?;
    if !datasets.iter().any(|n| n == "type") {
        return Err(format_error(format!("{at} has no 'type'")));
    }
    let kind = string_of(
        &group
            .dataset("type")
            .map_err(|e| format_error(format!("{at}/type: {e}")))?,
        &format!("{at}/type"),
    )?;
    let mut node = Node {
        kind,
        params: BTreeMap::new(),
        metadata: BTreeMap::new(),
        graph: None,
    };
    if node.kind == "NIRGraph" {
        node.graph = Some(Box::new(read_graph(group, at, depth + 1, budget)?));
        return Ok(node);
    }
    for name in datasets.iter().filter(|n| *n != "type") {
        let dataset = group
            .dataset(name)
            .map_err(|e| format_error(format!("{at}/{name}: {e}")))?;
        node.params
            .insert(name.clone(), read_value(&dataset, &format!("{at}/{name}"))?);
    }
    let groups = group
        .groups()
        .map_err(|e| format_error(format!("{at}: cannot list its groups: {e}")))?;
    for name in groups {
        let sub = group
            .group(&name)
            .map_err(|e| format_error(format!("{at}/{name}: {e}")))?;
        let dict = read_dict(&sub, &format!("{at}/{name}"), depth + 1)?;
        if name == "metadata" {
            node.metadata = dict;
        } else {
            // A dictionary parameter (Flatten's `input_type`): its entries, prefixed.
            for (key, value) in dict {
                node.params.insert(format!("{name}.{key}"), value);
            }
        }
    }
    Ok(node)
}

/// The datasets of a group of plain values (metadata, a dictionary parameter), nested groups
/// flattened with `.` between the names.
fn read_dict(group: &Group, at: &str, depth: usize) -> Result<BTreeMap<String, Value>, NirError> {
    if depth > MAX_DEPTH {
        return Err(format_error(format!(
            "{at}: groups nest deeper than {MAX_DEPTH} levels"
        )));
    }
    let mut dict = BTreeMap::new();
    let datasets = group
        .datasets()
        .map_err(|e| format_error(format!("{at}: cannot list its datasets: {e}")))?;
    for name in datasets {
        let dataset = group
            .dataset(&name)
            .map_err(|e| format_error(format!("{at}/{name}: {e}")))?;
        dict.insert(name.clone(), read_value(&dataset, &format!("{at}/{name}"))?);
    }
    let groups = group
        .groups()
        .map_err(|e| format_error(format!("{at}: cannot list its groups: {e}")))?;
    for name in groups {
        let sub = group
            .group(&name)
            .map_err(|e| format_error(format!("{at}/{name}: {e}")))?;
        for (key, value) in read_dict(&sub, &format!("{at}/{name}"), depth + 1)? {
            dict.insert(format!("{name}.{key}"), value);
        }
    }
    Ok(dict)
}

/// Reads one dataset as a value: numbers as an [`Array`] (after checking its size), strings as
/// text.
fn read_value(dataset: &Dataset, at: &str) -> Result<Value, NirError> {
    let shape: Vec<usize> = dataset
        .shape()
        .map_err(|e| format_error(format!("{at}: no shape: {e}")))?
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect();
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_VALUES)
        .ok_or_else(|| {
            format_error(format!(
                "{at}: shape {shape:?} holds more than {MAX_VALUES} values"
            ))
        })?;
    let dtype = dataset
        .dtype()
        .map_err(|e| format_error(format!("{at}: no datatype: {e}")))?;
    let bad = |e: hdf5_pure::Error| format_error(format!("{at}: cannot read its values: {e}"));
    let array = |data: Vec<f64>, dtype| -> Result<Value, NirError> {
        if data.len() != count {
            return Err(format_error(format!(
                "{at}: {} values for shape {shape:?}",
                data.len()
            )));
        }
        Ok(Value::Array(Array {
            shape: shape.clone(),
            data,
            dtype,
        }))
    };
    match dtype {
        DType::F32 => {
            let values = dataset.read_f32().map_err(bad)?;
            array(values.into_iter().map(f64::from).collect(), Dtype::F32)
        }
        DType::F64 => array(dataset.read_f64().map_err(bad)?, Dtype::F64),
        DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::U8 | DType::U16 | DType::U32 => {
            let values = dataset.read_i64().map_err(bad)?;
            array(values.into_iter().map(|v| v as f64).collect(), Dtype::I64)
        }
        DType::U64 => {
            let values = dataset.read_u64().map_err(bad)?;
            array(values.into_iter().map(|v| v as f64).collect(), Dtype::I64)
        }
        DType::String | DType::VariableLengthString => {
            let values = dataset.read_string().map_err(bad)?;
            if shape.is_empty() && values.len() == 1 {
                Ok(Value::Text(values.into_iter().next().unwrap_or_default()))
            } else if values.len() == count {
                Ok(Value::Texts { shape, values })
            } else {
                Err(format_error(format!(
                    "{at}: {} strings for shape {shape:?}",
                    values.len()
                )))
            }
        }
        other => Err(format_error(format!(
            "{at}: values of type {other}, not numbers or strings"
        ))),
    }
}

/// Writes `file` to `path` as the `nir` package does (arrays gzip-chunked when `compress`),
/// through the toolchain's atomic write.
///
/// # Errors
/// [`NirError::Format`] if the structure cannot be encoded, [`NirError::Io`] if the file
/// cannot be written.
pub fn write(path: &Path, file: &NirFile, compress: bool) -> Result<(), NirError> {
    let bytes = encode(file, compress).map_err(|what| NirError::Format {
        path: path.to_path_buf(),
        what,
    })?;
    ttfs_runtime::atomic::write_atomic(path, &bytes).map_err(|e| NirError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// The bytes of `file` as a NIR HDF5 file.
///
/// # Errors
/// What the HDF5 writer refused, as a sentence.
pub fn encode(file: &NirFile, compress: bool) -> Result<Vec<u8>, String> {
    let mut builder = FileBuilder::new();
    builder
        .create_dataset("version")
        .with_vlen_strings(&[file.version.as_str()])
        .with_shape(&[]);
    let mut node = builder.create_group("node");
    write_graph(&mut node, &file.graph, compress);
    builder.add_group(node.finish());
    builder.finish().map_err(|e| e.to_string())
}

/// Writes a graph's `type`, `nodes`, `edges` and `metadata` into `group`.
fn write_graph(group: &mut hdf5_pure::GroupBuilder, graph: &Graph, compress: bool) {
    group
        .create_dataset("type")
        .with_vlen_strings(&["NIRGraph"])
        .with_shape(&[]);
    let mut nodes = group.create_group("nodes");
    for (name, node) in &graph.nodes {
        let mut g = nodes.create_group(name);
        match &node.graph {
            Some(inner) => write_graph(&mut g, inner, compress),
            None => {
                g.create_dataset("type")
                    .with_vlen_strings(&[node.kind.as_str()])
                    .with_shape(&[]);
                // A dotted key is an entry of a dictionary parameter (Flatten's
                // `input_type.input`), which the nir package keeps as a group.
                let mut dicts: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
                for (key, value) in &node.params {
                    match key.split_once('.') {
                        Some((dict, entry)) => dicts.entry(dict).or_default().push((entry, value)),
                        None => write_value(&mut g, key, value, compress),
                    }
                }
                for (dict, entries) in dicts {
                    let mut d = g.create_group(dict);
                    for (entry, value) in entries {
                        write_value(&mut d, entry, value, compress);
                    }
                    g.add_group(d.finish());
                }
            }
        }
        if !node.metadata.is_empty() {
            let mut m = g.create_group("metadata");
            for (key, value) in &node.metadata {
                write_value(&mut m, key, value, false);
            }
            g.add_group(m.finish());
        }
        nodes.add_group(g.finish());
    }
    group.add_group(nodes.finish());
    let flat: Vec<&str> = graph
        .edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    group
        .create_dataset("edges")
        .with_vlen_strings(&flat)
        .with_shape(&[graph.edges.len() as u64, 2]);
    if !graph.metadata.is_empty() {
        let mut m = group.create_group("metadata");
        for (key, value) in &graph.metadata {
            write_value(&mut m, key, value, false);
        }
        group.add_group(m.finish());
    }
}

/// Writes one value as a dataset named `key` (arrays of more than one value gzip-chunked when
/// `compress`, as `nir` 1.0.8 writes them).
fn write_value(group: &mut hdf5_pure::GroupBuilder, key: &str, value: &Value, compress: bool) {
    let dataset = group.create_dataset(key);
    match value {
        Value::Text(text) => {
            dataset.with_vlen_strings(&[text.as_str()]).with_shape(&[]);
        }
        Value::Texts { shape, values } => {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
            dataset.with_vlen_strings(&refs).with_shape(&shape);
        }
        Value::Array(a) => {
            match a.dtype {
                Dtype::F32 => {
                    let data: Vec<f32> = a.data.iter().map(|&v| v as f32).collect();
                    dataset.with_f32_data(&data)
                }
                Dtype::F64 => dataset.with_f64_data(&a.data),
                Dtype::I64 => {
                    let data: Vec<i64> = a.data.iter().map(|&v| v as i64).collect();
                    dataset.with_i64_data(&data)
                }
            };
            let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
            dataset.with_shape(&shape);
            if compress && !a.shape.is_empty() && !a.is_empty() {
                dataset.with_chunks(&shape).with_deflate(4);
            }
        }
    }
}
