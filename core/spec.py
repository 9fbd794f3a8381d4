"""The network description both twins share: names, validation and the parameter count.

NumPy-only; both twins build their ``MLP`` from ``make_spec`` so that the same arguments
mean the same network in both (initial weights: ``core.init``; work counts: ``core.flops``).
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("relu", "tanh", "sigmoid")
ALIASES = {"logistic": "sigmoid"}  # the chapter's name for sigmoid
LOSSES = ("cross_entropy", "mse")
DTYPES = {"float32": np.float32, "float64": np.float64}
# The caps on a network, checked before anything is allocated, so that an absurd size is the
# same clear ValueError in both twins instead of NumPy's MemoryError and torch's RuntimeError.
# 2**28 params = 1 GiB at float32, 2 GiB at float64: far above every network this project
# trains or benchmarks (the largest, the gpu profile's 784-16384-10, has 12.9 M; a 6-deep stack
# of 4096 has 87 M) and the cap a checkpoint may declare (core.checkpoint_rules imports them).
MAX_PARAMS = 2**28
MAX_LAYERS = 1024  # entries of layer_sizes
# One batch's activations, samples x sum(layer_sizes) values (a forward holds every layer's
# output for the backward), in bytes at the model's dtype: 2**32 = 4 GiB, 2**30 values at
# float32, 2**29 at float64 (a cap in values let a float64 batch take twice the memory of a
# float32 one: 16 GiB). The benchmarks' largest batch, 4096 through 784-16384-10, needs 70 M
# values (563 MB at float64); MNIST's 10,000 test images through it 172 M (1.4 GB).
MAX_ACTIVATION_BYTES = 2**32
# The data a loader (``batches``) may hold, X and y each at its logical size (a broadcast
# array counts every row it shows: the torch twin copies a read-only array, and each epoch
# orders len(X) samples with int64 indices, 8 bytes a sample, also counted): 4 GiB. All of
# MNIST, 70,000 x 784 in float64, is 440 MB.
MAX_DATA_BYTES = 2**32


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
    """``layer_sizes`` as a tuple of Python ints: at least two, at most ``MAX_LAYERS``, each
    positive, and at most ``MAX_PARAMS`` params in all (counted in Python ints: a product
    beyond int64 never wraps around). Checked before anything is allocated."""
    try:  # one past the cap at most: range(10**12) or an endless generator is not listed
        sizes = list(itertools.islice(iter(layer_sizes), MAX_LAYERS + 1))
    except TypeError:
        raise TypeError(f"layer_sizes must be a sequence of ints, got {_short(layer_sizes)}"
                        ) from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least two sizes (inputs, outputs), got "
                         f"{_show(sizes)}")
    if len(sizes) > MAX_LAYERS:
        try:
            count = f"{len(layer_sizes):,}"
        except (TypeError, OverflowError):  # a generator; range(10**30)
            count = f"over {MAX_LAYERS:,}"
        raise ValueError(f"layer_sizes has {count} sizes, more than the cap "
                         f"MAX_LAYERS = {MAX_LAYERS:,}")
    for s in sizes:
        if isinstance(s, (bool, np.timedelta64)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"layer_sizes must hold ints, got {_short(s, 40)} in {_show(sizes)}")
        if s <= 0:
            raise ValueError(f"layer_sizes: every layer width must be positive, got {_num(s)} in "
                             f"{_show(sizes)}")
    sizes = tuple(int(s) for s in sizes)  # Python ints from here on: no int64 overflow
    for i, s in enumerate(sizes):  # a layer this wide has more than s params on its own
        if s > MAX_PARAMS:
            raise ValueError(f"layer_sizes[{i}] = {_num(s, ',')} units: more than the cap "
                             f"MAX_PARAMS = {MAX_PARAMS:,} params in that layer alone")
    n = n_params(sizes)
    if n > MAX_PARAMS:
        raise ValueError(f"layer_sizes {_show(sizes)} declare {n:,} params, more than the cap "
                         f"MAX_PARAMS = {MAX_PARAMS:,}")
    return sizes


def check_activations(n_samples: int, layer_sizes, dtype) -> None:
    """A batch of ``n_samples`` through ``layer_sizes`` may hold at most
    ``MAX_ACTIVATION_BYTES`` bytes of activations (every layer's output, for the backward) at
    ``dtype`` (a name of ``DTYPES``, a NumPy or torch dtype): checked on the shape alone,
    before anything is converted, copied or allocated."""
    name = check_dtype(dtype)
    n = int(n_samples) * sum(int(s) for s in layer_sizes)
    size = n * np.dtype(DTYPES[name]).itemsize
    if size > MAX_ACTIVATION_BYTES:
        raise ValueError(f"X: a batch of {int(n_samples):,} samples through layer_sizes "
                         f"{_show(layer_sizes)} needs {n:,} activations ({size:,} bytes as "
                         f"{name}), more than the cap MAX_ACTIVATION_BYTES = "
                         f"{MAX_ACTIVATION_BYTES:,}; split the batch")


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
    """Weights plus biases: sum of (fan_in + 1) * fan_out. 784-100-10 -> 79,510. In Python
    ints, so NumPy int64 sizes never wrap around."""
    sizes = [int(s) for s in layer_sizes]
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def _short(value, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters: a message stays one readable line."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits (sys.get_int_max_str_digits)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def _num(n, sep: str = "") -> str:
    """An int for a message: ``4,096`` (``sep=","``) or ``4096``; beyond 10**30 as ``~2**k``
    (str() refuses ints of more than 4,300 digits)."""
    n = int(n)
    if abs(n) >= 10**30:
        return f"{'-' if n < 0 else ''}~2**{abs(n).bit_length() - 1}"
    return f"{n:,}" if sep else str(n)


def _show(sizes) -> str:
    """``layer_sizes`` for a message: huge ints as ``~2**k``, a long list cut in the middle."""
    sizes = list(sizes)

    def one(s):
        if isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.timedelta64)):
            return _num(s)
        return _short(s, 20)

    if len(sizes) <= 6:
        return f"[{', '.join(map(one, sizes))}]"
    return (f"[{', '.join(map(one, sizes[:3]))}, ..., {', '.join(map(one, sizes[-2:]))}] "
            f"({len(sizes):,} sizes)")


# The MLP the published answer is given for (the report's headline, the dotted line in its
# figures, the compiled steps of the quick profile, the epoch benchmark): MNIST-shaped, one
# hidden layer of 100. Not the chapter's own NeuralNetMLP, which is 784-50-10
# (chapter/mnist_mlp.py); the suite calls this one "the headline MLP".
HEADLINE_SIZES = (784, 100, 10)
HEADLINE_N_PARAMS = n_params(HEADLINE_SIZES)  # 79,510 weights + biases
