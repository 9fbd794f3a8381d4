"""The whole training step compiled: ``torch-cpu-compile`` and ``torch-cuda-compile``.

    pytest --benchmark-only bench/bench_step.py --backends numpy,torch-cpu,torch-cpu-compile

What is compiled: the twin's own step, forward + backward + SGD update, as ONE graph
(``fullgraph=True``: a graph break is an error, not a silent split). ``functional_step``
writes ``checked_step`` as one traceable function: the twin's ``loss_tensor`` through
``torch.func.functional_call``, its gradient by ``torch.func.grad_and_value``, and the
update by ``torch.optim.sgd.sgd`` (the function ``torch.optim.SGD.step`` itself calls) with
the twin's hyper-parameters, on its multi-tensor (``foreach``) path. Plain SGD only
(momentum 0, one param group; anything else is a ``ValueError``).

Guarantees. Static shapes, one compile per runner, i.e. per (shape, dtype, threads):
``compiled_step`` calls ``torch._dynamo.reset()`` and then a fresh
``torch.compile(..., dynamic=False)``. Its backend, ``StaticBackend``, is Inductor behind a
counter (``graphs``) that refuses a graph with a symbolic shape. ``CompiledRunner`` requires
exactly one graph after the first call, fails the benchmark when the count changed while it
was timed, and sets ``error_on_recompile`` so that a recompile inside the timed region
raises at once. ``VariantRunner`` (``bench/backends/variants.py``) checks every size against
the eager twin before anything is timed. The mode is the default one, and Dynamo's guards
stay on: skipping them would also skip the check that makes a recompile fail the benchmark.

The one-off ``one_off_s`` is the first call: Dynamo trace, AOTAutograd, Inductor codegen
and the C++ build (or a hit in Inductor's on-disk cache, ``one_off_cache_hit``), plus one
step. ``inductor_missing(device)`` says why Inductor cannot build here (CPU: no C++ compiler
among ``COMPILERS`` or ``$CXX``, or no Python headers; CUDA: no CUDA or no Triton); the
backend is then skipped with that reason. ``INDUCTOR_IMPORT_WARNING``, a deprecation warning
that Inductor's own imports raise, is ignored during the first call.

Why it is built this way, and what it measured: docs/methodology.md, 'The compiled step'.
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

COMPILERS = ("g++", "clang++", "c++")  # C++ compilers looked up on PATH when $CXX is unset
# regex of the DeprecationWarning Inductor's own imports raise (seen with torch 2.13)
INDUCTOR_IMPORT_WARNING = r"`torch\.jit\.script_method` is deprecated"


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
