r"""Activation functions and their derivatives, in NumPy.

Both twins: ``relu``, ``tanh``, ``sigmoid`` (forward, optional ``out``), ``*_backward(dA, A)``
(``dA *= g'(z)`` in place, from the output ``A = g(z)``: what backprop needs), ``*_grad(z)``
(the derivative with respect to the net input ``z``, built on ``*_backward``), ``softmax``,
``log_softmax`` and ``BY_NAME``: name (one of ``core.spec.ACTIVATIONS``) ->
``Activation(forward, grad, backward)``.

.. math::

    \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,(1 - \sigma(z)) = a (1 - a)

    \tanh'(z) = 1 - \tanh^2(z) = 1 - a^2

    \mathrm{relu}(z) = \max(0, z), \qquad \mathrm{relu}'(z) = [z > 0] = [a > 0]

    \mathrm{softmax}(z)_k = \frac{e^{z_k - m}}{\sum_j e^{z_j - m}}, \quad m = \max_j z_j

``sigmoid`` and ``softmax`` are written so that no ``exp`` ever sees a large
positive argument: no overflow warning at ``|z| = 1000``. ``relu_grad(0) = 0``,
as in PyTorch's autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Activation(NamedTuple):
    forward: Callable  # g(z, out=None)
    grad: Callable  # g'(z), with respect to the net input z
    backward: Callable  # backward(dA, A): dA *= g'(z), from the output A = g(z), in place


def _real(z):
    """``z`` as an array of floats (integers become float64)."""
    z = np.asarray(z)
    return z if z.dtype.kind == "f" else z.astype(np.float64)


# ----------------------------------------------------------------- sigmoid
def sigmoid(z, out=None):
    """Logistic function, stable for any finite ``z``: only ``e = exp(-|z|) <= 1`` is formed.

    sigma(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0. ``out`` may be ``z`` itself.
    """
    z = np.asarray(z)
    negative = z < 0  # taken first: out may alias z
    e = np.exp(-np.abs(z))  # in (0, 1], never overflows
    r = np.reciprocal(np.add(e, 1.0), out=out)  # sigma(|z|)
    np.multiply(r, e, out=e)  # sigma(-|z|)
    np.copyto(r, e, where=negative)
    return r


def sigmoid_backward(dA, A):
    dA *= A * (1.0 - A)  # sigma'(z) = a (1 - a)
    return dA


def sigmoid_grad(z):
    a = sigmoid(_real(z))
    return sigmoid_backward(np.ones_like(a), a)


# -------------------------------------------------------------------- tanh
def tanh(z, out=None):
    return np.tanh(z, out=out)


def tanh_backward(dA, A):
    dA *= 1.0 - A * A  # tanh'(z) = 1 - a^2
    return dA


def tanh_grad(z):
    a = tanh(_real(z))
    return tanh_backward(np.ones_like(a), a)


# -------------------------------------------------------------------- relu
def relu(z, out=None):
    return np.maximum(z, 0, out=out)


def relu_backward(dA, A):
    np.multiply(dA, A > 0, out=dA)  # relu'(z) = [z > 0] = [a > 0]
    return dA


def relu_grad(z):
    a = relu(_real(z))
    return relu_backward(np.ones_like(a), a)


# ----------------------------------------------------------------- softmax
def softmax(z, axis=-1):
    """Row-wise softmax (over ``axis``), shifted by the row max so exp never overflows."""
    z = np.asarray(z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(z, axis=-1):
    """``log(softmax(z))`` without forming softmax: ``z - m - log(sum(exp(z - m)))``."""
    z = np.asarray(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# name -> Activation ("logistic", the chapter's name for sigmoid, is in core.spec.ALIASES)
BY_NAME = {
    "relu": Activation(relu, relu_grad, relu_backward),
    "tanh": Activation(tanh, tanh_grad, tanh_backward),
    "sigmoid": Activation(sigmoid, sigmoid_grad, sigmoid_backward),
}
