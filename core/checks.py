"""Validation rules both twins share, so that they accept and refuse exactly the same
arguments with the same messages. Framework-free: each twin checks its own arrays or
tensors (``impl_numpy.checks``, ``impl_torch.checks``) and calls these for the rest.
"""

from __future__ import annotations

import math
import numbers


def check_batch_size(batch_size) -> int:
    """A positive int (NumPy ints too, never a bool)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return int(batch_size)


def check_sgd_args(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) -> None:
    """``torch.optim.SGD``'s own refusals, plus non-numbers and non-finite values
    (which torch accepts and then trains to NaN)."""
    for name, value in (("lr", lr), ("momentum", momentum), ("dampening", dampening),
                        ("weight_decay", weight_decay)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"Invalid {name} value: {value}")
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if momentum < 0.0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")


def check_pool_args(world_size, max_batch, fault=None) -> None:
    """A data-parallel pool's sizes: positive ints (never a bool); ``fault`` is test-only."""
    for name, v in (("world_size", world_size), ("max_batch", max_batch)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if fault not in (None, "raise", "kill", "hang"):
        raise ValueError(f"_fault must be None, 'raise', 'kill' or 'hang', got {fault!r}")
