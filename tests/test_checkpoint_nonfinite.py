"""Non-finite params: refused where they enter a model from outside, passed on where torch
passes them on.

- ``load`` (both twins, both formats, float32 and float64): a checkpoint whose weights or
  biases hold NaN or +-inf is one ``ValueError`` naming the file and the param (the crafted
  files are in ``crafted_checkpoints.CASES``: ``*-nan-*``, ``*-inf-*``; here, files written
  by the twins' own ``save`` after a step that made the params NaN).
- ``impl_torch.MLP.load_numpy_params``: NaN or +-inf anywhere is a ``ValueError`` naming the
  param, and the model keeps every param it had (the NumPy twin has no such method: its
  ``params`` is a plain list the caller assigns).
- ``SGD.step`` with NaN gradients: both twins update, to NaN, as ``torch.optim.SGD`` does.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch

from .helpers import twins

SIZES = [3, 4, 2]
LOADERS = {"numpy": impl_numpy.load, "torch": impl_torch.load}
SAVERS = {"npz": impl_numpy.save, "pt": impl_torch.save}

BAD_PARAMS = {  # id -> (param index, where, value, how many values that makes non-finite)
    "W1-first-nan": (0, (0, 0), np.nan, 1),
    "W1-all-nan": (0, (slice(None), slice(None)), np.nan, 12),
    "b1-last-inf": (1, 3, np.inf, 1),
    "W2-neg-inf": (2, (1, 2), -np.inf, 1),
    "W2-row-mixed": (2, (0, slice(None)), np.array([np.nan, np.inf, -np.inf, np.nan]), 4),
    "b2-nan": (3, 1, np.nan, 1),
}


def _bad_arrays(model, dtype, case):
    index, where, value, _ = BAD_PARAMS[case]
    arrays = [p.copy() for p in model.numpy_params()]
    arrays[index][where] = value
    assert arrays[index].dtype == np.dtype(dtype)
    return arrays


@pytest.mark.parametrize("as_tensors", [False, True], ids=["arrays", "tensors"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_load_numpy_params_refuses_non_finite_and_changes_nothing(case, dtype, as_tensors):
    model = impl_torch.MLP(SIZES, dtype=dtype, seed=4)
    before = model.numpy_params()
    bad = _bad_arrays(model, dtype, case)
    bad = [torch.from_numpy(a) for a in bad] if as_tensors else bad
    index, _, _, count = BAD_PARAMS[case]
    name = f"{'Wb'[index % 2]}{index // 2 + 1}"
    plural = "s" if count != 1 else ""
    with pytest.raises(ValueError, match=rf"^params\[{index}\] \({name}\) holds {count} "
                                         rf"non-finite value{plural} \(NaN or inf\)$"):
        model.load_numpy_params(bad)
    for b, a in zip(before, model.numpy_params(), strict=True):
        np.testing.assert_array_equal(a, b)  # the params before the bad one are intact too


def test_load_numpy_params_still_takes_finite_extremes():
    """Finite is the rule, not small: the largest floats and subnormals load."""
    for dtype in ("float32", "float64"):
        model = impl_torch.MLP(SIZES, dtype=dtype)
        info = np.finfo(dtype)
        arrays = [np.full(p.shape, v, dtype) for p, v in
                  zip(model.params, [info.max, -info.max, info.smallest_subnormal, -0.0])]
        model.load_numpy_params(arrays)
        for a, p in zip(arrays, model.numpy_params(), strict=True):
            np.testing.assert_array_equal(p, a)


def _refusals(path) -> dict:
    out = {}
    for twin, load in LOADERS.items():
        with pytest.raises(ValueError) as info:
            load(path)
        assert type(info.value) is ValueError and "\n" not in str(info.value), twin
        out[twin] = str(info.value)
    assert out["numpy"] == out["torch"]
    return out


@pytest.mark.parametrize("fmt", list(SAVERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_gradients_pass_through_sgd_step_as_in_torch_then_load_refuses(tmp_path, fmt,
                                                                           dtype):
    """NaN gradients are not refused by ``SGD.step`` (``torch.optim.SGD`` takes them, and so
    do both twins: the params they touch become NaN); a checkpoint of such a model is then
    refused by both twins' ``load``, naming the file and the param."""
    npm, tm = twins(SIZES, dtype=dtype, seed=2)
    ref = [torch.tensor(p, requires_grad=True) for p in npm.params]
    grads = [np.zeros_like(p) for p in npm.params]
    grads[2][1, 3] = np.nan  # one NaN in dL/dW2
    impl_numpy.SGD(npm.params, lr=0.1, momentum=0.9).step(grads)
    for p, r, g in zip(tm.params, ref, grads, strict=True):
        p.grad, r.grad = torch.from_numpy(g.copy()), torch.from_numpy(g.copy())
    impl_torch.SGD(tm.params, 0.1, momentum=0.9).step()
    torch.optim.SGD(ref, lr=0.1, momentum=0.9).step()
    for a, b, r in zip(npm.params, tm.numpy_params(), ref, strict=True):
        np.testing.assert_array_equal(a, r.detach().numpy())  # NaN where torch has NaN
        np.testing.assert_array_equal(b, r.detach().numpy())
    assert np.isnan(npm.params[2][1, 3]) and np.isfinite(npm.params[2]).sum() == 7
    path = tmp_path / f"nan.{fmt}"
    SAVERS[fmt](path, npm if fmt == "npz" else tm)
    msg = _refusals(path)["numpy"]
    name = "W2" if fmt == "npz" else r"W2 \(net.2.weight\)"
    assert re.fullmatch(
        rf"{re.escape(str(path))}: {name} holds 1 non-finite value \(NaN or inf\)", msg), msg


@pytest.mark.parametrize("fmt", list(SAVERS))
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_weights_saved_by_either_twin_are_refused_by_both(tmp_path, fmt, value):
    npm, tm = twins([3, 4, 4, 2], dtype="float64", seed=5)
    npm.params[-2][0, 0] = value  # the last layer's W3
    with torch.no_grad():
        tm.params[-2][0, 0] = value
    path = tmp_path / f"inf.{fmt}"
    SAVERS[fmt](path, npm if fmt == "npz" else tm)
    assert "W3" in _refusals(path)["torch"]
