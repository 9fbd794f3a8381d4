"""Bad input: a ValueError or TypeError that names the problem, and nothing changed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch

from .helpers import twins

GOOD_X = np.ones((4, 3))
GOOD_Y = np.array([0, 1, 1, 0])

BAD_BATCHES = {  # name -> (X, y, exception, message)
    "wrong feature count": (np.ones((4, 5)), GOOD_Y, ValueError, "has 5 features"),
    "1-D X": (np.ones(3), GOOD_Y[:1], ValueError, "must be 2-D"),
    "len mismatch": (GOOD_X, GOOD_Y[:3], ValueError, r"len\(y\) = 3"),
    "label too large": (GOOD_X, np.array([0, 1, 2, 0]), ValueError, r"\[0, 2\)"),
    "negative label": (GOOD_X, np.array([0, -1, 1, 0]), ValueError, r"\[0, 2\)"),
    "non-integer labels": (GOOD_X, np.array([0.0, 1.5, 1.0, 0.0]), TypeError, "integer"),
    "2-D labels": (GOOD_X, GOOD_Y.reshape(2, 2), ValueError, "1-D"),
    "NaN in X": (np.where(np.eye(4, 3) > 0, np.nan, 1.0), GOOD_Y, ValueError, "NaN or inf"),
    "inf in X": (np.full((4, 3), np.inf), GOOD_Y, ValueError, "NaN or inf"),
    "empty batch": (np.ones((0, 3)), GOOD_Y[:0], ValueError, "empty batch"),
}


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
@pytest.mark.parametrize("twin", ["numpy", "torch"])
def test_bad_batch_is_refused_and_changes_nothing(twin, case):
    X, y, exc, message = BAD_BATCHES[case]
    npm, tm = twins([3, 4, 2], dtype="float64")
    if twin == "numpy":
        model, before = npm, [p.copy() for p in npm.params]
        opt = impl_numpy.SGD(model.params, lr=0.1, momentum=0.9)
        step = impl_numpy.train_step
    else:
        model, before = tm, tm.numpy_params()
        opt, step = impl_torch.SGD(model.params, 0.1, momentum=0.9), impl_torch.train_step
        X, y = torch.as_tensor(X), torch.as_tensor(y)
    with pytest.raises(exc, match=message):
        step(model, opt, X, y)
    with pytest.raises(exc, match=message):
        model.loss(X, y)
    after = model.params if twin == "numpy" else model.numpy_params()
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_numpy_refuses_non_numeric_X():
    with pytest.raises(TypeError, match="real numbers"):
        impl_numpy.MLP([3, 2]).loss(np.full((4, 3), "a"), GOOD_Y)


@pytest.mark.parametrize("make", [impl_numpy.MLP, impl_torch.MLP])
@pytest.mark.parametrize("kwargs, exc, message", [
    ({"layer_sizes": [3]}, ValueError, "at least two sizes"),
    ({"layer_sizes": []}, ValueError, "at least two sizes"),
    ({"layer_sizes": [3, 0, 2]}, ValueError, "must be positive"),
    ({"layer_sizes": [3, -4, 2]}, ValueError, "must be positive"),
    ({"layer_sizes": [3, 2.5, 2]}, TypeError, "must hold ints"),
    ({"layer_sizes": 5}, TypeError, "sequence of ints"),
    ({"layer_sizes": [3, 2], "activation": "swish"}, ValueError, "unknown activation"),
    ({"layer_sizes": [3, 2], "loss": "hinge"}, ValueError, "unknown loss"),
    ({"layer_sizes": [3, 2], "dtype": "float16"}, ValueError, "unknown dtype"),
    ({"layer_sizes": [3, 2], "dtype": "int64"}, ValueError, "unknown dtype"),
])
def test_bad_construction(make, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        make(**kwargs)


def test_aliases_and_dtype_spellings():
    assert impl_numpy.MLP([2, 2], activation="logistic").spec.activation == "sigmoid"
    assert impl_torch.MLP([2, 2], dtype=torch.float64).spec.dtype == "float64"
    assert impl_numpy.MLP([2, 2], dtype=np.float64).params[0].dtype == np.float64


def test_torch_load_numpy_params_checks_all_before_writing():
    _, tm = twins([3, 4, 2])
    before = tm.numpy_params()
    bad = [np.zeros_like(p) for p in before]
    bad[-1] = np.zeros(5, np.float32)  # last one wrong: the first three must stay untouched
    with pytest.raises(ValueError, match=r"params\[3\] has shape"):
        tm.load_numpy_params(bad)
    bad[-1] = np.zeros(2, np.float64)
    with pytest.raises(TypeError, match=r"params\[3\] has dtype"):
        tm.load_numpy_params(bad)
    for b, a in zip(before, tm.numpy_params()):
        np.testing.assert_array_equal(a, b)
