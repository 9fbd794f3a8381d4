r"""Activation functions and their derivatives, in torch.

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

torch's own kernels are stable at ``|z| = 1000``. Autograd, not ``*_backward``, differentiates
the twin's ``MLP``; ``*_grad`` agrees with it (``relu_grad(0) = 0``, as autograd has it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn


class Activation(NamedTuple):
    forward: Callable  # g(z, out=None)
    grad: Callable  # g'(z), with respect to the net input z
    backward: Callable  # backward(dA, A): dA *= g'(z), from the output A = g(z), in place


def _real(z):
    """``z`` as a tensor of floats (integers become float64)."""
    z = torch.as_tensor(z)
    return z if z.dtype.is_floating_point else z.to(torch.float64)


# ----------------------------------------------------------------- sigmoid
def sigmoid(z, out=None):
    """Logistic function, torch's stable kernel. ``out`` may be ``z`` itself."""
    return torch.sigmoid(torch.as_tensor(z), out=out)


def sigmoid_backward(dA, A):
    dA *= A * (1.0 - A)  # sigma'(z) = a (1 - a)
    return dA


def sigmoid_grad(z):
    a = sigmoid(_real(z))
    return sigmoid_backward(torch.ones_like(a), a)


# -------------------------------------------------------------------- tanh
def tanh(z, out=None):
    return torch.tanh(torch.as_tensor(z), out=out)


def tanh_backward(dA, A):
    dA *= 1.0 - A * A  # tanh'(z) = 1 - a^2
    return dA


def tanh_grad(z):
    a = tanh(_real(z))
    return tanh_backward(torch.ones_like(a), a)


# -------------------------------------------------------------------- relu
def relu(z, out=None):
    z = torch.as_tensor(z)  # torch.relu has no out=; clamp's autograd differs at 0
    return torch.relu(z) if out is None else torch.clamp_min(z, 0, out=out)


def relu_backward(dA, A):
    torch.mul(dA, A > 0, out=dA)  # relu'(z) = [z > 0] = [a > 0]
    return dA


def relu_grad(z):
    a = relu(_real(z))
    return relu_backward(torch.ones_like(a), a)


# ----------------------------------------------------------------- softmax
def softmax(z, axis=-1):
    """Row-wise softmax (over ``axis``), shifted by the row max so exp never overflows."""
    return torch.softmax(torch.as_tensor(z), dim=axis)


def log_softmax(z, axis=-1):
    """``log(softmax(z))`` without forming softmax: ``z - m - log(sum(exp(z - m)))``."""
    return torch.log_softmax(torch.as_tensor(z), dim=axis)


# name -> Activation ("logistic", the chapter's name for sigmoid, is in core.spec.ALIASES)
BY_NAME = {
    "relu": Activation(relu, relu_grad, relu_backward),
    "tanh": Activation(tanh, tanh_grad, tanh_backward),
    "sigmoid": Activation(sigmoid, sigmoid_grad, sigmoid_backward),
}


# ------------------------------------------- only in this twin: nn.Module layers
MODULES = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}  # what MLP stacks
