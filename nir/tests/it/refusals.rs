//! Every way a NIR file or graph cannot run on the chip is refused in one line naming the
//! node, its type and what is supported: recurrent edges, Delay, Conv1d, dilation and groups,
//! shapes that disagree along an edge, missing parameters, leaky neurons, an unknown version,
//! a file that is not HDF5. Each case starts from a small graph that imports, so the refusal
//! is the edit's.

use ttfs_nir::{Array, Graph, ImportOptions, NirError, NirFile, Node, Value, import};

fn array(shape: &[usize], data: Vec<f64>) -> Value {
    Value::Array(Array::f64(shape.to_vec(), data))
}

fn ints(values: &[i64]) -> Value {
    Value::Array(Array::i64(vec![values.len()], values))
}

/// Input [1, 4, 4] -> Conv2d 1->2 k3 p1 -> IF -> AvgPool2d 2 -> Flatten -> Affine 8->3 -> IF ->
/// Output [3].
fn good() -> NirFile {
    let conv = Node::new(
        "Conv2d",
        vec![
            ("weight", array(&[2, 1, 3, 3], vec![0.25; 18])),
            ("bias", array(&[2], vec![0.0, 0.1])),
            ("stride", ints(&[1, 1])),
            ("padding", ints(&[1, 1])),
            ("dilation", ints(&[1, 1])),
            ("groups", Value::Array(Array::scalar(1))),
        ],
    );
    let neurons = |shape: &[usize]| {
        let n = shape.iter().product();
        Node::new(
            "IF",
            vec![
                ("r", array(shape, vec![1.0; n])),
                ("v_threshold", array(shape, vec![1.0; n])),
                ("v_reset", array(shape, vec![0.0; n])),
            ],
        )
    };
    let nodes = [
        (
            "input",
            Node::new("Input", vec![("shape", ints(&[1, 4, 4]))]),
        ),
        ("conv", conv),
        ("if1", neurons(&[2, 4, 4])),
        (
            "pool",
            Node::new(
                "AvgPool2d",
                vec![
                    ("kernel_size", ints(&[2, 2])),
                    ("stride", ints(&[2, 2])),
                    ("padding", ints(&[0, 0])),
                ],
            ),
        ),
        (
            "flat",
            Node::new(
                "Flatten",
                vec![
                    ("start_dim", Value::Array(Array::scalar(0))),
                    ("end_dim", Value::Array(Array::scalar(-1))),
                ],
            ),
        ),
        (
            "fc",
            Node::new(
                "Affine",
                vec![
                    ("weight", array(&[3, 8], (0..24).map(f64::from).collect())),
                    ("bias", array(&[3], vec![0.0; 3])),
                ],
            ),
        ),
        ("if2", neurons(&[3])),
        ("output", Node::new("Output", vec![("shape", ints(&[3]))])),
    ];
    let names: Vec<&str> = nodes.iter().map(|(n, _)| *n).collect();
    NirFile {
        version: "1.0.8".to_string(),
        graph: Graph {
            nodes: nodes
                .into_iter()
                .map(|(n, node)| (n.to_string(), node))
                .collect(),
            edges: names
                .windows(2)
                .map(|w| (w[0].to_string(), w[1].to_string()))
                .collect(),
            metadata: Default::default(),
        },
    }
}

fn options() -> ImportOptions {
    ImportOptions {
        steps: Some(4),
        ..ImportOptions::default()
    }
}

