"""Worker processes and shared memory for the parallel backends, with bounded waits.

Used by ``impl_numpy.parallel`` (``numpy-mp``) and ``impl_torch.parallel`` (``torch-ddp``);
standard library and NumPy only. The contract:

* ``Workers(ctx, target, args, name)`` starts one process per entry of ``args`` from the
  multiprocessing context ``ctx`` (spawn), each with a pipe, and calls
  ``target(rank, conn, *args[rank])`` there; the target answers through ``serve``.
* Every wait is bounded: ``gather(timeout)`` returns every rank's answer or raises
  ``WorkerError`` naming each failed rank with its traceback, exit code or signal, at
  most ``timeout`` seconds later, never a hang. After a failure the pool is closed.
* ``SharedBlock`` is one ``SharedMemory`` segment cut into named NumPy views; the
  creator unlinks it in ``close()``; workers attach by name and only ever close.

Workers ignore SIGINT: Ctrl-C in a terminal reaches the whole process group, and the
parent alone decides what happens (its ``KeyboardInterrupt`` closes the pool). A worker
whose parent vanishes reads EOF from its pipe and exits.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
import weakref
from multiprocessing import connection
from multiprocessing.shared_memory import SharedMemory

import numpy as np

GRACE_S = 2.0  # how long a graceful exit, or a second failing rank, is waited for


class WorkerError(RuntimeError):
    """A worker raised, died or did not answer in time; the message says which and why."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def shard_bounds(n: int, world_size: int) -> list:
    """Contiguous ``[(lo, hi), ...]`` rows per rank: the first ``n % W`` ranks get one more,
    as ``np.array_split``. Needs ``n >= W`` so that no rank is idle."""
    if n < world_size:
        raise ValueError(f"a batch of {n} samples cannot be split over {world_size} "
                         f"workers: every worker needs at least one sample")
    q, extra = divmod(n, world_size)
    edges = [r * q + min(r, extra) for r in range(world_size + 1)]
    return list(zip(edges[:-1], edges[1:]))


