"""The whole training step compiled: ``torch-cpu-compile`` and ``torch-cuda-compile``.

    pytest --benchmark-only bench/bench_step.py --backends numpy,torch-cpu,torch-cpu-compile

What is compiled: the twin's own step, forward + backward + SGD update, as ONE graph
(``fullgraph=True``: a graph break is an error, not a silent split). ``checked_step`` itself
cannot be one graph: ``Tensor.backward()`` breaks the graph, and ``torch.optim.Optimizer.step``
breaks it on purpose (``_use_grad``); compiling it as is gave 3 graphs and ran slower than
eager here (1.61 ms vs 1.47 ms at 784-100-10, batch 256, 1 thread). So ``compiled_step``
writes the same step functionally: the twin's ``loss_tensor`` through
``torch.func.functional_call``, its gradient by ``torch.func.grad_and_value``, and the update
by ``torch.optim.sgd.sgd``, the function ``torch.optim.SGD.step`` itself calls, with the
twin's hyper-parameters, on its multi-tensor (``foreach``) path: the per-tensor loop that
eager SGD takes on a CPU (``p.add_(g, alpha=-lr)`` one param after another) came out of
Inductor wrong here, 0.21 off after one step at 784-16-10 (torch 2.13; eager: exact), as
if a param were updated before the gradient that reads it. ``VariantRunner`` checks every
size against the eager twin before anything is timed, which is how that was caught.

Static shapes, one compile per (shape, dtype, threads): ``torch._dynamo.reset()`` then a
fresh ``torch.compile(..., dynamic=False)`` per runner. Dynamo caches per code object, so
compiling the same function again for another width would otherwise recompile against the
old cache entry (with ``dynamic=None``, as dynamic shapes: slower than eager, measured
here). The backend ``StaticBackend`` is Inductor behind a counter that refuses a graph
with a symbolic shape; the runner fails the benchmark when the count changed while it was
timed, and ``error_on_recompile`` makes a recompile inside the timed region raise at once.

Mode: the default. "reduce-overhead" only adds CUDA graphs (the ``torch-cuda-graphs``
variant measures that apart) and does nothing on a CPU; "max-autotune-no-cudagraphs" ran
the step no faster within the noise (1.11 ms vs 1.16 ms default at 784-100-10, batch 256,
1 thread, 2 cores at load ~5) for a 50% longer compile (6.0 s vs 4.0 s, warm cache).

What is left of the fixed cost (torch.profiler, 784-100-10, 1 thread): the 5 GEMMs are
~80% of the step; Dynamo's guard check before each call ("TorchDynamo Cache Lookup") costs
~0.2-0.3 ms on this loaded machine (``torch.compiler.set_stance(skip_guard_eval_unsafe=
True)`` removed it: 1.39 vs 1.72 ms, NumPy 1.38), and the compiled graph's wrapper and
fused C++ kernels ~0.2 ms. Guards stay on here: skipping them would also skip the check
that makes a recompile fail the benchmark.

The one-off ``one_off_s`` is the first call: Dynamo trace, AOTAutograd, Inductor codegen and
the C++ build (or a hit in Inductor's on-disk cache, ``one_off_cache_hit``), plus one step.
Inductor needs a C++ compiler and the Python headers: without them the backend is skipped
with the reason.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
import time
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.optim.sgd import sgd as sgd_update

from bench.backends import Backend, register
from bench.backends.variants import VariantRunner

COMPILERS = ("g++", "clang++", "c++")
INDUCTOR_IMPORT_WARNING = r"`torch\.jit\.script_method` is deprecated"  # torch 2.13


class _LossOf(nn.Module):
    """The twin's loss as a module, so that ``functional_call`` can swap in the params."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, X, y):
        return self.model.loss_tensor(X, y, checked=True)


