"""The torch twin on a CUDA device: k SGD steps leave the params of the CPU NumPy twin,
float64 to rtol 1e-9 and float32 to 1e-4, with TF32 explicitly off (its 10-bit mantissa
would miss 1e-4); the benchmarks' timed calls make no host sync; the run records the card
and its GEMM ceiling. Skipped, with the reason shown by ``-ra``, where CUDA is not
available (``bench/gpu/run.py`` runs them on a card)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from bench.backends import REGISTRY, Case, load_all
from core.close import assert_params_close
from core.init import random_batch

from .helpers import CUDA_TRAIN_RTOL as TRAIN_RTOL

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="CUDA not available (torch.cuda.is_available() is False)"),
]

SIZES = [20, 64, 32, 5]
STEPS = 20
SGD_ARGS = {"lr": 0.05, "momentum": 0.9}
SYNC_SIZES, SYNC_BATCH = (784, 100, 10), 256  # the headline MLP, a benchmark's batch


@pytest.fixture
def no_tf32():
    """float32 matmuls in IEEE precision for the test, restored afterwards. Only the
    ``fp32_precision`` API is touched where it exists: torch refuses reads that mix it
    with the legacy ``allow_tf32`` flag."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        before = matmul.fp32_precision
        matmul.fp32_precision = "ieee"
        yield
        matmul.fp32_precision = before
    else:
        before = matmul.allow_tf32
        matmul.allow_tf32 = False
        yield
        matmul.allow_tf32 = before


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_k_sgd_steps_on_cuda_equal_the_cpu_twin(dtype, no_tf32):
    rng = np.random.default_rng(5)
    npm = impl_numpy.MLP(SIZES, dtype=dtype, seed=3)
    tm = impl_torch.MLP(SIZES, dtype=dtype, seed=3, device="cuda")
    assert tm.device.type == "cuda"
    opt, topt = impl_numpy.SGD(npm.params, **SGD_ARGS), impl_torch.SGD(tm.params, **SGD_ARGS)
    for step in range(STEPS):
        X, y = random_batch(rng, int(rng.integers(1, 64)), SIZES[0], SIZES[-1], dtype)
        loss_np = impl_numpy.train_step(npm, opt, X, y)
        Xc, yc = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
        loss_t = impl_torch.train_step(tm, topt, Xc, yc)
        assert loss_np == pytest.approx(loss_t, rel=TRAIN_RTOL[dtype]), f"loss at step {step}"
    assert_params_close(tm.numpy_params(), npm.params, TRAIN_RTOL[dtype],
                        f"cuda vs numpy, {dtype}, after {STEPS} steps")


@contextlib.contextmanager
def sync_debug(mode):
    """``torch.cuda.set_sync_debug_mode(mode)`` inside, "default" after."""
    torch.cuda.set_sync_debug_mode(mode)
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", ["torch-cuda", "torch-cuda-tf32"])
def test_the_timed_calls_make_no_host_sync(backend, dtype):
    """What a benchmark times, minus its own final ``synchronize``, queues kernels and
    returns: under sync-debug mode "error" any hidden sync (a validation read-back, the
    loss's ``.item()``) raises. ``train_step``, which reads the loss back, is the oracle."""
    load_all()
    runner = REGISTRY[backend].make(Case(SYNC_SIZES, SYNC_BATCH, dtype, 1))
    try:
        model, opt, X, y = runner.model, runner.opt, runner.X, runner.y
        torch.cuda.synchronize()
        with sync_debug("error"):
            for _ in range(3):
                impl_torch.checked_step(model, opt, X, y)
                with torch.inference_mode():
                    model.forward(X, checked=True)
        torch.cuda.synchronize()
        with sync_debug("error"), pytest.raises(RuntimeError):
            impl_torch.train_step(model, opt, X, y)  # the oracle: a read-back is caught
        runner.step()
        runner.forward()
        runner.check()
    finally:
        runner.close()


def test_calibration_has_a_cuda_ceiling_with_tf32_off_and_on():
    from bench.measure.calibrate import CUDA_SQUARE, _cuda_gemm

    rows = _cuda_gemm("cuda", ["float32"], 1)
    square = {r["variant"]: r["gflops"] for r in rows if r["m"] == CUDA_SQUARE}
    assert set(square) == {None, "tf32"} and min(square.values()) > 0


def test_the_run_records_the_card():
    from bench.measure.environment import gpu_info
    from runfile.schema import GPU_KEYS

    info = gpu_info()
    assert tuple(info) == GPU_KEYS
    assert info["name"] and info["cuda"] and info["cublas"] and info["sm_count"] > 0
