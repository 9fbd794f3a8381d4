"""How much of a training step is matrix products: the step's own GEMMs, timed alone.

For every layer (fan_in -> fan_out) a step computes, in each twin's own expressions:

* forward          ``A_prev @ W.T``   (B, fan_in) x (fan_in, fan_out)
* weight gradient  ``dZ.T @ A_prev``  (fan_out, B) x (B, fan_in)
* input gradient   ``dZ @ W``         (B, fan_out) x (fan_out, fan_in), not for layer 1

``numpy_products`` and ``torch_products`` build these products as callables, with the same
shapes, dtypes and memory layouts (transposed views included) on seeded random operands
(torch's forward is ``addmm`` with the bias, what ``nn.Linear`` runs).
``gemm_seconds(lib, layer_sizes, batch, dtype, device)`` times one pass over all of them,
outside the step, synchronised on CUDA: the median of ``REPEATS`` passes, the record's
``gemm_s``. ``gemm_s / step median`` is the share of the step spent in GEMM; the rest
(activations, softmax, the SGD update, allocation, Python) is overhead.

Limits: the operands are random, not the model's, and the products run back to back, not
between the step's other work; the step itself is not timed here.
"""

from __future__ import annotations

import statistics

import numpy as np

from bench.measure.timing import device_sync, no_sync, seconds

REPEATS = 7  # timed passes; gemm_seconds keeps their median


def numpy_products(layer_sizes, batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    ops = []
    for i, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        A = rng.standard_normal((batch, fan_in)).astype(dtype)
        W = rng.standard_normal((fan_out, fan_in)).astype(dtype)
        dZ = rng.standard_normal((batch, fan_out)).astype(dtype)
        ops.append(lambda A=A, W=W: A @ W.T)
        ops.append(lambda A=A, dZ=dZ: dZ.T @ A)
        if i > 0:
            ops.append(lambda dZ=dZ, W=W: dZ @ W)
    return ops


def torch_products(layer_sizes, batch, dtype, device="cpu", seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    td = getattr(torch, dtype)
    ops = []
    for i, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        A = torch.randn(batch, fan_in, generator=g, dtype=td).to(device)
        W = torch.randn(fan_out, fan_in, generator=g, dtype=td).to(device)
        b = torch.randn(fan_out, generator=g, dtype=td).to(device)
        dZ = torch.randn(batch, fan_out, generator=g, dtype=td).to(device)
        ops.append(lambda A=A, W=W, b=b: torch.addmm(b, A, W.t()))  # what nn.Linear runs
        ops.append(lambda A=A, dZ=dZ: dZ.t().mm(A))
        if i > 0:
            ops.append(lambda dZ=dZ, W=W: dZ.mm(W))
    return ops


def gemm_seconds(lib, layer_sizes, batch, dtype, device="cpu") -> float:
    """Median seconds of one pass over all of a step's matrix products, run alone."""
    if lib == "numpy":
        ops, sync = numpy_products(layer_sizes, batch, dtype), no_sync
    else:
        ops, sync = torch_products(layer_sizes, batch, dtype, device), device_sync(device)

    def run():
        for op in ops:
            op()

    return seconds(run, REPEATS, statistics.median, sync)
