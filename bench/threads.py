"""Pin NumPy's BLAS pool and torch's intra-op pool to the same thread count, and prove it.

They are two different pools (OpenBLAS in NumPy's wheels, MKL/oneDNN + OpenMP in torch's).
``pinned(n)`` sets both, reads both back, and raises if either disagrees: a benchmark that
compares them at different thread counts would be measuring the wrong thing.
"""

from __future__ import annotations

import contextlib
import os

from threadpoolctl import threadpool_info, threadpool_limits


def cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def blas_threads() -> list:
    """Thread counts of every BLAS pool loaded in this process (NumPy's, torch's if any)."""
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


class ThreadPinError(RuntimeError):
    pass


@contextlib.contextmanager
def pinned(n: int, torch_too: bool = True):
    """Within the block, BLAS pools and (if loaded) torch use exactly ``n`` threads."""
    torch = None
    if torch_too:
        import torch
    before = torch.get_num_threads() if torch else None
    with threadpool_limits(limits=n, user_api="blas"):
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
