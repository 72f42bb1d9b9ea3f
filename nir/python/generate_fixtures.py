"""Writes the NIR files of fixtures/nir/: networks built and trained outside ttfs, written by
other tools, as a researcher would bring them.

- `numpy-mlp.nir` (`nir` 1.0.8, gzip-compressed arrays): a 784-128-10 network trained with
  numpy alone, its weights written as integers (the largest |w| of each layer 127) with integer
  thresholds, so the chip's 8-bit integers are exactly the file's numbers.
- `sinabs-mlp.nir` and `sinabs-cnn.nir` (`nir` 1.0.4, uncompressed, as files written before
  1.0.8 are): networks trained in PyTorch, built from Sinabs layers (IAF neurons, SumPool2d)
  and exported with `sinabs.to_nir`.

Each network is trained as it will run (ttfs's rules, ARCHITECTURE.md): single-spike IF
neurons (threshold 1) after every weighted layer, no biases, latency-coded input, so a
hidden neuron fires once its input crosses the threshold. The training sees a pixel as the
spike it becomes (lit or not), and a hidden unit as a step of its summed input with a
sigmoid surrogate gradient; the output threshold is the one of a few candidates that decides
best under the reference's rules on 2,000 training images.

Two environments, pinned (the Sinabs exporter needs `nir` <= 1.0.4):

    python -m venv /tmp/nir-numpy && /tmp/nir-numpy/bin/pip install -r nir/python/requirements.txt
    /tmp/nir-numpy/bin/python nir/python/generate_fixtures.py numpy
    python -m venv /tmp/nir-sinabs && /tmp/nir-sinabs/bin/pip install -r nir/python/requirements-sinabs.txt
    /tmp/nir-sinabs/bin/python nir/python/generate_fixtures.py sinabs

Run from the repository root; training is seeded, so the files come out the same on one
machine and library build.
"""

import os
import sys

import numpy as np
import nir

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402

#: Time steps the fixtures run with (`ttfs compile FILE -T 4`).
STEPS = 4
#: Output thresholds tried, in units of the hidden threshold.
OUTPUT_THRESHOLDS = [1, 2, 3, 4, 6, 8]
OUT = "fixtures/nir"


def train_split():
    """The MNIST training images (uint8 [N, 28, 28]) and labels of fixtures/mnist."""
    import gzip

    with gzip.open("fixtures/mnist/train-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open("fixtures/mnist/train-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, labels


def best_output_threshold(graph, set_threshold, images, labels):
    """Sets, through `set_threshold(k)`, each candidate output threshold and keeps the one
    whose decisions under the reference's rules are right most often on `images`."""
    s = {"steps": STEPS, "dt": 1.0, "coding": "latency", "levels": 0, "tie_break": "end"}
    scores = []
    for k in OUTPUT_THRESHOLDS:
        set_threshold(k)
        order = reference.chain(graph)
        decisions, _ = reference.run_batch(graph, order, images, s)
        scores.append((np.mean(np.array(decisions) == labels), k))
        print(f"  output threshold {k}: {100 * scores[-1][0]:.2f}% on {len(labels)} training images")
    score, k = max(scores, key=lambda sk: (sk[0], -sk[1]))  # the lowest of the best
    set_threshold(k)
    return k


def numpy_mlp():
    """The numpy-trained MLP, written with nir's own writer (gzip)."""
    rng = np.random.default_rng(7)
    images, labels = train_split()
    x_all = (images.reshape(len(images), -1) > 0).astype(np.float64)
    w1 = rng.normal(0, 0.08, (128, 784))
    w2 = rng.normal(0, 0.15, (10, 128))
    params = [w1, w2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, step = 2e-3, 0
    for epoch in range(3):
        order = rng.permutation(len(x_all))
        for start in range(0, len(order), 100):
            idx = order[start : start + 100]
            x, y = x_all[idx], labels[idx]
            a1 = x @ w1.T
            h = (a1 >= 1.0).astype(np.float64)
            logits = 2.0 * (h @ w2.T)
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(y)), y] -= 1
            d_logits = 2.0 * p / len(y)
            g2 = d_logits.T @ h
            sig = 1 / (1 + np.exp(-4 * (a1 - 1.0)))
            g1 = ((d_logits @ w2) * 4 * sig * (1 - sig)).T @ x
            step += 1
            for i, g in enumerate([g1, g2]):
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                params[i] -= lr * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
        print(f"numpy MLP: epoch {epoch + 1} of 3")
    # Integers: the largest |w| of each layer becomes 127, the threshold scaled with it.
    s1, s2 = 127 / np.abs(w1).max(), 127 / np.abs(w2).max()
    q1, q2 = np.round(w1 * s1), np.round(w2 * s2)
    th1 = np.round(s1)
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([1, 28, 28])}),
            "flatten": nir.Flatten(
                input_type={"input": np.array([1, 28, 28])}, start_dim=0, end_dim=-1
            ),
            "fc1": nir.Linear(weight=q1.astype(np.float32)),
            "if1": nir.IF(r=np.ones(128), v_threshold=np.full(128, th1), v_reset=np.zeros(128)),
            "fc2": nir.Linear(weight=q2.astype(np.float32)),
            "if2": nir.IF(r=np.ones(10), v_threshold=np.full(10, np.round(s2)), v_reset=np.zeros(10)),
            "output": nir.Output(output_type={"output": np.array([10])}),
        },
        edges=[
            ("input", "flatten"),
            ("flatten", "fc1"),
            ("fc1", "if1"),
            ("if1", "fc2"),
            ("fc2", "if2"),
            ("if2", "output"),
        ],
    )

    def set_threshold(k):
        graph.nodes["if2"].v_threshold = np.full(10, np.round(k * s2))

    k = best_output_threshold(graph, set_threshold, images[:2000], labels[:2000])
    path = os.path.join(OUT, "numpy-mlp.nir")
    nir.write(path, graph)
    print(f"wrote {path} (nir {nir_version()}, hidden threshold {th1:.0f}, output threshold {k} x {s2:.0f})")


