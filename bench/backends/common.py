"""What every backend shares: the learning rate, the warm-up, the batch, the checks.

``make_batch`` draws the same data for every backend (so a comparison is of the code, not
of the numbers); every backend validates it once, untimed (``model.check_batch``), then
times the twin's ``checked_step``: no timed step holds validation, in either twin.
``check_finite`` is the cheap post-timing check (a fast wrong answer is no result);
``setup_numpy`` builds the NumPy twin for ``numpy`` and ``numpy-mp``.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

import impl_numpy
from bench.backends import Case
from core.init import random_batch

LR = 0.01  # SGD step of every backend (the same update, so the same work)
WARMUP = 3  # untimed steps (and forwards) in make: allocator, kernels, thread pools


def make_batch(case: Case, n=None):
    """``core.init.random_batch`` for ``case`` (``n`` rows, default its batch), seeded by
    ``case.seed``: the same batch for every backend."""
    n = case.batch if n is None else n
    return random_batch(np.random.default_rng(case.seed), n, case.layer_sizes[0],
                        case.layer_sizes[-1], case.dtype)


def check_finite(params, shapes, out, out_shape, loss):
    """AssertionError unless the parameters kept their shapes and are finite, and the output
    (if any) has ``out_shape`` and is finite, and the loss (if any) is finite."""
    assert all(p.shape == s for p, s in zip(params, shapes)), "param shapes changed"
    assert all(np.isfinite(p).all() for p in params), "non-finite params"
    if out is not None:
        assert out.shape == out_shape, f"output shape {out.shape} != {out_shape}"
        assert np.isfinite(out).all(), "non-finite output"
    if loss is not None:
        assert np.isfinite(loss), f"non-finite loss {loss}"


def setup_numpy(runner, case: Case) -> None:
    """The NumPy twin, its SGD and the batch, on ``runner`` (shared by numpy and numpy-mp)."""
    runner.case = case
    runner.model = impl_numpy.MLP(case.layer_sizes, dtype=case.dtype, seed=case.seed)
    runner.opt = impl_numpy.SGD(runner.model.params, lr=LR)
    runner.X, runner.y = runner.model.check_batch(*make_batch(case))  # once, untimed
    runner.shapes = [p.shape for p in runner.model.params]
    runner.loss = runner.out = None


def host_peak_memory(step) -> int:
    """Peak bytes the host allocates (tracemalloc: NumPy's arrays, Python objects) in one
    ``step()``; the NumPy runners' ``peak_memory``."""
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
