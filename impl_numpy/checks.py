"""Input validation for the NumPy twin: clear errors instead of broadcasting tracebacks.

Every public entry point validates *before* it touches any state, so a call that
fails leaves the model and the optimizer exactly as they were. Rules both twins share
(batch size, SGD arguments) live in ``core.checks``.

Accepts arrays or anything ``np.asarray`` takes (lists, CPU tensors). Everything stays on
the host; there is no device to read back from.
"""

from __future__ import annotations

import numpy as np


def check_X(X, n_features: int, dtype) -> np.ndarray:
    """A 2-D, finite, non-empty batch of ``n_features`` columns, as ``dtype`` on the host."""
    X = np.asarray(X)
    if X.dtype.kind not in "fiu":
        raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}")
    if X.shape[0] == 0:
        raise ValueError("X is an empty batch (0 samples)")
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features but the network expects {n_features}")
    X = X.astype(dtype, copy=False)
    # min and max propagate NaN and expose +-inf (the same test as the torch twin's)
    if not (np.isfinite(X.min()) and np.isfinite(X.max())):
        raise ValueError("X contains NaN or inf")
    return X


def check_y(y, n_samples: int, n_classes: int) -> np.ndarray:
    """1-D integer class labels in ``[0, n_classes)``, one per sample, on the host."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {tuple(y.shape)}")
    if len(y) != n_samples:
        raise ValueError(f"len(y) = {len(y)} does not match len(X) = {n_samples}")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes}), got values in [{lo}, {hi}]")
    return y


def check_like(arrays, reference, what: str) -> list:
    """``arrays`` must match ``reference`` one-to-one in count, shape and dtype."""
    arrays = list(arrays)
    if len(arrays) != len(reference):
        raise ValueError(f"{what}: expected {len(reference)} arrays, got {len(arrays)}")
    out = []
    for i, (a, r) in enumerate(zip(arrays, reference)):
        a = np.asarray(a)
        if tuple(a.shape) != tuple(r.shape):
            raise ValueError(f"{what}[{i}] has shape {tuple(a.shape)}, expected "
                             f"{tuple(r.shape)}")
        if a.dtype != r.dtype:
            raise TypeError(f"{what}[{i}] has dtype {a.dtype}, expected {r.dtype}")
        out.append(a)
    return out
