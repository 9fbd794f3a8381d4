r"""Activation functions and their derivatives, in NumPy.

Each ``*_grad(z)`` is the derivative of the activation with respect to its net
input ``z`` (not its output), evaluated elementwise.

.. math::

    \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,(1 - \sigma(z))

    \tanh'(z) = 1 - \tanh^2(z)

    \mathrm{relu}(z) = \max(0, z), \qquad \mathrm{relu}'(z) = [z > 0]

    \mathrm{softmax}(z)_k = \frac{e^{z_k - m}}{\sum_j e^{z_j - m}}, \quad m = \max_j z_j

``sigmoid`` and ``softmax`` are written so that no ``exp`` ever sees a large
positive argument: no overflow warning at ``|z| = 1000``. ``relu_grad(0) = 0``,
as in PyTorch's autograd.
"""

from __future__ import annotations

import numpy as np


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


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z, out=None):
    return np.tanh(z, out=out)


def tanh_grad(z):
    t = np.tanh(z)
    return 1.0 - t * t


def relu(z, out=None):
    return np.maximum(z, 0, out=out)


def relu_grad(z):
    z = np.asarray(z)
    return (z > 0).astype(z.dtype if z.dtype.kind == "f" else np.float64)


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


# name -> (forward, derivative w.r.t. net input); "logistic" is the chapter's name for sigmoid
ACTIVATIONS = {
    "relu": (relu, relu_grad),
    "tanh": (tanh, tanh_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
}
ALIASES = {"logistic": "sigmoid"}
