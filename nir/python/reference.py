"""A reference forward pass of a NIR graph under ttfs's rules, written from ARCHITECTURE.md
("The exact rules" and "NIR") with nothing but the `nir` package and numpy.

It is the independent second path to `ttfs compile`'s float accuracy: the graph is read with
`nir.read`, run node by node in float64 as NIR describes it (no folding, no lowering), with the
TTFS semantics that NIR cannot say taken from the graph's `ttfs.*` metadata (a ttfs export) or
from the flags (another tool's graph):

- the input coding: latency (pixel p > 0 spikes once, at step
  1 + floor(((255 - p)(T - 1) + 127) / 255)) or thermometer (n = floor((2 p K + 255) / 510) of
  K levels, presented at every step as n / K, or as n lit lines of K where the Input has K
  values per pixel);
- one step per NIR step: every node advances once per step in graph order, a node sees the
  previous node's output of the same step; an IF adds r * dt * I to v, with no leak;
- single spike: a neuron fires at the first step with v >= v_threshold and never again; output
  neurons keep integrating;
- the decision: the class whose output neuron fires first; the outputs firing at that step (or
  all, if none fires) are ordered by the larger v / v_threshold after the decision step (tie
  break `decision_step`) or after the last step (`end`), then by the lower index.

    python reference.py FILE.nir --data fixtures/mnist [--limit N] [-T T] [--json]
"""

import argparse
import gzip
import json
import os
import sys

import numpy as np
import nir

#: Images simulated at once (bounds the memory of a convolution's patches).
BATCH = 100


def load_test_split(folder):
    """The test images (uint8, [N, 28, 28]) and labels of an IDX folder, gzipped or not."""

    def read(name):
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.exists(path):
                opener = gzip.open if candidate.endswith(".gz") else open
                with opener(path, "rb") as f:
                    return f.read()
        raise SystemExit(f"{folder}: no {name}[.gz]")

    images = read("t10k-images-idx3-ubyte")
    labels = read("t10k-labels-idx1-ubyte")
    n, rows, cols = (int.from_bytes(images[i : i + 4], "big") for i in (4, 8, 12))
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16, count=n * rows * cols)
    return pixels.reshape(n, rows, cols), np.frombuffer(labels, dtype=np.uint8, offset=8)


