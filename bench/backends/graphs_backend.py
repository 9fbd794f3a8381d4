"""The eager step captured once as a CUDA graph and replayed per call: ``torch-cuda-graphs``.

    pytest --benchmark-only bench/bench_step.py --backends torch-cuda,torch-cuda-graphs

A CUDA graph records the kernels of one ``checked_step`` (forward, backward, SGD update)
with their arguments fixed: the batch tensors are the static inputs (resident, never
reallocated), the parameters and the optimizer update in place, and the gradients live in
the graph's private memory pool. ``GraphsRunner.step()`` is then one ``graph.replay()``: one
launch for the whole step, no per-op host overhead.

Guarantees. ``WARMUP`` eager steps (``bench/backends/common.py``) run first on a side
stream, then ``torch.cuda.graph`` captures one step; that warm-up and the capture are the
one-off cost (``one_off_s``, kind "capture"). The captured graph is replayed from the
initial parameters and checked against the eager twin (``VariantRunner``,
``bench/backends/variants.py``) before anything is timed. The capture count is held at one:
a recapture inside the timed region fails the benchmark. The backend is registered for
steps only, and is skipped with the reason where CUDA is not available.

Why the warm-up runs on a side stream: docs/methodology.md, 'The CUDA-graph step'.
"""

from __future__ import annotations

import time

import torch

import impl_torch
from bench.backends import Backend, register
from bench.backends.common import WARMUP
from bench.backends.variants import VariantRunner


class GraphsRunner(VariantRunner):
    kind = "capture"

    def _prepare(self):
        model, opt, X, y = self.model, self.opt, self.X, self.y
        self.captures = 0
        t0 = time.perf_counter()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP):
                impl_torch.checked_step(model, opt, X, y)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)  # gradients are allocated from the graph's pool
        with torch.cuda.graph(graph):
            loss = impl_torch.checked_step(model, opt, X, y)  # static output
        self.captures += 1
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0

        def replay():
            graph.replay()
            return loss

        self._graph, self._run = graph, replay
        return seconds

    def _arm(self):
        self._captured = self.captures

    def _after_timing_check(self):
        assert self.captures == self._captured == 1, \
            f"{self.captures} captures: the graph was recaptured inside the timed region"

    def close(self):
        self._graph = None
        super().close()


def _no_cuda():
    return None if torch.cuda.is_available() else "CUDA is not available on this machine"


register(Backend("torch-cuda-graphs", lib="torch", device="cuda", unavailable=_no_cuda,
                 make=lambda case: GraphsRunner(case, "cuda"), step_only=True))
