"""The suite's one timing path: device sync and a timer of repeated calls.

* ``device_sync(device)``: what waits for a device's queued work, ``torch.cuda.synchronize``
  on CUDA (kernels run asynchronously: a call returns before its work is done), a no-op
  elsewhere (NumPy and torch on the CPU return when the work is done).
* ``synced(fn, sync)``: ``fn`` followed by ``sync``, so its time is the device's real time
  (``fn`` itself where ``sync`` is the no-op: nothing added to a CPU call).
* ``once(fn)``: seconds of one call, as is.
* ``seconds(fn, repeats, stat=...)``: warm up, then time ``repeats`` synchronised calls and
  reduce them with ``stat`` (``min``: the peak a machine can reach, for calibration;
  ``statistics.median``: the typical call, robust to one disturbed repeat).

pytest-benchmark times the benchmarks themselves; this module times what they need beside
them (calibration, GEMM breakdown, interleaved probes, an epoch's input pipeline).
"""

from __future__ import annotations

import time
from collections.abc import Callable


def no_sync() -> None:
    """Nothing to wait for: the host's own work is done when a call returns."""


def device_sync(device: str) -> Callable[[], None]:
    """``torch.cuda.synchronize`` for a CUDA device, else ``no_sync``."""
    if str(device).startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return no_sync


def synced(fn: Callable, sync: Callable[[], None] = no_sync) -> Callable:
    """``fn`` then ``sync``; ``fn`` itself when ``sync`` is ``no_sync``."""
    if sync is no_sync:
        return fn

    def call():
        out = fn()
        sync()
        return out

    return call


def once(fn: Callable) -> float:
    """Seconds of one call of ``fn`` (no warm-up, no sync: ``fn`` brings its own)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def seconds(fn: Callable, repeats: int, stat: Callable, sync: Callable[[], None] = no_sync,
            warmup: int = 1) -> float:
    """``stat`` of ``repeats`` timed calls of ``fn`` (each followed by ``sync``), after
    ``warmup`` untimed ones (page in, pick kernels, start thread pools)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    call = synced(fn, sync)
    for _ in range(warmup):
        call()
    return stat([once(call) for _ in range(repeats)])


def event_seconds(fn: Callable, calls: int, repeats: int, stat: Callable = min) -> float:
    """CUDA: seconds per call of ``fn``, run ``calls`` times back to back between two CUDA
    events (no host sync between calls, so each launch overlaps the previous call's work and
    the figure is the device's rate, not launch overhead); ``stat`` over ``repeats`` such
    batches, after one untimed batch."""
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def batch():
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / calls  # elapsed_time is in milliseconds

    batch()
    return stat([batch() for _ in range(repeats)])
