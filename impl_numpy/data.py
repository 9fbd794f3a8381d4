"""The input pipeline: shuffle, batch, repeat. NumPy's counterpart of ``DataLoader``.

``batches(X, y, 32)`` is an iterable: each ``for`` loop over it is one epoch, drawn
with a fresh permutation from one ``np.random.default_rng(seed)``, so iterating
again *repeats* the data in a new order, reproducibly for a given seed::

    loader = batches(X, y, batch_size=32, shuffle=True, seed=0)
    for epoch in range(3):
        for Xb, yb in loader:
            ...
"""

from __future__ import annotations

import numpy as np

from core.checks import check_batch_size, check_data, check_seed

from .checks import _convert


def batches(X, y, batch_size, shuffle=True, seed=0, drop_last=False):
    """``ArrayLoader(...)``: the batches as NumPy arrays; ``len()`` is the batches per epoch."""
    return ArrayLoader(X, y, batch_size, shuffle, seed, drop_last)


# ------------------------------------------ only in this twin: the loader ``batches`` returns
class ArrayLoader:
    """Re-iterable, as a ``DataLoader``: each ``for`` loop is one epoch, its order the next
    ``rng.permutation(n)`` of one ``np.random.default_rng(seed)`` (``arange(n)`` unless
    ``shuffle``), cut into ``batch_size`` pieces (the last one shorter unless ``drop_last``).
    The arguments are checked here, when the loader is made, not when it is iterated: X and y
    must hold numbers and fit ``core.spec.MAX_DATA_BYTES`` (``core.checks.check_data``)."""

    def __init__(self, X, y, batch_size, shuffle=True, seed=0, drop_last=False):
        X = _convert(X, "X", lambda a: check_data(a, "X"))  # numbers, MAX_DATA_BYTES
        y = _convert(y, "y", lambda a: check_data(a, "y"))
        if X.ndim < 1 or y.ndim < 1 or len(X) != len(y):
            raise ValueError(f"X and y must have the same length, got shapes "
                             f"{X.shape} and {y.shape}")
        self.X, self.y, self.batch_size = X, y, check_batch_size(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.rng = np.random.default_rng(check_seed(seed))

    def __len__(self):
        n, b = len(self.X), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def order(self) -> np.ndarray:
        """The sample order of the next epoch (advances the generator when shuffling)."""
        n = len(self.X)
        return self.rng.permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        idx = self.order()
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(idx)), self.batch_size):
            take = idx[start:start + self.batch_size]
            yield self.X[take], self.y[take]
