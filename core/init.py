"""Random draws both twins share: initial parameters, and the random batch every test and
benchmark feeds them, drawn here once so that both twins see the same values."""

from __future__ import annotations

import numpy as np


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


def random_batch(rng: np.random.Generator, n: int, n_in: int, n_out: int, dtype="float64"):
    """``(X, y)``: ``X`` of shape (n, n_in), standard normal, in ``dtype``; ``y`` of shape (n,),
    integer labels uniform in [0, n_out). The one builder of the suite's random batches (tests,
    benchmarks); the draws come from ``rng``, X first."""
    X = rng.standard_normal((n, n_in)).astype(dtype)
    y = rng.integers(0, n_out, size=n)
    return X, y
