"""Input validation for the torch twin: clear errors instead of broadcasting tracebacks.

Every public entry point validates *before* it touches any state, so a call that
fails leaves the model and the optimizer exactly as they were. Rules both twins share
(batch size, SGD arguments) live in ``core.checks``.

Accepts tensors (detached) or anything ``np.asarray`` takes (NumPy arrays, read-only ones
too, lists). On an accelerator the finiteness and label range checks read one value back
to the host.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from core.checks import (
    byte_span,
    check_tensor_data,
    check_X_shape,
    check_y_shape,
    dtype_name,
    early_X,
    early_y,
    overlaps_itself,
    refuse_non_finite,
)
from core.spec import check_activations


def _convert(a, name: str, early=None) -> torch.Tensor:
    """``a`` as a tensor; ``None``, ragged nesting, strings: a ``TypeError`` naming ``a``.
    Lists go through NumPy, as in the NumPy twin: ``torch.as_tensor`` would make Python
    floats float32 (torch's default dtype) and lose digits before a float64 model sees them.
    A tensor is detached, its negative or conjugate bit resolved, cloned if made under
    ``inference_mode``; one on the ``meta`` device or sparse is refused
    (``core.checks.check_tensor_data``). NumPy's longdouble, which torch lacks, becomes
    float64. ``early(a)``, on the tensor or the array, runs before anything is copied."""
    if a is None:
        raise TypeError(f"{name} must be an array, got None")
    if isinstance(a, torch.Tensor):
        return check_tensor_data(a, name, early)  # early(a) before resolving or cloning
    try:
        a = np.asarray(a)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{name} must be a rectangular array of numbers ({e})") from None
    if early is not None:
        early(a)  # before any copy
    try:
        if a.dtype.kind == "f" and a.dtype.itemsize > 8:
            with np.errstate(over="ignore"):  # beyond float64: inf, refused by check_X
                a = a.astype(np.float64)
        return _from_numpy(a)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{name} must be a rectangular array of numbers ({e})") from None


def check_X(X, n_features: int, dtype, device, layer_sizes=None) -> torch.Tensor:
    """A 2-D, finite, non-empty batch of ``n_features`` columns, as ``dtype`` on ``device``;
    with ``layer_sizes``, at most ``MAX_ACTIVATION_BYTES`` of activations at ``dtype``
    (checked on the shape, before ``X`` is converted or copied)."""
    X = _convert(X, "X", early_X(n_features, dtype, layer_sizes))
    if X.dtype.is_complex or X.dtype == torch.bool:
        raise TypeError(f"X must hold real numbers, got dtype {dtype_name(X)}")
    check_X_shape(tuple(X.shape), n_features)
    if layer_sizes is not None:
        check_activations(X.shape[0], layer_sizes, dtype)
    X = X.to(device=device, dtype=dtype)
    # min and max propagate NaN and expose +-inf: one fused pass, ~10x cheaper on the CPU
    # than isfinite(X).all(), which builds a boolean tensor first
    lo, hi = torch.aminmax(X)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"X contains NaN or inf (as {str(X.dtype).removeprefix('torch.')})")
    return X


def check_y(y, n_samples: int, n_classes: int, device) -> torch.Tensor:
    """1-D integer class labels in ``[0, n_classes)``, one per sample, on ``device``."""
    y = _convert(y, "y", early_y(n_samples))
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got dtype {dtype_name(y)}")
    check_y_shape(tuple(y.shape), n_samples)
    y = y.to(device=device, dtype=torch.long)
    lo, hi = (int(v) for v in torch.aminmax(y))
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
        if isinstance(a, torch.Tensor):  # meta, sparse, nested, quantized: a TypeError
            check_tensor_data(a, f"{what}[{i}]")
        else:
            a = np.asarray(a)
        if tuple(a.shape) != tuple(r.shape):
            raise ValueError(f"{what}[{i}] has shape {tuple(a.shape)}, expected "
                             f"{tuple(r.shape)}")
        if not isinstance(a, torch.Tensor):  # the dtype before converting (torch has no
            if a.dtype != np.dtype(dtype_name(r)):  # longdouble), as the NumPy twin compares
                raise TypeError(f"{what}[{i}] has dtype {a.dtype}, expected {dtype_name(r)}")
            a = _from_numpy(a)
        if a.dtype != r.dtype:
            raise TypeError(f"{what}[{i}] has dtype {dtype_name(a)}, expected {dtype_name(r)}")
        out.append(a)
    return out


def check_params(params) -> list:
    """SGD's params: a non-empty list of distinct leaf float32 or float64 tensors of one dtype
    that require grad (no parameter groups), so that a step can update all of them or none."""
    if isinstance(params, (torch.Tensor, np.ndarray, dict, str, bytes)):
        raise TypeError(f"params must be a list of tensors, got a {type(params).__name__}")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of tensors, got {params!r}") from None
    if not params:
        raise ValueError("params: SGD got an empty parameter list")
    seen = {}
    for i, p in enumerate(params):
        if isinstance(p, dict):
            raise TypeError(f"params[{i}] is a dict: parameter groups are not supported")
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params[{i}] must be a torch tensor, got {type(p).__name__}")
        if p.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"params[{i}] has dtype {p.dtype}; SGD needs float32 or float64")
        if p.dtype != params[0].dtype:
            raise TypeError(f"params mix dtypes: params[0] is {params[0].dtype}, "
                            f"params[{i}] is {p.dtype}")
        if id(p) in seen:
            raise ValueError(f"params[{i}] is params[{seen[id(p)]}]: each param may appear once")
        seen[id(p)] = i
        if not (p.requires_grad and p.is_leaf):
            raise ValueError(f"params[{i}] is read-only: not a leaf tensor that requires grad")
    return params


def check_out(out, params) -> list:
    """Gradient storage ``out``: like ``params``, tensors that share no memory with them and
    do not require grad (they are written in place)."""
    if out is None or isinstance(out, (torch.Tensor, np.ndarray, dict, str)):
        raise TypeError(f"out must be a list of tensors, got {type(out).__name__}")
    for i, o in enumerate(out := list(out)):
        if not isinstance(o, torch.Tensor):
            raise TypeError(f"out[{i}] must be a torch tensor, got {type(o).__name__}")
    out = check_like(out, params, "out")
    storages = {p.untyped_storage().data_ptr() for p in params}
    spans: list = []  # each out's bytes, byte_span
    for i, o in enumerate(out):
        if o.untyped_storage().data_ptr() in storages:
            raise ValueError(f"out[{i}] shares memory with the params: the gradients would "
                             f"overwrite the weights")
        if o.requires_grad:
            raise ValueError(f"out[{i}] is read-only: it requires grad")
        if overlaps_itself(o.shape, o.stride()):
            raise ValueError(f"out[{i}] is read-only: its elements may overlap in memory (an "
                             f"expanded or strided view)")
        spans.append(byte_span(o.data_ptr(), o.shape, [st * o.element_size()
                                                       for st in o.stride()], o.element_size()))
        for j in range(i):  # the bounds test np.may_share_memory makes in the NumPy twin
            if spans[j][0] < spans[i][1] and spans[i][0] < spans[j][1]:
                raise ValueError(f"out[{i}] shares memory with out[{j}]: one gradient would "
                                 f"overwrite the other")
    return out


def check_finite(t, i: int, who: str, why: str = "") -> None:
    """``who[i]`` (a tensor) must hold no NaN or inf (``core.checks.refuse_non_finite``)."""
    # min and max propagate NaN and expose +-inf: one pass, as check_X does
    lo, hi = torch.aminmax(t.detach())
    if not (torch.isfinite(lo) and torch.isfinite(hi)):
        refuse_non_finite(i, t.numel() - int(torch.isfinite(t).sum()), who, why)


def check_device(device) -> torch.device:
    """A ``torch.device`` or its name, of a device this machine has."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'cpu', got {device!r}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {device!r} is not a torch device name") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r}: the twin runs on 'cpu' or 'cuda'")
    return dev


# ----------------------------------------------- only in this twin: NumPy arrays as tensors
def _from_numpy(a: np.ndarray) -> torch.Tensor:
    """``torch.as_tensor(a)``, sharing memory where torch can: a read-only array is copied
    (torch would warn that it cannot be read-only, and share it anyway), and so is one with
    a negative stride (torch refuses it; ``X[::-1]`` is fine in the NumPy twin) or in the
    other byte order (``'>f4'``: torch has no big-endian tensors, the NumPy twin reads them)."""
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    elif not a.flags.writeable or any(s < 0 for s in a.strides):
        a = np.array(a)
    return torch.as_tensor(a)
