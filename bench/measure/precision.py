"""The one place that sets and reads TF32 for float32 matmuls on CUDA.

torch has two APIs for it: the legacy ``torch.backends.cuda.matmul.allow_tf32`` and, since
torch 2.9, ``torch.backends.cuda.matmul.fp32_precision`` ("ieee", "tf32" or "none": defer to
the legacy flag). Reading one after the other was set can raise ("mix of the legacy and new
APIs"), which at the end of a run would lose its JSON. So this module writes with the new
API where it exists (the legacy one otherwise), restores exactly what it found, and its
readers never raise.

    with tf32(True):   # float32 matmuls on tensor cores in TF32 (10-bit mantissa)
        ...
"""

from __future__ import annotations

import contextlib


def _matmul():
    import torch

    return torch.backends.cuda.matmul


@contextlib.contextmanager
def tf32(on: bool):
    """TF32 for CUDA float32 matmuls on (``on``) or off, restored on exit, even on error."""
    m = _matmul()
    if hasattr(m, "fp32_precision"):
        before = m.fp32_precision
        m.fp32_precision = "tf32" if on else "ieee"
        try:
            yield
        finally:
            m.fp32_precision = before
    else:  # torch before 2.9
        before = m.allow_tf32
        m.allow_tf32 = bool(on)
        try:
            yield
        finally:
            m.allow_tf32 = before


def tf32_enabled() -> bool | None:
    """Whether CUDA float32 matmuls may use TF32 now; None where torch cannot say."""
    m = _matmul()
    try:
        mode = getattr(m, "fp32_precision", "none")
        return mode == "tf32" if mode != "none" else bool(m.allow_tf32)
    except RuntimeError:
        return None


def matmul_precision() -> str | None:
    """``torch.get_float32_matmul_precision()``; None where torch refuses to read it."""
    import torch

    try:
        return torch.get_float32_matmul_precision()
    except RuntimeError:
        return None
