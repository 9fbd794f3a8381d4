"""Reference kernels whose cost our code cannot change: the yardsticks of calibration
(``bench/measure/calibrate.py``) and of the interleaved probes (``bench/quiet/probe.py``).

``gemm_numpy`` / ``gemm_torch`` build ``C = A @ B`` for ``(m x k) @ (k x n)`` with seeded
standard-normal operands and a preallocated output, and return ``(call, sync)``: the
product (written into ``C``, which it returns) and what waits for its device
(``bench.measure.timing.device_sync``). Building happens here, outside any timed region.
"""

from __future__ import annotations

import numpy as np

from bench.measure.timing import device_sync, no_sync


def gemm_numpy(m: int, k: int, n: int, dtype: str):
    """``(call, no_sync)``: ``np.matmul(A, B, out=C)``, A (m, k), B (k, n), C (m, n)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    C = np.empty((m, n), dtype)
    return lambda: np.matmul(A, B, out=C), no_sync


def gemm_torch(m: int, k: int, n: int, dtype: str, device: str):
    """``(call, sync)``: ``torch.matmul(A, B, out=C)`` on ``device``, same shapes."""
    import torch

    g = torch.Generator(device="cpu").manual_seed(0)
    td = getattr(torch, dtype)
    A = torch.randn(m, k, generator=g, dtype=td).to(device)
    B = torch.randn(k, n, generator=g, dtype=td).to(device)
    C = torch.empty(m, n, dtype=td, device=device)
    return lambda: torch.matmul(A, B, out=C), device_sync(device)
