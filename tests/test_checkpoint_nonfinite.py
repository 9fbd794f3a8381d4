"""Non-finite params: refused where they enter a model from outside, passed on where torch
passes them on.

- ``load`` (both twins, both formats, float32 and float64): a checkpoint whose weights or
  biases hold NaN or +-inf is one ``ValueError`` naming the file and the param (the crafted
  files are in ``crafted_checkpoints.CASES``: ``*-nan-*``, ``*-inf-*``).
- ``save`` (both twins): a model holding NaN or +-inf, which ``load`` would refuse, is one
  ``ValueError`` naming the param; nothing is written (an existing file is left as it was,
  no temporary file is left behind).
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


def _refused_save(tmp_path, fmt, model, name):
    """``save`` over an existing checkpoint refuses ``model``: the file keeps its bytes, and
    nothing else appears in the folder."""
    path = tmp_path / f"model.{fmt}"
    good = (impl_numpy.MLP if fmt == "npz" else impl_torch.MLP)(model.spec.layer_sizes, seed=9)
    SAVERS[fmt](path, good)
    before = path.read_bytes()
    with pytest.raises(ValueError) as info:
        SAVERS[fmt](path, model)
    assert type(info.value) is ValueError
    assert re.fullmatch(rf"model\.params\[\d+\] \({name}\) holds \d+ non-finite values? "
                        rf"\(NaN or inf\); load would refuse the checkpoint: nothing written",
                        str(info.value)), str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    load = impl_numpy.load if fmt == "npz" else impl_torch.load
    for a, b in zip(load(path).params, good.params, strict=True):
        np.testing.assert_array_equal(np.asarray(a.detach() if fmt == "pt" else a),
                                      np.asarray(b.detach() if fmt == "pt" else b))


@pytest.mark.parametrize("fmt", list(SAVERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_gradients_pass_through_sgd_step_as_in_torch_then_save_refuses(tmp_path, fmt,
                                                                           dtype):
    """NaN gradients are not refused by ``SGD.step`` (``torch.optim.SGD`` takes them, and so
    do both twins: the params they touch become NaN); saving such a model is then refused by
    both twins' ``save``, naming the param, and writes nothing."""
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
    _refused_save(tmp_path, fmt, npm if fmt == "npz" else tm, "W2")


@pytest.mark.parametrize("fmt", list(SAVERS))
@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_non_finite_weights_are_refused_by_both_saves(tmp_path, fmt, case):
    npm, tm = twins(SIZES, dtype="float64", seed=5)
    index = BAD_PARAMS[case][0]
    bad = _bad_arrays(tm, "float64", case)
    npm.params[index][...] = bad[index]
    tm.load_numpy_params(tm.numpy_params())  # finite: accepted
    with torch.no_grad():
        tm.params[index].copy_(torch.from_numpy(bad[index]))
    name = f"{'Wb'[index % 2]}{index // 2 + 1}"
    _refused_save(tmp_path, fmt, npm if fmt == "npz" else tm, name)


def test_both_saves_give_one_message():
    npm, tm = twins([3, 4, 4, 2], dtype="float32", seed=5)
    npm.params[-2][0, 0] = np.inf  # the last layer's W3
    with torch.no_grad():
        tm.params[-2][0, 0] = -np.inf
    msgs = []
    for save, model in ((impl_numpy.save, npm), (impl_torch.save, tm)):
        with pytest.raises(ValueError) as info:
            save("/nonexistent-folder/never-written", model)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1] and msgs[0].startswith("model.params[4] (W3) holds 1 ")