def text(value):
    """A metadata value as a Python string or number."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def settings(graph, args):
    """T, dt, the input coding, its levels and the tie break: the file's metadata (a ttfs
    export), else the flags."""
    meta = {k: text(v) for k, v in (graph.metadata or {}).items()}
    if "ttfs.time_steps" in meta:
        return {
            "steps": int(meta["ttfs.time_steps"]),
            "dt": 1.0,
            "coding": meta["ttfs.input_coding"],
            "levels": int(meta.get("ttfs.input_levels", 0)),
            "tie_break": meta["ttfs.tie_break"],
        }
    if args.steps is None:
        raise SystemExit("the file carries no TTFS settings (not a ttfs export): give -T")
    return {
        "steps": args.steps,
        "dt": args.dt,
        "coding": args.input,
        "levels": args.levels,
        "tie_break": args.tie_break,
    }


def chain(graph):
    """The node names from the Input to the Output; a graph that is not one chain is refused."""
    nexts = {}
    for src, dst in graph.edges:
        if src in nexts:
            raise SystemExit(f"node {src} has two successors: only a chain runs here")
        nexts[src] = dst
    inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise SystemExit("the graph needs exactly one Input node")
    order = [inputs[0]]
    while order[-1] in nexts:
        order.append(nexts[order[-1]])
        if len(order) > len(graph.nodes):
            raise SystemExit("the graph has a cycle")
    if not isinstance(graph.nodes[order[-1]], nir.Output):
        raise SystemExit(f"the chain ends at {order[-1]}, not at the Output")
    return order


def pair(value):
    """A kernel, stride or padding as (rows, cols)."""
    v = np.asarray(value).reshape(-1)
    return (int(v[0]), int(v[0])) if v.size == 1 else (int(v[0]), int(v[1]))


def conv2d(x, node):
    """A NIR Conv2d over x [B, C, H, W] (groups 1, no dilation), in float64."""
    w = np.asarray(node.weight, dtype=np.float64)
    if int(np.asarray(node.groups)) != 1 or any(d != 1 for d in pair(node.dilation)):
        raise SystemExit("Conv2d with groups or dilation is outside ttfs's rules")
    co, ci, kh, kw = w.shape
    if isinstance(node.padding, str):
        raise SystemExit("string padding is not supported here")
    (ph, pw), (sh, sw) = pair(node.padding), pair(node.stride)
    b, _, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    patches = np.empty((b, oh, ow, ci, kh, kw))
    for i in range(kh):
        for j in range(kw):
            patches[:, :, :, :, i, j] = xp[
                :, :, i : i + sh * oh : sh, j : j + sw * ow : sw
            ].transpose(0, 2, 3, 1)
    out = patches.reshape(b * oh * ow, -1) @ w.reshape(co, -1).T
    out = out.reshape(b, oh, ow, co).transpose(0, 3, 1, 2)
    bias = np.asarray(node.bias, dtype=np.float64).reshape(-1)
    return out + bias.reshape(1, -1, 1, 1) if bias.size else out


def pool(x, node, average):
    """A NIR AvgPool2d or SumPool2d over x [B, C, H, W] (no padding)."""
    (kh, kw), (sh, sw) = pair(node.kernel_size), pair(node.stride)
    if any(p != 0 for p in pair(node.padding)):
        raise SystemExit("pools with padding are outside ttfs's rules")
    b, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((b, c, oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += x[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
    return out / (kh * kw) if average else out


def flatten(x, node):
    """A NIR Flatten of one sample's dimensions start_dim..end_dim (batch axis kept)."""
    dims = x.shape[1:]
    start = int(np.asarray(node.start_dim)) % len(dims)
    end = int(np.asarray(node.end_dim)) % len(dims)
    merged = int(np.prod(dims[start : end + 1]))
    return x.reshape((x.shape[0],) + dims[:start] + (merged,) + dims[end + 1 :])


class Neurons:
    """The single-spike IF neurons of one IF node, over a batch."""

    def __init__(self, node, batch, dt, is_output):
        self.r = np.asarray(node.r, dtype=np.float64) * dt
        self.threshold = np.asarray(node.v_threshold, dtype=np.float64)
        self.v = np.zeros((batch,) + self.threshold.shape)
        self.fired = np.zeros(self.v.shape, dtype=np.int64)  # spike step, 0 = not yet
        self.is_output = is_output

    def step(self, current, t):
        """Adds r dt I to v; the neurons that reach v >= v_threshold for the first time fire."""
        if self.is_output:
            self.v += self.r * current
        else:
            live = self.fired == 0
            self.v = np.where(live, self.v + self.r * current, self.v)
        spikes = (self.fired == 0) & (self.v >= self.threshold)
        self.fired[spikes] = t
        return spikes.astype(np.float64)


def encode(images, coding, levels, steps, input_shape):
    """The input of every step, [T, B, *input_shape]: latency spikes, or thermometer values
    presented at every step."""
    b = images.shape[0]
    p = images.reshape(b, -1).astype(np.int64)
    out = np.zeros((steps, b, int(np.prod(input_shape))))
    if coding == "latency":
        step = 1 + ((255 - p) * (steps - 1) + 127) // 255
        for t in range(1, steps + 1):
            out[t - 1] = (p > 0) & (step == t)
    elif coding == "thermometer":
        n = (2 * p * levels + 255) // 510
        if out.shape[2] == p.shape[1] * levels:
            lines = (np.arange(levels)[None, None, :] < n[:, :, None]).reshape(b, -1)
            out[:] = lines
        else:
            out[:] = n / levels
    else:
        raise SystemExit(f"input coding {coding!r} is not latency or thermometer")
    return out.reshape((steps, b) + tuple(input_shape))


