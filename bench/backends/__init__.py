"""Every backend the suite times, behind one small protocol.

A backend is a ``Backend`` record in ``REGISTRY``; adding one is one module plus one line
in ``_MODULES``. ``backend.make(case)`` builds a ``Runner`` *outside* the timed region
(data resident where the backend computes, model, optimizer, worker processes) and warms
it up; the benchmark then times only ``runner.step()`` or ``runner.forward()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Case:
    """One point of the grid. ``threads`` is per process; ``world_size`` processes."""

    layer_sizes: tuple
    batch: int
    dtype: str
    threads: int
    world_size: int = 1
    seed: int = 0


class Runner(Protocol):
    def step(self) -> None:
        """One training step (forward, backward, SGD update) on the resident batch,
        finished when it returns (device synchronised)."""

    def forward(self) -> None:
        """One inference forward pass on the resident batch, synchronised."""

    def check(self) -> None:
        """Raise AssertionError unless the last results are finite and of the right shape."""

    def peak_memory(self) -> int | None:
        """Peak bytes allocated by one step, or None where it cannot be measured."""

    def close(self) -> None:
        """Release workers, devices and memory."""


@dataclass(frozen=True)
class Backend:
    name: str
    lib: str  # whose GEMM calibration is the ceiling: "numpy" or "torch"
    device: str
    make: Callable[[Case], Runner]
    unavailable: Callable[[], str | None] = lambda: None  # reason it cannot run here
    variant: str | None = None
    parallel: bool = False  # world_size > 1 meaningful
    step_only: bool = False  # times the training step only (the compiled / captured variants)


_MODULES = ["bench.backends.numpy_backend", "bench.backends.torch_backend",
            "bench.backends.parallel_backend", "bench.backends.compile_backend",
            "bench.backends.graphs_backend", "bench.backends.fused_backend",
            "bench.backends.aot_backend"]
REGISTRY: dict = {}


def register(backend: Backend) -> Backend:
    REGISTRY[backend.name] = backend
    return backend


def load_all() -> dict:
    for mod in _MODULES:
        importlib.import_module(mod)
    return REGISTRY
