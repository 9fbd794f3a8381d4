r"""What the eager-torch variants share (``torch-cpu-compile``, ``torch-cuda-compile``,
``torch-cuda-graphs``): the equivalence check before timing, the one-off cost and its
break-even.

A variant runs the same training step as the eager twin by another route (Inductor's
generated code, a replayed CUDA graph). Before anything is timed, ``VariantRunner`` runs
``EQUIV_STEPS`` steps of the variant and of a fresh eager twin (``impl_torch.MLP`` + ``SGD``
+ ``checked_step``) from the same initial parameters on the same batch and requires the
parameters to agree within ``EQUIV_RTOL`` (the CUDA tests' tolerances), scale-aware: each
tensor to ``rtol`` of its own largest entry (``core/close.py``). A fast wrong answer is no
result.

The one-off cost ``one_off_s`` (compile, or warm-up + capture) is timed apart from the
step; the steady step times of the eager twin and the variant are then measured paired
(alternating calls, ``paired_seconds``), and the break-even step count is

.. math::
    n^* = \frac{t_\text{one-off}}{t_\text{eager} - t_\text{variant}}

(``None`` when the variant is not faster: it never pays back). The record keys
(``runfile/schema.py``'s ``ONE_OFF_KEYS``, from ``VariantRunner.extra_info``):

* ``one_off_s``         seconds of the untimed compile (first call: trace, codegen, build, one
                        step) or capture (side-stream warm-up + capture)
* ``one_off_kind``      "compile" or "capture"
* ``one_off_cache_hit`` compile only: Inductor's on-disk cache served the build (a repeat run)
* ``eager_step_s``, ``variant_step_s``  paired medians (``paired_seconds``) of the eager
                        twin's step and the variant's, both synchronised
* ``break_even_steps``  ``n^*`` above, or null
"""

from __future__ import annotations

import contextlib
import statistics
import time

import torch

import impl_torch
from bench.backends import Case
from bench.backends.common import LR, check_finite, make_batch
from bench.backends.torch_backend import cuda_step_peak
from bench.measure.precision import tf32
from bench.measure.timing import device_sync
from core.close import assert_params_close

EQUIV_RTOL = {"float64": 1e-9, "float32": 1e-4}  # params after EQUIV_STEPS, as tests/test_cuda
EQUIV_STEPS = 3
# the variants issue 24 added (numpy-fused, torch-cpu-aot): float64 to 1e-12 after 10 steps
STRICT_RTOL = {"float64": 1e-12, "float32": 1e-4}
STRICT_STEPS = 10
PAIRED_SECONDS = 0.3  # budget per side for the paired eager / variant medians
PAIRED_MIN, PAIRED_MAX = 5, 200  # calls per side


def assert_equivalent(actual, expected, dtype: str, what: str) -> None:
    """AssertionError unless each param agrees to ``EQUIV_RTOL[dtype]`` relative to the
    largest entry of the eager twin's param (NumPy arrays, in ``params`` order)."""
    assert_params_close(actual, expected, EQUIV_RTOL[dtype],
                        f"{what}: after {EQUIV_STEPS} steps, against the eager twin:")


def paired_seconds(a, b, budget: float = PAIRED_SECONDS) -> tuple[float, float]:
    """Medians of ``a()`` and ``b()`` timed alternately (so drift hits both alike), about
    ``budget`` seconds per side, between ``PAIRED_MIN`` and ``PAIRED_MAX`` calls each."""
    ta, tb = [], []
    while len(ta) < PAIRED_MAX and (len(ta) < PAIRED_MIN or sum(ta) + sum(tb) < 2 * budget):
        for fn, out in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def break_even(one_off_s: float, eager_s: float, variant_s: float) -> float | None:
    """Steps after which the one-off cost is paid back; None when the variant is not faster."""
    saved = eager_s - variant_s
    return one_off_s / saved if saved > 0 else None


class VariantRunner:
    """The model, optimizer and batch of ``TorchRunner``, plus the eager twin it is checked
    against. Subclasses implement ``_prepare()``: compile or capture, set ``self._run`` (one
    step, no sync, returns the loss tensor) and return the seconds that took; and may
    override ``_arm()`` (called once set-up is done, before timing) and
    ``_after_timing_check()`` (called by ``check``, after timing)."""

    kind = "variant"  # "compile" or "capture": what one_off_s paid for
    equiv_steps, equiv_rtol = EQUIV_STEPS, EQUIV_RTOL  # the check before timing

    def __init__(self, case: Case, device: str):
        self.case, self.device = case, device
        self.cuda = device.startswith("cuda")
        self.sync = device_sync(device)
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(tf32(False))
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _fresh(self):
        c = self.case
        model = impl_torch.MLP(c.layer_sizes, dtype=c.dtype, seed=c.seed, device=self.device)
        return model, impl_torch.SGD(model.params, LR)

    def _build(self):
        self.model, self.opt = self._fresh()
        X, y = make_batch(self.case)
        self.X, self.y = self.model.check_batch(torch.from_numpy(X).to(self.device),
                                                torch.from_numpy(y).to(self.device))
        self.shapes = [tuple(p.shape) for p in self.model.parameters()]
        self.loss = None
        twin, twin_opt = self._fresh()  # the eager twin, from the same initial params

        def eager():
            impl_torch.checked_step(twin, twin_opt, self.X, self.y)
            self.sync()

        init = self.model.numpy_params()
        self.one_off_s = self._prepare()
        self.model.load_numpy_params(init)  # in place: compiled code and graphs keep them
        for _ in range(self.equiv_steps):
            self.step()
            eager()
        assert_params_close(self.model.numpy_params(), twin.numpy_params(),
                            self.equiv_rtol[self.case.dtype],
                            f"{type(self).__name__} {self.case}: after {self.equiv_steps} "
                            f"steps, against the eager twin:")
        self.eager_s, self.variant_s = paired_seconds(eager, self.step)
        self._arm()

    def step(self):
        self.loss = self._run()
        self.sync()

    def forward(self):
        raise NotImplementedError("the compiled / captured variants time the training step only")

    def check(self):
        self._after_timing_check()
        loss = None if self.loss is None else float(self.loss)
        check_finite(self.model.numpy_params(), self.shapes, None, None, loss)

    def _arm(self):
        pass

    def _after_timing_check(self):
        pass

    def extra_info(self) -> dict:
        """The one-off cost and break-even keys of the record (``runfile/schema.py``)."""
        return {"one_off_s": self.one_off_s, "one_off_kind": self.kind,
                "eager_step_s": self.eager_s, "variant_step_s": self.variant_s,
                "break_even_steps": break_even(self.one_off_s, self.eager_s, self.variant_s)}

    def peak_memory(self):
        return cuda_step_peak(self)

    def close(self):
        self._stack.close()
        self.model = self.opt = self.X = self.y = self.loss = self._run = None
        if self.cuda:
            torch.cuda.empty_cache()
