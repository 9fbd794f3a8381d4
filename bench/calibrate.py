"""Once-per-run calibration: the machine's GEMM rate and copy bandwidth, per library.

The GEMM probe times ``C = A @ B`` for a square shape and for the shapes of a training
step's own products (784-2048-10 at batch 256: both layers' forward and weight gradient,
and the second layer's input gradient; ``core.flops.step_gemm_shapes``),
per library (NumPy, torch on each device), dtype and thread count; the copy probe times a
large ``dst[...] = src``. Each figure is the best of several repeats (peak, not typical).
The report divides achieved GFLOP/s by the best GEMM rate of the same library, device,
dtype and threads: an *efficiency*, comparable across machines.
"""

from __future__ import annotations

import numpy as np

from core.flops import step_gemm_shapes
from core.threads import pinned

from .kernels import gemm_numpy, gemm_torch
from .timing import device_sync, seconds

SQUARE = 1024
STEP_SHAPES = step_gemm_shapes((784, 2048, 10), 256)  # (m, k, n) of each product
COPY_BYTES = 64 * 2**20
REPEATS = 5
BEST = min  # each figure is the fastest repeat: the peak the machine reaches


def calibrate(dtypes, threads, devices=("cpu",)) -> dict:
    """``{"gemm": [...], "copy_gbps": [...]}`` as described in ``bench/schema.py``."""
    import torch

    gemm, copy = [], []
    shapes = [(SQUARE, SQUARE, SQUARE), *STEP_SHAPES]
    for t in threads:
        with pinned(t):
            for dtype in dtypes:
                for m, k, n in shapes:
                    probes = [("numpy", "cpu", *gemm_numpy(m, k, n, dtype))]
                    probes += [("torch", d, *gemm_torch(m, k, n, dtype, d)) for d in devices]
                    for lib, device, fn, sync in probes:
                        secs = seconds(fn, REPEATS, BEST, sync)
                        gemm.append({"lib": lib, "device": device, "dtype": dtype,
                                     "threads": t, "m": m, "k": k, "n": n,
                                     "gflops": 2 * m * k * n / secs / 1e9})
            src = np.ones(COPY_BYTES // 8)
            dst = np.empty_like(src)
            secs = seconds(lambda: np.copyto(dst, src), REPEATS, BEST)  # noqa: B023 (called at once)
            copy.append({"lib": "numpy", "device": "cpu", "threads": t,
                         "gbps": 2 * COPY_BYTES / secs / 1e9})  # read + write
            for d in devices:
                tsrc = torch.ones(COPY_BYTES // 8, dtype=torch.float64, device=d)
                tdst = torch.empty_like(tsrc)
                secs = seconds(lambda: tdst.copy_(tsrc), REPEATS, BEST,  # noqa: B023 (called at once)
                               device_sync(d))
                copy.append({"lib": "torch", "device": d, "threads": t,
                             "gbps": 2 * COPY_BYTES / secs / 1e9})
    return {"gemm": gemm, "copy_gbps": copy}
