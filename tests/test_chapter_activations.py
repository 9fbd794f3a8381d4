"""The chapter's activation-function facts, checked in both twins: softmax of the book's net
input, and why tanh saturates where ReLU does not (its derivative is exactly zero at z = 20)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impl_numpy import activations as act

SOFTMAX_ATOL = 5e-9  # the book prints 8 decimals: half a unit in the last place
# The book's net input: W (3, 4) with the bias in column 0, times A = [1, 0.1, 0.4, 0.6].
BOOK_W = np.array([[1.1, 1.2, 0.8, 0.4], [0.2, 0.4, 1.0, 0.2], [0.6, 1.5, 1.2, 0.7]])
BOOK_A = np.array([1.0, 0.1, 0.4, 0.6])
BOOK_Z = np.array([1.78, 0.76, 1.65])
BOOK_SOFTMAX = np.array([0.44668973, 0.16107406, 0.39223621])
SATURATED = np.array([20.0, 25.0])


def _softmax_torch(z):
    return torch.softmax(torch.from_numpy(z), dim=0).numpy()


def test_book_net_input():
    np.testing.assert_allclose(BOOK_W @ BOOK_A, BOOK_Z, rtol=1e-14, err_msg="Z = W a")


@pytest.mark.parametrize("name, softmax", [("impl_numpy", act.softmax),
                                           ("torch", _softmax_torch)])
def test_softmax_of_the_books_net_input(name, softmax):
    p = softmax(BOOK_Z)
    np.testing.assert_allclose(p, BOOK_SOFTMAX, rtol=0, atol=SOFTMAX_ATOL,
                               err_msg=f"{name} softmax")
    assert p.sum() == pytest.approx(1.0, abs=1e-15), name
    assert np.argmax(p) == np.argmax(act.sigmoid(BOOK_Z)) == 0, "same class as logistic"


def _torch_grad(fn, z):
    z = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    fn(z).sum().backward()
    return z.grad.numpy()


@pytest.mark.parametrize("name, grad", [
    ("impl_numpy.tanh_grad", act.tanh_grad),
    ("torch autograd of tanh", lambda z: _torch_grad(torch.tanh, z)),
])
def test_tanh_derivative_is_zero_when_saturated(name, grad):
    """tanh(20) = 1 - 8.5e-18 rounds to 1.0 in float64, so 1 - tanh^2 is exactly 0."""
    np.testing.assert_array_equal(grad(SATURATED), [0.0, 0.0], err_msg=name)


@pytest.mark.parametrize("name, grad", [
    ("impl_numpy.relu_grad", act.relu_grad),
    ("torch autograd of relu", lambda z: _torch_grad(torch.relu, z)),
])
def test_relu_derivative_is_one_there(name, grad):
    np.testing.assert_array_equal(grad(SATURATED), [1.0, 1.0], err_msg=name)
