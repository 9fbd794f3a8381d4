"""``torch-cpu-aot``: the compiled step ahead of time, called without Dynamo's per-call guards.

    pytest --benchmark-only bench/bench_step.py --backends torch-cpu,torch-cpu-compile,torch-cpu-aot

The same traceable step as ``torch-cpu-compile`` (``compile_backend.functional_step``: the
twin's loss, ``torch.func.grad_and_value``, ``torch.optim``'s foreach SGD update; plain SGD
only, ``ValueError`` otherwise), built in three steps before anything is timed:

1. ``make_fx(step, tracing_mode="fake")``: forward, backward and the in-place update as one
   aten graph (no real step is run: fake tensors);
2. ``torch.export.export`` of that graph, inputs ``(W1, b1, ..., X, y)``, static shapes (no
   ``dynamic_shapes``; ``static_program`` refuses a symbolic size); the update is a recorded
   mutation of the parameter inputs;
3. ``torch._inductor.aoti_compile_and_package`` (Inductor's C++ ahead of time, into a
   temporary ``.pt2``) and ``aoti_load_package``.

A call is the loaded package's runner on the model's own tensors (the update lands in the
model): no Dynamo frame evaluation, no guards, nothing to recompile. What torch.compile's
guards buy (a changed shape or dtype is caught) is done once, not per call: the package does
NOT check its inputs (another batch size fails half-way, after part of the update), so
``BoundStep`` checks the inputs against the exported program when it binds them, holds them,
and verifies after timing that they are unchanged (``tests/test_aot.py``).

Why this, not ``torch.compiler.set_stance(skip_guard_eval_unsafe=True)`` on the compiled step:
it had the lower per-step time at 784-100-10, and skipping guards would also skip the check
that makes a recompile fail the benchmark (the measurements: docs/methodology.md, 'The AOT
step'). ``one_off_s`` is trace + export + AOT compile + load + the first step; ``AotRunner``
checks ``STRICT_STEPS`` steps against the eager twin (float64 1e-12) before timing, like every
variant (``bench/backends/variants.py``).
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

from bench.backends import Backend, register
from bench.backends.compile_backend import (
    INDUCTOR_IMPORT_WARNING,
    functional_step,
    inductor_missing,
)
from bench.backends.variants import STRICT_RTOL, STRICT_STEPS, VariantRunner

# FutureWarnings torch's own packaging raises (pytree's LeafSpec, seen with torch 2.13)
AOT_WARNINGS = (r".*LeafSpec.*", INDUCTOR_IMPORT_WARNING)


class _FlatStep(nn.Module):
    """The traced step with flat inputs ``(*params, X, y)``, as export wants them."""

    def __init__(self, graph, n_params: int):
        super().__init__()
        self.graph, self.n = graph, n_params

    def forward(self, *args):
        return self.graph(list(args[:self.n]), *args[self.n:])


def static_program(program) -> None:
    """AssertionError unless every input of the exported program has a concrete shape."""
    for node in program.graph.find_nodes(op="placeholder"):
        val = node.meta.get("val")
        sym = isinstance(val, torch.Tensor) and any(not isinstance(d, int) for d in val.shape)
        assert not sym, f"dynamic shape {tuple(val.shape)} at input {node.name}: not static"


def exported_step(model, opt, X, y):
    """``(program, params)``: the step of ``functional_step`` exported (static shapes);
    ``params`` are the model's tensors, detached (the same storage)."""
    from torch.fx.experimental.proxy_tensor import make_fx

    step, params = functional_step(model, opt)
    graph = make_fx(step, tracing_mode="fake")(params, X, y)  # forward + backward + update
    program = torch.export.export(_FlatStep(graph, len(params)), (*params, X, y),
                                  strict=False)
    static_program(program)
    return program, params


class BoundStep:
    """``step() -> loss``: the loaded package called on the inputs it was bound to.

    The package does not check its inputs: another batch size runs its kernels on the sizes
    it was compiled for, fails half-way, and the parameters are already half-updated
    (``tests/test_aot.py``). So the inputs are checked once, here, against the exported
    program's (shape, stride, dtype, device), held (a call passes nothing new), and
    ``verify()`` (after timing) checks they still have the shape, stride and storage they
    were bound with: no per-call guard, and no call on anything unchecked."""

    def __init__(self, fn, program, args):
        specs = [n.meta["val"] for n in program.graph.find_nodes(op="placeholder")]
        if len(specs) != len(args):
            raise ValueError(f"{len(args)} inputs, the program takes {len(specs)}")
        for i, (a, v) in enumerate(zip(args, specs)):
            want = (tuple(v.shape), tuple(v.stride()), v.dtype, v.device)
            got = (tuple(a.shape), tuple(a.stride()), a.dtype, a.device) \
                if isinstance(a, torch.Tensor) else type(a).__name__
            if got != want:
                raise ValueError(f"input {i}: {got}, the program was compiled for {want}")
        self.fn, self.args = fn, tuple(args)
        self._bound = self._state()

    def _state(self):
        return [(tuple(a.shape), tuple(a.stride()), a.data_ptr()) for a in self.args]

    def __call__(self):
        return self.fn(*self.args)

    def verify(self) -> None:
        assert self._state() == self._bound, "an input of the AOT step changed since binding"


def aot_step(model, opt, X, y, folder) -> BoundStep:
    """One step of ``model`` + ``opt`` on ``(X, y)`` from a package compiled ahead of time into
    ``folder``, bound to the model's tensors and the batch (``BoundStep``)."""
    with warnings.catch_warnings():  # torch's own deprecations, torch's business
        for pattern in AOT_WARNINGS:
            warnings.filterwarnings("ignore", pattern)
        program, params = exported_step(model, opt, X, y)
        path = torch._inductor.aoti_compile_and_package(
            program, package_path=str(Path(folder) / "step.pt2"))
        return BoundStep(torch._inductor.aoti_load_package(path), program, (*params, X, y))


class AotRunner(VariantRunner):
    kind = "compile"
    equiv_steps, equiv_rtol = STRICT_STEPS, STRICT_RTOL

    def _prepare(self):
        from torch._dynamo.utils import counters

        folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="aot-step-"))
        hits = counters["inductor"]["fxgraph_cache_hit"]
        t0 = time.perf_counter()
        self._run = aot_step(self.model, self.opt, self.X, self.y, folder)
        self._run()
        seconds = time.perf_counter() - t0
        self.cache_hit = counters["inductor"]["fxgraph_cache_hit"] > hits
        return seconds

    def _after_timing_check(self):
        self._run.verify()

    def extra_info(self):
        return {**super().extra_info(), "one_off_cache_hit": self.cache_hit}


register(Backend("torch-cpu-aot", lib="torch", device="cpu",
                 make=lambda case: AotRunner(case, "cpu"), unavailable=inductor_missing,
                 step_only=True))
