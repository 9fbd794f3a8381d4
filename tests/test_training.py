"""Training equivalence: the twins stay equal through many SGD steps, and learn a real
data set (scikit-learn's digits) to the same test accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import impl_numpy
import impl_torch
from core.close import assert_params_close
from core.init import random_batch

from .helpers import TRAIN_RTOL, twins

STEPS = 50
OPTIMIZERS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "weight_decay": {"momentum": 0.5, "dampening": 0.1, "weight_decay": 1e-3},
}
DIGITS_MIN_ACCURACY = 0.95


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("activation, loss", [("relu", "cross_entropy"), ("tanh", "mse"),
                                              ("sigmoid", "cross_entropy")])
def test_k_sgd_steps_leave_twins_equal(activation, loss, opt_name, dtype):
    rng = np.random.default_rng(3)
    sizes = [20, 16, 12, 5]
    npm, tm = twins(sizes, activation=activation, loss=loss, dtype=dtype, seed=1)
    kw = OPTIMIZERS[opt_name]
    opt, topt = impl_numpy.SGD(npm.params, lr=0.05, **kw), impl_torch.SGD(tm.params, 0.05, **kw)
    for step in range(STEPS):
        X, y = random_batch(rng, int(rng.integers(1, 40)), sizes[0], sizes[-1], dtype)
        loss_np = impl_numpy.train_step(npm, opt, X, y)
        loss_t = impl_torch.train_step(tm, topt, torch.from_numpy(X), torch.from_numpy(y))
        assert loss_np == pytest.approx(loss_t, rel=TRAIN_RTOL[dtype]), f"loss at step {step}"
    assert_params_close(npm.params, tm.numpy_params(), TRAIN_RTOL[dtype],
                        f"{activation}/{loss}/{opt_name}/{dtype} after {STEPS} steps")


def test_digits_same_accuracy_with_same_batches():
    """A few epochs on a real data set, the twins fed identical batches by their own
    pipelines (impl_numpy.batches and a DataLoader drawing the same order)."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    train, test = idx[:1400], idx[1400:]
    npm, tm = twins([64, 64, 10], activation="relu", dtype="float32", seed=0)
    opt, topt = impl_numpy.SGD(npm.params, lr=0.1, momentum=0.9), impl_torch.SGD(
        tm.params, 0.1, momentum=0.9)
    np_loader = impl_numpy.batches(X[train], y[train], 32, seed=42)
    t_loader = impl_torch.batched_loader(X[train], y[train], 32, seed=42, order="numpy")
    for _epoch in range(8):
        for (Xb, yb), (Xt, yt) in zip(np_loader, t_loader, strict=True):
            np.testing.assert_array_equal(yb, yt.numpy())
            impl_numpy.train_step(npm, opt, Xb, yb)
            impl_torch.train_step(tm, topt, Xt, yt)
    acc_np = float(np.mean(npm.predict(X[test]) == y[test]))
    acc_t = float(np.mean(tm.predict(X[test]).numpy() == y[test]))
    assert acc_np >= DIGITS_MIN_ACCURACY, acc_np
    assert acc_np == acc_t, (acc_np, acc_t)
