"""What became of each selected benchmark, and where the run stopped if Ctrl-C cut it short.

* ``Tracker`` (a plugin object, registered by ``bench.plugin``) remembers each benchmark's
  outcome ("ok", "skipped: why", "failed in ...: why"), the stage the run is in
  ("collection", "calibration", then each benchmark's node id) and whether Ctrl-C
  interrupted it (``pytest_keyboard_interrupt``).
* ``keep(entries, outcomes, cut_short)``: the JSON entries that are results: the last measurement of
  each benchmark whose call passed. A benchmark cut short by Ctrl-C has no outcome, so its
  partial rounds (pytest-benchmark keeps them) are dropped; so is a fast wrong answer
  (a failed post-timing check) and an earlier, disturbed measurement of a re-run one.
* ``summary(state, kept)``: the run's ``mlp_twins`` block (``missing``, ``complete``,
  ``stopped_at``; ``runfile/schema.py``).
* ``stop_on_sigterm()`` / ``restore_sigterm(old)``: SIGTERM (``kill``, a cancelled CI job)
  stops a timed run as Ctrl-C does, so the JSON keeps what was measured and says where it
  stopped; without it the process died with nothing written.
* ``write_empty_run(config, path)``: a run with no benchmark entries, built by pytest-benchmark's
  public JSON hooks and written by ``runfile.write_json``, for a run interrupted before any
  benchmark finished (pytest-benchmark writes nothing then), so that it still says where it
  stopped.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from runfile import write_json

INTERRUPTED = "interrupted"  # the reason of the benchmark Ctrl-C cut short
NOT_RUN = "not run: the run was interrupted"  # ... and of those it never reached
NO_RESULT = "no result recorded"  # ran, but timed nothing (not expected of a benchmark)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def stop_on_sigterm():
    """Make SIGTERM raise KeyboardInterrupt; returns the previous handler (None where no
    handler can be set: not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def restore_sigterm(old) -> None:
    if old is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, old)


class Tracker:
    """Outcomes, stage and interruption of this run (``state``: ``bench.suite.state.Twins``)."""

    def __init__(self, state):
        self.state = state

    def pytest_runtest_logstart(self, nodeid):
        self.state.stage = nodeid

    def pytest_keyboard_interrupt(self):
        self.state.interrupted = True

    @pytest.hookimpl(wrapper=True)
    def pytest_benchmark_generate_json(self, benchmarks):
        """A benchmark Ctrl-C cut short in its first round has no timings, and
        pytest-benchmark fails summarising it (min() of nothing), writing no JSON at all:
        it is left out here (``summary`` lists it as interrupted)."""
        benchmarks[:] = [b for b in benchmarks if b.has_error or len(b.stats.data)]
        return (yield)

    def pytest_runtest_logreport(self, report):
        outcome = None
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
            outcome = f"skipped: {reason}"
        elif report.failed:
            lines = str(report.longreprtext).strip().splitlines() or ["?"]
            outcome = f"failed in {report.when}: {lines[-1]}"
        elif report.when == "call":
            outcome = "ok"
        if outcome is not None:
            self.state.outcomes.setdefault(report.nodeid, outcome)


def keep(entries: list, outcomes: dict, cut_short: dict | None = None) -> list:
    """The last entry of each benchmark whose outcome is "ok", in run order; for a benchmark
    in ``cut_short`` (nodeid -> n) the last of its first n entries (Ctrl-C cut a later
    re-measurement short, and pytest-benchmark kept its partial rounds)."""
    cut_short = cut_short or {}
    count, usable = {}, []
    for i, e in enumerate(entries):
        name = e["fullname"]
        count[name] = count.get(name, 0) + 1
        if count[name] <= cut_short.get(name, count[name]):
            usable.append((i, e))
    last = {e["fullname"]: i for i, e in usable}
    return [e for i, e in usable
            if last[e["fullname"]] == i and outcomes.get(e["fullname"]) == "ok"]


def summary(state, kept: list) -> dict:
    """``{"profile", "missing", "complete", "stopped_at"}`` of the run."""
    recorded = {e["fullname"] for e in kept}
    stopped_at = state.stage if state.interrupted else None
    missing = []
    for nodeid in state.selected:
        if nodeid in recorded:
            continue
        reason = state.outcomes.get(nodeid)
        if reason is None or reason == "ok":  # no outcome, or no entry kept
            reason = (INTERRUPTED if nodeid == stopped_at else NOT_RUN if state.interrupted
                      else NO_RESULT)
        missing.append({"test": nodeid, "reason": reason})
    complete = not state.interrupted and all(m["reason"].startswith("skipped")
                                             for m in missing)
    return {"profile": state.profile.name, "missing": missing, "complete": complete,
            "stopped_at": stopped_at}


def write_empty_run(config, path: Path) -> None:
    """Write a run without benchmark entries to ``path``, built by the same hooks as
    pytest-benchmark's own JSON (so the suite's ``mlp_twins`` blocks are in it)."""
    hook = config.hook
    machine_info = hook.pytest_benchmark_generate_machine_info(config=config)
    hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine_info)
    commit_info = hook.pytest_benchmark_generate_commit_info(config=config)
    hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    doc = hook.pytest_benchmark_generate_json(config=config, benchmarks=[], include_data=True,
                                              machine_info=machine_info,
                                              commit_info=commit_info)
    hook.pytest_benchmark_update_json(config=config, benchmarks=[], output_json=doc)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json(path, doc, indent=4)  # pytest-benchmark's own indent
