"""Each benchmark runner's timed call does the work it is timed for.

The bench smoke pass only checks that a runner's outputs are finite and well shaped, so a
``step()`` that did nothing after warm-up would still pass it and the suite would time
nothing. Here, in float64: one timed ``step()`` moves the params by exactly one SGD update
``p - LR * dL/dp`` on the resident batch, with the gradient taken by the *other* twin (the
torch twin judges the NumPy runners and vice versa); ``forward()`` returns that network's
output; and the NumPy and torch runners agree after the same steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from bench.backends import REGISTRY, Case, load_all
from bench.backends.common import LR, WARMUP, make_batch
from core.close import assert_params_close

from .slow_backend import SlowRunner

load_all()
CASE = Case(layer_sizes=(10, 8, 4), batch=6, dtype="float64", threads=1)
PARALLEL_CASE = Case(layer_sizes=(10, 8, 4), batch=6, dtype="float64", threads=1, world_size=2)
STEP_RTOL = 2e-15  # float64, one update from the other twin's gradient; measured: params
# 4.4e-17 (all four runners), loss 1.5e-16 (2.9e-16 torch-ddp: two half-batch losses)
AGREE_RTOL = 1e-15  # numpy vs torch-cpu runners after WARMUP + STEPS steps; measured 8.8e-17
MIN_MOVE = 1e-4  # one step at LR 0.01 moves some param by more than this
STEPS = 3


def params_of(runner) -> list:
    if hasattr(runner, "trainer"):  # torch-ddp: the params live in the ranks
        return runner.trainer.numpy_params()
    model = runner.model
    return model.numpy_params() if hasattr(model, "numpy_params") else [
        p.copy() for p in model.params]


def batch_of(runner):
    X, y = runner.X, runner.y
    return (X.cpu().numpy(), y.cpu().numpy()) if torch.is_tensor(X) else (X, y)


def oracle(name, params, X, y):
    """Loss and gradients at ``params`` by the twin the runner does not use."""
    if name.startswith("numpy"):
        model = impl_torch.MLP(CASE.layer_sizes, dtype=CASE.dtype)
        model.load_numpy_params(params)
        loss, grads = model.loss_and_grads(torch.from_numpy(X), torch.from_numpy(y))
        return loss, [g.numpy() for g in grads]
    model = impl_numpy.MLP(CASE.layer_sizes, dtype=CASE.dtype)
    model.params[:] = [p.copy() for p in params]
    return model.loss_and_grads(X, y)


@pytest.fixture(params=["numpy", "torch-cpu", "numpy-mp", "torch-ddp", "numpy-fused"])
def runner(request):
    name = request.param
    case = PARALLEL_CASE if REGISTRY[name].parallel else CASE
    r = REGISTRY[name].make(case)
    yield name, r
    r.close()


def test_timed_step_applies_one_sgd_update(runner):
    name, r = runner
    X, y = batch_of(r)
    for step in range(STEPS):  # every timed call, not only the first after warm-up
        before = params_of(r)
        loss, grads = oracle(name, before, X, y)
        r.step()
        after = params_of(r)
        expected = [p - LR * g for p, g in zip(before, grads)]
        assert_params_close(after, expected, STEP_RTOL, f"{name} step {step}")
        assert max(np.abs(a - b).max() for a, b in zip(after, before)) > MIN_MOVE, name
        assert r.loss == pytest.approx(loss, rel=STEP_RTOL), f"{name} loss, step {step}"
    r.check()


@pytest.mark.parametrize("name", ["numpy", "torch-cpu"])
def test_timed_forward_returns_the_networks_output(name):
    r = REGISTRY[name].make(CASE)
    try:
        X, _ = batch_of(r)
        model = impl_numpy.MLP(CASE.layer_sizes, dtype=CASE.dtype)
        model.params[:] = params_of(r)
        r.out = None
        r.forward()
        out = r.out.cpu().numpy() if torch.is_tensor(r.out) else r.out
        want = model.forward(X)  # atol scaled to the output: entries near 0 differ by rounding
        np.testing.assert_allclose(out, want, rtol=STEP_RTOL,
                                   atol=STEP_RTOL * np.abs(want).max(), err_msg=name)
    finally:
        r.close()


def test_numpy_and_torch_runners_agree_after_the_same_steps():
    runners = {name: REGISTRY[name].make(CASE) for name in ("numpy", "torch-cpu")}
    try:
        start = impl_numpy.MLP(CASE.layer_sizes, dtype=CASE.dtype, seed=CASE.seed).params
        np.testing.assert_array_equal(*(batch_of(r)[0] for r in runners.values()))
        for r in runners.values():
            for _ in range(STEPS):
                r.step()
        got = {name: params_of(r) for name, r in runners.items()}
        assert_params_close(got["torch-cpu"], got["numpy"], AGREE_RTOL, "numpy vs torch-cpu")
        moved = max(np.abs(a - b).max() for a, b in zip(got["numpy"], start))
        assert moved > (WARMUP + STEPS) * MIN_MOVE, "the runners did not train"
    finally:
        for r in runners.values():
            r.close()


def test_the_batch_has_every_label_and_the_asked_size():
    X, y = make_batch(Case((3, 4, 5), batch=200, dtype="float32", threads=1))
    assert X.shape == (200, 3) and X.dtype == np.float32 and sorted(set(y)) == [0, 1, 2, 3, 4]
    assert make_batch(CASE, n=5)[0].shape == (5, CASE.layer_sizes[0])


def _check_sees_a_nan_written_to_out(r) -> None:
    r.check()
    r.out = r.out * float("nan")
    with pytest.raises(AssertionError, match="non-finite output"):
        r.check()


@pytest.mark.parametrize("name", ["numpy", "torch-cpu"])
def test_check_looks_at_the_forward_output(name):
    r = REGISTRY[name].make(CASE)
    try:
        r.forward()
        _check_sees_a_nan_written_to_out(r)
    finally:
        r.close()


def test_a_runner_slowed_for_the_gate_power_runs_is_still_the_runner():
    """``tests/slow_backend.py`` (the gate's power runs) only slows the timed calls: the
    output ``forward`` leaves and a write to it are the real runner's, so ``check`` sees them
    (a clone with the slowdown committed once failed the two tests above)."""
    r = SlowRunner(REGISTRY["numpy"].make(CASE), 1.0)
    try:
        r.out = None
        r.forward()
        assert r.out is r.inner.out and r.out is not None
        _check_sees_a_nan_written_to_out(r)
    finally:
        r.close()