# ------------------------------------------------------------------------ shared memory
def layout(**fields) -> dict:
    """``{name: (offset, shape, dtype_str)}`` for ``name=(shape, dtype)``, 64-byte aligned."""
    out, offset = {}, 0
    for name, (shape, dtype) in fields.items():
        dtype = np.dtype(dtype)
        out[name] = (offset, tuple(shape), dtype.str)
        offset += -(-int(np.prod(shape, dtype=np.int64)) * dtype.itemsize // 64) * 64
    return out


class SharedBlock:
    """One shared-memory segment holding the arrays of ``layout``, as ``.views[name]``."""

    def __init__(self, fields: dict, name: str | None = None):
        self.layout = fields
        size = max(64, max((o + int(np.prod(s)) * np.dtype(d).itemsize
                            for o, s, d in fields.values()), default=64))
        self.owner = name is None
        self.shm = SharedMemory(create=True, size=size) if self.owner else SharedMemory(name)
        self.name = self.shm.name
        self.views = {k: np.ndarray(s, dtype=d, buffer=self.shm.buf, offset=o)
                      for k, (o, s, d) in fields.items()}

    def close(self) -> None:
        """Drop the views, close the mapping and, in the creator, unlink the segment."""
        if self.shm is None:
            return
        self.views.clear()  # views export the buffer: they must go before close()
        shm, self.shm = self.shm, None
        try:
            shm.close()
        finally:  # the name goes even if a stray view keeps the mapping alive
            if self.owner:
                try:
                    shm.unlink()
                except FileNotFoundError:
                    pass


# ------------------------------------------------------------------------ worker side
def serve(conn, handle) -> None:
    """The worker loop: ``handle(msg)`` for each message until ``"close"`` or EOF.

    ``handle(("ready",))`` is the set-up; its answer is the start-up report.
    Answers ``("ok", result)``; on an exception it answers ``("error", traceback)`` and
    exits with status 1, so the parent sees the worker's own error text.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(("ok", handle(("ready",))))
        while True:
            try:
                msg = conn.recv()
            except EOFError:  # the parent is gone
                return
            if msg[0] == "close":
                handle(msg)  # releases everything the worker holds
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)  # skip interpreter teardown: seconds with torch, nothing left to do
            conn.send(("ok", handle(msg)))
    except BaseException:  # noqa: BLE001  (reported to the parent, then exit 1)
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass
        sys.exit(1)


def inject_fault(fault: str | None) -> None:
    """Test-only: make this worker raise, die by SIGKILL or hang, as ``fault`` says."""
    if fault == "raise":
        raise RuntimeError("injected fault: worker raised on purpose (test-only _fault)")
    if fault == "kill":
        signal.raise_signal(signal.SIGKILL)
    if fault == "hang":
        time.sleep(3600)


# ------------------------------------------------------------------------ parent side
def _describe_exit(proc) -> str:
    proc.join(GRACE_S)
    code = proc.exitcode
    if code is None:
        return "closed its pipe but is still running"
    if code < 0:
        return f"died, killed by signal {signal.Signals(-code).name}"
    return f"died with exit status {code}"


class Workers:
    """``W`` worker processes, one pipe each, started once and reused; see module doc."""

    def __init__(self, ctx, target, args, name: str, start_timeout: float):
        self.name, self.procs, self.conns = name, [], []
        try:
            for rank, extra in enumerate(args):
                ours, theirs = ctx.Pipe()
                proc = ctx.Process(target=target, args=(rank, theirs, *extra),
                                   name=f"{name}-{rank}", daemon=True)
                self.conns.append(ours)
                self.procs.append(proc)
                proc.start()
                theirs.close()
            self.ready = self.gather(start_timeout, "start-up")
        except BaseException:
            self.close(graceful=False)
            raise

    @property
    def pids(self) -> list:
        return [p.pid for p in self.procs]

    def send(self, msgs) -> None:
        """Send ``msgs[rank]`` to each rank (a broken pipe surfaces in ``gather``)."""
        for conn, msg in zip(self.conns, msgs):
            try:
                conn.send(msg)
            except OSError:
                pass

    def call(self, msgs, timeout: float, what: str) -> list:
        self.send(msgs)
        return self.gather(timeout, what)

    def gather(self, timeout: float, what: str) -> list:
        """Every rank's answer, or ``WorkerError`` within ``timeout`` s (pool then closed)."""
        try:
            return self._gather(timeout, what)
        except BaseException:  # KeyboardInterrupt included: leave nothing behind
            self.close(graceful=False)
            raise

    def _gather(self, timeout, what):
        n = len(self.procs)
        answers, failures, pending = [None] * n, {}, set(range(n))
        deadline = time.monotonic() + timeout
        conn_rank = {id(c): r for r, c in enumerate(self.conns)}
        sentinel_rank = {p.sentinel: r for r, p in enumerate(self.procs)}
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            waitables = [o for r in pending for o in (self.conns[r], self.procs[r].sentinel)]
            for obj in connection.wait(waitables, left):
                died = isinstance(obj, int)
                r = sentinel_rank[obj] if died else conn_rank[id(obj)]
                if r not in pending:
                    continue
                conn = self.conns[r]
                if died and not conn.poll():  # died without a word
                    failures[r] = _describe_exit(self.procs[r])
                else:
                    try:
                        status, payload = conn.recv()
                    except (EOFError, OSError):
                        failures[r] = _describe_exit(self.procs[r])
                    else:
                        if status == "ok":
                            answers[r] = payload
                        else:
                            failures[r] = f"raised:\n{payload}"
                pending.discard(r)
                if failures:  # give the other ranks a moment to report their side
                    deadline = min(deadline, time.monotonic() + GRACE_S)
        if not failures and not pending:
            return answers
        silent = "gave no answer within " + (f"{timeout:g} s (timeout)" if not failures else
                                             "the grace period after the failure")
        for r in pending:
            failures[r] = silent
        lines = [f"{self.name} rank {r} (pid {self.procs[r].pid}) {failures[r]}"
                 for r in sorted(failures)]
        raise WorkerError(f"{what} failed:\n" + "\n".join(lines))

    def close(self, graceful: bool = True) -> None:
        """Stop every worker (ask, then SIGTERM, then SIGKILL) and reap it; idempotent."""
        if graceful:
            self.send([("close",)] * len(self.conns))
            deadline = time.monotonic() + GRACE_S
            for p in self.procs:
                if p.pid is not None:
                    p.join(max(0.0, deadline - time.monotonic()))
        for stop in ("terminate", "kill"):
            for p in self.procs:
                if p.pid is not None and p.exitcode is None:
                    getattr(p, stop)()
            for p in self.procs:
                if p.pid is not None:
                    p.join(GRACE_S)
        for p in self.procs:
            if p.pid is not None and p.exitcode is not None:
                p.close()
        for c in self.conns:
            c.close()
        self.procs, self.conns = [], []


def _release(workers, block, keep) -> None:
    workers.close(graceful=True)
    block.close()
    keep.clear()  # e.g. DDP's rendezvous store: it goes with the last reference


class Pool:
    """The life cycle both parallel engines share: workers started over a shared block, one
    ``close()`` (explicit, on leaving ``with``, or at garbage collection), no call once closed."""

    def _start(self, ctx, target, args, name, start_timeout, block, keep=None) -> list:
        """Start ``Workers``; on failure unlink ``block`` and re-raise. Returns their ready
        messages. ``keep``: a list of objects released (cleared) with the pool."""
        try:
            self._workers = Workers(ctx, target, args, name, start_timeout)
        except BaseException:
            block.close()
            raise
        self._closed = False
        self._finalizer = weakref.finalize(self, _release, self._workers, block,
                                           keep if keep is not None else [])
        return self._workers.ready

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Stop the workers and unlink the shared memory; idempotent."""
        self._closed = True
        self._finalizer()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
