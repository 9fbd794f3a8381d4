"""The interleaved probe (bench/quiet/probe.py): pairing, rounds budget and the probe kernels."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from bench.measure.pb_options import Budget
from bench.quiet import probe as pr

ROUND_S, PROBE_S = 0.002, 0.001  # a fake round and probe: relative = 2


BUDGET = Budget(min_rounds=5, max_time=0.05)


class FakeBenchmark:
    """Just enough of pytest-benchmark's fixture: pedantic() with setup, raw data kept."""

    def __init__(self, disabled=False):
        self.disabled = disabled
        self.calls = []

    def pedantic(self, fn, setup=None, rounds=1, iterations=1, warmup_rounds=0):
        assert iterations == 1
        data = []
        for i in range(warmup_rounds + rounds):
            self.calls.append("setup")
            setup()
            self.calls.append("round")
            t0 = time.perf_counter()
            fn()
            if i >= warmup_rounds:
                data.append(time.perf_counter() - t0)
        self.stats = SimpleNamespace(stats=SimpleNamespace(data=data))
        self.rounds = rounds


def _sleeper(seconds):
    return lambda: time.sleep(seconds)


def test_every_timed_round_is_paired_with_the_probe_just_before_it():
    bench = FakeBenchmark()
    got = pr.timed(bench, _sleeper(ROUND_S), _sleeper(PROBE_S), BUDGET)
    assert len(got["probe_data"]) == len(bench.stats.stats.data) == bench.rounds
    assert bench.calls[::2] == ["setup"] * (bench.rounds + 1)  # probe, round, probe, round...
    assert got["relative"] == pytest.approx(ROUND_S / PROBE_S, rel=0.5)  # sleep is coarse
    assert all(p >= PROBE_S for p in got["probe_data"])


def test_rounds_fit_the_time_budget_with_the_probe_counted():
    bench = FakeBenchmark()
    pr.timed(bench, _sleeper(ROUND_S), _sleeper(PROBE_S), Budget(min_rounds=2, max_time=0.06))
    assert 2 <= bench.rounds <= 0.06 / (ROUND_S + (1 + pr.PROBE_TIMED) * PROBE_S) + 1
    bench = FakeBenchmark()
    pr.timed(bench, _sleeper(ROUND_S), _sleeper(PROBE_S), Budget(min_rounds=7, max_time=0.0))
    assert bench.rounds == 7


def test_the_probe_is_timed_warm_so_what_the_round_evicted_does_not_count():
    """A probe slow on its first call after a round (operands evicted) is timed warm: one
    untimed call, then the fastest of PROBE_TIMED; a cold probe read 1.2-1.7x here."""
    COLD_S = 0.01
    state = {"cold": True}

    def round_():
        time.sleep(ROUND_S)
        state["cold"] = True  # the round evicts the probe's operands

    def probe():
        time.sleep(COLD_S if state["cold"] else PROBE_S)
        state["cold"] = False

    bench = FakeBenchmark()
    got = pr.timed(bench, round_, probe, Budget(min_rounds=5, max_time=0.0))
    assert len(got["probe_data"]) == 5
    assert all(PROBE_S <= p < COLD_S for p in got["probe_data"]), got["probe_data"]
    calls = []
    assert pr.probe_seconds(lambda: calls.append(time.perf_counter())) >= 0
    assert len(calls) == 1 + pr.PROBE_TIMED


def test_disabled_benchmark_runs_probe_and_round_once_and_records_nothing():
    calls = []
    bench = FakeBenchmark(disabled=True)
    got = pr.timed(bench, lambda: calls.append("round"), lambda: calls.append("probe"), BUDGET)
    assert got == {} and calls == ["probe", "round"]


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_gemm_probe_is_shaped_like_the_first_layer_and_capped(lib):
    probe = pr.gemm_probe(lib, "cpu", "float32", 8, (784, 4096, 10))
    out = probe()
    out = out.numpy() if hasattr(out, "numpy") else out
    assert out.shape == (8, pr.PROBE_MAX_WIDTH) and np.isfinite(out).all()
    small = pr.gemm_probe(lib, "cpu", "float64", 4, (20, 16, 3))()
    assert tuple(small.shape) == (4, 16)


def test_small_gemm_probes_repeat_up_to_the_floor_and_big_ones_run_once(monkeypatch):
    assert pr.gemm_repeats(32, 784, 512) == 1  # the floor itself
    assert pr.gemm_repeats(256, 784, 512) == 1
    assert pr.gemm_repeats(256, 784, 16) == 4  # 6.4 MFLOP up to 25.7
    assert pr.gemm_repeats(32, 784, 16) == 32
    calls = []
    real = pr.gemm_numpy

    def counting(*args):
        call, sync = real(*args)
        return (lambda: calls.append(1) or call()), sync

    monkeypatch.setattr(pr, "gemm_numpy", counting)
    out = pr.gemm_probe("numpy", "cpu", "float32", 256, (784, 16, 10))()
    assert out.shape == (256, 16) and len(calls) == 4
