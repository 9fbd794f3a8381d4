"""Input validation for the NumPy twin: clear errors instead of broadcasting tracebacks.

Every public entry point validates *before* it touches any state, so a call that
fails leaves the model and the optimizer exactly as they were. Rules both twins share
(batch size, SGD arguments) live in ``core.checks``.

Accepts arrays or anything ``np.asarray`` takes (lists, tensors: read on the host, detached).
Everything stays on the host; there is no device to read back from.
"""

from __future__ import annotations

import re

import numpy as np

from core.checks import (
    check_tensor_data,
    check_X_shape,
    check_y_shape,
    early_X,
    early_y,
    is_tensor,
    overlaps_itself,
    refuse_non_finite,
)
from core.spec import check_activations

_NUMPY_FLOATS = ("torch.float16", "torch.float32", "torch.float64")  # torch dtypes NumPy has


def _convert(a, name: str, early=None) -> np.ndarray:
    """``np.asarray(a)``; ``None``, ragged nesting and the like are a ``TypeError`` naming ``a``.
    A torch tensor (``core.checks.check_tensor_data``: detached, its negative or conjugate bit
    resolved; refused on the ``meta`` device or sparse) is read on the host, in float32 if
    NumPy has no such dtype (bfloat16, float8: exact in float32), as the torch twin reads it.
    ``early(a)``, on the tensor or the array, runs before anything is copied."""
    if a is None:
        raise TypeError(f"{name} must be an array, got None")
    tensor = is_tensor(a)
    a = check_tensor_data(a, name, early)  # early(a) on a tensor
    if tensor:
        a = a.cpu()
        if a.is_floating_point() and str(a.dtype) not in _NUMPY_FLOATS:
            a = a.float()
    try:
        a = np.asarray(a)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a rectangular array of numbers ({e})") from None
    if early is not None and not tensor:
        early(a)
    return a


def check_X(X, n_features: int, dtype, layer_sizes=None) -> np.ndarray:
    """A 2-D, finite, non-empty batch of ``n_features`` columns, as ``dtype`` on the host;
    with ``layer_sizes``, at most ``MAX_ACTIVATION_BYTES`` of activations at ``dtype``
    (checked on the shape, before ``X`` is converted or copied)."""
    X = _convert(X, "X", early_X(n_features, dtype, layer_sizes))
    if X.dtype.kind not in "fiu":
        raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
    check_X_shape(tuple(X.shape), n_features)
    if layer_sizes is not None:
        check_activations(X.shape[0], layer_sizes, np.dtype(dtype).name)
    with np.errstate(over="ignore"):  # beyond dtype's range: inf, refused below
        X = X.astype(dtype, copy=False)
    # min and max propagate NaN and expose +-inf (the same test as the torch twin's)
    if not (np.isfinite(X.min()) and np.isfinite(X.max())):
        raise ValueError(f"X contains NaN or inf (as {X.dtype.name})")
    return X


def check_y(y, n_samples: int, n_classes: int) -> np.ndarray:
    """1-D integer class labels in ``[0, n_classes)``, one per sample, on the host."""
    y = _convert(y, "y", early_y(n_samples))
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    check_y_shape(tuple(y.shape), n_samples)
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"y: labels must lie in [0, {n_classes}), got values in [{lo}, {hi}]")
    return y


def check_like(arrays, reference, what: str) -> list:
    """``arrays`` must match ``reference`` one-to-one in count, shape and dtype."""
    arrays = list(arrays)
    if len(arrays) != len(reference):
        raise ValueError(f"{what}: expected {len(reference)} arrays, got {len(arrays)}")
    out = []
    for i, (a, r) in enumerate(zip(arrays, reference)):
        a = _convert(a, f"{what}[{i}]") if is_tensor(a) else np.asarray(a)  # tensors detached
        if tuple(a.shape) != tuple(r.shape):
            raise ValueError(f"{what}[{i}] has shape {tuple(a.shape)}, expected "
                             f"{tuple(r.shape)}")
        if a.dtype != r.dtype:
            raise TypeError(f"{what}[{i}] has dtype {a.dtype}, expected {r.dtype}")
        out.append(a)
    return out


def check_params(params) -> list:
    """SGD's params: a non-empty list of distinct, writeable float32 or float64 arrays of one
    dtype (no parameter groups), so that a step can update all of them or none."""
    if isinstance(params, (np.ndarray, dict, str, bytes)):
        raise TypeError(f"params must be a list of arrays, got a {type(params).__name__}")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of arrays, got {params!r}") from None
    if not params:
        raise ValueError("params: SGD got an empty parameter list")
    seen = {}
    for i, p in enumerate(params):
        if isinstance(p, dict):
            raise TypeError(f"params[{i}] is a dict: parameter groups are not supported")
        if not isinstance(p, np.ndarray):
            raise TypeError(f"params[{i}] must be a NumPy array, got {type(p).__name__}")
        if p.dtype.name not in ("float32", "float64"):
            raise TypeError(f"params[{i}] has dtype {p.dtype}; SGD needs float32 or float64")
        if p.dtype != params[0].dtype:
            raise TypeError(f"params mix dtypes: params[0] is {params[0].dtype}, "
                            f"params[{i}] is {p.dtype}")
        if id(p) in seen:
            raise ValueError(f"params[{i}] is params[{seen[id(p)]}]: each param may appear once")
        seen[id(p)] = i
        if not p.flags.writeable:
            raise ValueError(f"params[{i}] is read-only: SGD updates params in place")
    return params


def check_out(out, params) -> list:
    """Gradient storage ``out``: like ``params``, writeable arrays sharing no memory with them."""
    if out is None or isinstance(out, (np.ndarray, dict, str)):
        raise TypeError(f"out must be a list of arrays, got {type(out).__name__}")
    for i, o in enumerate(out := list(out)):
        if not isinstance(o, np.ndarray):
            raise TypeError(f"out[{i}] must be a NumPy array, got {type(o).__name__}")
    out = check_like(out, params, "out")
    for i, o in enumerate(out):
        if any(np.may_share_memory(o, p) for p in params):
            raise ValueError(f"out[{i}] shares memory with the params: the gradients would "
                             f"overwrite the weights")
        if not o.flags.writeable:
            raise ValueError(f"out[{i}] is read-only")
        if overlaps_itself(o.shape, o.strides):
            raise ValueError(f"out[{i}] is read-only: its elements may overlap in memory (an "
                             f"expanded or strided view)")
        for j in range(i):
            if np.may_share_memory(o, out[j]):
                raise ValueError(f"out[{i}] shares memory with out[{j}]: one gradient would "
                                 f"overwrite the other")
    return out


def check_finite(a, i: int, who: str, why: str = "") -> None:
    """``who[i]`` (an array) must hold no NaN or inf (``core.checks.refuse_non_finite``)."""
    # min and max propagate NaN and expose +-inf: one pass, as check_X does
    if a.size and not (np.isfinite(a.min()) and np.isfinite(a.max())):
        refuse_non_finite(i, a.size - int(np.count_nonzero(np.isfinite(a))), who, why)


def check_device(device) -> str:
    """The NumPy twin computes on the host: ``"cpu"`` (or ``"cpu:N"``, a torch cpu device)."""
    kind = getattr(device, "type", device)  # a torch.device has .type
    if not isinstance(kind, str):
        raise TypeError(f"device must be a string such as 'cpu', got {device!r}")
    if not re.fullmatch(r"cpu(:\d+)?", str(device)):
        raise ValueError(f"device must be 'cpu' for the NumPy twin, got {device!r}")
    return "cpu"
