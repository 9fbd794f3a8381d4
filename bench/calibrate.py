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

import time

import numpy as np

from core.flops import step_gemm_shapes

from .threads import pinned

SQUARE = 1024
STEP_SHAPES = step_gemm_shapes((784, 2048, 10), 256)  # (m, k, n) of each product
COPY_BYTES = 64 * 2**20
REPEATS = 5


def _best(fn, repeats=REPEATS, sync=lambda: None):
    fn()
    sync()  # warm-up: page in, pick kernels, start threads
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


def _gemm_numpy(m, k, n, dtype):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    C = np.empty((m, n), dtype)
    return lambda: np.matmul(A, B, out=C), None


def _gemm_torch(m, k, n, dtype, device):
    import torch

    g = torch.Generator(device="cpu").manual_seed(0)
    td = getattr(torch, dtype)
    A = torch.randn(m, k, generator=g, dtype=td).to(device)
    B = torch.randn(k, n, generator=g, dtype=td).to(device)
    C = torch.empty(m, n, dtype=td, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    return lambda: torch.matmul(A, B, out=C), sync


def calibrate(dtypes, threads, devices=("cpu",)) -> dict:
    """``{"gemm": [...], "copy_gbps": [...]}`` as described in ``bench/schema.py``."""
    import torch

    gemm, copy = [], []
    shapes = [(SQUARE, SQUARE, SQUARE), *STEP_SHAPES]
    for t in threads:
        with pinned(t):
            for dtype in dtypes:
                for m, k, n in shapes:
                    probes = [("numpy", "cpu", *_gemm_numpy(m, k, n, dtype))]
                    probes += [("torch", d, *_gemm_torch(m, k, n, dtype, d)) for d in devices]
                    for lib, device, fn, sync in probes:
                        secs = _best(fn, sync=sync or (lambda: None))
                        gemm.append({"lib": lib, "device": device, "dtype": dtype,
                                     "threads": t, "m": m, "k": k, "n": n,
                                     "gflops": 2 * m * k * n / secs / 1e9})
            src = np.ones(COPY_BYTES // 8)
            dst = np.empty_like(src)
            secs = _best(lambda: np.copyto(dst, src))  # noqa: B023 (called at once)  # noqa: B023 (called at once)
            copy.append({"lib": "numpy", "device": "cpu", "threads": t,
                         "gbps": 2 * COPY_BYTES / secs / 1e9})  # read + write
            for d in devices:
                tsrc = torch.ones(COPY_BYTES // 8, dtype=torch.float64, device=d)
                tdst = torch.empty_like(tsrc)
                sync = torch.cuda.synchronize if d.startswith("cuda") else (lambda: None)
                secs = _best(lambda: tdst.copy_(tsrc), sync=sync)  # noqa: B023 (called at once)
                copy.append({"lib": "torch", "device": d, "threads": t,
                             "gbps": 2 * COPY_BYTES / secs / 1e9})
    return {"gemm": gemm, "copy_gbps": copy}
