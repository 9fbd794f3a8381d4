"""The NumPy twin as a backend: ``impl_numpy`` on the CPU."""

from __future__ import annotations

import impl_numpy
from bench.backends import Backend, Case, register
from bench.backends.common import WARMUP, check_finite, host_peak_memory, setup_numpy


class NumpyRunner:
    def __init__(self, case: Case):
        setup_numpy(self, case)
        for _ in range(WARMUP):
            self.step()
            self.forward()

    def step(self):
        self.loss = impl_numpy.checked_step(self.model, self.opt, self.X, self.y)

    def forward(self):
        self.out = self.model.forward(self.X, checked=True)

    def check(self):
        check_finite(self.model.params, self.shapes, self.out,
                     (self.case.batch, self.case.layer_sizes[-1]), self.loss)

    def peak_memory(self):
        return host_peak_memory(self.step)

    def close(self):
        self.model = self.opt = self.X = None


register(Backend("numpy", lib="numpy", device="cpu", make=NumpyRunner))
