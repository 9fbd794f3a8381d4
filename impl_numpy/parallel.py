"""``numpy-mp``: data-parallel SGD for the NumPy twin over ``multiprocessing``.

The pre-PyTorch way: ``W`` worker processes, started once and reused, each compute the
gradient of one shard of the global batch with the twin's own ``MLP.loss_and_grads``; the
parent averages the shard gradients and updates with ``impl_numpy.SGD``, so the update is
exactly the twin's::

    model = MLP([784, 1024, 10], dtype="float32")
    opt = SGD(model.params, lr=0.1, momentum=0.9)
    with DataParallel(model, world_size=2, max_batch=256) as dp:   # workers start here
        for X, y in batches(X_train, y_train, 256):
            loss = dp.step(opt, X, y)        # = train_step(model, opt, X, y), on W processes

One step, through one shared-memory segment: the parent copies the batch and the params
into the segment (two memcpy's: the model and the optimizer keep owning ordinary arrays,
so nothing dangles after ``close()``), sends worker ``r`` the row range ``(lo, hi)`` over
its pipe, worker ``r`` runs ``loss_and_grads(X[lo:hi], y[lo:hi])`` on params that are
read-only views of the segment and writes its grads into its own slot, and the parent
sums the slots weighted by ``n_r / B``.

Uneven batches. Rank ``r`` takes the contiguous rows ``shard_bounds(B, W)[r]``: the first
``B mod W`` ranks take ``ceil(B/W)`` rows, the others ``floor(B/W)`` (as ``np.array_split``).
Each shard's loss and gradient are means over its rows, so the ``n_r / B`` weights give the
mean over the global batch: loss and grads equal single-process ``loss_and_grads(X, y)`` up
to summation order whether or not ``W`` divides ``B``. ``B < W`` raises ``ValueError``.

Start method: ``"spawn"``. A forked child inherits the parent's OpenBLAS pool in whatever
state its threads left it (a lock held by a thread that does not exist in the child is a
deadlock; only some OpenBLAS builds guard against it) and a thread count set for the
parent. A spawned worker imports NumPy afresh and limits its BLAS pool with threadpoolctl
to ``threads_per_worker`` (default: cores // W); the count it reads back
(``core.threads.blas_threads``, the smallest of its BLAS pools) is ``.worker_threads``.
Failures: see ``core.procs`` (bounded waits, ``WorkerError``).
"""

from __future__ import annotations

import multiprocessing
import os

import numpy as np

from core.checks import check_opt_params, check_pool_args
from core.procs import (
    Pool,
    SharedBlock,
    WorkerError,
    available_cores,
    inject_fault,
    layout,
    serve,
    shard_bounds,
)

from .checks import check_X, check_y
from .mlp import MLP

__all__ = ["DataParallel", "WorkerError", "shard_bounds"]


def _split(flat, shapes) -> list:
    """Views of the 1-D ``flat`` with the given shapes, back to back."""
    out, at = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(flat[at:at + n].reshape(shape))
        at += n
    return out


