"""torch-ddp (``impl_torch.parallel.DDPTrainer``): W DistributedDataParallel ranks (gloo) leave
the params of single-process SGD on the global batch, even or uneven; a rank that raises or
is killed fails the step within seconds with its error; nothing is left behind after
success, failure or Ctrl-C. Each trainer start costs seconds (torch imports per rank), so
the equivalence trainers are shared per module. The timeout path for a hanging worker is
the pool shared with numpy-mp and is tested in ``test_multiprocess.py``."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

import impl_torch
from core.close import assert_params_close
from core.init import random_batch
from impl_torch.parallel import DDPTrainer

from .helpers import TRAIN_RTOL
from .test_multiprocess import (
    FAIL_WITHIN_S,
    _alive,
    assert_fails_fast_and_cleanly,
    assert_no_leftovers,
    interrupt_main_after,
    shm_exists,
)

SIZES = [20, 16, 12, 5]
BATCHES = [16, 15, 7, 13, 4, 16]  # per step: even and uneven splits over W = 2
SGD_ARGS = {"lr": 0.05, "momentum": 0.9}
TIMEOUT_S = 30.0  # collective and step timeout of the trainers here
INTERRUPT_AFTER_S = 1.0


def trainer(world_size, **kw):
    return DDPTrainer(SIZES, activation="tanh", dtype="float64", seed=1, world_size=world_size,
                      max_batch=16, timeout=TIMEOUT_S, **SGD_ARGS, **kw)


@pytest.fixture(scope="module", params=[1, 2], ids=lambda w: f"W{w}")
def ddp(request):
    with trainer(request.param) as t:
        yield t
    assert_no_leftovers(t.rank_pids, t.shm_name)


def test_k_sgd_steps_equal_single_process(ddp):
    """Runs first on each trainer: the ranks start from the twin's initial params."""
    ref = impl_torch.MLP(SIZES, activation="tanh", dtype="float64", seed=1)
    opt = impl_torch.SGD(ref.params, **SGD_ARGS)
    rng = np.random.default_rng(0)
    for step, B in enumerate(BATCHES):
        X, y = random_batch(rng, B, SIZES[0], SIZES[-1])
        loss = ddp.step(X, y)
        loss_ref = impl_torch.train_step(ref, opt, torch.from_numpy(X), torch.from_numpy(y))
        assert loss == pytest.approx(loss_ref, rel=TRAIN_RTOL["float64"]), f"loss, step {step}"
    params = ddp.numpy_params()
    assert_params_close(params, ref.numpy_params(), TRAIN_RTOL["float64"],
                        f"W={ddp.world_size} after {len(BATCHES)} steps")
    for rank in range(1, ddp.world_size):  # one all-reduced gradient: identical updates
        for p0, p in zip(params, ddp.numpy_params(rank)):
            np.testing.assert_array_equal(p, p0, err_msg=f"rank {rank} vs rank 0")


def test_threads_per_rank_are_set_and_read_back(ddp):
    assert ddp.threads_per_rank >= 1
    assert ddp.rank_threads == [ddp.threads_per_rank] * ddp.world_size
    assert 0 < ddp.port < 2**16  # the store's port, picked by the OS (bound to port 0)


def test_bad_calls_raise_before_reaching_the_ranks(ddp):
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1])
    with pytest.raises(ValueError, match="features"):
        ddp.step(X[:, :3], y)
    with pytest.raises(ValueError, match="max_batch"):
        ddp.step(np.zeros((17, SIZES[0])), np.zeros(17, dtype=int))
    with pytest.raises(ValueError, match="labels must lie"):
        ddp.step(X, y + 10)
    with pytest.raises(ValueError, match="rank must lie"):
        ddp.numpy_params(ddp.world_size)
    if ddp.world_size > 1:
        with pytest.raises(ValueError, match="at least one sample"):
            ddp.step(X[:1], y[:1])
    assert all(map(_alive, ddp.rank_pids))


def test_bad_constructor_arguments_fail_before_any_rank_starts():
    with pytest.raises(ValueError, match="learning rate"):
        DDPTrainer(SIZES, lr=-1.0)
    with pytest.raises(ValueError, match="world_size"):
        DDPTrainer(SIZES, world_size=0)
    with pytest.raises(ValueError, match="unknown activation"):
        DDPTrainer(SIZES, activation="swish")


# --------------------------------------------------------------------- robustness
@pytest.mark.parametrize("fault, message", [
    ("raise", "injected fault: worker raised on purpose"),
    ("kill", "killed by signal SIGKILL"),
])
def test_failing_rank_fails_the_step_fast_and_cleanly(fault, message):
    """Rank 1 fails at its first step while rank 0 waits in the gradient all-reduce."""
    t = trainer(2, _fault=fault)
    assert shm_exists(t.shm_name)
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1])
    assert_fails_fast_and_cleanly(lambda: t.step(X, y), message, "torch-ddp rank 1",
                                  t.rank_pids, t.shm_name)


def test_ctrl_c_in_the_parent_leaves_nothing_behind():
    """The parent's KeyboardInterrupt path does not depend on W: one rank keeps it cheap."""
    t = trainer(1, _fault="hang")
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1])
    timer = interrupt_main_after(INTERRUPT_AFTER_S)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        t.step(X, y)
    timer.join()
    assert time.monotonic() - t0 < FAIL_WITHIN_S
    assert_no_leftovers(t.rank_pids, t.shm_name)
