"""Thread pinning (core/threads.py), shared by the benchmarks and the chapter."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from core import threads


def test_both_pools_are_pinned_read_back_and_torch_restored():
    before = torch.get_num_threads()
    with threads.pinned(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
        assert threads.blas_threads() and all(t == 1 for t in threads.blas_threads())
    assert torch.get_num_threads() == before


def test_a_pool_that_reads_back_another_count_is_an_error(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "blas_threads", lambda: [1, 3])
    with pytest.raises(threads.ThreadPinError, match=r"read back BLAS \[1, 3\]"):
        with threads.pinned(1):
            pass
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(("n", "error", "message"), [(0, ValueError, "at least 1, got 0"),
                                                      ("2", TypeError, "an integer, got '2'"),
                                                      (1.5, TypeError, "an integer, got 1.5")])
def test_bad_thread_counts_are_refused_by_name(n, error, message):
    with pytest.raises(error, match=message):
        with threads.pinned(n):
            pass


def test_core_pins_without_importing_torch():
    code = ("import sys; from core.threads import pinned\n"
            "with pinned(1): pass\n"
            "assert 'torch' not in sys.modules, 'core.threads imported torch'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_pool_when_asked():
    """``user_api=None`` (the chapter's runs) limits every pool threadpoolctl sees, OpenMP
    included; the default limits only the BLAS pools."""
    import sklearn.datasets  # noqa: F401  (loads scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_info

    assert any(p["user_api"] == "openmp" for p in threadpool_info())
    with threads.pinned(1, user_api=None):
        assert {p["num_threads"] for p in threadpool_info()} == {1}
