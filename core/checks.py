"""Validation rules both twins share, so that they accept and refuse exactly the same
arguments with the same messages. NumPy and stdlib only: each twin checks its own arrays or
tensors (``impl_numpy.checks``, ``impl_torch.checks``) and calls these for the rest.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_batch_size(batch_size) -> int:
    """A positive int (NumPy ints too, never a bool)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return int(batch_size)


def check_sgd_args(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                   dtype="float64") -> None:
    """``torch.optim.SGD``'s own refusals, plus non-numbers and values that are not finite in
    the params' ``dtype`` (torch accepts NaN and trains to NaN; it accepts lr=1e300 over
    float32 and fails at the first step, where NumPy would overflow to inf)."""
    largest = float(np.finfo(dtype).max)
    for name, value in (("lr", lr), ("momentum", momentum), ("dampening", dampening),
                        ("weight_decay", weight_decay)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not (math.isfinite(value) and abs(value) <= largest):
            raise ValueError(f"Invalid {name} value: {name}={value} (must be finite in "
                             f"{np.dtype(dtype).name})")
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


def check_opt_params(opt_params, params) -> None:
    """An optimizer must update exactly ``params`` (the same objects, in order): otherwise a
    step would update another model with this one's gradients (NumPy twin) or do nothing
    (torch twin)."""
    if len(opt_params) != len(params) or any(a is not b for a, b in zip(opt_params, params)):
        raise ValueError("opt must be an SGD over this model's params")


def check_seed(seed, name="seed") -> int:
    """A non-negative int (NumPy ints too, never a bool): what ``default_rng`` takes."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be non-negative, got {seed}")
    return int(seed)


def check_positive_int(value, name: str) -> int:
    """A positive int (NumPy ints too, never a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def check_seconds(value, name: str) -> float:
    """A finite positive number of seconds (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
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
    if W > B:
        raise ValueError(f"world_size={W} exceeds max_batch={B}: every worker needs at "
                         f"least one sample")
    if threads is not None:
        check_positive_int(threads, threads_name)
    check_seconds(timeout, "timeout")
    check_seconds(start_timeout, "start_timeout")
    if fault not in (None, "raise", "kill", "hang"):
        raise ValueError(f"_fault must be None, 'raise', 'kill' or 'hang', got {fault!r}")
