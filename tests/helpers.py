"""Shared test helpers: twin construction, random problems and the named tolerances."""

from __future__ import annotations

import numpy as np
import torch

import impl_numpy
import impl_torch

# Named tolerances (relative), per dtype and per check.
GRAD_RTOL_F64 = 1e-10  # impl_numpy grads vs torch autograd, float64
TRAIN_RTOL = {"float64": 1e-9, "float32": 1e-4}  # params after k SGD steps
FD_RTOL = 1e-6  # central finite differences, float64, step FD_EPS
FD_EPS = 1e-6

ACTIVATIONS = ["relu", "tanh", "sigmoid"]
LOSSES = ["cross_entropy", "mse"]
DTYPES = ["float32", "float64"]


def twins(layer_sizes, **kw):
    """The NumPy and torch MLPs built from the same arguments."""
    return impl_numpy.MLP(layer_sizes, **kw), impl_torch.MLP(layer_sizes, **kw)


def problem(rng, n, n_in, n_out, dtype="float64"):
    """A random batch: standard-normal features and uniform integer labels."""
    X = rng.standard_normal((n, n_in)).astype(dtype)
    y = rng.integers(0, n_out, size=n)
    return X, y


def torch_grads(model, X, y):
    """Loss and gradients of the torch twin by autograd, as NumPy arrays."""
    model.zero_grad(set_to_none=True)
    loss = model.loss_tensor(torch.from_numpy(X), torch.from_numpy(y))
    loss.backward()
    return loss.item(), [p.grad.numpy().copy() for p in model.parameters()]


def param_names(n):
    return [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(n)]


def assert_params_close(actual, expected, rtol, what=""):
    """Each param equal to ``rtol`` relative to its own largest entry (scale-aware)."""
    assert len(actual) == len(expected)
    for name, a, e in zip(param_names(len(expected)), actual, expected):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * float(np.abs(e).max()),
                                   err_msg=f"{what} {name}")
