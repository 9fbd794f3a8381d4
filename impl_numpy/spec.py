"""The configuration both twins share: names, validation, initial weights and work counts.

This module is NumPy-only; ``impl_torch`` imports it so that the same arguments mean
the same network in both twins (and the same initial parameters, drawn here).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .activations import ACTIVATIONS, ALIASES

LOSSES = ("cross_entropy", "mse")
DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class Spec:
    """A validated network description: ``layer_sizes`` is ``(n_in, h1, ..., n_out)``."""

    layer_sizes: tuple
    activation: str
    loss: str
    dtype: str

    @property
    def n_in(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_out(self) -> int:
        return self.layer_sizes[-1]

    @property
    def n_params(self) -> int:
        return n_params(self.layer_sizes)


def make_spec(layer_sizes, activation="relu", loss="cross_entropy", dtype="float32") -> Spec:
    return Spec(check_layer_sizes(layer_sizes), check_activation(activation),
                check_loss(loss), check_dtype(dtype))


def check_layer_sizes(layer_sizes) -> tuple:
    try:
        sizes = list(layer_sizes)
    except TypeError:
        raise TypeError(f"layer_sizes must be a sequence of ints, got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least two sizes (inputs, outputs), got {sizes}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"layer_sizes must hold ints, got {s!r} in {sizes}")
        if s <= 0:
            raise ValueError(f"every layer width must be positive, got {s} in {sizes}")
    return tuple(int(s) for s in sizes)


def check_activation(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string, got {name!r}")
    name = ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        known = sorted([*ACTIVATIONS, *ALIASES])
        raise ValueError(f"unknown activation {name!r}; choose one of {known}")
    return name


def check_loss(name) -> str:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
    return name


def check_dtype(dtype) -> str:
    """Accept 'float32'/'float64', a NumPy dtype, or a torch dtype; return the name."""
    name = str(dtype).removeprefix("torch.")
    if name not in DTYPES:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            pass
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {list(DTYPES)}")
    return name


def n_params(layer_sizes) -> int:
    """Weights plus biases: sum of (fan_in + 1) * fan_out. 784-100-10 -> 79,510."""
    return sum((a + 1) * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))


def init_params(layer_sizes, dtype="float32", seed=0) -> list:
    """``[W1, b1, W2, b2, ...]`` with ``W`` of shape (fan_out, fan_in), like ``nn.Linear``.

    ``nn.Linear``'s default init (kaiming_uniform with a=sqrt(5)) is U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) for both W and b. Draws are made in float64 from
    ``np.random.default_rng(seed)`` (W then b, layer by layer) and then rounded to
    ``dtype``, so float32 and float64 twins start from the same values.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(dtype))
        params.append(rng.uniform(-bound, bound, size=(fan_out,)).astype(dtype))
    return params


def step_flops(layer_sizes, batch) -> int:
    """Exact FLOPs of the matrix products in one training step on ``batch`` samples.

    Per layer of fan_in x fan_out: forward ``Z = A W^T`` and weight gradient
    ``dW = dZ^T A`` are 2*B*fan_in*fan_out each; the input gradient ``dA = dZ W``
    costs the same but is skipped for the first layer (nobody needs dL/dX).
    About 6*B*P for a deep net, a bit less here. Elementwise work is not counted.
    """
    total = 0
    for i, (a, b) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        total += (4 if i == 0 else 6) * batch * a * b
    return total


def step_gemm_shapes(layer_sizes, batch) -> list:
    """``(m, k, n)`` of every matrix product in a step, in the order ``step_flops`` counts:
    per layer the forward (B, fan_in) x (fan_in, fan_out), the weight gradient
    (fan_out, B) x (B, fan_in) and, past the first layer, the input gradient
    (B, fan_out) x (fan_out, fan_in). ``sum(2*m*k*n) == step_flops``."""
    shapes = []
    for i, (a, b) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        shapes += [(batch, a, b), (b, batch, a)] + ([(batch, b, a)] if i > 0 else [])
    return shapes


def forward_flops(layer_sizes, batch) -> int:
    """FLOPs of the forward matrix products alone: 2*B*fan_in*fan_out per layer."""
    return sum(2 * batch * a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
