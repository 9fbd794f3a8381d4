"""impl_numpy's hand-written backprop against two oracles: torch autograd and finite
differences (which involve no torch at all)."""

from __future__ import annotations

import numpy as np
import pytest

import impl_numpy
from core.close import param_names
from core.init import random_batch
from core.spec import ACTIVATIONS, LOSSES

from .helpers import (
    FD_EPS,
    FD_RTOL,
    GRAD_RTOL_F64,
    torch_grads,
    twins,
)

HIDDEN_DEPTHS = [0, 1, 2, 3]  # hidden layers: 1 to 4 linear layers
BATCHES = [1, 2, 17]


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("depth", HIDDEN_DEPTHS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_grads_match_autograd_float64(activation, loss, depth, batch):
    rng = np.random.default_rng([depth, batch, len(activation), len(loss)])
    for trial in range(3):  # randomised widths and data, not one hand-picked case
        sizes = [int(s) for s in rng.integers(1, 12, size=depth + 2)]
        sizes[-1] = max(sizes[-1], 2)
        npm, tm = twins(sizes, activation=activation, loss=loss, dtype="float64",
                        seed=trial)
        X, y = random_batch(rng, batch, sizes[0], sizes[-1])
        X *= rng.uniform(0.1, 5.0)
        loss_np, grads_np = npm.loss_and_grads(X, y)
        loss_t, grads_t = torch_grads(tm, X, y)
        ctx = f"{sizes} trial {trial}"
        np.testing.assert_allclose(loss_np, loss_t, rtol=GRAD_RTOL_F64, err_msg=f"loss {ctx}")
        assert npm.loss(X, y) == pytest.approx(loss_np, rel=GRAD_RTOL_F64)
        for name, g, gt, p in zip(param_names(len(grads_np)), grads_np, grads_t, npm.params):
            assert g.shape == p.shape and g.dtype == p.dtype, name
            # atol scaled to the gradient's own size: entries that cancel to ~0 differ by
            # rounding only
            np.testing.assert_allclose(g, gt, rtol=GRAD_RTOL_F64,
                                       atol=GRAD_RTOL_F64 * float(np.abs(gt).max()),
                                       err_msg=f"d{name} {ctx}")


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_grads_match_finite_differences(activation, loss):
    """Central differences on every single parameter of a small float64 net."""
    rng = np.random.default_rng(7)
    sizes = [4, 5, 3, 3]
    model = impl_numpy.MLP(sizes, activation=activation, loss=loss, dtype="float64", seed=3)
    X, y = random_batch(rng, 6, sizes[0], sizes[-1])
    _, grads = model.loss_and_grads(X, y)
    for name, p, g in zip(param_names(len(grads)), model.params, grads):
        fd = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            orig = p[idx]
            p[idx] = orig + FD_EPS
            up = model.loss(X, y)
            p[idx] = orig - FD_EPS
            down = model.loss(X, y)
            p[idx] = orig
            fd[idx] = (up - down) / (2 * FD_EPS)
        np.testing.assert_allclose(g, fd, rtol=FD_RTOL, atol=FD_RTOL * np.abs(fd).max(),
                                   err_msg=f"d{name} vs finite differences")


def test_forward_and_predictions_match_torch():
    rng = np.random.default_rng(11)
    for loss in LOSSES:
        npm, tm = twins([6, 8, 4], activation="tanh", loss=loss, dtype="float64", seed=5)
        X, _ = random_batch(rng, 9, 6, 4)
        out_t = tm(X).detach().numpy()
        np.testing.assert_allclose(npm.forward(X), out_t, rtol=GRAD_RTOL_F64, err_msg=loss)
        proba = npm.predict_proba(X)
        np.testing.assert_allclose(proba, tm.predict_proba(X).numpy(), rtol=GRAD_RTOL_F64)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=GRAD_RTOL_F64)
        np.testing.assert_array_equal(npm.predict(X), tm.predict(X).numpy())
