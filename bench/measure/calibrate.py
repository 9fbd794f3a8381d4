"""Once-per-run calibration: the machine's GEMM rate and copy bandwidth, per library.

``calibrate(dtypes, threads, devices)`` returns ``{"gemm": [...], "copy_gbps": [...]}`` as
described in ``runfile/schema.py``. The report divides achieved GFLOP/s by the best GEMM
rate of the same library, device, dtype, threads and variant: an *efficiency*, comparable
across machines.

* GEMM rows (``gflops``): ``C = A @ B`` for a square of side ``SQUARE`` and for
  ``STEP_SHAPES``, the shapes of a training step's own products (784-2048-10 at batch 256:
  both layers' forward and weight gradient, and the second layer's input gradient;
  ``core.flops.step_gemm_shapes``), per library (NumPy, torch on each device), dtype and
  thread count;
* copy rows (``gbps``, read + write counted): a ``dst[...] = src`` of ``COPY_BYTES``, NumPy
  on the CPU and torch on each device, per thread count.

Each figure is the ``BEST`` (fastest) of ``REPEATS`` repeats: the peak the machine reaches,
not its typical speed. On CUDA the square's side is ``CUDA_SQUARE``; each figure is timed
by ``cuda_seconds``: about ``CUDA_BATCH_S`` of back-to-back calls (at most
``CUDA_MAX_CALLS``) between CUDA events (``bench.measure.timing.event_seconds``), the copy
likewise; the GEMMs run once per entry of ``CUDA_VARIANTS``, TF32 off and on (rows with
``variant: "tf32"``: the ceiling of ``torch-cuda-tf32``). An accelerator's GEMM rate is
measured once, at the most threads; its copy, like every CPU figure, at each thread count.

Why these values: docs/methodology.md, 'The calibration'.
"""

from __future__ import annotations

import math

import numpy as np

from bench.measure.kernels import gemm_numpy, gemm_torch
from bench.measure.precision import tf32
from bench.measure.timing import device_sync, event_seconds, once, seconds, synced
from core.flops import step_gemm_shapes
from core.threads import pinned

SQUARE = 1024  # side of the square GEMM on the CPU
CUDA_SQUARE = 8192  # side of the square GEMM on CUDA
STEP_SHAPES = step_gemm_shapes((784, 2048, 10), 256)  # (m, k, n) of each product
COPY_BYTES = 64 * 2**20  # bytes of the copied array (64 MiB)
REPEATS = 5  # timed repeats per figure
BEST = min  # each figure is the fastest repeat: the peak the machine reaches
CUDA_BATCH_S = 0.05  # seconds of back-to-back calls per CUDA figure
CUDA_MAX_CALLS = 1000  # most back-to-back calls in one CUDA timing
CUDA_VARIANTS = ((None, False), ("tf32", True))  # (row variant, TF32 on)


def cuda_seconds(fn, sync) -> float:
    """Seconds per call of a CUDA kernel, from batches of back-to-back calls."""
    est = min(once(synced(fn, sync)) for _ in range(2))
    calls = max(1, min(CUDA_MAX_CALLS, math.ceil(CUDA_BATCH_S / est)))
    return event_seconds(fn, calls, REPEATS, BEST)


def _gemm_row(lib, device, dtype, t, m, k, n, secs, variant=None):
    return {"lib": lib, "device": device, "dtype": dtype, "threads": t, "m": m, "k": k,
            "n": n, "variant": variant, "gflops": 2 * m * k * n / secs / 1e9}


def _cuda_gemm(device, dtypes, t) -> list:
    rows = []
    for variant, on in CUDA_VARIANTS:
        with tf32(on):
            for dtype in dtypes:
                for m, k, n in [(CUDA_SQUARE,) * 3, *STEP_SHAPES]:
                    secs = cuda_seconds(*gemm_torch(m, k, n, dtype, device))
                    rows.append(_gemm_row("torch", device, dtype, t, m, k, n, secs, variant))
    return rows


def calibrate(dtypes, threads, devices=("cpu",)) -> dict:
    """``{"gemm": [...], "copy_gbps": [...]}`` as described in ``runfile/schema.py``."""
    import torch

    gemm, copy = [], []
    shapes = [(SQUARE, SQUARE, SQUARE), *STEP_SHAPES]
    accelerators = [d for d in devices if d != "cpu"]
    for t in threads:
        with pinned(t):
            for dtype in dtypes:
                for m, k, n in shapes:
                    probes = [("numpy", "cpu", *gemm_numpy(m, k, n, dtype))]
                    if "cpu" in devices:
                        probes.append(("torch", "cpu", *gemm_torch(m, k, n, dtype, "cpu")))
                    for lib, device, fn, sync in probes:
                        secs = seconds(fn, REPEATS, BEST, sync)
                        gemm.append(_gemm_row(lib, device, dtype, t, m, k, n, secs))
            if t == max(threads):  # an accelerator's rate does not depend on host threads
                for d in accelerators:
                    gemm += _cuda_gemm(d, dtypes, t)
            src = np.ones(COPY_BYTES // 8)
            dst = np.empty_like(src)
            secs = seconds(lambda: np.copyto(dst, src), REPEATS, BEST)  # noqa: B023 (called at once)
            copy.append({"lib": "numpy", "device": "cpu", "threads": t,
                         "gbps": 2 * COPY_BYTES / secs / 1e9})  # read + write
            for d in devices:
                tsrc = torch.ones(COPY_BYTES // 8, dtype=torch.float64, device=d)
                tdst = torch.empty_like(tsrc)
                fn = lambda: tdst.copy_(tsrc)  # noqa: B023, E731 (called at once)
                secs = (seconds(fn, REPEATS, BEST) if d == "cpu"
                        else cuda_seconds(fn, device_sync(d)))
                copy.append({"lib": "torch", "device": d, "threads": t,
                             "gbps": 2 * COPY_BYTES / secs / 1e9})
    return {"gemm": gemm, "copy_gbps": copy}
