"""numpy-mp (``impl_numpy.parallel.DataParallel``): W spawned workers give the twin's loss,
gradients and SGD trajectory on the global batch, even or uneven; workers that raise, die or
hang fail the call within seconds; nothing is left behind after success, failure or Ctrl-C.

``assert_no_leftovers`` is shared with ``test_ddp.py``."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.shared_memory import SharedMemory

import numpy as np
import pytest

import impl_numpy
from core.close import assert_params_close
from core.init import random_batch
from impl_numpy.parallel import DataParallel, WorkerError, shard_bounds

from .helpers import GRAD_RTOL_F64, TRAIN_RTOL

SIZES = [20, 16, 12, 5]
BATCHES = [16, 15, 7, 13, 4, 16]  # per step: even and uneven splits over W = 2 and 3
MOMENTUM = {"lr": 0.05, "momentum": 0.9}
FAIL_WITHIN_S = 10.0  # a raising or killed worker must fail the call this fast
HANG_TIMEOUT_S = 2.0  # the step timeout in the hang test
INTERRUPT_AFTER_S = 0.5  # when the Ctrl-C test sends SIGINT to the main thread
LEFTOVER_WAIT_S = 5.0


# --------------------------------------------------------------- leftovers (shared)
def _alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def shm_exists(name) -> bool:
    if os.path.isdir("/dev/shm"):  # Linux: the segment is a file there
        return os.path.exists(os.path.join("/dev/shm", name.lstrip("/")))
    try:
        SharedMemory(name).close()
    except FileNotFoundError:
        return False
    return True


def assert_no_leftovers(pids, shm_name):
    """Every worker gone and reaped (a zombie still answers ``kill(pid, 0)``), multiprocessing
    tracks none of them, and the shared-memory segment is unlinked."""
    deadline = time.monotonic() + LEFTOVER_WAIT_S
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in pids if _alive(p)] == [], "worker processes (or zombies) left behind"
    ours = [c for c in multiprocessing.active_children() if c.pid in pids]
    assert ours == [], "multiprocessing still tracks the workers"
    assert not shm_exists(shm_name), f"shared memory {shm_name} left behind"


def assert_fails_fast_and_cleanly(call, message, who, pids, shm_name):
    """``call()`` raises ``WorkerError`` matching ``message`` and naming ``who`` within
    ``FAIL_WITHIN_S``, leaves no process or segment behind, and the engine is closed after."""
    t0 = time.monotonic()
    with pytest.raises(WorkerError, match=message) as err:
        call()
    assert time.monotonic() - t0 < FAIL_WITHIN_S
    assert who in str(err.value)
    assert_no_leftovers(pids, shm_name)
    with pytest.raises(RuntimeError, match="closed"):
        call()


def interrupt_main_after(seconds):
    """Ctrl-C as a terminal sends it: SIGINT, delivered to the main thread."""
    main = threading.main_thread().ident
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    return timer


# -------------------------------------------------------------------- equivalence
@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda w: f"W{w}")
def dp(request):
    """One pool per world size for the module; tests reset the model's params in place."""
    model = impl_numpy.MLP(SIZES, activation="tanh", dtype="float64", seed=1)
    with DataParallel(model, request.param, max_batch=64, timeout=30) as pool:
        yield pool
    assert_no_leftovers(pool.worker_pids, pool.shm_name)


def _fresh(pool, seed=1):
    """Reset the pool's model to its initial params; return a single-process twin of it."""
    ref = impl_numpy.MLP(SIZES, activation="tanh", dtype="float64", seed=seed)
    for p, p0 in zip(pool.model.params, ref.params):
        p[...] = p0
    return ref


def test_shards_are_contiguous_and_cover_the_batch():
    assert shard_bounds(7, 2) == [(0, 4), (4, 7)]
    assert shard_bounds(7, 3) == [(0, 3), (3, 5), (5, 7)]
    assert shard_bounds(6, 1) == [(0, 6)]
    with pytest.raises(ValueError, match="at least one sample"):
        shard_bounds(1, 2)


@pytest.mark.parametrize("B", [16, 15, 7])
def test_loss_and_grads_equal_single_process(dp, B):
    ref = _fresh(dp)
    X, y = random_batch(np.random.default_rng(B), B, SIZES[0], SIZES[-1])
    loss, grads = dp.loss_and_grads(X, y)
    loss_ref, grads_ref = ref.loss_and_grads(X, y)
    assert loss == pytest.approx(loss_ref, rel=GRAD_RTOL_F64)
    assert_params_close(grads, grads_ref, GRAD_RTOL_F64, f"W={dp.world_size} B={B} grad")


