"""Validation rules both twins share, so that they accept and refuse exactly the same
arguments with the same messages. NumPy and stdlib only: each twin checks its own arrays or
tensors (``impl_numpy.checks``, ``impl_torch.checks``) and calls these for the rest.
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from .spec import MAX_ACTIVATION_BYTES, MAX_DATA_BYTES, check_activations

# The largest size an index may hold: torch keeps sizes in int64 (a larger batch_size is
# "Overflow when unpacking long long" in a DataLoader, where NumPy would take it).
MAX_INDEX = 2**63 - 1


def _not_int(value) -> bool:
    """Not an int: a bool, a non-Integral, or a NumPy timedelta64 (NumPy registers it as an
    Integral; ``int()`` of one is a count of some time unit, never a size or a seed)."""
    return (isinstance(value, (bool, np.timedelta64))
            or not isinstance(value, numbers.Integral))


def check_batch_size(batch_size) -> int:
    """A positive int (NumPy ints too, never a bool), at most ``MAX_INDEX``; larger than the
    data is fine (one short batch, or none with ``drop_last``)."""
    if _not_int(batch_size):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if batch_size > MAX_INDEX:
        raise ValueError(f"batch_size = {int(batch_size):,} is more than the cap MAX_INDEX = "
                         f"2**63 - 1")
    return int(batch_size)


def is_tensor(a) -> bool:
    """Whether ``a`` is a torch tensor, without importing torch (if torch is not loaded,
    ``a`` cannot be one)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(a, torch.Tensor)


def check_tensor_data(a, name: str, early=None):
    """``a`` if it is not a torch tensor. A tensor given as data (``X``, ``y``) is read through
    ``.detach()``: the twins return the gradients of the params, never of the data, and a step
    must not write ``a.grad``. A tensor with nothing to read is a ``TypeError`` naming it: one
    on the ``meta`` device (no data), a sparse, nested or quantized one. Then ``early(a)``
    (checks on the shape and dtype alone), and only then what may copy: a tensor with the
    negative or conjugate bit (``torch._neg_view``, ``x.conj()``: NumPy cannot read them) is
    resolved, and one made under ``torch.inference_mode()`` is cloned (autograd cannot save
    it for the backward)."""
    if not is_tensor(a):
        return a
    if a.device.type == "meta":
        raise TypeError(f"{name} is a tensor on the 'meta' device, which holds no data")
    if a.is_nested or a.layout != sys.modules["torch"].strided:
        kind = "nested" if a.is_nested else str(a.layout).removeprefix("torch.")
        raise TypeError(f"{name} is a {kind} tensor; pass a dense one ({name}.to_dense())")
    if a.is_quantized:
        raise TypeError(f"{name} is a quantized tensor; pass {name}.dequantize()")
    if early is not None:
        early(a)
    a = a.detach()
    if a.is_neg() or a.is_conj():
        a = a.resolve_conj().resolve_neg()
    return a.clone() if a.is_inference() else a


def dtype_kind(a) -> str:
    """NumPy's ``dtype.kind`` of an array or a tensor: ``"f"``, ``"i"``, ``"u"``, ``"b"``, ``"c"``,
    or another kind for strings and objects (NumPy only)."""
    if not is_tensor(a):
        return a.dtype.kind
    t = a.dtype
    if t.is_complex:
        return "c"
    if t.is_floating_point:
        return "f"
    if t == sys.modules["torch"].bool:
        return "b"
    return "u" if str(t).startswith("torch.uint") else "i"


def dtype_name(a) -> str:
    """``float32``, ``uint64``, ``<U3``, ...: an array's or a tensor's dtype, as NumPy names it."""
    return str(a.dtype).removeprefix("torch.")


def check_data(a, name: str) -> None:
    """Data for a loader (``batches``, both twins, before anything is copied): numbers (bool,
    int, unsigned or float: a ``TypeError`` for strings, objects, dates or complex numbers)
    whose logical size (a broadcast array counts every row it shows) plus an int64 index per
    sample stays within ``MAX_DATA_BYTES``."""
    if dtype_kind(a) not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {dtype_name(a)}")
    shape = tuple(int(n) for n in a.shape)
    itemsize = a.element_size() if is_tensor(a) else a.itemsize
    size = math.prod(shape) * itemsize + (8 * shape[0] if shape else 0)
    if size > MAX_DATA_BYTES:
        raise ValueError(f"{name}: {shape} of {dtype_name(a)} and its order take {size:,} "
                         f"bytes, more than the cap MAX_DATA_BYTES = {MAX_DATA_BYTES:,}; "
                         f"pass the data in parts")


