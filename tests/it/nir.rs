//! NIR files on the command line: the fixtures written by other tools (numpy with nir 1.0.8,
//! Sinabs with nir 1.0.4) compile for a shipped target and run with the emulator equal to the
//! golden model of the same file; a ttfs export comes back through `compile` and `run
//! --golden`; `inspect` shows a graph and how it imports, or why not.

use crate::common::ttfs;

/// The fixtures written by other tools: (file, the `nir` version that wrote it).
const FOREIGN: [(&str, &str); 3] = [
    ("fixtures/nir/numpy-mlp.nir", "1.0.8"),
    ("fixtures/nir/sinabs-mlp.nir", "1.0.4"),
    ("fixtures/nir/sinabs-cnn.nir", "1.0.4"),
];

#[test]
fn files_from_other_tools_compile_and_emulate_equal_to_their_golden_model() {
    let dir = tempfile::tempdir().unwrap();
    for (file, version) in FOREIGN {
        let read = ttfs_nir::hdf5::read(&crate::common::repo(file)).unwrap();
        assert_eq!(read.version, version, "{file}");
        let config = dir.path().join("net.bin");
        let config = config.to_str().unwrap();
        let (ok, _, err) = ttfs(&[
            "compile", file, "-T", "4", "--target", "loihi", "-o", config, "--limit", "0",
        ]);
        assert!(ok, "{file}: {err}");
        assert!(
            err.contains("the chip runs them single-spike"),
            "{file}: the compile says its rules differ from the source's: {err}"
        );
        let (ok, out, err) = ttfs(&[
            "run",
            config,
            "--golden",
            file,
            "-T",
            "4",
            "--limit",
            "200",
            "-o",
            dir.path().to_str().unwrap(),
        ]);
        assert!(ok, "{file}: {err}");
        assert!(
            out.contains(
                "spike times equal on 200 of 200 inferences (every neuron), decisions equal on 200"
            ),
            "{file}: {out}"
        );
    }
}

#[test]
fn a_file_from_another_tool_is_refused_without_its_time_steps() {
    let (ok, _, err) = ttfs(&["compile", FOREIGN[0].0, "--target", "loihi"]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("fixtures/nir/numpy-mlp.nir: cannot run this NIR graph on the chip"),
        "{err}"
    );
    assert!(err.contains("give -T"), "{err}");
}

#[test]
fn an_export_compiles_and_runs_against_its_own_golden_model() {
    let dir = tempfile::tempdir().unwrap();
    let nir = dir.path().join("mlp.nir");
    let nir = nir.to_str().unwrap();
    let (ok, out, err) = ttfs(&[
        "export",
        "fixtures/models/mnist-mlp.safetensors",
        "--nir",
        nir,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("(nir 1.0.8, 7 nodes)"), "{out}");
    let config = dir.path().join("mlp.bin");
    let config = config.to_str().unwrap();
    let (ok, _, err) = ttfs(&[
        "compile", nir, "--target", "loihi", "-o", config, "--limit", "0",
    ]);
    assert!(ok, "{err}");
    assert!(!err.contains("note:"), "a ttfs export needs no note: {err}");
    let (ok, out, err) = ttfs(&[
        "run",
        config,
        "--golden",
        nir,
        "--limit",
        "100",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("decisions equal on 100"), "{out}");
    // A flag that contradicts the export is refused, naming both.
    let (ok, _, err) = ttfs(&["compile", nir, "-T", "4", "--target", "loihi", "-o", config]);
    assert!(!ok);
    assert!(
        err.contains("-T 4 contradicts the file, a ttfs export with T = 2"),
        "{err}"
    );
}

#[test]
fn inspect_shows_the_graph_and_the_model_it_imports_as() {
    let (ok, out, err) = ttfs(&["inspect", "fixtures/nir/sinabs-cnn.nir", "-T", "4"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("NIR graph (nir 1.0.4): 11 nodes, 10 edges"),
        "{out}"
    );
    assert!(out.contains("SumPool2d"), "{out}");
    assert!(
        out.contains("imports as (another tool's graph: its settings from the flags): sinabs-cnn on mnist, T = 4"),
        "{out}"
    );
    assert!(out.contains("layer 1: avg_pool2d 2x2 stride 2"), "{out}");
    let (ok, out, err) = ttfs(&["inspect", "fixtures/nir/sinabs-cnn.nir"]);
    assert!(!ok, "without -T the graph cannot be imported");
    assert!(
        out.starts_with("NIR graph"),
        "the graph is still shown: {out}"
    );
    assert!(err.contains("give -T"), "{err}");
}
