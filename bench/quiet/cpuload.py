"""CPU counters: how much of the machine other processes used while we measured (Linux).

``with watch() as w: <timed rounds>``, then ``w.busy_other``: the share (0..1) of the
machine's CPU time that processes outside our own process tree used during the block, and
``w.top``: who used it (``[(comm, pid, share)]``, largest first). ``Window`` is the same
with explicit ``start()`` / ``stop()``. Two counters are read before and after (a
``Snapshot`` each, from ``snapshot()``):

* the machine: the first line of ``/proc/stat`` (``parse_machine``), jiffies since boot in
  ``user nice system idle iowait irq softirq steal`` (``MACHINE_FIELDS``; guest time is
  already inside user/nice). Busy time is everything but ``idle + iowait``
  (``IDLE_FIELDS``); ``steal`` (a hypervisor running other guests on our CPUs) counts as
  busy, since it is time our work could not run;
* our own process tree: the pytest process and every descendant (the worker processes of
  the parallel and epoch benchmarks included), ``utime + stime + cutime + cstime`` of each
  from ``/proc/PID/stat`` (``parse_proc``; ``cutime``: children already reaped), found by
  their parent pid. All in clock ticks (``USER_HZ``, the unit of ``/proc/stat``).

    busy_other = (busy_machine - own) / total_machine      over the stretch, clamped to [0, 1]

``busy_other(start, end, root)`` computes it from two snapshots, ``top_others`` who used
the time; ``load_average`` reads ``/proc/loadavg``. Where the counters do not exist (not
Linux), or less than one jiffy passed, every figure is ``None`` (``top``: empty). A
snapshot scans every ``/proc/PID/stat``, so it belongs outside the timed rounds. This
module does not judge the figure (``bench/quiet/disturbance.py`` does).

What a snapshot costs: docs/methodology.md, 'The CPU counters'.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")  # where the counters are read (the functions take another: tests)
MACHINE_FIELDS = 8  # jiffies read from the cpu line: user nice system idle iowait irq softirq steal
IDLE_FIELDS = (3, 4)  # indexes of idle and iowait among them: not busy


@dataclass(frozen=True)
class Snapshot:
    """The machine's jiffies and each process's CPU ticks at one moment."""

    total: int  # all jiffies of all CPUs
    busy: int  # total - idle - iowait
    procs: dict = field(default_factory=dict)  # pid -> (ppid, comm, ticks incl. reaped children)

    def tree(self, root: int) -> set:
        """``root`` and its descendants, by parent pid."""
        kids: dict = {}
        for pid, (ppid, _, _) in self.procs.items():
            kids.setdefault(ppid, []).append(pid)
        out, todo = set(), [root]
        while todo:
            pid = todo.pop()
            if pid not in out:
                out.add(pid)
                todo.extend(kids.get(pid, ()))
        return out

    def ticks(self, pids) -> int:
        return sum(self.procs[p][2] for p in pids if p in self.procs)


def parse_machine(line: str) -> tuple[int, int]:
    """``(total, busy)`` jiffies from the ``cpu`` line of ``/proc/stat``."""
    name, *values = line.split()
    if name != "cpu" or len(values) < MACHINE_FIELDS:
        raise ValueError(f"not the machine line of /proc/stat: {line!r}")
    jiffies = [int(v) for v in values[:MACHINE_FIELDS]]
    total = sum(jiffies)
    return total, total - sum(jiffies[i] for i in IDLE_FIELDS)


def parse_proc(text: str) -> tuple[int, str, int]:
    """``(ppid, comm, utime + stime + cutime + cstime)`` from one ``/proc/PID/stat``.
    ``comm`` sits in parentheses and may hold spaces or ')', hence the last ')'."""
    head, _, rest = text.rpartition(")")
    comm = head.partition("(")[2]
    f = rest.split()  # f[0] is the state (field 3); utime is field 14
    return int(f[1]), comm, sum(int(x) for x in f[11:15])


def snapshot(proc: Path = PROC) -> Snapshot | None:
    """The counters now, or None where ``/proc/stat`` cannot be read."""
    try:
        with open(proc / "stat", encoding="ascii") as fh:
            total, busy = parse_machine(fh.readline())
    except (OSError, ValueError):
        return None
    procs = {}
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), encoding="utf-8",
                      errors="replace") as fh:
                procs[int(entry.name)] = parse_proc(fh.read())
        except (OSError, ValueError, IndexError):  # gone meanwhile, or unreadable
            continue
    return Snapshot(total, busy, procs)


def busy_other(start: Snapshot | None, end: Snapshot | None, root: int) -> float | None:
    """Share of the machine's CPU time used outside ``root``'s process tree between two
    snapshots; None where there are no counters or no time passed (under one jiffy)."""
    if start is None or end is None or end.total <= start.total:
        return None
    own = end.ticks(end.tree(root)) - start.ticks(start.tree(root))
    share = (end.busy - start.busy - own) / (end.total - start.total)
    return min(1.0, max(0.0, share))


def top_others(start: Snapshot | None, end: Snapshot | None, root: int, n: int = 3) -> list:
    """``[(comm, pid, share)]``: the ``n`` processes outside ``root``'s tree that used the
    largest share of the machine's CPU time between the snapshots, largest first."""
    if start is None or end is None or end.total <= start.total:
        return []
    own = end.tree(root) | start.tree(root)
    used = []
    for pid, (_, comm, ticks) in end.procs.items():
        if pid in own:
            continue
        before = start.procs.get(pid)  # (a kernel worker's comm changes with its work)
        delta = ticks - (before[2] if before else 0)
        if delta > 0:
            used.append((comm, pid, delta / (end.total - start.total)))
    return sorted(used, key=lambda u: -u[2])[:n]


def load_average(proc: Path = PROC) -> tuple | None:
    """The 1, 5 and 15 minute load averages, or None."""
    try:
        return tuple(float(x) for x in (proc / "loadavg").read_text().split()[:3])
    except (OSError, ValueError):
        return None


class Window:
    """``busy_other`` of the stretch between ``start()`` and ``stop()``; ``top`` the
    processes outside our tree that used the most CPU (``top_others``)."""

    def __init__(self, root: int | None = None, proc: Path = PROC):
        self.root = os.getpid() if root is None else root
        self.proc = proc
        self.busy_other = None
        self.top = []
        self._start = self._end = None

    def start(self) -> Window:
        self._start = snapshot(self.proc)
        return self

    def stop(self) -> Window:
        self._end = snapshot(self.proc)
        self.busy_other = busy_other(self._start, self._end, self.root)
        self.top = top_others(self._start, self._end, self.root)
        return self


@contextmanager
def watch():
    """``with watch() as w: <timed rounds>``; then ``w.busy_other`` (None: not measurable)."""
    w = Window().start()
    try:
        yield w
    finally:
        w.stop()
