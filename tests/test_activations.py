"""Activations: stability at extreme inputs, derivatives by finite differences and by torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impl_numpy import activations as act

ACT_RTOL = 1e-12  # float64, impl_numpy vs torch, elementwise
ACT_FD_RTOL = 1e-7
EXTREME = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])

PAIRS = {  # name -> (numpy fn, numpy grad, torch fn)
    "sigmoid": (act.sigmoid, act.sigmoid_grad, torch.sigmoid),
    "tanh": (act.tanh, act.tanh_grad, torch.tanh),
    "relu": (act.relu, act.relu_grad, torch.relu),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_no_overflow_warnings_and_torch_agrees(name):
    fn, grad, tfn = PAIRS[name]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, g = fn(EXTREME), grad(EXTREME)
    assert np.isfinite(out).all() and np.isfinite(g).all()
    z = torch.tensor(EXTREME, requires_grad=True)
    tfn(z).sum().backward()
    np.testing.assert_allclose(out, tfn(z).detach().numpy(), rtol=ACT_RTOL, err_msg=name)
    np.testing.assert_allclose(g, z.grad.numpy(), rtol=ACT_RTOL, err_msg=f"{name}'")


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_derivative_matches_finite_differences(name):
    fn, grad, _ = PAIRS[name]
    z = np.random.default_rng(0).uniform(-6, 6, size=200)
    h = 1e-6
    fd = (fn(z + h) - fn(z - h)) / (2 * h)
    np.testing.assert_allclose(grad(z), fd, rtol=ACT_FD_RTOL, atol=ACT_FD_RTOL, err_msg=name)


def test_relu_derivative_is_a_step_and_zero_at_zero():
    np.testing.assert_array_equal(act.relu_grad(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0])


def test_softmax_stable_and_normalised():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise"):
        p = act.softmax(z)
        lp = act.log_softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=ACT_RTOL)
    np.testing.assert_allclose(p, torch.softmax(torch.tensor(z), 1).numpy(), rtol=ACT_RTOL)
    np.testing.assert_allclose(lp, torch.log_softmax(torch.tensor(z), 1).numpy(), rtol=ACT_RTOL)


def test_sigmoid_in_place_with_aliasing_output():
    z = EXTREME.copy()
    expected = act.sigmoid(EXTREME)
    act.sigmoid(z, out=z)
    np.testing.assert_array_equal(z, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_keep_dtype(dtype):
    z = np.linspace(-3, 3, 7, dtype=dtype)
    for name, (fn, grad, _) in PAIRS.items():
        assert fn(z).dtype == dtype, name
        assert grad(z).dtype == dtype, name
