"""The chapter's activation-function facts, checked in both twins' own code: softmax of the
book's net input, and why tanh saturates where ReLU does not (its derivative is exactly zero
at z = 20), down to the twins' backward passes, where a saturated tanh unit gets no gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from impl_numpy import activations as act_np
from impl_torch import activations as act_t

SOFTMAX_ATOL = 5e-9  # the book prints 8 decimals: half a unit in the last place
LOG_SOFTMAX_RTOL = 1e-15  # exp(log_softmax) vs softmax, float64; measured 1.1e-16 (NumPy),
# 2.2e-16 (torch)
# The book's net input Z = W a, W (3, 4) with the bias in column 0, a = [1, 0.1, 0.4, 0.6]:
# W = [[1.1, 1.2, 0.8, 0.4], [0.2, 0.4, 1.0, 0.2], [0.6, 1.5, 1.2, 0.7]] (by hand: 1.1 + 0.12
# + 0.32 + 0.24 = 1.78, and so on)
BOOK_Z = np.array([1.78, 0.76, 1.65])
BOOK_SOFTMAX = np.array([0.44668973, 0.16107406, 0.39223621])
SATURATED = np.array([20.0, 25.0])
SATURATING_BIAS = 40.0  # tanh(40 + w x) rounds to 1.0 for |w x| < 20


def _np(x):
    return x.numpy() if torch.is_tensor(x) else np.asarray(x)


TWINS = {"impl_numpy": act_np, "impl_torch": act_t}


@pytest.mark.parametrize("twin", list(TWINS))
def test_softmax_of_the_books_net_input(twin):
    act = TWINS[twin]
    p = _np(act.softmax(BOOK_Z))
    np.testing.assert_allclose(p, BOOK_SOFTMAX, rtol=0, atol=SOFTMAX_ATOL,
                               err_msg=f"{twin} softmax")
    assert p.sum() == pytest.approx(1.0, abs=1e-15), twin
    assert np.argmax(p) == np.argmax(_np(act.sigmoid(BOOK_Z))) == 0, "same class as logistic"
    np.testing.assert_allclose(np.exp(_np(act.log_softmax(BOOK_Z))), p, rtol=LOG_SOFTMAX_RTOL,
                               err_msg=f"{twin} log_softmax")


@pytest.mark.parametrize("twin", list(TWINS))
def test_tanh_derivative_is_zero_when_saturated(twin):
    """tanh(20) = 1 - 8.5e-18 rounds to 1.0 in float64, so 1 - tanh^2 is exactly 0."""
    np.testing.assert_array_equal(_np(TWINS[twin].tanh_grad(SATURATED)), [0.0, 0.0],
                                  err_msg=twin)
    assert 0 < _np(TWINS[twin].tanh_grad(np.array([5.0])))[0] < 1e-3, "not yet saturated"


@pytest.mark.parametrize("twin", list(TWINS))
def test_relu_derivative_is_one_there(twin):
    np.testing.assert_array_equal(_np(TWINS[twin].relu_grad(SATURATED)), [1.0, 1.0],
                                  err_msg=twin)


def test_a_saturated_tanh_unit_passes_no_gradient_back_in_either_twin():
    """Hidden unit 0 of a float64 tanh net gets a bias of 40: its incoming weights and bias
    get exactly zero gradient, in the hand-written backward and in autograd alike, while
    the other units' do not."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, size=5)
    npm = impl_numpy.MLP([3, 4, 2], activation="tanh", dtype="float64")
    npm.params[1][0] = SATURATING_BIAS
    tm = impl_torch.MLP([3, 4, 2], activation="tanh", dtype="float64")
    tm.load_numpy_params(npm.params)
    _, g_np = npm.loss_and_grads(X, y)
    _, g_t = tm.loss_and_grads(torch.from_numpy(X), torch.from_numpy(y))
    for name, grads in (("impl_numpy", g_np), ("impl_torch", [_np(g) for g in g_t])):
        dW1, db1 = grads[0], grads[1]
        np.testing.assert_array_equal(dW1[0], 0.0, err_msg=f"{name} dW1 of the saturated unit")
        assert db1[0] == 0.0, name
        assert np.abs(dW1[1:]).min() > 0 and np.abs(db1[1:]).min() > 0, name
