"""NumPy's BLAS pool and torch's intra-op pool pinned to one thread count, and read back.

They are two different pools (OpenBLAS in NumPy's wheels, MKL/oneDNN + OpenMP in torch's).
``pinned(n)`` sets both, reads both back, and raises ``ThreadPinError`` if either
disagrees: a comparison of the two at different thread counts measures the wrong thing.
Used by the benchmarks (``bench/``) and the chapter's training runs alike; the cores this
process may use are ``core.procs.available_cores()``.

NumPy, the standard library and threadpoolctl only: torch is pinned when it is already
imported (``sys.modules``), never imported here, so ``core`` loads where torch is absent.
A torch first imported inside the block is not pinned; the callers import it before.
"""

from __future__ import annotations

import contextlib
import operator
import sys

from threadpoolctl import threadpool_info, threadpool_limits


class ThreadPinError(RuntimeError):
    """A pool read back another thread count than the one asked for."""


def blas_threads() -> list:
    """Thread counts of every BLAS pool loaded in this process (NumPy's, torch's if any)."""
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


@contextlib.contextmanager
def pinned(n: int, user_api: str | None = "blas"):
    """Within the block, BLAS pools and (if imported) torch use exactly ``n`` threads;
    torch's count is restored after it (threadpoolctl restores the pools it limited).
    ``user_api=None`` limits every pool threadpoolctl sees, OpenMP ones included (the
    chapter's training runs); the benchmarks limit the BLAS pools, which they read back."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"thread count must be an integer, got {n!r}") from None
    if n < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    with threadpool_limits(limits=n, user_api=user_api):
        if torch:
            torch.set_num_threads(n)
        try:
            got_blas = blas_threads()
            got_torch = torch.get_num_threads() if torch else n
            if any(t != n for t in got_blas) or got_torch != n:
                raise ThreadPinError(f"asked for {n} threads, read back BLAS {got_blas}, "
                                     f"torch {got_torch}")
            yield n
        finally:
            if torch:
                torch.set_num_threads(before)
