"""``python -m bench.backends.fused_profile``: where numpy-fused's step goes (issue 24's
profile). Its times are a measurement, never asserted; what is pinned is that each part is
the step's own code on the step's own buffers, and its command line."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import impl_numpy
from bench.backends import Case, fused_profile, fused_step
from bench.backends.common import LR, make_batch
from bench.backends.fused_profile import main, parts
from bench.backends.fused_step import FusedStep

SIZES = (12, 7, 5, 3)


class Recorder:
    """Stands in for ``np`` in the step's and the profile's modules: counts every call of a
    NumPy function by name, then makes it."""

    def __init__(self):
        self.calls = Counter()

    def __getattr__(self, name):
        real = getattr(np, name)
        if not callable(real) or isinstance(real, type):
            return real

        def call(*args, **kwargs):
            self.calls[name] += 1
            return real(*args, **kwargs)

        return call


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_the_parts_together_make_exactly_the_steps_calls(monkeypatch, activation):
    """Every NumPy call and every GEMM of one step, counted by name, is made once by the
    parts together: no part of the step is left out of the profile, none is counted twice."""
    model = impl_numpy.MLP(SIZES, activation=activation, dtype="float64", seed=1)
    X, y = model.check_batch(*make_batch(Case(SIZES, 16, "float64", 1)))
    step = FusedStep(model, impl_numpy.SGD(model.params, lr=LR), X, y)
    rec = Recorder()
    for calls in (step.fwd, step.back, step.upd):
        for i, c in enumerate(calls):
            if c is not None:
                calls[i] = lambda c=c: (rec.calls.update(["gemm"]), c())[1]
    monkeypatch.setattr(fused_step, "np", rec)
    monkeypatch.setattr(fused_profile, "np", rec)
    step()
    in_step, rec.calls = rec.calls, Counter()
    for name, fn in parts(step).items():
        if name != "step":
            fn()
    assert in_step["gemm"] == 3 * (len(SIZES) - 1) - 1
    assert rec.calls == in_step


def _arrays(step) -> list:
    """Every array the step holds, alone or in a list."""
    out = []
    for v in vars(step).values():
        for a in (v if isinstance(v, list) else [v]):
            if isinstance(a, np.ndarray) and all(a is not b for b in out):
                out.append(a)
    return out


def test_every_array_a_part_writes_is_put_back():
    """Each part, run on the state after one step, writes only memory of ``state(step)``
    (views of it included), so putting those back makes every timed call start alike."""
    model = impl_numpy.MLP(SIZES, dtype="float64", seed=1)
    X, y = model.check_batch(*make_batch(Case(SIZES, 16, "float64", 1)))
    step = FusedStep(model, impl_numpy.SGD(model.params, lr=LR), X, y)
    step()
    kept = fused_profile.state(step)
    for name, fn in parts(step).items():
        before = [(a, a.copy()) for a in _arrays(step)]
        fn()
        changed = [a for a, b in before if not np.array_equal(a, b, equal_nan=a.dtype != bool)]
        assert changed, name
        assert all(any(np.shares_memory(a, k) for k in kept) for a in changed), name


def test_out_of_memory_is_one_line_and_exit_2(capsys, monkeypatch):
    def no_memory(*args):
        raise MemoryError("Unable to allocate 3.73 GiB")

    monkeypatch.setattr(fused_profile, "profile", no_memory)
    assert main(["--sizes", "12-7-3", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory for --batch 256" in err


def test_a_tiny_profile_prints_every_part(capsys):
    assert main(["--sizes", "12-7-3", "12-7-3", "--threads", "1", "1", "--rounds", "2",
                 "--inner", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("GEMM share") == 1  # a case given twice is measured once
    for part in ("| gemms |", "| forward elementwise |", "| loss and dZ_L |", "| bias update |",
                 "| activation backward |", "| step - sum of parts |", "| step |",
                 "| gemm_s (np.matmul"):
        assert part in out
    assert out.startswith("12-7-3 (115 parameters), 1 thread(s): GEMM share ")


@pytest.mark.parametrize("args, words", [
    (["--sizes", "784-0-10"], "--sizes: '784-0-10': layer_sizes: every layer width must be "
                              "positive"),
    (["--sizes", "784-x-10"], "--sizes: '784-x-10'"),
    (["--sizes", "784--10"], "--sizes: '784--10': an empty size"),
    (["--threads", "0"], "--threads"),
    (["--rounds", "-1"], "--rounds"),
    (["--threads", "1", "100000"], "--threads 100000: this process may use"),
    (["--sizes", "784-10", "--batch", "1000000"], "--batch 1000000: X of 1,000,000 x 784 float64"),
    (["--sizes", "784-100000-10", "--batch", "100000"], "more than the cap MAX_ACTIVATION_BYTES"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, args, words):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