def step_spike():
    """A Heaviside step at 1 with a sigmoid surrogate gradient (torch autograd)."""
    import torch

    class Step(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return (a >= 1.0).to(a.dtype)

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            s = torch.sigmoid(4 * (a - 1.0))
            return grad * 4 * s * (1 - s)

    return Step.apply


def train_torch(layers, images, labels, epochs):
    """Trains `layers` (a list of torch modules, 'spike' marking a neuron) on lit-or-not
    images, the last layer's output read as 2 x its sum (softmax cross-entropy)."""
    import torch

    spike = step_spike()
    params = [p for layer in layers if layer != "spike" for p in layer.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    x_all = torch.tensor(images[:, None] > 0, dtype=torch.float32)
    y_all = torch.tensor(labels, dtype=torch.long)
    for epoch in range(epochs):
        order = torch.randperm(len(x_all))
        for start in range(0, len(order), 100):
            idx = order[start : start + 100]
            x = x_all[idx]
            for layer in layers:
                x = spike(x) if layer == "spike" else layer(x)
            loss = torch.nn.functional.cross_entropy(2.0 * x, y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"  epoch {epoch + 1} of {epochs}: loss {loss.item():.3f}")
    if loss.item() > 1.0:
        sys.exit(f"training did not converge (loss {loss.item():.3f}): no fixture written")


def sinabs_networks():
    """The Sinabs MLP and CNN, trained in PyTorch and exported with sinabs.to_nir (nir 1.0.4)."""
    import torch
    import torch.nn as nn
    import sinabs
    import sinabs.layers as sl

    # One thread and deterministic kernels: the same files on every run of one build.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    images, labels = train_split()
    nets = {
        "sinabs-mlp": lambda: [
            nn.Flatten(),
            nn.Linear(784, 256, bias=False),
            "spike",
            nn.Linear(256, 10, bias=False),
        ],
        "sinabs-cnn": lambda: [
            nn.Conv2d(1, 8, 3, padding=1, bias=False),
            "spike",
            sl.SumPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, bias=False),
            "spike",
            sl.SumPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 7 * 7, 10, bias=False),
        ],
    }
    for name, build in nets.items():
        print(f"{name}: training")
        torch.manual_seed(7)
        layers = build()
        for layer in layers:
            # Weights large enough that a fresh hidden neuron can fire on a sparse, binary
            # input (the default init leaves a CNN silent, where no gradient reaches).
            if hasattr(layer, "weight"):
                fan_in = layer.weight[0].numel()
                torch.nn.init.normal_(layer.weight, 0.0, 2.0 / fan_in**0.5)
        train_torch(layers, images, labels, epochs=2)
        modules = [
            sl.IAFSqueeze(batch_size=1, spike_threshold=1.0, min_v_mem=None) if l == "spike" else l
            for l in layers
        ]
        modules.append(sl.IAFSqueeze(batch_size=1, spike_threshold=1.0, min_v_mem=None))
        model = nn.Sequential(*modules)
        with torch.no_grad():
            graph = sinabs.to_nir(model, torch.zeros(1, 1, 28, 28))
        graph.infer_types()
        last = [k for k, n in graph.nodes.items() if isinstance(n, nir.IF)][-1]
        base = np.asarray(graph.nodes[last].v_threshold, dtype=np.float64).copy()

        def set_threshold(k, node=graph.nodes[last], base=base):
            node.v_threshold = base * k

        for node in graph.nodes.values():
            for key, value in list(vars(node).items()):
                if hasattr(value, "detach"):
                    setattr(node, key, value.detach().numpy())
        k = best_output_threshold(graph, set_threshold, images[:2000], labels[:2000])
        path = os.path.join(OUT, f"{name}.nir")
        nir.write(path, graph)
        print(f"wrote {path} (nir {nir_version()}, output threshold {k})")


def nir_version():
    """The nir package's version."""
    from importlib.metadata import version

    return version("nir")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    which = sys.argv[1:] or ["numpy"]
    if "numpy" in which:
        numpy_mlp()
    if "sinabs" in which:
        sinabs_networks()
