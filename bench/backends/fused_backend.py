"""``numpy-fused``: the NumPy twin's step as an expert writes it, timed beside the twin.

    pytest --benchmark-only bench/bench_step.py --backends numpy,numpy-fused

The step, its equations and what it refuses: ``bench/backends/fused_step.py`` (``FusedStep``:
the weight update fused into the weight-gradient GEMM, NumPy's own BLAS through
``bench/backends/cblas.py``, no allocation in a warm step). ``FusedRunner`` is the NumPy
twin's model and batch stepped by it: ``assert_fused_equivalent`` checks ``STRICT_STEPS``
fused steps against as many of the twin's (float64 1e-12, ``variants.STRICT_RTOL``) before
anything is timed; the set-up (``one_off_s``, kind "prepare": buffers and GEMM bindings, plus
the first step) and the paired twin / fused step times are recorded as the other variants'
(``bench/backends/variants.py``). Unavailable, with the reason, where NumPy's BLAS offers no
cblas GEMM to call (``fused_unavailable``).
"""

from __future__ import annotations

import time

import impl_numpy
from bench.backends import Backend, Case, register
from bench.backends.cblas import GemmUnavailable, numpy_gemm
from bench.backends.common import (
    LR,
    WARMUP,
    check_finite,
    host_peak_memory,
    make_batch,
    setup_numpy,
)
from bench.backends.fused_step import FusedStep, check_plain_sgd
from bench.backends.variants import STRICT_RTOL, STRICT_STEPS, break_even, paired_seconds
from core.close import assert_params_close

__all__ = ["FusedRunner", "FusedStep", "assert_fused_equivalent", "check_plain_sgd",
           "fused_unavailable"]


def _twin(case: Case):
    model = impl_numpy.MLP(case.layer_sizes, dtype=case.dtype, seed=case.seed)
    return model, impl_numpy.SGD(model.params, lr=LR)


def assert_fused_equivalent(case: Case, steps: int = STRICT_STEPS, gemm=None) -> None:
    """AssertionError, naming the param, unless ``steps`` fused steps and ``steps`` steps of
    the twin, from the same initial params on the same batch, agree to ``STRICT_RTOL``."""
    (model, opt), (twin, twin_opt) = _twin(case), _twin(case)
    X, y = model.check_batch(*make_batch(case))
    fused = FusedStep(model, opt, X, y, gemm)
    for _ in range(steps):
        fused()
        impl_numpy.checked_step(twin, twin_opt, X, y)
    assert_params_close(model.params, twin.params, STRICT_RTOL[case.dtype],
                        f"numpy-fused {case}: after {steps} steps, against the NumPy twin:")


class FusedRunner:
    """The NumPy twin's model and batch (``setup_numpy``), stepped by ``FusedStep``: checked
    against the twin before timing, its set-up (``one_off_s``) and paired step times
    recorded as the other variants' (``bench/backends/variants.py``)."""

    kind = "prepare"  # what one_off_s paid for: binding the GEMMs, making the buffers

    def __init__(self, case: Case):
        setup_numpy(self, case)
        assert_fused_equivalent(case)
        t0 = time.perf_counter()
        self._step = FusedStep(self.model, self.opt, self.X, self.y)
        self.loss = self._step()
        self.one_off_s = time.perf_counter() - t0
        twin, twin_opt = _twin(case)

        def eager():
            impl_numpy.checked_step(twin, twin_opt, self.X, self.y)

        for _ in range(WARMUP):
            self.step()
            eager()
        self.eager_s, self.variant_s = paired_seconds(eager, self.step)

    def step(self):
        self.loss = self._step()

    def forward(self):
        raise NotImplementedError("numpy-fused times the training step only")

    def check(self):
        self._step.verify()
        check_finite(self.model.params, self.shapes, None, None, self.loss)

    def extra_info(self) -> dict:
        return {"one_off_s": self.one_off_s, "one_off_kind": self.kind,
                "eager_step_s": self.eager_s, "variant_step_s": self.variant_s,
                "break_even_steps": break_even(self.one_off_s, self.eager_s, self.variant_s)}

    def peak_memory(self):
        return host_peak_memory(self.step)

    def close(self):
        self.model = self.opt = self.X = self._step = None


def fused_unavailable() -> str | None:
    """Why NumPy's BLAS cannot be called here, or None."""
    try:
        numpy_gemm("float32")
        numpy_gemm("float64")
    except GemmUnavailable as why:
        return f"numpy-fused calls NumPy's own cblas GEMM: {why}"
    return None


register(Backend("numpy-fused", lib="numpy", device="cpu", make=FusedRunner,
                 unavailable=fused_unavailable, step_only=True))
