"""Test-only pytest plugin: make one backend's timed calls a known factor slower.

    MLP_TWINS_TEST_SLOWDOWN="numpy=1.5" pytest -p tests.slow_backend --benchmark-only ...

The wrapped runner calls the real ``step``/``forward`` and then spins until ``factor``
times its own duration has passed, so the slowdown is exact whatever the machine's speed.
Used by ``tests/test_gate.py`` to prove the regression gate catches real slowdowns.
"""

from __future__ import annotations

import dataclasses
import os
import time

from bench.backends import REGISTRY, load_all

ENV = "MLP_TWINS_TEST_SLOWDOWN"


class SlowRunner:
    """A runner whose timed calls take ``factor`` times as long; everything else, reads and
    writes of attributes (``out``, which ``check`` looks at) included, is the real runner's."""

    def __init__(self, inner, factor):
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "factor", factor)

    def _slow(self, fn):
        t0 = time.perf_counter()
        fn()
        target = t0 + self.factor * (time.perf_counter() - t0)
        while time.perf_counter() < target:
            pass

    def step(self):
        self._slow(self.inner.step)

    def forward(self):
        self._slow(self.inner.forward)

    def __getattr__(self, name):  # check, peak_memory, close, out: the real ones
        return getattr(self.inner, name)

    def __setattr__(self, name, value):
        setattr(self.inner, name, value)


def pytest_configure(config):
    spec = os.environ.get(ENV)
    if not spec:
        return
    load_all()
    for item in spec.split(","):
        name, factor = item.split("=")
        backend = REGISTRY[name]
        slowed = lambda case, make=backend.make, f=float(factor): SlowRunner(make(case), f)  # noqa: E731
        REGISTRY[name] = dataclasses.replace(backend, make=slowed)
