"""Group (d): activation functions elementwise over a large float32 array.

    pytest --benchmark-only bench/bench_activations.py

Memory-bound: each call reads N and writes N elements (``bytes = 8 N``), so the fair
yardstick is the copy bandwidth (the ``copy`` row, and ``copy_gbps`` in the calibration).
The NumPy twin's stable sigmoid makes temporaries (``exp(-|z|)`` and a mask) and so moves
more than 8 N bytes; that cost is the twin's and is shown, not hidden. Each round is
preceded by an untimed copy of the same array into a spare buffer (``bench/quiet/probe.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.backends import REGISTRY, Case
from bench.measure.timing import device_sync, synced
from bench.quiet.probe import timed
from bench.suite.state import twins
from core.threads import pinned
from impl_numpy import activations as act

CHECK_RTOL, CHECK_ATOL = 1e-5, 1e-6  # float32 results against a float64 reference


def _numpy_fns(x, out):
    return {"relu": lambda: act.relu(x, out=out), "tanh": lambda: act.tanh(x, out=out),
            "sigmoid": lambda: act.sigmoid(x, out=out), "copy": lambda: np.copyto(out, x)}


def _torch_fns(x, out, sync):
    import torch

    return {"relu": synced(lambda: torch.clamp_min(x, 0, out=out), sync),
            "tanh": synced(lambda: torch.tanh(x, out=out), sync),
            "sigmoid": synced(lambda: torch.sigmoid(x, out=out), sync),
            "copy": synced(lambda: out.copy_(x), sync)}


def test_activation(benchmark, round_budget, record, activation_case, pytestconfig):
    name, activation, threads = activation_case
    b = REGISTRY[name]
    if reason := b.unavailable():
        pytest.skip(f"{name}: {reason}")
    n = twins(pytestconfig).profile.activation_elements
    x = np.random.default_rng(0).uniform(-4, 4, size=n).astype(np.float32)
    with pinned(threads):
        if b.lib == "numpy":
            out, spare = np.empty_like(x), np.empty_like(x)
            fn = _numpy_fns(x, out)[activation]
            probe = _numpy_fns(x, spare)["copy"]
            result = lambda: out  # noqa: E731
        else:
            import torch

            xt = torch.from_numpy(x).to(b.device)
            outt, sparet = torch.empty_like(xt), torch.empty_like(xt)
            sync = device_sync(b.device)
            fn = _torch_fns(xt, outt, sync)[activation]
            probe = _torch_fns(xt, sparet, sync)["copy"]
            result = lambda: outt.cpu().numpy()  # noqa: E731
        fn()  # warm-up (the probe warms up in timed()'s estimate)
        probed = timed(benchmark, fn, probe, round_budget)
        got = result()
    assert got.shape == x.shape and np.isfinite(got).all(), f"bad {activation} output"
    expected = {"relu": np.maximum(x, 0), "tanh": np.tanh(x), "copy": x,
                "sigmoid": 1 / (1 + np.exp(-x.astype(np.float64)))}[activation]
    np.testing.assert_allclose(got, expected, rtol=CHECK_RTOL, atol=CHECK_ATOL, err_msg=activation)
    record(group="activation", backend=name, case=Case((), n, "float32", threads), lib=b.lib,
           device=b.device, flops=0, nbytes=2 * x.nbytes, activation=activation,
           samples=n, **probed)
