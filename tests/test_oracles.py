"""Work counts against oracles that do not share their code: ``core.flops`` (what every
benchmark record, GFLOP/s and efficiency is computed from) against the matrix products that
torch's dispatcher runs in the torch twin's real step (forward, autograd's backward, SGD),
and against the matrix products the NumPy twin actually calls. The report's tests take
FLOPs from ``step_flops`` itself, so an error there would move every GFLOP/s figure and no
other test would see it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import impl_numpy
import impl_numpy.mlp
import impl_torch
from core.flops import forward_flops, step_flops, step_gemm_shapes
from core.init import random_batch

SIZES = [[784, 100, 10], [5, 4, 3, 2], [3, 7], [30, 64, 64, 64, 10]]
BATCHES = [1, 17, 64]


def torch_step(sizes, batch):
    model = impl_torch.MLP(sizes, dtype="float64")
    opt = impl_torch.SGD(model.params, 0.1)
    X, y = random_batch(np.random.default_rng(0), batch, sizes[0], sizes[-1])
    return model, opt, torch.from_numpy(X), torch.from_numpy(y)


class MatmulFlops(TorchDispatchMode):
    """2*m*k*n for every aten matrix product dispatched (torch's FlopCounterMode counts the
    same, but its first use costs seconds of imports)."""

    def __init__(self):
        super().__init__()
        self.total, self.ops = 0, set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in ("mm", "addmm"):
            a, b = args[-2:]
            (m, k), (_, n) = a.shape, b.shape
            self.total += 2 * m * k * n
        self.ops.add(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
def test_step_flops_equal_the_torch_twins_matrix_products(sizes, batch):
    """The input needs no gradient, so autograd skips dX as ``step_flops`` does."""
    model, opt, X, y = torch_step(sizes, batch)
    with MatmulFlops() as step:
        impl_torch.train_step(model, opt, X, y)
    assert not step.ops & {"bmm", "mv", "matmul", "linear"}, step.ops  # all products counted
    assert step.total == step_flops(sizes, batch)
    with MatmulFlops() as fwd, torch.no_grad():
        model(X)
    assert fwd.total == forward_flops(sizes, batch)


class _MatmulLog:
    """Stands in for the ``np`` module inside ``impl_numpy.mlp``: logs every matmul's
    ``(m, k, n)`` and passes everything else through."""

    def __init__(self):
        self.shapes = []

    def __getattr__(self, name):
        return getattr(np, name)

    def matmul(self, a, b, **kw):
        (m, k), (k2, n) = a.shape, b.shape
        assert k == k2
        self.shapes.append((m, k, n))
        return np.matmul(a, b, **kw)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
def test_gemm_shapes_are_the_numpy_twins_matmuls(sizes, batch, monkeypatch):
    log = _MatmulLog()
    monkeypatch.setattr(impl_numpy.mlp, "np", log)
    model = impl_numpy.MLP(sizes, dtype="float64")
    X, y = random_batch(np.random.default_rng(0), batch, sizes[0], sizes[-1])
    impl_numpy.train_step(model, impl_numpy.SGD(model.params, lr=0.1), X, y)
    assert sorted(log.shapes) == sorted(step_gemm_shapes(sizes, batch))
    assert sum(2 * m * k * n for m, k, n in log.shapes) == step_flops(sizes, batch)