def test_k_sgd_steps_equal_single_process(dp):
    ref = _fresh(dp)
    opt, opt_ref = impl_numpy.SGD(dp.model.params, **MOMENTUM), impl_numpy.SGD(
        ref.params, **MOMENTUM)
    rng = np.random.default_rng(0)
    for step, B in enumerate(BATCHES):
        X, y = random_batch(rng, B, SIZES[0], SIZES[-1])
        loss = dp.step(opt, X, y)
        loss_ref = impl_numpy.train_step(ref, opt_ref, X, y)
        assert loss == pytest.approx(loss_ref, rel=TRAIN_RTOL["float64"]), f"loss, step {step}"
    assert_params_close(dp.model.params, ref.params, TRAIN_RTOL["float64"],
                        f"W={dp.world_size} after {len(BATCHES)} steps")


def test_workers_pin_their_blas_threads(dp):
    assert dp.threads_per_worker >= 1
    assert dp.worker_threads == [dp.threads_per_worker] * dp.world_size


def test_bad_calls_raise_before_touching_workers(dp):
    ref = _fresh(dp)
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1])
    with pytest.raises(ValueError, match="features"):
        dp.loss_and_grads(X[:, :3], y)
    with pytest.raises(ValueError, match="max_batch"):
        dp.loss_and_grads(np.zeros((65, SIZES[0])), np.zeros(65, dtype=int))
    with pytest.raises(ValueError, match="opt must be an SGD"):
        dp.step(impl_numpy.SGD(ref.params, lr=0.1), X, y)
    if dp.world_size > 1:
        with pytest.raises(ValueError, match="at least one sample"):
            dp.loss_and_grads(X[:1], y[:1])
    assert dp.loss_and_grads(X, y)[0] == pytest.approx(ref.loss(X, y), rel=GRAD_RTOL_F64)


def test_float32_steps_agree():
    model = impl_numpy.MLP(SIZES, dtype="float32", seed=2)
    ref = impl_numpy.MLP(SIZES, dtype="float32", seed=2)
    opt, opt_ref = impl_numpy.SGD(model.params, **MOMENTUM), impl_numpy.SGD(ref.params,
                                                                            **MOMENTUM)
    rng = np.random.default_rng(1)
    with DataParallel(model, 2, threads_per_worker=1, max_batch=16) as pool:
        for B in BATCHES:
            X, y = random_batch(rng, B, SIZES[0], SIZES[-1], "float32")
            pool.step(opt, X, y)
            impl_numpy.train_step(ref, opt_ref, X, y)
    assert_params_close(model.params, ref.params, TRAIN_RTOL["float32"], "float32")
    assert_no_leftovers(pool.worker_pids, pool.shm_name)


# --------------------------------------------------------------------- robustness
@pytest.mark.parametrize("fault, message", [
    ("raise", "injected fault: worker raised on purpose"),
    ("kill", "killed by signal SIGKILL"),
    ("hang", r"no answer within 2 s \(timeout\)"),
])
def test_failing_worker_fails_the_call_fast_and_cleanly(fault, message):
    model = impl_numpy.MLP(SIZES, dtype="float64")
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1])
    pool = DataParallel(model, 2, max_batch=8, timeout=HANG_TIMEOUT_S, _fault=fault)
    assert_fails_fast_and_cleanly(lambda: pool.loss_and_grads(X, y), message, "rank 1",
                                  pool.worker_pids, pool.shm_name)


def test_ctrl_c_in_the_parent_leaves_nothing_behind():
    model = impl_numpy.MLP(SIZES, dtype="float64")
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1])
    pool = DataParallel(model, 2, max_batch=8, timeout=60, _fault="hang")
    timer = interrupt_main_after(INTERRUPT_AFTER_S)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pool.loss_and_grads(X, y)
    timer.join()
    assert time.monotonic() - t0 < FAIL_WITHIN_S
    assert_no_leftovers(pool.worker_pids, pool.shm_name)


def test_close_after_success_is_clean_and_idempotent():
    model = impl_numpy.MLP(SIZES, dtype="float64")
    with DataParallel(model, 2, max_batch=8) as pool:
        assert DataParallel.start_method == "spawn"
        assert all(map(_alive, pool.worker_pids))
        assert shm_exists(pool.shm_name)
    pool.close()
    assert_no_leftovers(pool.worker_pids, pool.shm_name)


def test_bad_constructor_arguments():
    model = impl_numpy.MLP(SIZES)
    with pytest.raises(ValueError, match="world_size"):
        DataParallel(model, 0)
    with pytest.raises(ValueError, match="_fault"):
        DataParallel(model, 1, _fault="explode")
