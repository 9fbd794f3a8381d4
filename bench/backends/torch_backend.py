"""The torch twin as backends: ``torch-cpu``, ``torch-cuda`` and ``torch-cuda-tf32``.

Fair timing on an accelerator: the batch is copied to the device and validated once,
before timing (``model.check_batch``); the timed call is the twin's ``checked_step`` (or a
checked forward), which queues its kernels without any host sync (no validation read-back,
the loss stays a device tensor until ``check``), followed by the benchmark's one
``torch.cuda.synchronize()``, so its time is the device's real time. ``tests/test_cuda.py``
proves it with ``torch.cuda.set_sync_debug_mode("error")``. The warm-up steps and forwards
create the cuBLAS handle and workspace, load the kernels and fill the caching allocator.
TF32 is off (set explicitly, ``bench.measure.precision``) except in the ``-tf32`` variant; either
way it is restored in ``close``, or at once if set-up fails.
"""

from __future__ import annotations

import contextlib

import torch

import impl_torch
from bench.backends import Backend, Case, register
from bench.backends.common import LR, WARMUP, check_finite, make_batch
from bench.measure.precision import tf32
from bench.measure.timing import device_sync


class TorchRunner:
    def __init__(self, case: Case, device="cpu", tf32_on=False):
        self.case, self.device = case, device
        self.cuda = device.startswith("cuda")
        self._precision = contextlib.ExitStack()
        self._precision.enter_context(tf32(tf32_on))
        try:
            self._build()
        except BaseException:
            self.close()  # no TF32 flag or device memory outlives a failed set-up
            raise

    def _build(self):
        case, device = self.case, self.device
        self.sync = device_sync(device)
        self.model = impl_torch.MLP(case.layer_sizes, dtype=case.dtype, seed=case.seed,
                                    device=device)
        self.opt = impl_torch.SGD(self.model.params, LR)
        X, y = make_batch(case)
        self.X, self.y = self.model.check_batch(torch.from_numpy(X).to(device),
                                                torch.from_numpy(y).to(device))
        self.shapes = [tuple(p.shape) for p in self.model.parameters()]
        self.loss = self.out = None
        for _ in range(WARMUP):
            self.step()
            self.forward()

    def step(self):
        self.loss = impl_torch.checked_step(self.model, self.opt, self.X, self.y)
        self.sync()

    def forward(self):
        with torch.inference_mode():
            self.out = self.model.forward(self.X, checked=True)
        self.sync()

    def check(self):
        out = None if self.out is None else self.out.cpu().numpy()
        loss = None if self.loss is None else float(self.loss)  # read back after timing
        check_finite(self.model.numpy_params(), self.shapes, out,
                     (self.case.batch, self.case.layer_sizes[-1]), loss)

    def peak_memory(self):
        return cuda_step_peak(self)

    def close(self):
        self._precision.close()
        self.model = self.opt = self.X = self.y = self.loss = self.out = None
        if self.cuda:
            torch.cuda.empty_cache()


def cuda_step_peak(runner):
    """Bytes one ``runner.step()`` allocates on CUDA above what is resident before it
    (params, batch, old grads), as NumPy's tracemalloc peak counts from the step's start;
    None on the CPU (torch's CPU allocator is not traced by tracemalloc)."""
    if not runner.cuda:
        return None
    runner.sync()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    runner.step()
    return int(torch.cuda.max_memory_allocated() - before)


def _no_cuda():
    return None if torch.cuda.is_available() else "CUDA is not available on this machine"


register(Backend("torch-cpu", lib="torch", device="cpu", make=TorchRunner))
register(Backend("torch-cuda", lib="torch", device="cuda", unavailable=_no_cuda,
                 make=lambda case: TorchRunner(case, "cuda")))
register(Backend("torch-cuda-tf32", lib="torch", device="cuda", unavailable=_no_cuda,
                 variant="tf32", make=lambda case: TorchRunner(case, "cuda", tf32_on=True)))
