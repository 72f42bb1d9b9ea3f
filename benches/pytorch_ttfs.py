"""The same training step as `ttfs train --bench`, in PyTorch, to compare samples/s on one
machine. Not run by CI (it needs PyTorch: `pip install torch numpy`).

    python benches/pytorch_ttfs.py --arch cnn -T 2 --threads 2 --batches 20

What it trains, as the ttfs trainer does (trainer/RECIPES.md, the defaults): latency input
(pixel p spikes once at step 1 + round((1 - p/255) (T - 1)), none for p = 0); layers with
weight normalisation and a learnable per-neuron affine scale and a bias; single-spike neurons
that integrate their input current and fire once when the potential reaches 1 (a mask M turns
a neuron off after its spike), with the sigmoid surrogate (alpha 4) for the spike's gradient;
MLP 784-800-10, CNN c32k3-a2-c64k3-a2-f256-f10 (average pools); temporal weighting decoding
with exponential weights w[t] = exp(-(t - 1)) on the output spikes plus the cross-entropy of
the output potentials after the last step; AdamW, lr 1e-2. Samples/s of the training step
only (forward, backward, optimiser), after two warm-up batches, on random MNIST-like images.
"""

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm


class Spike(torch.autograd.Function):
    """Heaviside forward, sigmoid(alpha x) derivative backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(4.0 * x)
        return grad * 4.0 * s * (1 - s)


def fire(currents):
    """currents [T, B, ...] -> spikes [T, B, ...] (each neuron at most once), final potential."""
    h = torch.zeros_like(currents[0])
    mask = torch.ones_like(currents[0])
    spikes = []
    for c in currents:
        h = h + c
        s = Spike.apply(h - 1.0) * mask
        mask = mask * (1 - s)
        spikes.append(s)
    return torch.stack(spikes), h


class Layer(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = weight_norm(op)
        out = op.weight.shape[0]
        shape = (out, 1, 1) if isinstance(op, nn.Conv2d) else (out,)
        self.scale = nn.Parameter(torch.ones(shape))

    def forward(self, x):  # x [T, B, ...]
        t, b = x.shape[:2]
        y = self.op(x.flatten(0, 1)) * self.scale
        return y.view(t, b, *y.shape[1:])


class Net(nn.Module):
    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        if arch == "mlp":
            self.layers = nn.ModuleList([Layer(nn.Linear(784, 800)), Layer(nn.Linear(800, 10))])
        else:
            self.layers = nn.ModuleList([
                Layer(nn.Conv2d(1, 32, 3, padding=1)), Layer(nn.Conv2d(32, 64, 3, padding=1)),
                Layer(nn.Linear(64 * 7 * 7, 256)), Layer(nn.Linear(256, 10)),
            ])

    def forward(self, x):  # x [T, B, 1, 28, 28] spikes
        t, b = x.shape[:2]
        if self.arch == "mlp":
            s, _ = fire(self.layers[0](x.flatten(2)))
            return fire(self.layers[1](s))
        s, _ = fire(self.layers[0](x))
        s = F.avg_pool2d(s.flatten(0, 1), 2).view(t, b, 32, 14, 14)
        s, _ = fire(self.layers[1](s))
        s = F.avg_pool2d(s.flatten(0, 1), 2).view(t, b, 64 * 7 * 7)
        s, _ = fire(self.layers[2](s))
        return fire(self.layers[3](s))


def latency(images, steps):
    """uint8 [B, 1, 28, 28] -> spikes [T, B, 1, 28, 28]."""
    p = images.float() / 255
    when = torch.round((1 - p) * (steps - 1)).long()
    t = torch.arange(steps).view(steps, 1, 1, 1, 1)
    return ((t == when.unsqueeze(0)) & (images > 0).unsqueeze(0)).float()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("-T", "--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = Net(args.arch)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    weights = torch.exp(-torch.arange(args.steps, dtype=torch.float32)).view(-1, 1, 1)
    images = (torch.rand(args.batch, 1, 28, 28) * 255).to(torch.uint8)
    images[images < 170] = 0  # MNIST-like: most pixels dark
    labels = torch.randint(0, 10, (args.batch,))
    x = latency(images, args.steps)

    def step():
        spikes, potential = net(x)
        scores = (spikes * weights).sum(0)
        loss = F.cross_entropy(4.0 * scores, labels) + F.cross_entropy(potential, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(args.batches):
        step()
    seconds = time.perf_counter() - start
    print(f"pytorch {torch.__version__}: {args.arch} T={args.steps} batch {args.batch} threads "
          f"{args.threads}: {args.batches * args.batch / seconds:.0f} training samples/s "
          f"({args.batches} batches timed)")


if __name__ == "__main__":
    main()
