"""The NumPy twin as a backend: ``impl_numpy`` on the CPU."""

from __future__ import annotations

import tracemalloc

import numpy as np

import impl_numpy

from . import Backend, Case, register

LR = 0.01
WARMUP = 3


def make_batch(case: Case, n=None):
    """Standard-normal features and uniform labels, the same for every backend."""
    rng = np.random.default_rng(case.seed)
    n = case.batch if n is None else n
    X = rng.standard_normal((n, case.layer_sizes[0])).astype(case.dtype)
    y = rng.integers(0, case.layer_sizes[-1], size=n)
    return X, y


def check_finite(params, shapes, out, out_shape, loss):
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
    runner.X, runner.y = make_batch(case)
    runner.shapes = [p.shape for p in runner.model.params]
    runner.loss = runner.out = None


class NumpyRunner:
    def __init__(self, case: Case):
        setup_numpy(self, case)
        for _ in range(WARMUP):
            self.step()
            self.forward()

    def step(self):
        self.loss = impl_numpy.train_step(self.model, self.opt, self.X, self.y)

    def forward(self):
        self.out = self.model.forward(self.X)

    def check(self):
        check_finite(self.model.params, self.shapes, self.out,
                     (self.case.batch, self.case.layer_sizes[-1]), self.loss)

    def peak_memory(self):
        tracemalloc.start()
        try:
            self.step()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def close(self):
        self.model = self.opt = self.X = None


register(Backend("numpy", lib="numpy", device="cpu", make=NumpyRunner))
