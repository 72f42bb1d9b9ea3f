"""A network built in Python (numpy weights, a `nir.NIRGraph` in memory) goes to an energy
report without leaving Python, through the same import as a NIR file."""

import warnings

import numpy as np
import pytest

import ttfs

nir = pytest.importorskip("nir")


def mlp_graph(w1, w2, th1, th2):
    """Input 1x28x28 -> Flatten -> Linear -> IF -> Linear -> IF -> Output, as `nir` builds it."""
    hidden, classes = w1.shape[0], w2.shape[0]
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([1, 28, 28])}),
            "flatten": nir.Flatten(input_type={"input": np.array([1, 28, 28])}, start_dim=0, end_dim=-1),
            "fc1": nir.Linear(weight=w1.astype(np.float32)),
            "if1": nir.IF(r=np.ones(hidden), v_threshold=np.full(hidden, th1), v_reset=np.zeros(hidden)),
            "fc2": nir.Linear(weight=w2.astype(np.float32)),
            "if2": nir.IF(r=np.ones(classes), v_threshold=np.full(classes, th2), v_reset=np.zeros(classes)),
            "output": nir.Output(output_type={"output": np.array([classes])}),
        },
        edges=[("input", "flatten"), ("flatten", "fc1"), ("fc1", "if1"), ("if1", "fc2"),
               ("fc2", "if2"), ("if2", "output")],
    )


def test_a_graph_in_memory_compiles_as_its_file_does(repo, mnist, loihi):
    images, labels = mnist
    fixture = repo / "fixtures/nir/numpy-mlp.nir"
    graph = nir.read(str(fixture))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        in_memory = ttfs.Model.from_nir(graph, name="numpy-mlp", steps=4)
    assert [str(w.message).split(":")[0] for w in said] == ["<nir graph numpy-mlp>"]
    assert "the chip runs them single-spike" in str(said[0].message)
    with pytest.warns(UserWarning, match="numpy-mlp.nir: the source's neurons reset"):
        from_file = ttfs.Model.load(fixture, steps=4)
    assert in_memory.digest == from_file.digest
    a = in_memory.compile(loihi, images, labels, limit=300)
    b = from_file.compile(loihi, images, labels, limit=300)
    assert a.config_bytes == b.config_bytes


def test_numpy_weights_go_to_an_energy_report_without_leaving_python(mnist, loihi):
    images, labels = mnist
    rng = np.random.default_rng(7)
    # Integer weights, so the thresholds hold them exactly (as a chip's toolchain would).
    w1 = rng.integers(-3, 4, size=(64, 784))
    w2 = rng.integers(-3, 4, size=(10, 64))
    graph = mlp_graph(w1, w2, th1=200.0, th2=40.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ttfs.Model.from_nir(graph, name="random-mlp", steps=4)
    assert model.arch == "random-mlp" and model.input_shape == [1, 28, 28]
    chip = model.compile(loihi, images, labels, limit=200)
    report = ttfs.run(chip, images[:200], labels[:200], golden=True)
    assert report.golden_equal is True
    assert report.single_spike["verified"] and report.single_spike["violations"] == 0
    assert report.energy_nj > 0 and report.energy_pj.shape == (200,)
    assert np.isclose(report.energy_pj.mean() / 1000, report.energy_nj)
    assert report.counters["synaptic_ops"] > 0


def test_a_graph_with_a_leaky_neuron_is_refused_naming_the_node():
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([4])}),
            "fc": nir.Affine(weight=np.ones((2, 4), dtype=np.float32), bias=np.zeros(2, dtype=np.float32)),
            "lif": nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
            "output": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
    )
    with pytest.raises(ttfs.FormatError) as raised:
        ttfs.Model.from_nir(graph, name="leaky", steps=4)
    assert str(raised.value).startswith(
        "<nir graph leaky>: cannot run this NIR graph on the chip: node 'lif' (LIF)"
    )