def run_batch(graph, order, images, s):
    """Decisions, output spike steps and final output potentials of one batch."""
    steps = s["steps"]
    b = images.shape[0]
    input_shape = [int(v) for v in np.asarray(graph.nodes[order[0]].input_type["input"])]
    inputs = encode(images, s["coding"], s["levels"], steps, input_shape)
    if_nodes = [k for k in order if isinstance(graph.nodes[k], nir.IF)]
    neurons = {
        k: Neurons(graph.nodes[k], b, s["dt"], k == if_nodes[-1]) for k in if_nodes
    }
    output = neurons[if_nodes[-1]]
    potentials = []
    for t in range(1, steps + 1):
        x = inputs[t - 1]
        for name in order[1:-1]:
            node = graph.nodes[name]
            if isinstance(node, nir.IF):
                x = neurons[name].step(x, t)
            elif isinstance(node, nir.Affine):
                x = x @ np.asarray(node.weight, np.float64).T + np.asarray(node.bias, np.float64)
            elif isinstance(node, nir.Linear):
                x = x @ np.asarray(node.weight, np.float64).T
            elif isinstance(node, nir.Scale):
                x = x * np.asarray(node.scale, np.float64)
            elif isinstance(node, nir.Conv2d):
                x = conv2d(x, node)
            elif isinstance(node, nir.AvgPool2d):
                x = pool(x, node, True)
            elif isinstance(node, nir.SumPool2d):
                x = pool(x, node, False)
            elif isinstance(node, nir.Flatten):
                x = flatten(x, node)
            else:
                raise SystemExit(f"node {name} ({type(node).__name__}) is outside ttfs's rules")
        potentials.append((output.v / output.threshold).reshape(b, -1).copy())
    first = output.fired.reshape(b, -1)
    return [
        decide(first[i], [p[i] for p in potentials], steps, s["tie_break"]) for i in range(b)
    ], first


def decide(first, potentials, steps, tie_break):
    """The class: earliest output spike; ties (or no spike) by the larger v / v_threshold after
    the decision step or after the last step, then the lower index."""
    fired = first > 0
    if fired.any():
        when = first[fired].min()
        candidates = np.flatnonzero(first == when)
        at = when if tie_break == "decision_step" else steps
    else:
        candidates = np.arange(first.size)
        at = steps
    v = potentials[at - 1]
    return int(candidates[np.argmax(v[candidates])])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--data", required=True, help="folder of the IDX test split")
    parser.add_argument("--limit", type=int, default=0, help="first N test images (0: all)")
    parser.add_argument("-T", "--steps", type=int)
    parser.add_argument("--dt", type=float, default=1.0)
    parser.add_argument("--input", default="latency", choices=["latency", "thermometer"])
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--tie-break", default="end", choices=["end", "decision_step"])
    parser.add_argument("--json", action="store_true", help="print the decisions as JSON")
    args = parser.parse_args()
    graph = nir.read(args.file)
    s = settings(graph, args)
    order = chain(graph)
    images, labels = load_test_split(args.data)
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    decisions, spikes = [], 0
    for start in range(0, len(images), BATCH):
        batch, first = run_batch(graph, order, images[start : start + BATCH], s)
        decisions += batch
    correct = int(sum(int(d == l) for d, l in zip(decisions, labels)))
    result = {
        "file": args.file,
        "images": len(decisions),
        "correct": correct,
        "accuracy": correct / len(decisions),
        "decisions": decisions,
    }
    if args.json:
        json.dump(result, sys.stdout)
        print()
    else:
        print(f"{args.file}: {correct} of {len(decisions)} correct ({100 * correct / len(decisions):.2f}%) under ttfs's rules")


if __name__ == "__main__":
    main()
