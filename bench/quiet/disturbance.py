"""The disturbance evidence of a run: measured in every record, judged, re-measured.

A benchmark measured while the machine was busy can be slow with nothing looking wrong
(small IQR). This module judges each record's evidence and decides whether a disturbed
benchmark is measured again. The record keys (``runfile/schema.py``):

* ``busy_other`` (measured around the timed rounds of every group, ``bench/quiet/cpuload.py``):
  the share (0..1) of the machine's CPU time used outside our own process tree;
* ``disturbance``: the median of the record's probe times (``bench/quiet/probe.py``) over
  ``quiet_time`` of the same probe (``probe_key``): the lowest quartile of every time this
  run measured for it, in every benchmark that uses it. ``k`` on a machine ``k`` times
  slower; null where the benchmark has no probe (parallel, epoch);
* ``disturbed`` (``is_disturbed``): ``busy_other > BUSY_OTHER_MAX`` or
  ``disturbance > DISTURBANCE_MAX``; unknown evidence is not above;
* ``reruns``: how often the benchmark was re-measured (by ``bench/quiet/remeasure.py``): at
  most ``MAX_RERUNS`` times, within the run's budget of ``RERUN_FLOOR_S`` seconds plus
  ``RERUN_SHARE`` of the time spent in first measurements; the last measurement is kept,
  with its evidence.

``Evidence`` collects a run's probe times: ``observe`` judges a record with those measured
so far and ``why_rerun`` says whether to re-measure it; after the last benchmark,
``why_rerun(..., final=True)`` judges again with all of them (the second look: later
benchmarks may have measured a probe faster), and ``final`` gives the keys as written.
``describe`` puts a record's evidence in words; ``busy_warning`` is one warning line for a
window in which the machine was busy (else None).

It measures nothing itself. The thresholds sit above the quiet-machine noise that
``python -m bench.quiet.noise`` measures.

Why these values: docs/methodology.md, 'The disturbance thresholds'.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from bench.quiet import cpuload
from bench.quiet.probe import probe_key
from runfile.schema import BUSY_OTHER_MAX, DISTURBANCE_MAX  # what `disturbed` means

# The thresholds of the verdict (BUSY_OTHER_MAX, DISTURBANCE_MAX) live in runfile/schema.py:
# they define a record's `disturbed`; they sit above the quiet-machine maxima that
# `python -m bench.quiet.noise` measures.
MAX_RERUNS = 2  # re-measurements of one benchmark
RERUN_FLOOR_S = 10.0  # re-run budget of a run, in seconds: this, plus ...
RERUN_SHARE = 0.5  # ... this share of the seconds spent in first measurements


def quiet_time(times) -> float:
    """The lowest quartile of a probe's times: what it takes when the machine is quiet."""
    times = sorted(times)
    if len(times) < 2:
        return times[0]
    return statistics.quantiles(times, n=4, method="inclusive")[0]


def is_disturbed(busy_other: float | None, disturbance: float | None) -> bool:
    """The verdict: either piece of evidence above its threshold (unknown is not above)."""
    return ((busy_other is not None and busy_other > BUSY_OTHER_MAX)
            or (disturbance is not None and disturbance > DISTURBANCE_MAX))


def busy_warning(w: cpuload.Window, cores: int, load: tuple | None) -> str | None:
    """One line, as pyperf warns, when the machine was busy during ``w`` (else None);
    ``load``: ``cpuload.load_average()``."""
    if w.busy_other is None or w.busy_other <= BUSY_OTHER_MAX:
        return None
    top = ", ".join(f"{comm} (pid {pid}) {share:.0%}" for comm, pid, share in w.top)
    return (f"mlp-twins: WARNING: the machine is busy: load average "
            f"{'?' if load is None else ' '.join(f'{x:.2f}' for x in load)} on {cores} "
            f"core(s); other processes used {w.busy_other:.0%} of the CPU"
            f"{f' (top: {top})' if top else ''}; disturbed benchmarks are re-measured "
            f"and marked")


@dataclass
class Evidence:
    """The run's disturbance evidence: every probe time per probe, the latest record of
    each benchmark, re-runs and the re-run budget."""

    probes: dict = field(default_factory=lambda: defaultdict(list))  # probe_key -> seconds
    latest: dict = field(default_factory=dict)  # nodeid -> its last record
    reruns: dict = field(default_factory=lambda: defaultdict(int))  # nodeid -> re-runs
    first_s: float = 0.0  # seconds spent in first measurements
    rerun_s: float = 0.0  # seconds spent re-measuring

    def disturbance(self, rec: dict) -> float | None:
        """Median probe time of ``rec`` over the quiet time of its probe (None: no probe)."""
        data = rec.get("probe_data")
        key = probe_key(rec)
        if not data or key is None or not self.probes.get(key):
            return None
        return statistics.median(data) / quiet_time(self.probes[key])

    def judge(self, rec: dict) -> dict:
        """The keys ``disturbance`` and ``disturbed`` of ``rec`` with the evidence so far."""
        d = self.disturbance(rec)
        return {"disturbance": d, "disturbed": is_disturbed(rec.get("busy_other"), d)}

    def observe(self, nodeid: str, rec: dict) -> dict:
        """Add ``rec``'s probe times to the evidence, judge it, remember it; returns the
        keys to add to it (``disturbance``, ``disturbed``, ``reruns``)."""
        key = probe_key(rec)
        if key is not None and rec.get("probe_data"):
            self.probes[key].extend(rec["probe_data"])
        out = {**self.judge(rec), "reruns": self.reruns[nodeid]}
        self.latest[nodeid] = {**rec, **out}
        return out

    def spend(self, seconds: float, rerun: bool) -> None:
        if rerun:
            self.rerun_s += seconds
        else:
            self.first_s += seconds

    def why_rerun(self, nodeid: str, last_s: float, final: bool = False) -> str | None:
        """Why ``nodeid``'s last measurement must be re-measured (its evidence in words),
        or None: not disturbed, not recorded, out of tries or out of budget. ``final``:
        judged again with every probe time of the run (the second look at the end)."""
        rec = self.latest.get(nodeid)
        if rec is not None and final:
            rec = {**rec, **self.judge(rec)}
        if rec is None or not rec["disturbed"] or self.reruns[nodeid] >= MAX_RERUNS:
            return None
        if self.rerun_s + last_s > RERUN_FLOOR_S + RERUN_SHARE * self.first_s:
            return None
        return describe(rec)

    def final(self, rec: dict, nodeid: str) -> dict:
        """The keys ``disturbance``, ``disturbed`` and ``reruns`` of a record as written,
        judged with every probe time of the run."""
        return {**self.judge(rec), "reruns": self.reruns.get(nodeid, 0)}


def describe(rec: dict) -> str:
    """The evidence of a record in words."""
    parts = []
    if rec.get("busy_other") is not None:
        parts.append(f"other processes used {rec['busy_other']:.0%} of the CPU")
    if rec.get("disturbance") is not None:
        parts.append(f"probe {rec['disturbance']:.2f}x its quiet time")
    return ", ".join(parts) or "no evidence"