/// The one-line refusal of `file`, written and read back as a file first (so the refusal is
/// of what a reader of the file sees).
fn refusal(file: &NirFile) -> String {
    let bytes = ttfs_nir::hdf5::encode(file, true).unwrap();
    let back = ttfs_nir::hdf5::decode(&bytes).unwrap();
    let err = import(&back, &options()).expect_err("the edited graph must be refused");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

fn edited(edit: impl FnOnce(&mut Graph)) -> NirFile {
    let mut file = good();
    edit(&mut file.graph);
    file
}

fn set(graph: &mut Graph, node: &str, key: &str, value: Value) {
    graph
        .nodes
        .get_mut(node)
        .unwrap()
        .params
        .insert(key.into(), value);
}

#[test]
fn the_starting_graph_imports_as_drawn() {
    let imported = import(&good(), &options()).unwrap();
    let kinds: Vec<&str> = imported
        .model
        .description
        .layers
        .iter()
        .map(|l| l.kind_name())
        .collect();
    assert_eq!(kinds, ["conv2d", "avg_pool2d", "flatten", "linear"]);
    assert_eq!(imported.model.description.time_steps, 4);
}

#[test]
fn a_recurrent_edge_is_refused_naming_the_node() {
    let text = refusal(&edited(|g| {
        g.edges.push(("if1".into(), "conv".into()));
    }));
    assert!(text.contains("node 'conv' (Conv2d)"), "{text}");
    assert!(text.contains("a recurrent edge if1 -> conv"), "{text}");
    let text = refusal(&edited(|g| {
        g.edges.retain(|(a, _)| a != "if2");
        g.edges.push(("if2".into(), "fc".into()));
    }));
    assert!(text.contains("node 'fc' (Affine)"), "{text}");
    assert!(text.contains("a recurrent edge if2 -> fc"), "{text}");
}

#[test]
fn nodes_the_chip_cannot_run_are_refused_with_what_is_supported() {
    for (kind, expected) in [
        ("Delay", "no synaptic delay"),
        ("Conv1d", "1-D convolution"),
        ("LIF", "IF neurons only"),
        ("CubaLIF", "IF neurons only"),
        ("Threshold", "IF neurons"),
        ("Mystery", "Affine, Linear, Conv2d"),
    ] {
        let text = refusal(&edited(|g| {
            g.nodes.get_mut("pool").unwrap().kind = kind.into();
        }));
        assert!(text.contains(&format!("node 'pool' ({kind})")), "{text}");
        assert!(text.contains(expected), "{kind}: {text}");
    }
}

#[test]
fn dilation_and_groups_are_refused() {
    let text = refusal(&edited(|g| set(g, "conv", "dilation", ints(&[2, 2]))));
    assert!(
        text.contains("node 'conv' (Conv2d)") && text.contains("dilation"),
        "{text}"
    );
    let text = refusal(&edited(|g| {
        set(g, "conv", "groups", Value::Array(Array::scalar(2)))
    }));
    assert!(
        text.contains("node 'conv' (Conv2d)") && text.contains("groups"),
        "{text}"
    );
}

#[test]
fn shapes_that_disagree_along_an_edge_are_refused() {
    let text = refusal(&edited(|g| {
        set(g, "fc", "weight", array(&[3, 9], vec![1.0; 27]));
    }));
    assert!(text.contains("node 'fc' (Affine)"), "{text}");
    assert!(text.contains("takes 9 inputs"), "{text}");
    let text = refusal(&edited(|g| set(g, "output", "shape", ints(&[4]))));
    assert!(text.contains("output") && text.contains('4'), "{text}");
    let text = refusal(&edited(|g| {
        set(g, "if2", "v_threshold", array(&[5], vec![1.0; 5]));
    }));
    assert!(text.contains("node 'if2' (IF)"), "{text}");
}

#[test]
fn a_node_without_its_parameters_is_refused() {
    for (node, key, kind) in [
        ("fc", "weight", "Affine"),
        ("fc", "bias", "Affine"),
        ("conv", "weight", "Conv2d"),
        ("if1", "v_threshold", "IF"),
        ("if1", "r", "IF"),
        ("pool", "kernel_size", "AvgPool2d"),
    ] {
        let text = refusal(&edited(|g| {
            g.nodes.get_mut(node).unwrap().params.remove(key);
        }));
        assert!(
            text.contains(&format!("node '{node}' ({kind})")) && text.contains(key),
            "{node}.{key}: {text}"
        );
    }
}

#[test]
fn a_graph_from_another_tool_needs_its_time_steps() {
    let err = import(&good(), &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("give -T"), "{err}");
}

#[test]
fn a_flatten_that_leaves_a_matrix_is_refused() {
    let text = refusal(&edited(|g| {
        set(g, "flat", "start_dim", Value::Array(Array::scalar(1)));
    }));
    assert!(text.contains("node 'flat' (Flatten)"), "{text}");
    assert!(text.contains("not to a vector"), "{text}");
}

#[test]
fn unknown_versions_and_files_that_are_not_hdf5_are_refused() {
    let mut file = good();
    file.version = "2.0.0".into();
    let bytes = ttfs_nir::hdf5::encode(&file, false).unwrap();
    let err = ttfs_nir::hdf5::decode(&bytes).unwrap_err();
    assert!(err.to_string().contains("/version is \"2.0.0\""), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.nir");
    std::fs::write(&path, b"{\"not\": \"hdf5\"}").unwrap();
    let err = ttfs_nir::hdf5::read(&path).unwrap_err();
    assert!(matches!(err, NirError::NotHdf5 { .. }), "{err}");
    assert!(err.to_string().starts_with(&path.display().to_string()));
    let err = ttfs_nir::hdf5::read(&dir.path().join("absent.nir")).unwrap_err();
    assert!(matches!(err, NirError::Io { .. }), "{err}");
}

#[test]
fn a_neuron_without_a_positive_threshold_or_r_is_named() {
    let zero_threshold = edited(|g| {
        let mut t = vec![1.0; 3];
        t[2] = 0.0;
        set(g, "if2", "v_threshold", array(&[3], t));
    });
    assert_eq!(
        refusal(&zero_threshold),
        "node 'if2' (IF): neuron 2 has v_threshold 0; the chip needs a positive threshold"
    );
    let negative_r = edited(|g| set(g, "if1", "r", array(&[1], vec![-0.5])));
    assert_eq!(
        refusal(&negative_r),
        "node 'if1' (IF): neuron 0 has r -0.5; ttfs imports a positive r"
    );
    // Both wrong: the threshold is named first.
    let both = edited(|g| {
        set(g, "if2", "v_threshold", array(&[3], vec![-1.0; 3]));
        set(g, "if2", "r", array(&[3], vec![0.0; 3]));
    });
    assert!(refusal(&both).contains("v_threshold -1"));
}
