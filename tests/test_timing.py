"""The one timing path (bench/measure/timing.py): warm-up, sync after every call, the statistic."""

from __future__ import annotations

import statistics

import pytest

from bench.measure import timing


class Clocked:
    """A call whose n-th timed duration is scripted by advancing a fake clock."""

    def __init__(self, monkeypatch, durations):
        self.now, self.durations, self.log = 0.0, list(durations), []
        monkeypatch.setattr(timing.time, "perf_counter", lambda: self.now)

    def fn(self):
        self.log.append("call")
        self.now += self.durations.pop(0)

    def sync(self):
        self.log.append("sync")


@pytest.mark.parametrize(("stat", "expected"), [(min, 1.0), (statistics.median, 3.0)])
def test_seconds_warms_up_then_reduces_the_timed_calls_with_stat(monkeypatch, stat, expected):
    c = Clocked(monkeypatch, [100.0, 5.0, 1.0, 3.0])  # the 100 s warm-up is not counted
    assert timing.seconds(c.fn, 3, stat, c.sync) == expected
    assert c.log == ["call", "sync"] * 4


def test_seconds_without_warmup_times_every_call(monkeypatch):
    c = Clocked(monkeypatch, [7.0, 9.0])
    assert timing.seconds(c.fn, 2, max, warmup=0) == 9.0
    assert c.log == ["call", "call"]


def test_seconds_refuses_zero_repeats():
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        timing.seconds(lambda: None, 0, min)


def test_cpu_needs_no_sync_and_synced_adds_nothing_there():
    assert timing.device_sync("cpu") is timing.no_sync

    def fn():
        return 42

    assert timing.synced(fn) is fn
    calls = []
    wrapped = timing.synced(fn, lambda: calls.append("sync"))
    assert wrapped() == 42 and calls == ["sync"]


def test_once_is_the_duration_of_one_call(monkeypatch):
    c = Clocked(monkeypatch, [0.25])
    assert timing.once(c.fn) == 0.25 and c.log == ["call"]
