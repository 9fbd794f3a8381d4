"""The network description both twins share: names, validation and the parameter count.

NumPy-only; both twins build their ``MLP`` from ``make_spec`` so that the same arguments
mean the same network in both (initial weights: ``core.init``; work counts: ``core.flops``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("relu", "tanh", "sigmoid")
ALIASES = {"logistic": "sigmoid"}  # the chapter's name for sigmoid
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
    if not isinstance(name, str):
        raise TypeError(f"loss must be a string, got {name!r}")
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
    return name


def check_dtype(dtype) -> str:
    """Accept 'float32'/'float64', a NumPy dtype, or a torch dtype; return the name.
    ``None`` is refused (``np.dtype(None)`` would silently mean float64)."""
    if dtype is None:
        raise TypeError(f"dtype must be one of {list(DTYPES)}, got None")
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


# The MLP the published answer is given for (the report's headline, the dotted line in its
# figures, the compiled steps of the quick profile, the epoch benchmark): MNIST-shaped, one
# hidden layer of 100. Not the chapter's own NeuralNetMLP, which is 784-50-10
# (chapter/mnist_mlp.py); the suite calls this one "the headline MLP".
HEADLINE_SIZES = (784, 100, 10)
HEADLINE_N_PARAMS = n_params(HEADLINE_SIZES)  # 79,510 weights + biases