def check_X_shape(shape, n_features: int) -> None:
    """The shape rules of a batch X, one message each in both twins: 2-D, at least one
    sample, ``n_features`` columns."""
    if len(shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {tuple(shape)}")
    if shape[0] == 0:
        raise ValueError("X is an empty batch (0 samples)")
    if shape[1] != n_features:
        raise ValueError(f"X has {shape[1]} features but the network expects {n_features}")


def check_y_shape(shape, n_samples: int) -> None:
    """The shape rules of labels y, both twins: 1-D, one label per sample of X."""
    if len(shape) != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {tuple(shape)}")
    if shape[0] != n_samples:
        raise ValueError(f"len(y) = {shape[0]} does not match len(X) = {n_samples}")


def early_X(n_features: int, dtype, layer_sizes=None):
    """``check_X``'s shape rules and activation cap (``core.spec.check_activations``) as an
    ``early`` check, run on X's shape before X is copied or converted: a broadcast view of
    2**40 rows or columns is refused on its shape, never copied. Only for real numbers (the
    kind is checked first, after conversion), so that a bad X gets the same error in both
    twins whatever its size."""
    def early(a):
        if dtype_kind(a) in "fiu":
            check_X_shape(tuple(a.shape), n_features)
            if layer_sizes is not None:
                check_activations(a.shape[0], layer_sizes, dtype)
    return early


def early_y(n_samples: int):
    """``check_y``'s shape rules as an ``early`` check on integer labels, before any copy."""
    def early(a):
        if dtype_kind(a) in "iu":
            check_y_shape(tuple(a.shape), n_samples)
    return early


NOT_SAVED = "; load would refuse the checkpoint: nothing written"  # save's reason, both twins


def refuse_non_finite(i: int, bad: int, who: str = "params", why: str = "") -> None:
    """The one message for a param holding ``bad`` NaN or inf values, in both twins:
    ``params[2] (W2) holds 3 non-finite values (NaN or inf)``, then ``why``."""
    raise ValueError(f"{who}[{i}] ({'Wb'[i % 2]}{i // 2 + 1}) holds {bad:,} non-finite "
                     f"value{'s' * (bad != 1)} (NaN or inf){why}")


def overlaps_itself(shape, strides) -> bool:
    """Whether a view of ``shape`` and ``strides`` (in any unit) reaches one memory location
    through two indices (an expanded or crafted view): writing into it would lose values.
    Sorted by |stride|, each dimension must step past everything the smaller ones span; an
    interleaved layout that fails this without overlapping is refused too (none is written
    by torch or NumPy)."""
    dims = sorted((abs(int(st)), int(n)) for n, st in zip(shape, strides) if int(n) > 1)
    if any(int(n) == 0 for n in shape):
        return False
    span = 0  # the furthest offset the dimensions so far reach, plus one step
    for st, n in dims:
        if st == 0 or st <= span:
            return True
        span = max(span, st * (n - 1))
    return False


def byte_span(start: int, shape, strides, itemsize: int) -> tuple[int, int]:
    """The bytes ``[lo, hi)`` a view starting at address ``start`` can reach (``strides`` in
    bytes, any sign); empty for a view with no element. Two views whose spans do not meet
    share no memory (what ``np.may_share_memory`` tests)."""
    if any(int(n) == 0 for n in shape):
        return start, start
    lo = hi = start
    for n, st in zip(shape, strides):
        reach = (int(n) - 1) * int(st)
        lo, hi = (lo + reach, hi) if reach < 0 else (lo, hi + reach)
    return lo, hi + itemsize


def _real(value, name: str, dtype) -> float:
    """``value`` (a real number: int, float, NumPy scalar of any width, Fraction) as a Python
    float, finite in ``dtype``. Converted before it is compared: a NumPy float16 or float32
    compared with a float64 bound overflows, with a RuntimeWarning."""
    if isinstance(value, (bool, np.timedelta64)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # np.longdouble beyond float64
            f = float(value)
    except OverflowError:  # an int or a Fraction beyond float64: never printed in full
        f = math.inf if value > 0 else -math.inf
    if not (math.isfinite(f) and abs(f) <= float(np.finfo(dtype).max)):
        raise ValueError(f"Invalid {name} value: {name}={f:g} (must be finite in "
                         f"{np.dtype(dtype).name})")
    return f


def check_sgd_args(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                   dtype="float64") -> tuple:
    """``torch.optim.SGD``'s own refusals, plus non-numbers and values that are not finite in
    the params' ``dtype`` (torch accepts NaN and trains to NaN; it accepts lr=1e300 over
    float32 and fails at the first step, where NumPy would overflow to inf). Returns
    ``(lr, momentum, dampening, weight_decay)`` as Python floats, what both twins store: a
    NumPy scalar kept as it is would set the dtype of the NumPy twin's update (a float64
    ``weight_decay`` makes float64 momentum buffers for float32 params)."""
    lr, momentum, dampening, weight_decay = (
        _real(value, name, dtype) for name, value in (
            ("lr", lr), ("momentum", momentum), ("dampening", dampening),
            ("weight_decay", weight_decay)))
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: lr={lr}")
    if momentum < 0.0:
        raise ValueError(f"Invalid momentum value: momentum={momentum}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: weight_decay={weight_decay}")
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum (nesterov=True) requires a momentum and zero dampening")
    return lr, momentum, dampening, weight_decay


def check_opt_params(opt_params, params) -> None:
    """An optimizer must update exactly ``params`` (the same objects, in order): otherwise a
    step would update another model with this one's gradients (NumPy twin) or do nothing
    (torch twin)."""
    if len(opt_params) != len(params) or any(a is not b for a, b in zip(opt_params, params)):
        raise ValueError("opt must be an SGD over this model's params")


def check_seed(seed, name="seed") -> int:
    """A non-negative int (NumPy ints too, never a bool): what ``default_rng`` takes."""
    if _not_int(seed):
        raise TypeError(f"{name} must be an int, got {seed!r}")
    if not 0 <= seed <= MAX_INDEX:  # torch keeps a seed in int64, NumPy takes any size
        raise ValueError(f"{name} must be in 0..2**63 - 1, got {seed}")
    return int(seed)


def check_positive_int(value, name: str) -> int:
    """A positive int (NumPy ints too, never a bool)."""
    if _not_int(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def check_seconds(value, name: str) -> float:
    """A finite positive number of seconds (never a bool)."""
    if isinstance(value, (bool, np.timedelta64)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite positive number of seconds, got {value}")
    return float(value)


def check_pool_args(world_size, max_batch, threads=None, timeout=60.0, start_timeout=60.0,
                    fault=None, threads_name="threads_per_worker") -> None:
    """A data-parallel pool's arguments, all checked before any process starts: positive
    ints (never a bool), ``world_size <= max_batch`` (every worker needs a sample of the
    largest batch), threads ``None`` (the default) or positive, finite positive timeouts;
    ``fault`` is test-only."""
    W = check_positive_int(world_size, "world_size")
    B = check_positive_int(max_batch, "max_batch")
    if B > MAX_ACTIVATION_BYTES // 8:  # no network of two widths could take such a batch
        raise ValueError(f"max_batch = {B:,} is more than the cap MAX_ACTIVATION_BYTES // 8 = "
                         f"{MAX_ACTIVATION_BYTES // 8:,} (it sizes the shared memory)")
    if W > B:
        raise ValueError(f"world_size={W} exceeds max_batch={B}: every worker needs at "
                         f"least one sample")
    if threads is not None:
        check_positive_int(threads, threads_name)
    check_seconds(timeout, "timeout")
    check_seconds(start_timeout, "start_timeout")
    if fault not in (None, "raise", "kill", "hang"):
        raise ValueError(f"_fault must be None, 'raise', 'kill' or 'hang', got {fault!r}")