class DataParallel(Pool):
    """``DataParallel(model, world_size, threads_per_worker=None, max_batch=1024,
    timeout=60.0, start_timeout=120.0)``: W spawned workers computing shard gradients.

    ``model`` is an ``impl_numpy.MLP``, read at every call (its params may change between
    calls). ``max_batch`` sizes the shared segment: larger batches raise ``ValueError``.
    ``timeout`` bounds every step: a worker that raises, dies or hangs makes the call raise
    ``WorkerError`` (with the worker's traceback, exit status or signal) within about that
    long, and the pool is then closed. ``_fault`` is test-only: ``"raise"``, ``"kill"`` or
    ``"hang"`` makes the last worker do that at its first step.

    Attributes: ``world_size``, ``worker_threads`` (BLAS threads read back per worker),
    ``worker_pids``, ``shm_name`` (the segment, gone after ``close()``).
    """

    start_method = "spawn"

    def __init__(self, model: MLP, world_size: int, threads_per_worker: int | None = None,
                 max_batch: int = 1024, timeout: float = 60.0, start_timeout: float = 120.0,
                 _fault: str | None = None):
        if not isinstance(model, MLP):
            raise TypeError(f"model must be an impl_numpy.MLP, got {type(model).__name__}")
        check_pool_args(world_size, max_batch, threads_per_worker, timeout, start_timeout,
                        _fault, "threads_per_worker")
        W = self.world_size = int(world_size)
        self.model, self.max_batch, self.timeout = model, int(max_batch), float(timeout)
        self.threads_per_worker = int(threads_per_worker or max(1, available_cores() // W))
        s, dtype = model.spec, model.dtype
        self._shapes = [p.shape for p in model.params]
        fields = layout(X=((self.max_batch, s.n_in), dtype), y=((self.max_batch,), np.int64),
                        params=((s.n_params,), dtype), grads=((W, s.n_params), dtype))
        self._block = SharedBlock(fields)
        self.shm_name = self._block.name
        config = (s.layer_sizes, s.activation, s.loss, s.dtype)
        args = [(self.shm_name, fields, config, self.threads_per_worker,
                 _fault if r == W - 1 else None) for r in range(W)]
        ready = self._start(multiprocessing.get_context(self.start_method), _worker, args,
                            "numpy-mp worker", start_timeout, self._block)
        self.worker_threads = [a["threads"] for a in ready]
        self.worker_pids = self._workers.pids
        views = self._block.views
        self._params = _split(views["params"], self._shapes)
        self._grads = views["grads"]

    def __repr__(self):
        return (f"DataParallel(world_size={self.world_size}, threads_per_worker="
                f"{self.threads_per_worker}, start_method={self.start_method!r})")

    def close(self) -> None:
        """Stop the workers and unlink the shared memory; idempotent."""
        self._params = self._grads = None
        super().close()

    def loss_and_grads(self, X, y):
        """``(loss, grads)`` of the global batch, as ``model.loss_and_grads(X, y)`` would give."""
        self._check_open()
        s = self.model.spec
        X = check_X(X, s.n_in, self.model.dtype, s.layer_sizes)  # the activation cap first
        y = check_y(y, len(X), s.n_out)
        B = len(X)
        if B > self.max_batch:
            raise ValueError(f"batch of {B} samples exceeds max_batch={self.max_batch}")
        bounds = shard_bounds(B, self.world_size)
        try:
            self._copy_in(X, y)
            losses = self._workers.call([("step", lo, hi) for lo, hi in bounds],
                                        self.timeout, "numpy-mp step")
        except BaseException:
            self.close()
            raise
        weights = [(hi - lo) / B for lo, hi in bounds]  # n_r / B
        loss = sum(w * loss_r for w, loss_r in zip(weights, losses))
        flat = np.multiply(self._grads[0], weights[0])  # a new array, owned by the caller
        for r in range(1, self.world_size):
            flat += self._grads[r] * weights[r]
        return float(loss), _split(flat, self._shapes)

    def _copy_in(self, X, y) -> None:
        """Batch and current params into the segment (no view outlives this frame)."""
        views = self._block.views
        views["X"][:len(X)] = X
        views["y"][:len(y)] = y
        for shared, p in zip(self._params, self.model.params):
            shared[...] = p

    def step(self, opt, X, y) -> float:
        """One data-parallel ``train_step``: global-batch grads, then ``opt.step``; the loss."""
        check_opt_params(opt.params, self.model.params)
        loss, grads = self.loss_and_grads(X, y)
        opt.step(grads)
        return loss


def _worker(rank, conn, shm_name, fields, config, threads, fault):
    """One worker: attach the segment, pin BLAS, answer ``("step", lo, hi)`` messages."""
    state = {"fault": fault}

    def handle(msg):
        if msg[0] == "ready":
            from threadpoolctl import threadpool_limits

            from core.threads import blas_threads

            state["limits"] = threadpool_limits(limits=threads, user_api="blas")
            blas = blas_threads()
            block = state["block"] = SharedBlock(fields, name=shm_name)
            model = state["model"] = MLP(*config)
            params = _split(block.views["params"], [p.shape for p in model.params])
            for p in params:
                p.flags.writeable = False  # the parent owns the params
            model.params = params
            state["grads"] = _split(block.views["grads"][rank], [p.shape for p in params])
            return {"threads": min(blas) if blas else None, "pid": os.getpid()}
        if msg[0] == "close":
            state["model"].params = state["grads"] = None
            state["block"].close()
            return None
        _, lo, hi = msg
        inject_fault(state.pop("fault", None))
        views = state["block"].views
        loss, grads = state["model"].loss_and_grads(views["X"][lo:hi], views["y"][lo:hi])
        for out, g in zip(state["grads"], grads):
            out[...] = g
        return loss

    serve(conn, handle)
