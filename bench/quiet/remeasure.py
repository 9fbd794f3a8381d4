"""Re-measure a disturbed benchmark, bounded, and say so.

``Remeasure`` (registered by ``bench.plugin`` when timing is on) runs each benchmark
through pytest's own protocol (setup, call, teardown: ``runtestprotocol``, which supports
being run again, as pytest-rerunfailures does) and, when its record came out disturbed
(``bench/quiet/disturbance.py``), runs it again, at most ``MAX_RERUNS`` times and within the
run's re-run budget. Only the last measurement's reports reach the terminal and the
outcome tracker; its JSON entry is the one kept (``bench.suite.outcomes.keep``), with
``reruns`` saying how many measurements came before it. Each re-run prints one line with
the evidence. A failed or skipped benchmark is never re-run.

A second look after the last benchmark: judged again with every probe time of the run, a
benchmark can turn out disturbed after all (later benchmarks found the probe faster: the
machine was slower while it ran). Those are re-measured then, within the same tries and
budget, instead of being written as disturbed unasked. Why a second look: docs/methodology.md,
'The re-measurement'.
"""

from __future__ import annotations

import time

import pytest
from _pytest.runner import runtestprotocol  # private: pinned by tests/test_run_outcomes.py

from bench.quiet.disturbance import MAX_RERUNS


def _passed(reports) -> bool:
    return (any(r.when == "call" and r.passed for r in reports)
            and not any(r.failed for r in reports))


class Remeasure:
    """The re-run loop (``state``: ``bench.suite.state.Twins``; ``say``: writes one line)."""

    def __init__(self, state, say):
        self.state, self.say = state, say
        self.spent = {}  # nodeid -> seconds of its last measurement

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        if "benchmark" not in getattr(item, "fixturenames", ()):
            return None  # pytest's own protocol
        ev = self.state.evidence
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        rerun = False
        while True:
            ev.latest.pop(item.nodeid, None)
            t0 = time.perf_counter()
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
            spent = self.spent[item.nodeid] = time.perf_counter() - t0
            ev.spend(spent, rerun)
            why = ev.why_rerun(item.nodeid, spent) if _passed(reports) else None
            if why is None:
                break
            ev.reruns[item.nodeid] += 1
            self.say(f"mlp-twins: {item.nodeid} disturbed ({why}): re-measuring "
                     f"({ev.reruns[item.nodeid]}/{MAX_RERUNS})")
            rerun = True
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session):
        result = yield
        if not (session.shouldfail or session.shouldstop):
            self.second_look(session)
        return result

    def second_look(self, session) -> None:
        """Re-measure the benchmarks that the whole run's probe times show disturbed."""
        ev = self.state.evidence
        for item in session.items:
            while not (session.shouldfail or session.shouldstop):
                rec = ev.latest.get(item.nodeid)
                if rec is None or ev.disturbance(rec) is None:
                    break  # not measured, or no probe: the first verdict stands
                why = ev.why_rerun(item.nodeid, self.spent.get(item.nodeid, 0.0), final=True)
                if why is None:
                    break
                ev.reruns[item.nodeid] += 1
                self.say(f"mlp-twins: {item.nodeid} disturbed against the whole run's probe "
                         f"times ({why}): re-measuring at the end "
                         f"({ev.reruns[item.nodeid]}/{MAX_RERUNS})")
                if not self._again(item):
                    break

    def _again(self, item) -> bool:
        """One more measurement of ``item``; False if it did not pass. Ctrl-C during it
        keeps the measurements before it (``state.cut_short``) and goes on."""
        ev, nodeid = self.state.evidence, item.nodeid
        self.state.stage = nodeid
        before, earlier = self.state.outcomes.pop(nodeid, None), ev.latest.pop(nodeid)
        t0 = time.perf_counter()
        try:
            reports = runtestprotocol(item, nextitem=None, log=False)
        except KeyboardInterrupt:
            self.state.outcomes[nodeid] = before
            ev.latest[nodeid] = earlier
            ev.reruns[nodeid] -= 1
            self.state.cut_short[nodeid] = ev.reruns[nodeid] + 1  # the entries before this
            raise
        spent = self.spent[nodeid] = time.perf_counter() - t0
        ev.spend(spent, True)
        if _passed(reports):
            self.state.outcomes[nodeid] = before
            return True
        item.ihook.pytest_runtest_logstart(nodeid=nodeid, location=item.location)
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=nodeid, location=item.location)
        return False