def functional_step(model, opt):
    """``(step, params)``: ``step(params, X, y) -> loss`` is ``checked_step(model, opt, X, y)``
    written as one traceable function; ``params`` are the model's tensors, detached (the same
    storage: the update lands in the model). Plain SGD only: momentum keeps state."""
    group = opt.param_groups[0]
    if group["momentum"] or len(opt.param_groups) != 1:
        raise ValueError("the compiled step supports plain SGD (momentum 0, one param group)")
    hyper = {k: group[k] for k in ("lr", "weight_decay", "momentum", "dampening", "nesterov",
                                   "maximize")}
    loss_module = _LossOf(model)
    names = [n for n, _ in loss_module.named_parameters()]

    def loss_of(params, X, y):
        return torch.func.functional_call(loss_module, dict(zip(names, params)), (X, y))

    grad_and_loss = torch.func.grad_and_value(loss_of)

    def step(params, X, y):
        grads, loss = grad_and_loss(params, X, y)  # backward: dL/dparams
        # p <- p - lr * g, torch.optim's multi-tensor path: its per-tensor loop miscompiles
        sgd_update(params, list(grads), [None] * len(params), foreach=True, **hyper)
        return loss

    return step, [p.detach() for p in model.parameters()]


class StaticBackend:
    """A Dynamo backend (Inductor by default) behind a counter of the graphs it compiles,
    refusing symbolic (dynamic) shapes."""

    def __init__(self, inner: str = "inductor"):
        from torch._dynamo.backends.registry import lookup_backend

        self.inner, self.graphs = lookup_backend(inner), 0

    def __call__(self, gm, example_inputs):
        sym = [i for i, x in enumerate(example_inputs) if isinstance(x, torch.SymInt) or (
            isinstance(x, torch.Tensor) and any(isinstance(d, torch.SymInt) for d in x.shape))]
        assert not sym, f"dynamic shapes in the compiled step (inputs {sym}): not static"
        self.graphs += 1
        return self.inner(gm, example_inputs)


def compiled_step(model, opt, inner: str = "inductor"):
    """``(fn, params, backend)``: ``fn(params, X, y)`` is one step, compiled on its first
    call by ``backend`` (a ``StaticBackend`` around ``inner``; ``graphs`` counts compiles)."""
    torch._dynamo.reset()  # forget earlier shapes: this compile starts from nothing
    step, params = functional_step(model, opt)
    backend = StaticBackend(inner)
    return torch.compile(step, backend=backend, dynamic=False, fullgraph=True), params, backend


class CompiledRunner(VariantRunner):
    kind = "compile"

    def _prepare(self):
        from torch._dynamo.utils import counters

        fn, params, self._backend = compiled_step(self.model, self.opt)
        X, y = self.X, self.y
        self._run = lambda: fn(params, X, y)
        hits = counters["inductor"]["fxgraph_cache_hit"]
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # Inductor's own imports, torch's business
            warnings.filterwarnings("ignore", INDUCTOR_IMPORT_WARNING, DeprecationWarning)
            self._run()
        self.sync()
        seconds = time.perf_counter() - t0
        self.cache_hit = counters["inductor"]["fxgraph_cache_hit"] > hits  # a repeat run
        assert self._backend.graphs == 1, f"{self._backend.graphs} graphs: expected one"
        return seconds

    def _arm(self):
        self._graphs = self._backend.graphs
        self._stack.enter_context(torch._dynamo.config.patch(error_on_recompile=True))

    def _after_timing_check(self):
        new = self._backend.graphs - self._graphs
        assert new == 0, f"recompiled inside the timed region ({new} new graphs)"

    def extra_info(self):
        return {**super().extra_info(), "one_off_cache_hit": self.cache_hit}


def inductor_missing(device: str = "cpu") -> str | None:
    """Why Inductor cannot build here, or None."""
    if device == "cuda":
        if not torch.cuda.is_available():
            return "CUDA is not available on this machine"
        from torch.utils._triton import has_triton

        return None if has_triton() else "Inductor on CUDA needs Triton, which is not installed"
    cxx = os.environ.get("CXX")
    if not (shutil.which(cxx) if cxx else any(shutil.which(c) for c in COMPILERS)):
        return (f"torch.compile's Inductor needs a C++ compiler ({', '.join(COMPILERS)} or "
                f"$CXX) and none was found")
    include = sysconfig.get_paths().get("include") or ""
    if not Path(include, "Python.h").is_file():
        return f"torch.compile's Inductor needs the Python headers (no Python.h in {include!r})"
    return None


def _runner(device):
    return lambda case: CompiledRunner(case, device)


register(Backend("torch-cpu-compile", lib="torch", device="cpu", make=_runner("cpu"),
                 unavailable=inductor_missing, step_only=True))
register(Backend("torch-cuda-compile", lib="torch", device="cuda", make=_runner("cuda"),
                 unavailable=lambda: inductor_missing("cuda"), step_only=True))
