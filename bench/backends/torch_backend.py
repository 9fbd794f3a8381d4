"""The torch twin as backends: ``torch-cpu``, ``torch-cuda`` and ``torch-cuda-tf32``.

On an accelerator the batch is copied to the device once, before timing; each timed call
ends with ``torch.cuda.synchronize()`` so its time is the device's real time. TF32 is off
(``allow_tf32 = False``, set explicitly) except in the ``-tf32`` variant, which turns it on
for its own benchmark only and restores it afterwards.
"""

from __future__ import annotations

import torch

import impl_torch

from ..timing import device_sync
from . import Backend, Case, register
from .common import LR, WARMUP, check_finite, make_batch


class TorchRunner:
    def __init__(self, case: Case, device="cpu", tf32=False):
        self.case, self.device = case, device
        self.tf32_before = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        self.sync = device_sync(device)
        self.model = impl_torch.MLP(case.layer_sizes, dtype=case.dtype, seed=case.seed,
                                    device=device)
        self.opt = impl_torch.SGD(self.model.params, LR)
        X, y = make_batch(case)
        self.X, self.y = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
        self.shapes = [tuple(p.shape) for p in self.model.parameters()]
        self.loss = self.out = None
        for _ in range(WARMUP):
            self.step()
            self.forward()

    def step(self):
        self.loss = impl_torch.train_step(self.model, self.opt, self.X, self.y)
        self.sync()

    def forward(self):
        with torch.inference_mode():
            self.out = self.model(self.X)
        self.sync()

    def check(self):
        out = None if self.out is None else self.out.cpu().numpy()
        params = self.model.numpy_params()
        check_finite(params, self.shapes, out, (self.case.batch, self.case.layer_sizes[-1]),
                     self.loss)

    def peak_memory(self):
        if not self.device.startswith("cuda"):
            return None  # torch's CPU allocator is not traced by tracemalloc
        torch.cuda.reset_peak_memory_stats()
        self.step()
        return int(torch.cuda.max_memory_allocated())

    def close(self):
        torch.backends.cuda.matmul.allow_tf32 = self.tf32_before
        self.model = self.opt = self.X = self.y = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()


def _no_cuda():
    return None if torch.cuda.is_available() else "CUDA is not available on this machine"


register(Backend("torch-cpu", lib="torch", device="cpu", make=TorchRunner))
register(Backend("torch-cuda", lib="torch", device="cuda", unavailable=_no_cuda,
                 make=lambda case: TorchRunner(case, "cuda")))
register(Backend("torch-cuda-tf32", lib="torch", device="cuda", unavailable=_no_cuda,
                 variant="tf32", make=lambda case: TorchRunner(case, "cuda", tf32=True)))
