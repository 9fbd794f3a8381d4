"""``torch-cpu-aot`` (issue 24): the step compiled ahead of time equals the eager twin's
(float64 1e-12 after 10 steps, float32 1e-4), is static, refuses another shape at call time
and anything but plain SGD. Two real AOT compiles of a tiny net (one per dtype)."""

from __future__ import annotations

import pytest
import torch

import impl_torch
from bench.backends import REGISTRY, Case, load_all
from bench.backends import aot_backend as ab
from bench.backends.common import LR, make_batch
from bench.backends.variants import STRICT_RTOL, STRICT_STEPS
from core.close import assert_params_close
from runfile.schema import ONE_OFF_KEYS

SIZES = (12, 8, 3)
REASON = ab.inductor_missing()
needs_inductor = pytest.mark.skipif(REASON is not None, reason=str(REASON))


def _fresh(dtype, momentum=0.0):
    m = impl_torch.MLP(SIZES, dtype=dtype, seed=4)
    X, y = (torch.from_numpy(a) for a in make_batch(Case(SIZES, 8, dtype, 1, seed=1)))
    return m, impl_torch.SGD(m.params, LR, momentum=momentum), *m.check_batch(X, y)


@needs_inductor
def test_the_runner_checks_float64_to_1e12_and_records_its_one_off():
    load_all()
    b = REGISTRY["torch-cpu-aot"]
    assert (b.lib, b.device, b.step_only) == ("torch", "cpu", True)
    runner = b.make(Case(SIZES, 8, "float64", 1))  # 10 steps against the twin, 1e-12
    try:
        assert (runner.equiv_steps, runner.equiv_rtol) == (STRICT_STEPS, STRICT_RTOL)
        runner.step()
        runner.check()
        info = runner.extra_info()
        assert set(info) == set(ONE_OFF_KEYS)
        assert info["one_off_kind"] == "compile" and info["one_off_s"] > 0
    finally:
        runner.close()


@needs_inductor
def test_float32_steps_are_the_twins_and_another_shape_is_refused(tmp_path):
    m, opt, X, y = _fresh("float32")
    t, topt, _, _ = _fresh("float32")
    step = ab.aot_step(m, opt, X, y, tmp_path)
    for _ in range(STRICT_STEPS):
        loss = step()
        want = impl_torch.checked_step(t, topt, X, y)
        assert float(loss) == pytest.approx(float(want), rel=1e-5)
    assert_params_close(m.numpy_params(), t.numpy_params(), STRICT_RTOL["float32"], "aot")
    step.verify()
    params = step.args[:-2]
    program, _ = ab.exported_step(m, opt, X, y)
    for bad in ((*params, X[:4], y[:4]), (*params, X.double(), y), (*params, X.t().t(), y[:7]),
                (*params[:-1], X, y)):
        with pytest.raises(ValueError, match="input|inputs"):
            ab.BoundStep(step.fn, program, bad)
    with pytest.raises(RuntimeError):  # why it binds: the package itself fails half-way
        step.fn(*params, X[:4], y[:4])
    X.resize_(4, SIZES[0])  # an input changed behind the binding: verify says so
    with pytest.raises(AssertionError, match="changed since binding"):
        step.verify()


def test_the_traced_step_is_static_and_runs_eagerly_as_the_twin():
    """The exported program itself (no C++), float64: what the package is compiled from."""
    m, opt, X, y = _fresh("float64")
    t, topt, _, _ = _fresh("float64")
    program, params = ab.exported_step(m, opt, X, y)
    assert m.numpy_params()[0].tobytes() == t.numpy_params()[0].tobytes()  # fake: no step
    run = program.module()
    for _ in range(STRICT_STEPS):
        run(*params, X, y)
        impl_torch.checked_step(t, topt, X, y)
    assert_params_close(m.numpy_params(), t.numpy_params(), STRICT_RTOL["float64"], "export")


def test_a_dynamic_program_is_refused():
    class Double(torch.nn.Module):
        def forward(self, x):
            return x * 2

    dim = torch.export.Dim("n", min=2, max=64)
    program = torch.export.export(Double(), (torch.ones(5),), dynamic_shapes=({0: dim},))
    with pytest.raises(AssertionError, match="dynamic shape"):
        ab.static_program(program)


@pytest.mark.parametrize("kw", [{"momentum": 0.9}])
def test_momentum_is_refused(kw):
    m, opt, X, y = _fresh("float64", **kw)
    with pytest.raises(ValueError, match="plain SGD"):
        ab.exported_step(m, opt, X, y)
